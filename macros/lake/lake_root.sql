{% macro lake_root() -%}
    {{- env_var('ENRICH_LAKE', env_var('ENRICH_HOME', env_var('PWD', '.') ~ '/.enrich') ~ '/lake') | replace("'", "") -}}
{%- endmacro %}
