-- Structural fields of every staged record, shared by both datasets: the
-- JSON document (null when the text is not JSON), its type, and the fields
-- the checks read. Used as the head of validate_events and validate_profiles.
with parsed as (
    select
        record_number,
        raw_text,
        case
            when pg_input_is_valid(raw_text, 'jsonb') then raw_text::jsonb
        end as doc
    from enrich_stage
),

fields as (
    select
        record_number,
        raw_text,
        doc,
        jsonb_typeof(doc) as doc_type,
        case when jsonb_typeof(doc) = 'object' then doc ->> '_id' end as record_id,
        case
            when jsonb_typeof(doc) = 'object' then doc ->> 'eventType'
        end as event_type,
        case
            when jsonb_typeof(doc) = 'object' then doc ->> 'timestamp'
        end as event_time_text,
        (
            select identity #>> '{{}}'
            from jsonb_path_query_first(
                doc, %(identity_path)s::jsonpath
            ) as found (identity)
            where jsonb_typeof(identity) in ('string', 'number')
        ) as profile_id
    from parsed
)
