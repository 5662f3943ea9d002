-- The version that was production last before the current one.
select {columns} from {model_versions}
where
    model_name = %s
    and status = 'archived'
    and promoted_at is not null
order by promoted_at desc
limit 1
