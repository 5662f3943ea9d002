-- The successful ingests of the same model version and as_of (replaced by a
-- new one).
select batch_id from {ingest_batches}
where
    status = 'success'
    and model_name = %s
    and model_version = %s
    and as_of = %s
