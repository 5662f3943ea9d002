-- Every audience of one build: its rule, sizes, holdout and delta.
select
    audience_id,
    rule,
    count_members,
    count_holdout,
    count_entered,
    count_exited,
    expected_conversions
from {audience_build_audiences}
where batch_id = %s
order by audience_id
