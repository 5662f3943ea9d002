-- Record attempts as failed, with the reason.
update {attempts}
set status = 'failed', finished_at = clock_timestamp(), error = %s
where batch_id = any(%s)
