{{ config(materialized='table') }}

{#- Time buckets whose bounds are, for every prediction, every cutoff,
    every cutoff minus each feature window (and, for churn, minus its
    active_days) and every training label window's ends: any feature,
    activity or label window of any cutoff of any prediction is a whole
    number of buckets, so events are aggregated once per bucket, not once
    per cutoff or per prediction.
    Bucket 0 reaches back to the first event; bucket n ends at the latest
    cutoff. Extra bounds every 56 days back from as_of keep every other
    bucket within 63 days, as counting active days by bit mask needs
    (macros/features/day_bit.sql). -#}

{%- set windows = var('feature_windows_days') -%}
{%- set lookbacks = windows | list -%}
{%- set spans = [] -%}
{%- for prediction in prediction_spec() %}
{%- if prediction.kind == 'churn' %}
{%- do lookbacks.append(prediction.active_days | int) %}
{%- endif %}
{%- do spans.append(prediction.gap_days | int + prediction.horizon_days | int
    + (prediction.training_cutoffs | int - 1) * prediction.cutoff_step_days | int) %}
{%- endfor %}
{%- set lookbacks = lookbacks | unique | list -%}
{%- set oldest_bound_days = spans | max + lookbacks | max -%}

with

cutoffs as (

    select
        cutoff_at,
        as_of_at,
        is_scoring_cutoff,
        label_window_start_at,
        label_window_end_at

    from {{ ref('int_cutoffs_scheduled') }}

),

bounds as (

    select cutoff_at as bound_at from cutoffs
    {%- for days in lookbacks %}
    union
    select {{ add_days('cutoff_at', -days) }} as bound_at from cutoffs
    {%- endfor %}
    union
    select label_window_start_at as bound_at from cutoffs
    where not is_scoring_cutoff
    union
    select label_window_end_at as bound_at from cutoffs
    where not is_scoring_cutoff
    {%- for days in range(56, oldest_bound_days, 56) %}
    union
    select {{ add_days('as_of_at', -days) }} as bound_at from cutoffs
    where is_scoring_cutoff
    {%- endfor %}

),

numbered as (

    select
        bound_at,
        row_number() over (order by bound_at) as bound_number

    from bounds

),

final as (

    select
        numbered.bound_number - 1 as bucket_number,
        previous.bound_at as bucket_start_at,
        numbered.bound_at as bucket_end_at

    from numbered

    left join numbered as previous
        on numbered.bound_number = previous.bound_number + 1

)

select * from final
