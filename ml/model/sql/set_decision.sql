-- A candidate refused by the gate: the decision is recorded, nothing else.
update {model_versions} set decision = %s
where model_name = %s and version = %s
returning {columns}
