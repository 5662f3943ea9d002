{#- One row per (prediction, cutoff), training and scoring: what the data
    holds for the prediction at that cutoff. Events of the target's event
    type before the cutoff (every event for churn's "any event"), how many
    of them match its `where`, the eligible profiles and, at training
    cutoffs, the positives. Read by training's diagnostics before it fits
    (ml/model/diagnostics.py) and shown in the model card and the report. -#}

{%- set predictions = prediction_spec() %}

with

events as (

    select
        event_type,
        event_date,
        page_name,
        link_name,
        campaign_name,
        ad_id,
        sku,
        proposition_id,
        order_total

    from {{ ref('stg_xdm__experience_events') }}

),

cutoffs as (

    select
        prediction_name,
        cutoff_at,
        cutoff_number,
        is_scoring_cutoff,
        label_window_start_at,
        label_window_end_at

    from {{ ref('int_cutoffs_scheduled') }}

),

eligible as (

    select
        prediction_name,
        cutoff_at

    from {{ ref('int_profile_cutoffs_eligible') }}

),

labels as (

    select
        prediction_name,
        cutoff_at,
        label

    from {{ ref('ml_labels') }}

),

daily_targets as (

    {%- for prediction in predictions %}
    {%- set event_type_only = {'event_type': prediction.event_type} %}
    select
        {{ render_literal(prediction.name) }} as prediction_name,
        event_date,
        count(*) as count_event_type_events,
        sum(case when {{ target_condition(prediction) }} then 1 else 0 end)
            as count_target_events

    from events

    where {{ target_condition(event_type_only) }}

    group by event_date
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}

),

targets_before as (

    select
        cutoffs.prediction_name,
        cutoffs.cutoff_at,
        cast(coalesce(sum(daily_targets.count_event_type_events), 0) as bigint)
            as count_event_type_events,
        cast(coalesce(sum(daily_targets.count_target_events), 0) as bigint)
            as count_target_events

    from cutoffs

    left join daily_targets
        on
            cutoffs.prediction_name = daily_targets.prediction_name
            and daily_targets.event_date < {{ utc_date('cutoffs.cutoff_at') }}

    group by cutoffs.prediction_name, cutoffs.cutoff_at

),

eligible_counts as (

    select
        prediction_name,
        cutoff_at,
        count(*) as count_eligible_profiles

    from eligible

    group by prediction_name, cutoff_at

),

positive_counts as (

    select
        prediction_name,
        cutoff_at,
        sum(case when label then 1 else 0 end) as count_positives

    from labels

    group by prediction_name, cutoff_at

),

final as (

    select
        cutoffs.prediction_name,
        cutoffs.cutoff_at,
        cutoffs.cutoff_number,
        cutoffs.is_scoring_cutoff,
        cutoffs.label_window_start_at,
        cutoffs.label_window_end_at,
        targets_before.count_event_type_events,
        targets_before.count_target_events,
        coalesce(eligible_counts.count_eligible_profiles, 0)
            as count_eligible_profiles,
        case
            when not cutoffs.is_scoring_cutoff
                then cast(coalesce(positive_counts.count_positives, 0) as bigint)
        end as count_positives

    from cutoffs

    inner join targets_before
        on
            cutoffs.prediction_name = targets_before.prediction_name
            and cutoffs.cutoff_at = targets_before.cutoff_at

    left join eligible_counts
        on
            cutoffs.prediction_name = eligible_counts.prediction_name
            and cutoffs.cutoff_at = eligible_counts.cutoff_at

    left join positive_counts
        on
            cutoffs.prediction_name = positive_counts.prediction_name
            and cutoffs.cutoff_at = positive_counts.cutoff_at

)

select * from final
