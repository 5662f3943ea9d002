-- One version of a model.
select {columns} from {model_versions}
where model_name = %s and version = %s
