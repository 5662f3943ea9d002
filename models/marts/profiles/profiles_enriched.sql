{#- One row per known profile: its attributes next to the score of the
    current scoring run (the latest as_of ingested; the latest ingest when a
    date was scored twice). A profile that run did not score (converted, or
    first seen after its cutoff) has no current score; its history stays in
    stg_scores__propensity_scores. -#}

with

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
        has_profile_record,
        profile_created_at,
        first_seen_at,
        last_seen_at,
        first_converted_at,
        count_events

    from {{ ref('int_profiles_resolved') }}

),

scores as (

    select
        profile_id,
        propensity,
        percentile,
        decile,
        reason_1,
        reason_1_shap,
        reason_2,
        reason_2_shap,
        reason_3,
        reason_3_shap,
        model_name,
        model_version,
        cutoff_at,
        scored_at,
        scoring_run_id,
        ingested_at

    from {{ ref('stg_scores__propensity_scores') }}

),

current_run as (

    select scoring_run_id

    from scores

    order by cutoff_at desc, ingested_at desc, scoring_run_id desc

    limit 1

),

current_scores as (

    select scores.*

    from scores

    inner join current_run
        on scores.scoring_run_id = current_run.scoring_run_id

),

final as (

    select
        profiles.profile_id,
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
        profiles.has_profile_record,
        profiles.profile_created_at,
        profiles.first_seen_at,
        profiles.last_seen_at,
        profiles.first_converted_at,
        profiles.first_converted_at is not null as has_converted,
        profiles.count_events,
        current_scores.profile_id is not null as has_score,
        current_scores.propensity,
        current_scores.percentile,
        current_scores.decile,
        current_scores.reason_1,
        current_scores.reason_1_shap,
        current_scores.reason_2,
        current_scores.reason_2_shap,
        current_scores.reason_3,
        current_scores.reason_3_shap,
        current_scores.model_name,
        current_scores.model_version,
        current_scores.cutoff_at as score_cutoff_at,
        current_scores.scored_at,
        current_scores.scoring_run_id

    from profiles

    left join current_scores
        on profiles.profile_id = current_scores.profile_id

)

select * from final
