-- The earlier successful batch of a dataset with this content.
select
    batch_id, source, records_read, records_loaded,
    records_quarantined, records_flagged
from {raw_batches}
where dataset = %s and fingerprint = %s and status = 'success'
