{#- One row per step of the email funnel: sent -> opened -> clicked ->
    subscribed. A profile counts at a step when it reached every step before
    it; subscribed means it converted after its first email click. -#}

with

events as (

    select
        profile_id,
        event_type,
        event_at,
        is_conversion

    from {{ ref('int_experience_events_sampled') }}

),

per_profile as (

    select
        profile_id,
        min(event_at) filter (
            where event_type = 'directMarketing.emailSent'
        ) as first_sent_at,
        min(event_at) filter (
            where event_type = 'directMarketing.emailOpened'
        ) as first_opened_at,
        min(event_at) filter (
            where event_type = 'directMarketing.emailClicked'
        ) as first_clicked_at,
        max(event_at) filter (where is_conversion) as last_converted_at

    from events

    group by profile_id

),

steps as (

    select
        count(*) filter (where first_sent_at is not null) as step_1,
        count(*) filter (
            where first_sent_at is not null and first_opened_at is not null
        ) as step_2,
        count(*) filter (
            where
            first_sent_at is not null
            and first_opened_at is not null
            and first_clicked_at is not null
        ) as step_3,
        count(*) filter (
            where
            first_sent_at is not null
            and first_opened_at is not null
            and last_converted_at > first_clicked_at
        ) as step_4

    from per_profile

),

unpivoted as (

    select
        1 as step_number,
        'sent' as step_name,
        step_1 as count_profiles
    from steps
    union all
    select
        2 as step_number,
        'opened' as step_name,
        step_2 as count_profiles
    from steps
    union all
    select
        3 as step_number,
        'clicked' as step_name,
        step_3 as count_profiles
    from steps
    union all
    select
        4 as step_number,
        'subscribed' as step_name,
        step_4 as count_profiles
    from steps

),

final as (

    select
        step_number,
        step_name,
        count_profiles,
        count_profiles * 1.0
        / nullif(first_value(count_profiles) over (order by step_number), 0)
            as share_of_sent,
        count_profiles * 1.0
        / nullif(lag(count_profiles) over (order by step_number), 0)
            as share_of_previous_step

    from unpivoted

)

select * from final
