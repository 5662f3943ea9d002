{#- One row per eligible profile at the scoring cutoff (as_of): the features
    the model scores. Same feature columns, in the same order, as
    ml_training_set, and no label. -#}

with

features as (

    select *

    from {{ ref('ml_features') }}

    where is_scoring_cutoff

),

final as (

    select {{ star_except(ref('ml_features'), ['is_scoring_cutoff'], 'features') }}

    from features

)

select * from final
