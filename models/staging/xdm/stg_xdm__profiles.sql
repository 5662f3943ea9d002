with

profiles as (

    select
        profile_id,
        record_id,
        batch_id,
        record

    from {{ source('xdm', 'profiles') }}

),

flattened as (

    select
        trim(profile_id) as profile_id,
        record_id,
        batch_id,
        {{ json_text('record', ['homeAddress', 'countryCode']) }} as country_code,
        {{ json_text('record', ['consents', 'marketing', 'preferred']) }}
            as preferred_channel,
        {{ json_text('record', ['_enrich', 'device']) }} as device_type,
        {{ json_text('record', ['_enrich', 'acquisitionSource']) }}
            as acquisition_source,
        {{ json_text('record', ['_enrich', 'loyaltyTier']) }} as loyalty_tier,
        {{ json_text('record', ['_enrich', 'ageBand']) }} as age_band,
        {{ json_text('record', ['consents', 'marketing', 'email', 'val']) }}
            as consent_email_value,
        {{ json_text('record', ['consents', 'marketing', 'sms', 'val']) }}
            as consent_sms_value,
        {{ json_text('record', ['consents', 'marketing', 'push', 'val']) }}
            as consent_push_value,
        {{ json_text('record', ['consents', 'personalize', 'content', 'val']) }}
            as consent_personalize_value,
        cast(
            {{ json_text('record', ['_repo', 'createDate']) }}
            as {{ type_timestamptz() }}
        ) as profile_created_at

    from profiles

),

final as (

    select
        profile_id,
        record_id,
        batch_id,
        country_code,
        preferred_channel,
        device_type,
        acquisition_source,
        loyalty_tier,
        age_band,
        {#- XDM consent values: y (yes), n (no), p (pending), u (unknown) ...
            only an explicit y is consent. -#}
        coalesce(consent_email_value = 'y', false) as has_email_consent,
        coalesce(consent_sms_value = 'y', false) as has_sms_consent,
        coalesce(consent_push_value = 'y', false) as has_push_consent,
        coalesce(consent_personalize_value = 'y', false)
            as has_personalize_consent,
        profile_created_at

    from flattened

)

select * from final
