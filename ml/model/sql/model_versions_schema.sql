-- The model registry: one row per trained model version. Idempotent: run at
-- the start of every registry session. At most one production version per
-- model; the fingerprint (training rows and parameters) is unique per model.

create schema if not exists {registry_schema};
create table if not exists {model_versions} (
    model_name text not null,
    version integer not null,
    status text not null check (status in ('candidate', 'production', 'archived')),
    fingerprint text not null,
    training_export text not null,
    artifact_uri text not null,
    metrics jsonb not null,
    baselines jsonb not null,
    leakage jsonb not null,
    data jsonb not null,
    params jsonb not null,
    decision text,
    created_at timestamptz not null default now(),
    promoted_at timestamptz,
    archived_at timestamptz,
    primary key (model_name, version),
    unique (model_name, fingerprint)
);
create unique index if not exists model_versions_one_production
    on {model_versions} (model_name) where status = 'production';
