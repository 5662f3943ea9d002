{% macro target_condition(prediction, prefix=none) -%}
    {#- SQL true for a staged event that is the prediction's target: its
        event_type (any event when null, for churn's activity) and its
        `where` over the staged event columns. -#}
    {%- set qualifier = prefix ~ '.' if prefix else '' -%}
    {%- set columns = {} -%}
    {%- for field in ['page_name', 'link_name', 'campaign_name', 'ad_id', 'sku',
                      'proposition_id', 'order_total'] -%}
        {%- do columns.update({field: qualifier ~ field}) -%}
    {%- endfor -%}
    {%- set parts = [] -%}
    {%- if prediction.event_type is not none -%}
        {%- do parts.append(qualifier ~ 'event_type = '
            ~ render_literal(prediction.event_type)) -%}
    {%- endif -%}
    {%- if prediction.get('where') is not none -%}
        {%- do parts.append('(' ~ render_condition(prediction['where'], columns) ~ ')') -%}
    {%- endif -%}
    {{ return(parts | join(' and ') if parts else 'true') }}
{%- endmacro %}
