{#- One row per eligible (profile, training cutoff): did the profile convert
    in the label window [cutoff + gap_days, cutoff + gap_days + horizon)? -#}

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
        event_at

    from {{ ref('stg_xdm__experience_events') }}

    where is_conversion

),

converted_in_window as (

    select
        spine.profile_id,
        spine.cutoff_at,
        min(conversions.event_at) as converted_at

    from spine

    inner join conversions
        on
            spine.profile_id = conversions.profile_id
            and conversions.event_at >= spine.label_window_start_at
            and conversions.event_at < spine.label_window_end_at

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
