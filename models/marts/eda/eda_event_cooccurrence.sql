{#- One row per ordered pair of event types (A, B): of the profiles that had
    A, the share that had B afterwards (B's latest event after A's first).
    The reference workflow's co-occurrence heatmap, as a table. -#}

with

events as (

    select
        profile_id,
        event_type,
        event_at

    from {{ ref('int_experience_events_sampled') }}

),

profile_types as (

    select
        profile_id,
        event_type,
        min(event_at) as first_at,
        max(event_at) as last_at

    from events

    group by profile_id, event_type

),

type_reach as (

    select
        event_type,
        count(*) as count_profiles

    from profile_types

    group by event_type

),

pairs as (

    select
        antecedent.event_type as antecedent_event_type,
        consequent.event_type as consequent_event_type,
        count(*) as count_profiles_with_both

    from profile_types as antecedent

    inner join profile_types as consequent
        on
            antecedent.profile_id = consequent.profile_id
            and antecedent.first_at < consequent.last_at

    group by antecedent.event_type, consequent.event_type

),

final as (

    select
        pairs.antecedent_event_type,
        pairs.consequent_event_type,
        type_reach.count_profiles as count_profiles_with_antecedent,
        pairs.count_profiles_with_both,
        pairs.count_profiles_with_both * 1.0 / type_reach.count_profiles
            as share_with_consequent_after

    from pairs

    inner join type_reach
        on pairs.antecedent_event_type = type_reach.event_type

)

select * from final
