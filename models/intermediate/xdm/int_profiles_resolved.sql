{{ config(materialized='table') }}

{#- Every identity seen in events or profile records, with the attributes of
    its latest profile record. An events dataset may come without profiles:
    those identities get null attributes. The conversion is the default
    prediction's target (the first of var predictions). -#}

with

events as (

    select
        profile_id,
        event_at,
        {{ target_condition(prediction_spec()[0]) }} as is_conversion

    from {{ ref('stg_xdm__experience_events') }}

),

profile_records as (

    select
        profile_id,
        batch_id,
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
        profile_created_at

    from {{ ref('stg_xdm__profiles') }}

),

batches as (

    select
        batch_id,
        batch_finished_at

    from {{ ref('stg_xdm__batches') }}

),

activity as (

    select
        profile_id,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        min(event_at) filter (where is_conversion) as first_converted_at,
        count(*) as count_events

    from events

    group by profile_id

),

ranked_records as (

    select
        profile_records.*,
        row_number() over (
            partition by profile_records.profile_id
            order by batches.batch_finished_at desc, profile_records.batch_id desc
        ) as record_rank

    from profile_records

    inner join batches
        on profile_records.batch_id = batches.batch_id

),

latest_records as (

    select *

    from ranked_records

    where record_rank = 1

),

identities as (

    select profile_id from activity
    union
    select profile_id from latest_records

),

final as (

    select
        identities.profile_id,
        latest_records.country_code,
        latest_records.preferred_channel,
        latest_records.device_type,
        latest_records.acquisition_source,
        latest_records.loyalty_tier,
        latest_records.age_band,
        coalesce(latest_records.has_email_consent, false) as has_email_consent,
        coalesce(latest_records.has_sms_consent, false) as has_sms_consent,
        coalesce(latest_records.has_push_consent, false) as has_push_consent,
        coalesce(latest_records.has_personalize_consent, false)
            as has_personalize_consent,
        latest_records.profile_id is not null as has_profile_record,
        latest_records.profile_created_at,
        activity.first_seen_at,
        activity.last_seen_at,
        activity.first_converted_at,
        coalesce(activity.count_events, 0) as count_events

    from identities

    left join latest_records
        on identities.profile_id = latest_records.profile_id

    left join activity
        on identities.profile_id = activity.profile_id

)

select * from final
