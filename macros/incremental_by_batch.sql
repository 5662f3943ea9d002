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

{% macro delete_gone_batches(relation, batches) -%}
    {{ return(adapter.dispatch('delete_gone_batches', 'enrich')(relation, batches)) }}
{%- endmacro %}

{#- Drops rows whose batch is no longer a successful one (a replaced
    synthetic dataset), so the table never mixes datasets. -#}
{% macro default__delete_gone_batches(relation, batches) -%}
    delete from {{ relation }} as staged
    where not exists (
        select 1 from {{ batches }} as batches
        where batches.batch_id = staged.batch_id
            and batches.status = 'success'
    )
{%- endmacro %}

{#- Spark: rows of a replaced dataset need `--full-refresh` (no deletes). -#}
{% macro spark__delete_gone_batches(relation, batches) -%}
{%- endmacro %}

{% macro index_for_lookups(relation, column) -%}
    {{ return(adapter.dispatch('index_for_lookups', 'enrich')(relation, column)) }}
{%- endmacro %}

{#- Engines without indexes need nothing. -#}
{% macro default__index_for_lookups(relation, column) -%}
{%- endmacro %}

{% macro postgres__index_for_lookups(relation, column) -%}
    create index if not exists {{ relation.identifier }}_{{ column }}
        on {{ relation }} ({{ column }});
    analyze {{ relation }}
{%- endmacro %}
