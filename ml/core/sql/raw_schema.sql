-- The raw datasets: what the loader writes, what dbt's sources read.
-- Idempotent: run before every load. Table and column names are a contract
-- other tools rely on (see models/staging/xdm/_xdm__sources.yml).

create schema if not exists raw;
create schema if not exists synthetic;

create table if not exists raw.batches (
    batch_id text primary key,
    dataset text not null
        check (dataset in ('experience_events', 'profiles')),
    source text not null,
    fingerprint text not null,
    status text not null
        check (status in ('loading', 'success', 'failed')),
    records_read bigint not null default 0,
    records_loaded bigint not null default 0,
    records_quarantined bigint not null default 0,
    records_flagged bigint not null default 0,
    error text,
    params jsonb not null default '{}'::jsonb,
    started_at timestamptz not null default now(),
    finished_at timestamptz
);

-- A dataset's content loads once: a second success with the same
-- fingerprint is refused by the database itself.
create unique index if not exists batches_dataset_fingerprint_success
    on raw.batches (dataset, fingerprint)
    where status = 'success';

create table if not exists raw.experience_events (
    event_id text not null,
    profile_id text not null,
    event_type text not null,
    event_at timestamptz not null,
    is_known_event_type boolean not null,
    batch_id text not null,
    record jsonb not null
) partition by list (batch_id);

-- One partition per batch, created by the loader in the transaction that
-- fills it: a failed batch leaves nothing, a dropped dataset is a DROP, an
-- incremental model reads only the new batches' partitions, and on the
-- embedded server (wal_level minimal) the COPY skips the WAL. No foreign keys
-- and no index on the event tables: per-row checks and index upkeep cost a
-- third of the load rate. The loader guarantees what they would (one
-- transaction per batch; duplicate _id values are quarantined by an
-- anti-join against the loaded events).

create table if not exists raw.profiles (
    profile_id text not null,
    record_id text not null,
    batch_id text not null,
    record jsonb not null
) partition by list (batch_id);

create unique index if not exists profiles_batch_profile
    on raw.profiles (batch_id, profile_id);

create table if not exists raw.quarantine (
    quarantine_id bigint generated always as identity primary key,
    batch_id text not null references raw.batches (batch_id),
    dataset text not null,
    record_number bigint not null,
    reason text not null,
    detail text not null,
    raw_text text not null,
    quarantined_at timestamptz not null default now()
);

create index if not exists quarantine_batch_id on raw.quarantine (batch_id);

-- Ground truth of the synthetic generator: one row per profile per window
-- while the profile has not converted. Never read by features or training.
create table if not exists synthetic.truth (
    profile_id text not null,
    window_start timestamptz not null,
    window_end timestamptz not null,
    p_true double precision not null,
    is_converted boolean not null,
    converted_at timestamptz,
    churned_at timestamptz,
    is_future boolean not null,
    batch_id text not null
) partition by list (batch_id);

comment on table raw.batches is
    'One row per load batch: where it came from, its status and record counts.';
comment on table raw.experience_events is
    'XDM experience events as loaded, one row per event; record holds the full XDM.';
comment on table raw.profiles is
    'XDM individual profiles as loaded, one row per profile per batch.';
comment on table raw.quarantine is
    'Records refused by the loader, with the reason and the raw text.';
comment on table synthetic.truth is
    'Oracle of the synthetic generator. Never read by features or training.';
