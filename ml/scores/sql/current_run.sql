-- The latest successful ingest batch of the scoring run the enriched profiles
-- show: profiles_enriched decides which run is current (as audiences read
-- it); the ingest log names the run's partition of the scores.
select
    batch_id,
    model_name,
    model_version,
    as_of,
    run_id,
    rows_ingested
from {ingest_batches}
where
    status = 'success'
    and run_id = (
        select scoring_run_id from {profiles_enriched} where has_score limit 1
    )
order by finished_at desc
limit 1
