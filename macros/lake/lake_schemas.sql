{% macro lake_schemas() -%}
    {#- Columns of the raw relations (batch_id is the lake's folder name), as
        ml/data/lake_copy.py's SCHEMAS writes them. -#}
    {{ return({
        'experience_events': [
            ('event_id', 'string'), ('profile_id', 'string'), ('event_type', 'string'),
            ('event_at', 'timestamp'), ('is_known_event_type', 'boolean'),
            ('record', 'string'), ('batch_id', 'string'),
        ],
        'profiles': [
            ('profile_id', 'string'), ('record_id', 'string'), ('record', 'string'),
            ('batch_id', 'string'),
        ],
        'batches': [
            ('dataset', 'string'), ('source', 'string'), ('status', 'string'),
            ('records_read', 'bigint'), ('records_loaded', 'bigint'),
            ('records_quarantined', 'bigint'), ('records_flagged', 'bigint'),
            ('started_at', 'timestamp'), ('finished_at', 'timestamp'),
            ('batch_id', 'string'),
        ],
        'quarantine': [
            ('quarantine_id', 'bigint'), ('batch_id', 'string'), ('dataset', 'string'),
            ('record_number', 'bigint'), ('reason', 'string'), ('detail', 'string'),
            ('raw_text', 'string'), ('quarantined_at', 'timestamp'),
        ],
    }) }}
{%- endmacro %}
