-- Record a batch as successful, with its counts.
update {raw_batches} set
    status = 'success',
    finished_at = clock_timestamp(),
    records_read = %s,
    records_loaded = %s,
    records_quarantined = %s,
    records_flagged = %s
where batch_id = %s
