{#- One row per UTC day per event type: events and distinct profiles. -#}

{%- set sample_percent = var('eda_sample_percent') | float %}

with

events as (

    select
        profile_id,
        event_type,
        event_date

    from {{ ref('int_experience_events_sampled') }}

),

final as (

    select
        event_date,
        event_type,
        cast(round(count(*) * 100.0 / {{ sample_percent }}) as bigint)
            as count_events,
        count(distinct profile_id) as count_profiles

    from events

    group by event_date, event_type

)

select * from final
