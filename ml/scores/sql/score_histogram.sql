-- Scores of one ingest batch per bin of equal width over [0, upper): bin -1
-- below 0, bin `bins` at or above upper.
select
    width_bucket(propensity, 0, %s, %s) - 1,
    count(*)
from {propensity_scores}
where batch_id = %s
group by 1
order by 1
