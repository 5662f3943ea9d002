update {audience_deliveries}
set
    status = 'pending',
    attempts = attempts + 1,
    error = null
where idempotency_key = %s
