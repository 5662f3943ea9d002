{% macro prediction_by_name(name) -%}
    {#- The prediction of the spec called `name`; a compiler error naming the
        known ones when there is none (a per-prediction model left behind
        after its prediction was removed from predictions.yml). -#}
    {%- for prediction in prediction_spec() -%}
        {%- if prediction.name == name -%}
            {{ return(prediction) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "no prediction " ~ name ~ " in var predictions (known: "
        ~ (prediction_spec() | map(attribute='name') | join(', '))
        ~ "); remove its models or add it to predictions.yml") }}
{%- endmacro %}
