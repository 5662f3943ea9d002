-- A batch the receiver accepted (again, after a retry: attempts add up).
insert into {audience_delivery_batches} (
    idempotency_key, batch_number, status, attempts, status_code, rows_sent, sent_at
)
values (%s, %s, 'delivered', %s, %s, %s, clock_timestamp())
on conflict (idempotency_key, batch_number) do update set
    status = 'delivered',
    attempts = {audience_delivery_batches}.attempts + excluded.attempts,
    status_code = excluded.status_code,
    sent_at = excluded.sent_at
