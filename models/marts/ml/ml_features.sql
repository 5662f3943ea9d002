{#- One row per eligible (prediction, profile, cutoff): behaviour strictly
    before the cutoff, one set of columns per event type of the catalogue
    seed, rates, trend, tenure, the profile's attributes and the
    prediction's target features (its target events per window and in all
    history, days since the latest). "Never happened" is null, never 0:
    days_since_* is null for an event type the profile never had. The
    behaviour is computed once per (profile, cutoff), whatever the number
    of predictions sharing it. -#}

{%- set event_types = event_catalogue() -%}
{%- set windows = var('feature_windows_days') -%}
{%- set predictions = prediction_spec() -%}

-- depends_on: {{ ref('xdm_event_types') }}

with

eligible as (

    select
        prediction_name,
        profile_id,
        cutoff_at,
        is_scoring_cutoff

    from {{ ref('int_profile_cutoffs_eligible') }}

),

spine as (

    select distinct
        profile_id,
        cutoff_at,
        {%- for days in windows %}
        {{ add_days('cutoff_at', -days) }} as window_{{ days }}d_start_at,
        {%- endfor %}
        {{ add_days('cutoff_at', -28) }} as trend_base_start_at,
        {{ add_days('cutoff_at', -7) }} as trend_base_end_at

    from eligible

),

profile_buckets as (

    select *

    from {{ ref('int_profile_buckets_aggregated') }}

),

profiles as (

    select
        profile_id,
        country_code,
        preferred_channel,
        device_type,
        acquisition_source,
        loyalty_tier,
        age_band,
        has_email_consent,
        has_sms_consent,
        has_push_consent,
        has_personalize_consent,
        profile_created_at,
        first_seen_at

    from {{ ref('int_profiles_resolved') }}

),

behaviour as (

    -- Each cutoff sums the buckets that end at or before it; a feature
    -- window of w days takes the buckets that start at or after cutoff - w.
    select
        spine.profile_id,
        spine.cutoff_at,
        {%- for row in event_types %}
        {%- for days in windows %}
        coalesce(sum(profile_buckets.count_{{ row[1] }}) filter (
            where profile_buckets.bucket_start_at >= spine.window_{{ days }}d_start_at
        ), 0) as count_{{ row[1] }}_{{ days }}d,
        {%- endfor %}
        coalesce(sum(profile_buckets.count_{{ row[1] }}), 0)
            as count_{{ row[1] }}_total,
        max(profile_buckets.last_{{ row[1] }}_at) as last_{{ row[1] }}_at,
        {%- endfor %}
        {%- for prediction in predictions %}
        {%- set target = 'target_' ~ prediction.name %}
        {%- for days in windows %}
        coalesce(sum(profile_buckets.count_{{ target }}) filter (
            where profile_buckets.bucket_start_at >= spine.window_{{ days }}d_start_at
        ), 0) as count_{{ target }}_{{ days }}d,
        {%- endfor %}
        coalesce(sum(profile_buckets.count_{{ target }}), 0)
            as count_{{ target }}_total,
        max(profile_buckets.last_{{ target }}_at) as last_{{ target }}_at,
        {%- endfor %}
        {%- for days in windows %}
        coalesce(sum(profile_buckets.count_events) filter (
            where profile_buckets.bucket_start_at >= spine.window_{{ days }}d_start_at
        ), 0) as count_events_{{ days }}d,
        {%- endfor %}
        coalesce(sum(profile_buckets.count_events) filter (
            where
            profile_buckets.bucket_start_at >= spine.trend_base_start_at
            and profile_buckets.bucket_end_at <= spine.trend_base_end_at
        ), 0) as count_events_21d_before_7d,
        coalesce(sum(profile_buckets.count_events), 0) as count_events_total,
        coalesce(sum(profile_buckets.count_active_days), 0)
            as count_active_days_total,
        max(profile_buckets.last_event_at) as last_event_at

    from spine

    inner join profile_buckets
        on
            spine.profile_id = profile_buckets.profile_id
            and profile_buckets.bucket_end_at <= spine.cutoff_at

    group by spine.profile_id, spine.cutoff_at

),

final as (

    select
        eligible.prediction_name,
        eligible.profile_id,
        eligible.cutoff_at,
        eligible.is_scoring_cutoff,
        {%- for row in event_types %}
        {%- for days in windows %}
        behaviour.count_{{ row[1] }}_{{ days }}d,
        {%- endfor %}
        behaviour.count_{{ row[1] }}_total,
        {{ days_between('behaviour.last_' ~ row[1] ~ '_at', 'eligible.cutoff_at') }}
            as days_since_{{ row[1] }},
        {%- endfor %}
        {%- for days in windows %}
        behaviour.count_events_{{ days }}d,
        {%- endfor %}
        behaviour.count_events_total,
        behaviour.count_active_days_total,
        {{ days_between('behaviour.last_event_at', 'eligible.cutoff_at') }}
            as days_since_last_event,
        cast(behaviour.count_email_opened_total as {{ type_double() }})
        / nullif(behaviour.count_email_sent_total, 0) as email_open_rate,
        cast(behaviour.count_email_clicked_total as {{ type_double() }})
        / nullif(behaviour.count_email_opened_total, 0)
            as email_click_through_rate,
        cast(behaviour.count_ad_clicks_total as {{ type_double() }})
        / nullif(behaviour.count_ad_impressions_total, 0)
            as ad_click_through_rate,
        cast(behaviour.count_offer_interactions_total as {{ type_double() }})
        / nullif(
            behaviour.count_offer_interactions_total
            + behaviour.count_offer_dismissals_total,
            0
        ) as offer_interaction_share,
        {#- Events per day in the last 7 days over the 21 days before them:
            above 1 means rising activity; null when the 21 days were empty. -#}
        
        (cast(behaviour.count_events_7d as {{ type_double() }}) / 7)
        / nullif(
            cast(behaviour.count_events_21d_before_7d as {{ type_double() }}) / 21, 0
        ) as activity_trend_7d_vs_21d,
        {{ days_between(
            'coalesce(profiles.profile_created_at, profiles.first_seen_at)',
            'eligible.cutoff_at'
        ) }} as tenure_days,
        profiles.country_code,
        profiles.preferred_channel,
        profiles.device_type,
        profiles.acquisition_source,
        profiles.loyalty_tier,
        profiles.age_band,
        profiles.has_email_consent,
        profiles.has_sms_consent,
        profiles.has_push_consent,
        profiles.has_personalize_consent,
        {%- for days in windows %}
        case eligible.prediction_name
            {%- for prediction in predictions %}
            when {{ render_literal(prediction.name) }}
                then behaviour.count_target_{{ prediction.name }}_{{ days }}d
            {%- endfor %}
        end as count_target_{{ days }}d,
        {%- endfor %}
        case eligible.prediction_name
            {%- for prediction in predictions %}
            when {{ render_literal(prediction.name) }}
                then behaviour.count_target_{{ prediction.name }}_total
            {%- endfor %}
        end as count_target_total,
        case eligible.prediction_name
            {%- for prediction in predictions %}
            when {{ render_literal(prediction.name) }}
                then {{ days_between(
                    'behaviour.last_target_' ~ prediction.name ~ '_at',
                    'eligible.cutoff_at'
                ) }}
            {%- endfor %}
        end as days_since_target

    from eligible

    inner join behaviour
        on
            eligible.profile_id = behaviour.profile_id
            and eligible.cutoff_at = behaviour.cutoff_at

    inner join profiles
        on eligible.profile_id = profiles.profile_id

)

select * from final
