-- The activated set a delivery leaves: the staged activatable members.
insert into {audience_activated} (idempotency_key, profile_id)
select
    %s,
    profile_id
from _activatable
