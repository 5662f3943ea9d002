-- A model's production version.
select {columns} from {model_versions}
where model_name = %s and status = 'production'
