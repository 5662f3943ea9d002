-- Ingests whose partitions a new ingest dropped.
update {ingest_batches} set status = 'replaced', replaced_by = %s
where batch_id = any(%s)
