-- Batches of a synthetic dataset generated with other parameters.
select batch_id from {raw_batches}
where source = %s and params ->> 'dataset_fingerprint' <> %s
