-- One delivery of the ledger: its status and frozen counts.
select
    status,
    location,
    previous_key,
    count_entered,
    count_exited,
    count_withheld_consent,
    count_withheld_suppressed,
    count_holdout
from {audience_deliveries}
where idempotency_key = %s
