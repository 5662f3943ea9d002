with

quarantine as (

    select
        quarantine_id,
        batch_id,
        dataset,
        record_number,
        reason,
        detail,
        quarantined_at

    from {{ source('xdm', 'quarantine') }}

),

final as (

    select
        quarantine_id,
        batch_id,
        dataset,
        record_number,
        reason as quarantine_reason,
        detail as quarantine_detail,
        quarantined_at

    from quarantine

)

select * from final
