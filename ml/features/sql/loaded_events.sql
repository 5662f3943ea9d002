-- Events of the successful load batches (counted by the loader: no scan).
select coalesce(sum(records_loaded), 0)::bigint
from {raw_batches}
where dataset = 'experience_events' and status = 'success'
