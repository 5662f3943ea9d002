update {audience_deliveries}
set
    status = 'failed',
    error = %s
where idempotency_key = %s
