{#- One row per eligible (profile, training cutoff): did the profile convert
    in the label window [cutoff + gap_days, cutoff + gap_days + horizon)?
    The window's ends are bucket bounds (int_feature_buckets), so the first
    conversion of the buckets inside it is the window's first conversion:
    no second pass over the events. -#}

with

spine as (

    select
        profile_id,
        cutoff_at,
        label_window_start_at,
        label_window_end_at

    from {{ ref('int_profile_cutoffs_eligible') }}

    where not is_scoring_cutoff

),

conversions as (

    select
        profile_id,
        bucket_start_at,
        bucket_end_at,
        first_conversion_at

    from {{ ref('int_profile_buckets_aggregated') }}

    where first_conversion_at is not null

),

converted_in_window as (

    select
        spine.profile_id,
        spine.cutoff_at,
        min(conversions.first_conversion_at) as converted_at

    from spine

    inner join conversions
        on
            spine.profile_id = conversions.profile_id
            and conversions.bucket_start_at >= spine.label_window_start_at
            and conversions.bucket_end_at <= spine.label_window_end_at

    group by spine.profile_id, spine.cutoff_at

),

final as (

    select
        spine.profile_id,
        spine.cutoff_at,
        spine.label_window_start_at,
        spine.label_window_end_at,
        converted_in_window.converted_at is not null as label,
        converted_in_window.converted_at

    from spine

    left join converted_in_window
        on
            spine.profile_id = converted_in_window.profile_id
            and spine.cutoff_at = converted_in_window.cutoff_at

)

select * from final
