-- Check every staged experience event: structure, identity, _id, eventType,
-- timestamp (ISO 8601, not too far in the future), duplicates in the batch
-- and against events already loaded. One row per record, reason null if good.
create temp table enrich_checked on commit drop as
{parsed},

checked as (
    select
        *,
        event_time_text ~ %(iso_8601)s
        and pg_input_is_valid(event_time_text, 'timestamptz') as is_valid_time
    from fields
),

structural as (
    select
        *,
        case when is_valid_time then event_time_text::timestamptz end as event_at,
        case
            {structure_reason}
            when coalesce(record_id, '') = '' then 'missing_id'
            when coalesce(event_type, '') = '' then 'missing_event_type'
            when event_time_text is null then 'missing_timestamp'
            when not is_valid_time then 'invalid_timestamp'
            when event_time_text::timestamptz
                > now() + %(max_future_hours)s * interval '1 hour'
                then 'future_timestamp'
        end as reason,
        case
            {structure_detail}
            when coalesce(record_id, '') = '' then 'required field _id is missing'
            when coalesce(event_type, '') = ''
                then 'required field eventType is missing'
            when event_time_text is null
                then 'required field timestamp is missing'
            when not is_valid_time
                then 'timestamp ' || quote_literal(event_time_text)
                    || ' is not an ISO 8601 date-time'
            when event_time_text::timestamptz
                > now() + %(max_future_hours)s * interval '1 hour'
                then 'timestamp ' || event_time_text
                    || ' is more than ' || %(max_future_hours)s
                    || ' hours after the load time'
        end as detail
    from checked
),

{ranked}

select
    ranked.record_number,
    ranked.raw_text,
    ranked.doc,
    ranked.record_id as event_id,
    ranked.profile_id,
    ranked.event_type,
    ranked.event_at,
    ranked.event_type = any(%(known)s::text[]) as is_known_event_type,
    case
        when ranked.reason is not null then ranked.reason
        when ranked.key_rank > 1 or existing.batch_id is not null
            then 'duplicate_id'
    end as reason,
    case
        when ranked.reason is not null then ranked.detail
        when ranked.key_rank > 1
            then '_id ' || ranked.record_id || ' already appears at record '
                || ranked.first_record || ' of this batch'
        when existing.batch_id is not null
            then '_id ' || ranked.record_id || ' was already loaded by batch '
                || existing.batch_id
    end as detail
from ranked
left join {raw_experience_events} as existing
    on ranked.reason is null and existing.event_id = ranked.record_id
