-- A new ingest attempt, running.
insert into {ingest_batches} (
    batch_id, source, run_id, model_name, model_version, as_of, status
)
values (%s, %s, %s, %s, %s, %s, 'running')
