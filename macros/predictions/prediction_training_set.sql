{% macro prediction_training_set(name, target_features=true) -%}
    {#- One prediction's training set: its eligible (profile, training
        cutoff) rows of ml_features passing its `eligible` condition, the
        features (with the target features unless target_features is false)
        and the label. -#}
    {%- set prediction = prediction_by_name(name) -%}
    {#- The eligible condition's fields include the catalogue's columns. -#}
    {%- do ref('xdm_event_types') -%}
    {%- set excluded = ['prediction_name', 'is_scoring_cutoff'] -%}
    {%- if not target_features -%}
        {%- do excluded.extend(target_feature_names()) -%}
    {%- endif %}
with

features as (

    select *

    from {{ ref('ml_features') }}

    where
        prediction_name = {{ render_literal(prediction.name) }}
        and not is_scoring_cutoff
        {%- if prediction.get('eligible') is not none %}
        and ({{ render_condition(prediction.eligible, eligibility_columns()) }})
        {%- endif %}

),

labels as (

    select
        profile_id,
        cutoff_at,
        label

    from {{ ref('ml_labels') }}

    where prediction_name = {{ render_literal(prediction.name) }}

),

final as (

    select
        {{ star_except(ref('ml_features'), excluded, 'features') }},
        labels.label

    from features

    inner join labels
        on
            features.profile_id = labels.profile_id
            and features.cutoff_at = labels.cutoff_at

)

select * from final
{%- endmacro %}
