{% macro target_feature_names() -%}
    {#- The per-prediction target feature columns of ml_features, in order:
        target events per feature window and in all history, and the days
        since the latest one. -#}
    {%- set names = [] -%}
    {%- for days in var('feature_windows_days') -%}
        {%- do names.append('count_target_' ~ days ~ 'd') -%}
    {%- endfor -%}
    {%- do names.extend(['count_target_total', 'days_since_target']) -%}
    {{ return(names) }}
{%- endmacro %}
