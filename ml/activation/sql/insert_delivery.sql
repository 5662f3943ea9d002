-- The ledger row of a delivery, pending, with its frozen counts.
insert into {audience_deliveries} (
    idempotency_key,
    batch_id,
    audience_id,
    destination,
    previous_key,
    status,
    count_entered,
    count_exited,
    count_withheld_consent,
    count_withheld_suppressed,
    count_holdout
)
values (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s)
