-- The mean propensity of one ingest batch's scores (0 for an empty batch).
select coalesce(avg(propensity), 0)::float8
from {propensity_scores}
where batch_id = %s
