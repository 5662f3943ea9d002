{{ config(materialized='table') }}

{#- Time buckets whose bounds are every cutoff and every cutoff minus each
    feature window: any feature window of any cutoff is a whole number of
    buckets, so events are aggregated once per bucket, not once per cutoff.
    Bucket 0 reaches back to the first event; bucket n ends at the latest
    cutoff. -#}

with

cutoffs as (

    select cutoff_at

    from {{ ref('int_cutoffs_scheduled') }}

),

bounds as (

    select cutoff_at as bound_at from cutoffs
    {%- for days in var('feature_windows_days') %}
    union
    select {{ add_days('cutoff_at', -days) }} as bound_at from cutoffs
    {%- endfor %}

),

numbered as (

    select
        bound_at,
        row_number() over (order by bound_at) as bound_number

    from bounds

),

final as (

    select
        numbered.bound_number - 1 as bucket_number,
        previous.bound_at as bucket_start_at,
        numbered.bound_at as bucket_end_at

    from numbered

    left join numbered as previous
        on numbered.bound_number = previous.bound_number + 1

)

select * from final
