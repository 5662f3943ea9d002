{% macro incremental_by_batch() -%}
    {{ return(adapter.dispatch('incremental_by_batch', 'enrich')()) }}
{%- endmacro %}

{#- The config of a model that is incremental by load batch: a batch read
    again (the lookback) replaces its rows, never duplicates them. -#}

{% macro default__incremental_by_batch() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'event_id',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- Spark's Parquet tables cannot delete rows: one partition per batch,
    overwritten whole when the batch is read again. -#}

{% macro spark__incremental_by_batch() -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': ['batch_id'],
        'file_format': 'parquet',
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}
