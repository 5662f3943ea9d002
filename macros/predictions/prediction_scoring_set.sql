{% macro prediction_scoring_set(name, target_features=true) -%}
    {#- One prediction's scoring set: its eligible profiles at the scoring
        cutoff passing its `eligible` condition, the same feature columns in
        the same order as its training set, and no label. -#}
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
        and is_scoring_cutoff
        {%- if prediction.get('eligible') is not none %}
        and ({{ render_condition(prediction.eligible, eligibility_columns()) }})
        {%- endif %}

),

final as (

    select {{ star_except(ref('ml_features'), excluded, 'features') }}

    from features

)

select * from final
{%- endmacro %}
