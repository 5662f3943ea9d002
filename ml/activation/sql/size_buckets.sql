-- Scored profiles a rule selects, per 0.005 propensity bucket (from 0 up):
-- how many, and the sum of their propensities. Parameters: the bucket count,
-- twice (propensity 1 falls in the last bucket), then the rule's.
select
    least(width_bucket(propensity, 0, 1, %s), %s) - 1,
    count(*),
    sum(propensity)
from {profiles_enriched}
where has_score and {condition}
group by 1
