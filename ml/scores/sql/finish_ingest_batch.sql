-- An ingest attempt that succeeded, with the rows it stored.
update {ingest_batches} set
    status = 'success',
    rows_ingested = %s,
    finished_at = clock_timestamp()
where batch_id = %s
