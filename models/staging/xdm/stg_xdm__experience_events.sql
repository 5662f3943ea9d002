{{ config(**incremental_by_batch()) }}
{{ config(
    pre_hook=[
        "{% if is_incremental() %}{{ delete_gone_batches(this, source('xdm', 'batches')) }}{% endif %}",
    ],
    post_hook=["{{ index_for_lookups(this, 'event_id') }}"],
) }}

{#- Incremental by load batch: only batches that committed since the last
    run, plus a lookback so a batch that committed while dbt was reading is
    never missed (delete+insert on event_id makes the overlap harmless).
    The join to the batches is the one join in staging: it reads load
    metadata of the same source, not another entity. The pre-hook drops rows
    whose batch is gone (a replaced synthetic dataset), so the table never
    mixes datasets. -#}

{%- set lookback_days = -(var("incremental_lookback_minutes") | int) / 1440 %}

with

batches as (

    select
        batch_id,
        finished_at as batch_finished_at

    from {{ source('xdm', 'batches') }}

    where
        status = 'success'
        and dataset = 'experience_events'
        {% if is_incremental() %}
        and finished_at > (
            select
                coalesce(
                    {{ add_days('max(processed.batch_finished_at)', lookback_days) }},
                    {{ utc_midnight("cast('1970-01-01' as date)") }}
                )
            from {{ this }} as processed
        )
        {% endif %}

),

events as (

    select
        event_id,
        profile_id,
        event_type,
        event_at,
        is_known_event_type,
        batch_id,
        record

    from {{ source('xdm', 'experience_events') }}

    where {{ is_in_query('batch_id', 'select batches.batch_id from batches') }}

),

final as (

    select
        events.event_id,
        trim(events.profile_id) as profile_id,
        events.event_type,
        events.event_at,
        {{ utc_date('events.event_at') }} as event_date,
        events.is_known_event_type,
        {{ json_text('events.record', ['web', 'webPageDetails', 'name']) }}
            as page_name,
        {{ json_text('events.record', ['web', 'webInteraction', 'name']) }}
            as link_name,
        {{ json_text('events.record', ['directMarketing', 'mailingName']) }}
            as campaign_name,
        {{ json_text('events.record', ['advertising', 'adAssetReference', '_id']) }}
            as ad_id,
        {{ json_text('events.record', ['productListItems', '0', 'SKU']) }} as sku,
        cast(
            {{ json_text('events.record', ['commerce', 'order', 'priceTotal']) }}
            as decimal(12, 2)
        ) as order_total,
        {{ json_text(
            'events.record', ['_experience', 'decisioning', 'propositions', '0', 'id']
        ) }} as proposition_id,
        events.batch_id,
        batches.batch_finished_at

    from events

    inner join batches
        on events.batch_id = batches.batch_id

)

select * from final
