-- The rows of these successful batches, as the lake's batch files hold them.
select batch_id, dataset as dataset_name, {columns}
from {raw_batches}
where batch_id = any(%s) and status = 'success'
