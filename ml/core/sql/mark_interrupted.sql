-- Attempts still running when a writer takes its lock were left by a killed
-- process: mark them failed, interrupted.
update {attempts}
set status = 'failed', finished_at = now(), error = %s
where status in ('running', 'loading')
returning batch_id
