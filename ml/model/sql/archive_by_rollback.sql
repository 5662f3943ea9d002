-- The production version rolled back from: archived, no longer promoted.
update {model_versions} set
    status = 'archived',
    archived_at = now(),
    promoted_at = null,
    decision = %s
where model_name = %s and version = %s
