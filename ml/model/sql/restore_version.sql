-- The version rolled back to becomes production again.
update {model_versions} set
    status = 'production',
    archived_at = null,
    promoted_at = now(),
    decision = %s
where model_name = %s and version = %s
returning {columns}
