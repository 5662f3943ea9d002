-- The good events of the checked batch into its new partition.
insert into {target} (
    event_id, profile_id, event_type, event_at, is_known_event_type,
    batch_id, record
)
select
    event_id, profile_id, event_type, event_at, is_known_event_type,
    %(batch_id)s, doc
from enrich_checked
where reason is null
