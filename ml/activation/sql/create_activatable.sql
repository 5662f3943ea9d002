-- The members a delivery may send: outside the holdout, consented, not
-- suppressed.
create temp table _activatable on commit drop as
select profile_id
from _members
where not is_holdout and is_consented and not is_suppressed
