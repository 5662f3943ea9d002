{#- One row per eligible (profile, training cutoff): the features and the
    label. Same feature columns, in the same order, as ml_scoring_set. -#}

with

features as (

    select *

    from {{ ref('ml_features') }}

    where not is_scoring_cutoff

),

labels as (

    select
        profile_id,
        cutoff_at,
        label

    from {{ ref('ml_labels') }}

),

final as (

    select
        {{ star_except(ref('ml_features'), ['is_scoring_cutoff'], 'features') }},
        labels.label

    from features

    inner join labels
        on
            features.profile_id = labels.profile_id
            and features.cutoff_at = labels.cutoff_at

)

select * from final
