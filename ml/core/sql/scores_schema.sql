-- The scores schema: what `enrich ingest` writes back to the profile store,
-- what dbt's `scores` source reads. Idempotent: run before every ingest (and
-- by `enrich featurize`, so `profiles_enriched` builds before any score).
-- Column names are a contract, documented in
-- models/staging/scores/_scores__sources.yml. No `comment on` here: it takes a
-- table lock (share update exclusive) on every run, which would queue behind
-- VACUUM, ANALYZE or another session's swap.

create schema if not exists scores;

-- One row per ingest attempt: running -> success | failed; a success is
-- later `replaced` when the same model version and as_of are ingested again.
create table if not exists scores.ingest_batches (
    batch_id text primary key,
    source text not null,
    run_id text not null,
    model_name text not null,
    model_version integer not null,
    as_of timestamptz not null,
    status text not null
        check (status in ('running', 'success', 'failed', 'replaced')),
    rows_ingested bigint not null default 0,
    error text,
    replaced_by text,
    started_at timestamptz not null default now(),
    finished_at timestamptz
);

-- Scores history: one row per (profile, model, version, as_of). Each ingest
-- fills its own partition while detached and attaches it at commit, dropping
-- the partition it replaces in the same transaction, so readers see the old
-- scores or the new ones, never a mix, and a killed ingest leaves no trace.
create table if not exists scores.propensity_scores (
    profile_id text not null,
    propensity double precision not null,
    percentile double precision not null,
    decile smallint not null,
    reason_1 text,
    reason_1_shap double precision,
    reason_2 text,
    reason_2_shap double precision,
    reason_3 text,
    reason_3_shap double precision,
    model_name text not null,
    model_version integer not null,
    as_of timestamptz not null,
    scored_at timestamptz not null,
    run_id text not null,
    batch_id text not null,
    ingested_at timestamptz not null default now()
) partition by list (batch_id);
