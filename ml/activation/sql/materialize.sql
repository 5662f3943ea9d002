-- One audience's members into the build's (detached) membership partition:
-- the scored profiles the rule selects, a stable hash of audience and
-- profile putting a share of them in the holdout. Parameters: audience id,
-- audience id (for the hash), holdout threshold in basis points, batch id,
-- then the rule's.
insert into {partition} (
    audience_id, profile_id, propensity, decile, is_holdout, batch_id
)
select
    %s,
    profile_id,
    propensity,
    decile,
    audiences.holdout_bucket(%s, profile_id) < %s,
    %s
from {profiles_enriched}
where has_score and {condition}
