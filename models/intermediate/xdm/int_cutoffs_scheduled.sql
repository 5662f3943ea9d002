{{ config(materialized='table') }}

{#- The prediction spec as rows, per prediction: the scoring cutoff (as_of)
    and the training cutoffs before it, each training cutoff's label window
    ending at or before as_of, so every training label is fully observed. -#}

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

    {%- for prediction in prediction_spec() %}
    {%- set horizon = prediction.horizon_days | int %}
    {%- set gap = prediction.gap_days | int %}
    {%- set step = prediction.cutoff_step_days | int %}
    {% for number in range(prediction.training_cutoffs | int) %}
    select
        {{ render_literal(prediction.name) }} as prediction_name,
        {{ number + 1 }} as cutoff_number,
        false as is_scoring_cutoff,
        {{ add_days('as_of_at', -(gap + horizon + number * step)) }} as cutoff_at,
        {{ add_days('as_of_at', -(horizon + number * step)) }}
            as label_window_start_at,
        {{ add_days('as_of_at', -(number * step)) }} as label_window_end_at,
        as_of_at

    from as_of

    union all
    {% endfor %}

    select
        {{ render_literal(prediction.name) }} as prediction_name,
        0 as cutoff_number,
        true as is_scoring_cutoff,
        as_of_at as cutoff_at,
        {{ add_days('as_of_at', gap) }} as label_window_start_at,
        {{ add_days('as_of_at', gap + horizon) }} as label_window_end_at,
        as_of_at

    from as_of
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        prediction_name,
        cutoff_at,
        cutoff_number,
        is_scoring_cutoff,
        label_window_start_at,
        label_window_end_at,
        as_of_at

    from cutoffs

)

select * from final
