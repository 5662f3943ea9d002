-- Entered, exited and stayed of one audience against a previous build.
-- Parameters: audience id, previous batch id, audience id.
select
    count(*) filter (where prev.profile_id is null),
    count(*) filter (where cur.profile_id is null),
    count(*) filter (
        where cur.profile_id is not null and prev.profile_id is not null
    )
from (
    select profile_id from {partition}
    where audience_id = %s
) as cur
full join (
    select profile_id from {audience_memberships}
    where batch_id = %s and audience_id = %s
) as prev on prev.profile_id = cur.profile_id
