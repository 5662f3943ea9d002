{#- Point-in-time correctness: recount, straight from the staged events,
    what every feature row may see (events strictly before its cutoff) and
    fail on any row whose features differ: a feature that peeks at or past
    its cutoff counts more events, or a more recent one. On big data it
    checks a stable sample of the profiles (var pit_test_sample_percent):
    a leak is a property of the SQL, not of a few rows. -#}

{%- set event_types = event_catalogue() -%}

-- depends_on: {{ ref('xdm_event_types') }}

with

features as (

    select
        prediction_name,
        profile_id,
        cutoff_at,
        count_events_7d,
        count_events_28d,
        count_events_total,
        days_since_last_event,
        {%- for row in event_types %}
        count_{{ row[1] }}_total,
        count_{{ row[1] }}_7d,
        {%- endfor %}
        0 as no_more_columns

    from {{ ref('ml_features') }}

    where {{ in_profile_sample('profile_id', var('pit_test_sample_percent')) }}

),

events as (

    select
        profile_id,
        event_at

    from {{ ref('stg_xdm__experience_events') }}

    where {{ in_profile_sample('profile_id', var('pit_test_sample_percent')) }}

),

recounted as (

    select
        features.prediction_name,
        features.profile_id,
        features.cutoff_at,
        count(events.event_at) as count_events_total,
        count(events.event_at) filter (
            where events.event_at >= {{ add_days('features.cutoff_at', -7) }}
        ) as count_events_7d,
        count(events.event_at) filter (
            where events.event_at >= {{ add_days('features.cutoff_at', -28) }}
        ) as count_events_28d,
        max(events.event_at) as last_event_at

    from features

    left join events
        on
            features.profile_id = events.profile_id
            and events.event_at < features.cutoff_at

    group by features.prediction_name, features.profile_id, features.cutoff_at

),

final as (

    select
        features.prediction_name,
        features.profile_id,
        features.cutoff_at,
        features.count_events_total,
        recounted.count_events_total as expected_count_events_total

    from features

    inner join recounted
        on
            features.prediction_name = recounted.prediction_name
            and features.profile_id = recounted.profile_id
            and features.cutoff_at = recounted.cutoff_at

    where
        features.count_events_total <> recounted.count_events_total
        or features.count_events_7d <> recounted.count_events_7d
        or features.count_events_28d <> recounted.count_events_28d
        or features.days_since_last_event <= 0
        or recounted.last_event_at >= features.cutoff_at
    {%- if event_types %}
    or (
        {%- for row in event_types %}
        features.count_{{ row[1] }}_total{{ " +" if not loop.last }}
        {%- endfor %}
    ) <> recounted.count_events_total
    or (
        {%- for row in event_types %}
        features.count_{{ row[1] }}_7d{{ " +" if not loop.last }}
        {%- endfor %}
    ) <> recounted.count_events_7d
    {%- endif %}

)

select * from final
