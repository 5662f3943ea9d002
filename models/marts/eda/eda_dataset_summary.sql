{#- One row per event type: volume, reach and time range, next to the
    dataset's totals. Reads a sample of the events when eda_sample_percent
    is below 100 (counts are then scaled estimates). -#}

{%- set sample_percent = var('eda_sample_percent') | float %}

with

events as (

    select
        profile_id,
        event_type,
        event_at

    from {{ ref('int_experience_events_sampled') }}

),

catalogue as (

    select
        event_type,
        family,
        is_conversion

    from {{ ref('xdm_event_types') }}

),

per_type as (

    select
        event_type,
        count(*) as count_events,
        count(distinct profile_id) as count_profiles,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at

    from events

    group by event_type

),

totals as (

    select
        count(*) as count_events,
        count(distinct profile_id) as count_profiles,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at

    from events

),

final as (

    select
        per_type.event_type,
        catalogue.family as event_family,
        catalogue.event_type is not null as is_known_event_type,
        cast(round(per_type.count_events * 100.0 / {{ sample_percent }}) as bigint)
            as count_events,
        per_type.count_profiles,
        per_type.count_events * 1.0 / totals.count_events as share_of_events,
        per_type.count_profiles * 1.0 / totals.count_profiles as share_of_profiles,
        per_type.first_event_at,
        per_type.last_event_at,
        cast(round(totals.count_events * 100.0 / {{ sample_percent }}) as bigint)
            as count_events_all_types,
        totals.count_profiles as count_profiles_all_types,
        totals.first_event_at as first_event_at_all_types,
        totals.last_event_at as last_event_at_all_types,
        {{ sample_percent }} as sample_percent

    from per_type

    cross join totals

    left join catalogue
        on per_type.event_type = catalogue.event_type

)

select * from final
