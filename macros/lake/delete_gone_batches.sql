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
