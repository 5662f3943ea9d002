{% macro in_profile_sample(profile_id, percent) -%}
    {{ return(adapter.dispatch('in_profile_sample', 'enrich')(profile_id, percent)) }}
{%- endmacro %}

{% macro default__in_profile_sample(profile_id, percent) -%}
    {#- A condition true for about `percent` of the profiles, the same ones on
        every run (a hash of the id, 0-9999); always true at 100 percent. -#}
    {%- if percent | float < 100 -%}
        ('x' || substr(md5({{ profile_id }}), 1, 7))::bit(28)::integer % 10000
        < {{ (percent | float * 100) | int }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- The same hash, so every engine checks the same profiles. -#}
{% macro duckdb__in_profile_sample(profile_id, percent) -%}
    {%- if percent | float < 100 -%}
        cast('0x' || substr(md5({{ profile_id }}), 1, 7) as integer) % 10000
        < {{ (percent | float * 100) | int }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{% macro spark__in_profile_sample(profile_id, percent) -%}
    {%- if percent | float < 100 -%}
        cast(conv(substr(md5({{ profile_id }}), 1, 7), 16, 10) as int) % 10000
        < {{ (percent | float * 100) | int }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
