-- The last delivered delivery of an audience to a destination.
select idempotency_key
from {audience_deliveries}
where
    audience_id = %s
    and destination = %s
    and status = 'delivered'
order by delivered_at desc
limit 1
