{#- One row per event type: the Pearson correlation between a profile's
    count of that event and whether the profile ever converted. Counts stop
    at the profile's first conversion, so what happens after subscribing
    does not inflate the picture; the conversion event itself is left out.
    Ranked by correlation: the exploration behind the feature choice. -#}

with

events as (

    select
        profile_id,
        event_type,
        event_at,
        is_conversion

    from {{ ref('int_experience_events_sampled') }}

),

catalogue as (

    select
        event_type,
        family

    from {{ ref('xdm_event_types') }}

    where not is_conversion

),

profiles as (

    select
        profile_id,
        min(event_at) filter (where is_conversion) as first_converted_at

    from events

    group by profile_id

),

counts as (

    select
        events.profile_id,
        events.event_type,
        count(*) as count_events

    from events

    inner join profiles
        on events.profile_id = profiles.profile_id

    where
        profiles.first_converted_at is null
        or events.event_at < profiles.first_converted_at

    group by events.profile_id, events.event_type

),

profile_type_grid as (

    select
        profiles.profile_id,
        catalogue.event_type,
        catalogue.family,
        case when profiles.first_converted_at is null then 0 else 1 end
            as has_converted,
        coalesce(counts.count_events, 0) as count_events

    from profiles

    cross join catalogue

    left join counts
        on
            profiles.profile_id = counts.profile_id
            and catalogue.event_type = counts.event_type

),

final as (

    select
        event_type,
        family as event_family,
        corr(count_events, has_converted) as correlation_with_conversion,
        avg(count_events) filter (where has_converted = 1)
            as avg_count_converted,
        avg(count_events) filter (where has_converted = 0)
            as avg_count_not_converted,
        rank() over (
            order by corr(count_events, has_converted) desc nulls last
        ) as correlation_rank

    from profile_type_grid

    group by event_type, family

)

select * from final
