{% macro event_catalogue() -%}
    {#- The rows of the xdm_event_types seed (event_type, feature_slug), the
        one list every per-event-type column is generated from. A model that
        calls it declares `-- depends_on: {{ ref('xdm_event_types') }}`.
        Unit tests pin the list with the var `event_catalogue` (a list of
        [event_type, feature_slug] pairs), since they cannot query a seed. -#}
    {%- set pinned = var('event_catalogue', none) -%}
    {%- if pinned is not none -%}
        {{ return(pinned) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        select event_type, feature_slug
        from {{ ref('xdm_event_types') }}
        order by event_type
    {%- endset -%}
    {{ return(run_query(query).rows) }}
{%- endmacro %}
