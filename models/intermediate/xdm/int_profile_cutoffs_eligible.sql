{{ config(materialized='table') }}

{#- The spine: one row per (prediction, profile, cutoff) where the profile
    is eligible for the prediction, by its kind: seen at least once before
    the cutoff and
    - first: no target event before it;
    - repeat: with previous_only, at least one target event before it;
    - churn: at least one target event (of event_type, any when null) in
      the active_days before it.
    Training and scoring rows of every prediction come from this one spine.
    Target events come from the buckets: cutoffs and cutoff - active_days
    are bucket bounds (int_feature_buckets). -#}

{%- set predictions = prediction_spec() %}

with

profiles as (

    select
        profile_id,
        first_seen_at

    from {{ ref('int_profiles_resolved') }}

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

profile_buckets as (

    select
        {%- for prediction in predictions %}
        count_target_{{ prediction.name }},
        first_target_{{ prediction.name }}_at,
        {%- endfor %}
        profile_id,
        bucket_start_at,
        bucket_end_at

    from {{ ref('int_profile_buckets_aggregated') }}

),

first_targets as (

    select
        {%- for prediction in predictions %}
        min(first_target_{{ prediction.name }}_at)
            as first_target_{{ prediction.name }}_at,
        {%- endfor %}
        profile_id

    from profile_buckets

    group by profile_id

),

seen as (

    select
        cutoffs.prediction_name,
        profiles.profile_id,
        cutoffs.cutoff_at,
        cutoffs.cutoff_number,
        cutoffs.is_scoring_cutoff,
        cutoffs.label_window_start_at,
        cutoffs.label_window_end_at,
        case cutoffs.prediction_name
            {%- for prediction in predictions %}
            when {{ render_literal(prediction.name) }}
                then first_targets.first_target_{{ prediction.name }}_at
            {%- endfor %}
        end as first_target_at

    from profiles

    cross join cutoffs

    left join first_targets
        on profiles.profile_id = first_targets.profile_id

    where profiles.first_seen_at < cutoffs.cutoff_at

),

{%- for prediction in predictions %}
{%- set name = prediction.name %}
{%- set first_target = 'seen.first_target_at' %}
{%- if prediction.kind == 'first' %}
{%- set rule = '(' ~ first_target ~ ' is null or ' ~ first_target
    ~ ' >= seen.cutoff_at)' %}
{%- elif prediction.kind == 'repeat' and prediction.previous_only %}
{%- set rule = first_target ~ ' < seen.cutoff_at' %}
{%- elif prediction.kind == 'repeat' %}
{%- set rule = 'true' %}
{%- else %}
{%- set rule -%}
exists (
            select 1
            from profile_buckets
            where
                profile_buckets.profile_id = seen.profile_id
                and profile_buckets.count_target_{{ name }} > 0
                and profile_buckets.bucket_end_at <= seen.cutoff_at
                and profile_buckets.bucket_start_at
                >= {{ add_days('seen.cutoff_at', -(prediction.active_days | int)) }}
        )
{%- endset %}
{%- endif %}

eligible_{{ name }} as (

    select
        seen.prediction_name,
        seen.profile_id,
        seen.cutoff_at,
        seen.cutoff_number,
        seen.is_scoring_cutoff,
        seen.label_window_start_at,
        seen.label_window_end_at

    from seen

    where
        seen.prediction_name = {{ render_literal(name) }}
        and {{ rule }}

),
{%- endfor %}

final as (

    {%- for prediction in predictions %}
    select
        prediction_name,
        profile_id,
        cutoff_at,
        cutoff_number,
        is_scoring_cutoff,
        label_window_start_at,
        label_window_end_at

    from eligible_{{ prediction.name }}
    {%- if not loop.last %}

    union all

    {% endif %}
    {%- endfor %}

)

select * from final
