-- A build starts: running until every audience is materialized.
insert into {audience_builds} (
    batch_id, scoring_run_id, score_cutoff_at, definitions_digest, status
)
values (%s, %s, %s, %s, 'running')
