{#- The last step of the active-days bit mask (see day_bit.sql): how many
    days' bits are set. -#}

{% macro count_bits(mask) -%}
    {{ return(adapter.dispatch('count_bits', 'enrich')(mask)) }}
{%- endmacro %}

{% macro default__count_bits(mask) -%}
    cast(bit_count({{ mask }}) as integer)
{%- endmacro %}

{% macro postgres__count_bits(mask) -%}
    cast(bit_count(cast({{ mask }} as bit(64))) as integer)
{%- endmacro %}
