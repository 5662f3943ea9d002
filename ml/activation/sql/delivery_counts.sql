-- Entered and exited against the previous delivery's activated set, and
-- what was withheld (no consent, suppressed, holdout). Parameters: the
-- previous delivery's key, twice.
select
    (
        select count(*) from _activatable as a
        where not exists (
            select from {audience_activated} as p
            where p.idempotency_key = %s and p.profile_id = a.profile_id
        )
    ),
    (
        select count(*) from {audience_activated} as p
        where
            p.idempotency_key = %s
            and not exists (
                select from _activatable as a
                where a.profile_id = p.profile_id
            )
    ),
    (
        select count(*) from _members
        where not is_holdout and not is_consented
    ),
    (
        select count(*) from _members
        where not is_holdout and is_consented and is_suppressed
    ),
    (select count(*) from _members where is_holdout)
