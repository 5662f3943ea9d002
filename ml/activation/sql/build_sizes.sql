-- Every audience of a build: sizes, holdout and delta.
select *
from {audience_build_audiences}
where batch_id = %s
order by audience_id
