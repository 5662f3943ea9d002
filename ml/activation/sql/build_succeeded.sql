update {audience_builds}
set
    status = 'success',
    finished_at = clock_timestamp()
where batch_id = %s
