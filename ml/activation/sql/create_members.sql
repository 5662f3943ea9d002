-- One audience's members of the build, with what may withhold them.
create temp table _members (
    profile_id text primary key,
    is_holdout boolean,
    is_consented boolean,
    is_suppressed boolean
) on commit drop
