-- The staged records of one file (dropped with the batch's transaction).
create temp table enrich_stage (
    record_number bigint primary key,
    raw_text text
) on commit drop
