-- Every version of a model, newest first.
select {columns} from {model_versions}
where model_name = %s
order by version desc
