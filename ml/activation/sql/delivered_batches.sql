-- The batches of an HTTP delivery the receiver already accepted.
select batch_number
from {audience_delivery_batches}
where idempotency_key = %s and status = 'delivered'
