with

batches as (

    select
        batch_id,
        dataset,
        source,
        status,
        records_read,
        records_loaded,
        records_quarantined,
        records_flagged,
        started_at,
        finished_at

    from {{ source('xdm', 'batches') }}

),

final as (

    select
        batch_id,
        dataset,
        source as batch_source,
        status as batch_status,
        records_read as count_records_read,
        records_loaded as count_records_loaded,
        records_quarantined as count_records_quarantined,
        records_flagged as count_records_flagged,
        started_at as batch_started_at,
        finished_at as batch_finished_at,
        source = 'synthetic' as is_synthetic

    from batches

)

select * from final
