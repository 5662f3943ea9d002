-- Record a batch as loading (again, after a failed or killed attempt).
insert into {raw_batches} (batch_id, dataset, source, fingerprint, status, params)
values (%s, %s, %s, %s, 'loading', %s)
on conflict (batch_id) do update set
    status = 'loading',
    source = excluded.source,
    params = excluded.params,
    error = null,
    started_at = now(),
    finished_at = null,
    records_read = 0,
    records_loaded = 0,
    records_quarantined = 0,
    records_flagged = 0
