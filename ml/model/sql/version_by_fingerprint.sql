-- The version trained on these rows with these parameters.
select {columns} from {model_versions}
where model_name = %s and fingerprint = %s
