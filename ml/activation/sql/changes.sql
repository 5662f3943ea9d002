-- A delivery's changes: entries (with attributes), then exits, in a fixed
-- order. The keys are literals: COPY takes no parameters.
select {entered}
from {audience_activated} as cur
left join {profiles_enriched} as profiles
    on profiles.profile_id = cur.profile_id
where
    cur.idempotency_key = {key}
    and not exists (
        select from {audience_activated} as prev
        where
            prev.idempotency_key = {previous}
            and prev.profile_id = cur.profile_id
    )
union all
select {exited}
from {audience_activated} as prev
where
    prev.idempotency_key = {previous}
    and not exists (
        select from {audience_activated} as cur
        where
            cur.idempotency_key = {key}
            and cur.profile_id = prev.profile_id
    )
order by 1, 2
