-- The good profiles of the checked batch into its new partition.
insert into {target} (profile_id, record_id, batch_id, record)
select profile_id, record_id, %(batch_id)s, doc
from enrich_checked
where reason is null
