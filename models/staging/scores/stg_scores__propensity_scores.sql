with

scores as (

    select
        profile_id,
        propensity,
        percentile,
        decile,
        reason_1,
        reason_1_shap,
        reason_2,
        reason_2_shap,
        reason_3,
        reason_3_shap,
        model_name,
        model_version,
        as_of,
        scored_at,
        run_id,
        ingested_at

    from {{ source('scores', 'propensity_scores') }}

),

final as (

    select
        profile_id,
        propensity,
        percentile,
        decile,
        reason_1,
        reason_1_shap,
        reason_2,
        reason_2_shap,
        reason_3,
        reason_3_shap,
        model_name,
        model_version,
        as_of as cutoff_at,
        scored_at,
        run_id as scoring_run_id,
        ingested_at

    from scores

)

select * from final
