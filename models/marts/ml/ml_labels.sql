{#- One row per eligible (prediction, profile, training cutoff): the label
    in the window [cutoff + gap_days, cutoff + gap_days + horizon_days), by
    the prediction's kind:
    - first: the first target event falls in the window;
    - repeat: at least one target event falls in the window;
    - churn: no qualifying event falls in the window (true = churned).
    The window's ends are bucket bounds (int_feature_buckets), so the first
    target event of the buckets inside it is the window's first one: no
    second pass over the events. -#}

{%- set predictions = prediction_spec() %}

with

spine as (

    select
        prediction_name,
        profile_id,
        cutoff_at,
        label_window_start_at,
        label_window_end_at

    from {{ ref('int_profile_cutoffs_eligible') }}

    where not is_scoring_cutoff

),

profile_buckets as (

    select
        {%- for prediction in predictions %}
        first_target_{{ prediction.name }}_at,
        {%- endfor %}
        profile_id,
        bucket_start_at,
        bucket_end_at

    from {{ ref('int_profile_buckets_aggregated') }}

),

targets_in_window as (

    select
        spine.prediction_name,
        spine.profile_id,
        spine.cutoff_at,
        case spine.prediction_name
            {%- for prediction in predictions %}
            when {{ render_literal(prediction.name) }}
                then min(profile_buckets.first_target_{{ prediction.name }}_at)
            {%- endfor %}
        end as first_target_at

    from spine

    inner join profile_buckets
        on
            spine.profile_id = profile_buckets.profile_id
            and profile_buckets.bucket_start_at >= spine.label_window_start_at
            and profile_buckets.bucket_end_at <= spine.label_window_end_at

    group by spine.prediction_name, spine.profile_id, spine.cutoff_at

),

final as (

    select
        spine.prediction_name,
        spine.profile_id,
        spine.cutoff_at,
        spine.label_window_start_at,
        spine.label_window_end_at,
        case spine.prediction_name
            {%- for prediction in predictions %}
            {%- set test = 'is null' if prediction.kind == 'churn' else 'is not null' %}
            when {{ render_literal(prediction.name) }}
                then targets_in_window.first_target_at {{ test }}
            {%- endfor %}
        end as label,
        targets_in_window.first_target_at

    from spine

    left join targets_in_window
        on
            spine.prediction_name = targets_in_window.prediction_name
            and spine.profile_id = targets_in_window.profile_id
            and spine.cutoff_at = targets_in_window.cutoff_at

)

select * from final
