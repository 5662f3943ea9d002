{{ config(materialized='ephemeral') }}

{#- What every EDA mart reads: the staged events, or a TABLESAMPLE of them
    when eda_sample_percent is below 100 (fast approximate answers), with
    is_conversion marking the default prediction's target events. -#}

with

sampled as (

    select
        profile_id,
        event_type,
        event_at,
        event_date,
        page_name,
        link_name,
        campaign_name,
        sku,
        {{ target_condition(prediction_spec()[0]) }} as is_conversion

    from {{ ref('stg_xdm__experience_events') }}
    {{ event_sample(var('eda_sample_percent')) }}

)

select * from sampled
