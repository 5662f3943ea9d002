-- Scored profiles of a new partition that the profile store does not know:
-- how many, and the first few of them.
select
    count(*),
    (array_agg(scores.profile_id order by scores.profile_id))[1:%s]
from {partition} as scores
where not exists (
    select from {profiles_enriched} as profiles
    where profiles.profile_id = scores.profile_id
)
