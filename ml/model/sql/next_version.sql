-- The number of a model's next version.
select coalesce(max(version), 0) + 1 from {model_versions}
where model_name = %s
