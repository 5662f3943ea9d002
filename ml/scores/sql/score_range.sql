-- The 99.5th percentile and the highest propensity of one ingest batch.
select
    percentile_cont(0.995) within group (order by propensity),
    max(propensity)
from {propensity_scores}
where batch_id = %s
