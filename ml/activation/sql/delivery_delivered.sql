update {audience_deliveries}
set
    status = 'delivered',
    location = %s,
    delivered_at = clock_timestamp()
where idempotency_key = %s
