-- The successful ingest of a scores dataset, if there is one.
select batch_id, rows_ingested from {ingest_batches}
where source = %s and status = 'success'
