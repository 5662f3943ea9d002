-- Members, holdout and expected conversions of one audience of the build.
select
    count(*),
    count(*) filter (where is_holdout),
    coalesce(sum(propensity), 0)::float8
from {partition}
where audience_id = %s
