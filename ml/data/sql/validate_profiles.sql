-- Check every staged profile: structure and identity, and duplicates of a
-- profile within the batch. One row per record, reason null if good.
create temp table enrich_checked on commit drop as
{parsed},

structural as (
    select
        *,
        case
            {structure_reason}
        end as reason,
        case
            {structure_detail}
        end as detail
    from fields
),

{ranked}

select
    record_number,
    raw_text,
    doc,
    coalesce(nullif(record_id, ''), profile_id) as record_id,
    profile_id,
    true as is_known_event_type,
    case
        when reason is not null then reason
        when key_rank > 1 then 'duplicate_id'
    end as reason,
    case
        when reason is not null then detail
        when key_rank > 1
            then 'profile ' || profile_id || ' already appears at record '
                || first_record || ' of this batch'
    end as detail
from ranked
