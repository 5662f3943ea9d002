-- The production version steps down (a promotion replaces it).
update {model_versions} set status = 'archived', archived_at = now()
where model_name = %s and status = 'production'
