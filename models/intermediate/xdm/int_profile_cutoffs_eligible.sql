{{ config(materialized='table') }}

{#- The spine: one row per (profile, cutoff) where the profile is eligible,
    i.e. seen at least once before the cutoff and not converted before it.
    Training and scoring rows come from this one spine. -#}

with

profiles as (

    select
        profile_id,
        first_seen_at,
        first_converted_at

    from {{ ref('int_profiles_resolved') }}

),

cutoffs as (

    select
        cutoff_at,
        cutoff_number,
        is_scoring_cutoff,
        label_window_start_at,
        label_window_end_at

    from {{ ref('int_cutoffs_scheduled') }}

),

final as (

    select
        profiles.profile_id,
        cutoffs.cutoff_at,
        cutoffs.cutoff_number,
        cutoffs.is_scoring_cutoff,
        cutoffs.label_window_start_at,
        cutoffs.label_window_end_at

    from profiles

    cross join cutoffs

    where
        profiles.first_seen_at < cutoffs.cutoff_at
        and (
            profiles.first_converted_at is null
            or profiles.first_converted_at >= cutoffs.cutoff_at
        )

)

select * from final
