-- Experience events the successful load batches hold, and those batches.
select
    coalesce(sum(records_loaded), 0),
    count(*)
from {raw_batches}
where status = 'success' and dataset = 'experience_events'
