-- Order of records sharing a key among the structurally valid ones: the
-- first loads, later ones are duplicates. The key column is the dataset's.
ranked as (
    select
        structural.*,
        row_number() over same_key as key_rank,
        min(record_number) over same_key as first_record
    from structural
    window same_key as (
        partition by {key}, reason is null order by record_number
    )
)
