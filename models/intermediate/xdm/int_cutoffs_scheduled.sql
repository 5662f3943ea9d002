{{ config(materialized='table') }}

{#- The prediction spec as rows: the scoring cutoff (as_of) and the training
    cutoffs before it, each training cutoff's label window ending at or
    before as_of, so every training label is fully observed. -#}

{%- set horizon = var('label_horizon_days') | int -%}
{%- set gap = var('gap_days') | int -%}
{%- set step = var('cutoff_step_days') | int -%}

with

events as (

    select event_at

    from {{ ref('stg_xdm__experience_events') }}

),

as_of as (

    select
        {% if var('as_of') -%}
            {{ utc_midnight("cast('" ~ var('as_of') ~ "' as date)") }}
        {%- else -%}
        {{ add_days(utc_midnight(utc_date('max(event_at)')), 1) }}
        {%- endif %} as as_of_at

    from events

),

cutoffs as (

    {% for number in range(var('training_cutoffs') | int) %}
    select
        {{ number + 1 }} as cutoff_number,
        false as is_scoring_cutoff,
        {{ add_days('as_of_at', -(gap + horizon + number * step)) }} as cutoff_at,
        as_of_at

    from as_of

    union all
    {% endfor %}

    select
        0 as cutoff_number,
        true as is_scoring_cutoff,
        as_of_at as cutoff_at,
        as_of_at

    from as_of

),

final as (

    select
        cutoff_at,
        cutoff_number,
        is_scoring_cutoff,
        {{ add_days('cutoff_at', gap) }} as label_window_start_at,
        {{ add_days('cutoff_at', gap + horizon) }} as label_window_end_at,
        as_of_at

    from cutoffs

)

select * from final
