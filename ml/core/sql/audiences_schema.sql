-- The audiences schema: what `enrich audiences build` writes, what activation
-- reads. Idempotent: run before every build. No `comment on` (see
-- scores_schema.sql). Column names are a contract, documented in
-- models/staging/audiences/_audiences__sources.yml.

create schema if not exists audiences;

-- One row per build: which scoring run and which definitions it used.
create table if not exists audiences.builds (
    batch_id text primary key,
    scoring_run_id text not null,
    score_cutoff_at timestamptz not null,
    definitions_digest text not null,
    status text not null check (status in ('running', 'success', 'failed')),
    error text,
    started_at timestamptz not null default now(),
    finished_at timestamptz
);

-- One row per build and audience: sizes and the delta against the previous
-- successful build.
create table if not exists audiences.build_audiences (
    batch_id text not null,
    audience_id text not null,
    rule text not null,
    holdout_percent double precision not null,
    count_members bigint not null,
    count_holdout bigint not null,
    count_entered bigint not null,
    count_exited bigint not null,
    count_stayed bigint not null,
    expected_conversions double precision not null,
    realised_rate double precision,
    base_rate double precision,
    primary key (batch_id, audience_id)
);

-- Membership snapshots: one row per build, audience and qualifying profile;
-- one partition per build, attached when the whole build succeeded.
create table if not exists audiences.memberships (
    audience_id text not null,
    profile_id text not null,
    propensity double precision,
    decile smallint,
    is_holdout boolean not null,
    batch_id text not null
) partition by list (batch_id);

-- The holdout draw: a stable hash of audience and profile, 0-9999. The same
-- profile lands in the same group in every build, on every server (md5 is
-- the same everywhere; hashtext is not promised to be).
create or replace function audiences.holdout_bucket(audience text, profile text)
returns integer
language sql
immutable
parallel safe
return ('x' || substr(md5(audience || '/' || profile), 1, 7))::bit(28)::integer % 10000;

-- Identities never to activate, whatever audience they qualify for.
create table if not exists audiences.suppressions (
    profile_id text primary key,
    reason text not null,
    added_at timestamptz not null default now()
);

-- The delivery ledger: one row per build, audience and destination.
-- pending -> delivered | failed; a delivered row is never sent again, a
-- pending or failed one is retried under the same idempotency key.
create table if not exists audiences.deliveries (
    idempotency_key text primary key,
    batch_id text not null,
    audience_id text not null,
    destination text not null,
    previous_key text,
    status text not null check (status in ('pending', 'delivered', 'failed')),
    count_entered bigint not null,
    count_exited bigint not null,
    count_withheld_consent bigint not null,
    count_withheld_suppressed bigint not null,
    count_holdout bigint not null,
    attempts integer not null default 0,
    location text,
    error text,
    created_at timestamptz not null default now(),
    delivered_at timestamptz,
    unique (batch_id, audience_id, destination)
);

-- What each delivery left activated at the destination: the next delivery's
-- entries and exits are the difference from this set.
create table if not exists audiences.activated (
    idempotency_key text not null,
    profile_id text not null,
    primary key (idempotency_key, profile_id)
);

-- HTTP deliveries go out in batches; a batch is recorded once the receiver
-- accepted it, so a resumed delivery sends only the rest (same keys).
create table if not exists audiences.delivery_batches (
    idempotency_key text not null,
    batch_number integer not null,
    status text not null check (status in ('delivered')),
    attempts integer not null,
    status_code integer,
    rows_sent integer not null default 0,
    sent_at timestamptz,
    primary key (idempotency_key, batch_number)
);
