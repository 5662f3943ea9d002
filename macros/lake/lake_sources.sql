{#- On the engines that featurize from the lake, the lake's raw datasets
    (ml/data/lake_copy.py writes them) become the raw schema's relations,
    so the sources read the same names on every engine. The quarantine
    stays in PostgreSQL: here it is an empty relation. -#}

{% macro lake_sources() -%}
    {{ return(adapter.dispatch('lake_sources', 'enrich')()) }}
{%- endmacro %}

{#- PostgreSQL holds the raw tables itself: nothing to do. -#}

{% macro default__lake_sources() -%}
{%- endmacro %}

{% macro duckdb__lake_sources() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set root = lake_root() %}
    create schema if not exists raw;
    {%- for dataset, columns in lake_schemas().items() if dataset != 'quarantine' %}
    {%- set files = root ~ '/raw/' ~ dataset ~ '/*/*.parquet' %}
    {%- set found = run_query("select count(*) from glob('" ~ files ~ "')").columns[0].values()[0] %}
    create or replace view raw.{{ dataset }} as
    {% if found -%}
    select
    {%- for name, kind in columns %}
        {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    from read_parquet(
        '{{ files }}', hive_partitioning = true, hive_types = {'batch_id': varchar}
    );
    {%- else -%}
    {{ lake_empty(dataset) }};
    {%- endif %}
    {%- endfor %}
    create or replace view raw.quarantine as {{ lake_empty('quarantine') }};
{%- endmacro %}

{#- Spark: external Parquet tables over the lake's folders, one partition a
    batch; RECOVER PARTITIONS picks up the batches written since. -#}

{% macro spark__lake_sources() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set root = lake_root() -%}
    {%- set location = root if '://' in root else 'file://' ~ root -%}
    {%- do run_query('create database if not exists raw') -%}
    {%- for dataset, columns in lake_schemas().items() if dataset != 'quarantine' %}
    {%- do run_query('drop table if exists raw.' ~ dataset) -%}
    {%- set ddl -%}
    create table raw.{{ dataset }} (
    {%- for name, kind in columns %}
        {{ name }} {{ lake_type(kind) }}{{ ',' if not loop.last }}
    {%- endfor %}
    )
    using parquet
    partitioned by (batch_id)
    location '{{ location }}/raw/{{ dataset }}'
    {%- endset -%}
    {%- do run_query(ddl) -%}
    {%- do run_query('alter table raw.' ~ dataset ~ ' recover partitions') -%}
    {%- endfor %}
    {%- do run_query('create or replace view raw.quarantine as ' ~ lake_empty('quarantine')) -%}
{%- endmacro %}
