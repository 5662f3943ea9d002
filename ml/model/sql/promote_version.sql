-- A version becomes production.
update {model_versions} set
    status = 'production',
    promoted_at = now(),
    archived_at = null,
    decision = %s
where model_name = %s and version = %s
returning {columns}
