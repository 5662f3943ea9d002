-- The latest successful audience build.
select
    batch_id,
    scoring_run_id,
    definitions_digest
from {audience_builds}
where status = 'success'
order by started_at desc
limit 1
