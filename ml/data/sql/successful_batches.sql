-- Every successful batch and its dataset, oldest first.
select batch_id, dataset from {raw_batches}
where status = 'success'
order by finished_at
