"""Batch loader: XDM datasets into the warehouse's ``raw`` schema.

Two ways in, one set of rules:

* :func:`load_generated` writes the synthetic generator's chunks (valid by
  construction) straight to the raw tables with COPY, one batch per dataset per
  chunk, with the ground truth in the same transaction.
* :func:`load_files` reads XDM exports (JSON Lines, optionally gzipped, or
  Parquet; local or ``s3://``), streams the raw records into a staging table
  with COPY and validates them there in one set-based pass. Good records land
  in the raw table; malformed ones go to ``raw.quarantine`` with a reason and
  their raw text; unknown event types are kept and flagged.

Every batch is recorded in ``raw.batches`` (``loading`` → ``success`` or
``failed``). The data of a batch is written in one transaction, so a failure
leaves no partial rows behind, and a batch whose content was already loaded
(same fingerprint) is skipped, so loading twice changes nothing. One loader
runs at a time (a PostgreSQL advisory lock); a batch left ``loading`` by a
killed loader is marked failed by the next one.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import json
import logging
import re
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ml.core import arrow_io, relations, storage, warehouse
from ml.core.config import Settings
from ml.core.errors import LoadError
from ml.data import batches, lake_copy

logger = logging.getLogger(__name__)

EVENTS = "experience_events"
PROFILES = "profiles"
DATASETS = (EVENTS, PROFILES)
SYNTHETIC_SOURCE = "synthetic"
FILE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".parquet")
# Tables partitioned by batch_id (one partition a batch).
PARTITIONED = (
    relations.RAW_EXPERIENCE_EVENTS,
    relations.RAW_PROFILES,
    relations.SYNTHETIC_TRUTH,
)
# Bytes that cannot stand raw in JSON text (tab is whitespace, newline ends
# the record). A record holding one is refused before it reaches COPY.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f]")
_IDENTITY_SEGMENT = re.compile(r"([A-Za-z0-9_@$:\-]+)((?:\[\d+\])*)")
_ISO_8601 = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
    r"([Zz]|[+-]\d{2}(:?\d{2})?)?$"
)


def identity_jsonpath(identity_field: str) -> str:
    """Turn a dot path such as ``identityMap.ECID[0].id`` into a SQL/JSON path.

    The result is passed to PostgreSQL as a bound parameter, never pasted
    into SQL.

    Args:
        identity_field: Field names separated by dots, each optionally
            followed by list indexes (``[0]``).

    Returns:
        The equivalent ``jsonpath`` text, e.g. ``$."identityMap"."ECID"[0]."id"``.

    Raises:
        LoadError: The path is empty or holds characters outside
            ``A-Z a-z 0-9 _ @ $ : -``.
    """
    segments = identity_field.split(".") if identity_field else []
    path = "$"
    for segment in segments:
        match = _IDENTITY_SEGMENT.fullmatch(segment)
        if match is None:
            raise LoadError(
                f"Identity field {identity_field!r} is not a dot path like "
                "identityMap.ECID[0].id or _acme.userid."
            )
        path += f'."{match.group(1)}"{match.group(2)}'
    if path == "$":
        raise LoadError(
            "The identity field is empty: give a path such as _acme.userid."
        )
    return path


def known_event_types(settings: Settings) -> list[str]:
    """Event types of the catalogue seed; others are loaded but flagged."""
    from ml.synthetic import read_event_catalogue

    return [row.event_type for row in read_event_catalogue(settings.seeds_dir)]


# -- generated data -----------------------------------------------------------


def load_generated(
    settings: Settings,
    params: Any,
    replace: bool = False,
) -> list[batches.BatchResult]:
    """Generate the synthetic dataset chunk by chunk and load each chunk.

    Chunks already loaded (same parameters) are skipped without being
    generated again, so a second run, or a run after an interruption, only
    does what is missing.

    Args:
        settings: Project settings.
        params: A :class:`ml.synthetic.GeneratorParams`.
        replace: Drop a different synthetic dataset already in the warehouse
            instead of refusing to mix the two.

    Returns:
        One result per batch (two per chunk: profiles and events).

    Raises:
        LoadError: Another synthetic dataset is loaded and ``replace`` is
            False, or a chunk failed (its batches are marked failed).
    """
    from ml import synthetic

    fingerprint = params.fingerprint()
    known = known_event_types(settings)
    workers = settings.load.workers
    results: list[batches.BatchResult] = []
    with batches.loader_session(settings) as conn:
        _replace_other_synthetic(conn, fingerprint, replace)
        missing = []
        for index in range(params.n_chunks):
            spec = _ChunkSpec(params, fingerprint, index)
            earlier = [
                batches.successful_batch(conn, d, spec.fingerprint) for d in DATASETS
            ]
            if all(earlier):
                results.extend(earlier)
                _report(index, params.n_chunks, "already loaded")
            else:
                missing.append(spec)
        # Generation (numpy, this thread) overlaps with COPY (PostgreSQL
        # backends, one per worker): on two cores both stay busy.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            running: deque[Future[list[batches.BatchResult]]] = deque()
            for spec in missing:
                # At most workers + 1 chunks in memory: `workers` loading
                # while the next one is generated.
                chunk = synthetic.generate_chunk(params, spec.index)
                while len(running) >= workers:
                    results.extend(running.popleft().result())
                running.append(pool.submit(_load_chunk, settings, spec, chunk, known))
                del chunk
            while running:
                results.extend(running.popleft().result())
        _analyze_new(conn, results)
        _sync_lake(settings, conn)
    return results


def _sync_lake(settings: Settings, conn: Any) -> None:
    """Bring the lake's raw copy up to date (see :mod:`ml.mirror`)."""
    if settings.storage.raw_to_lake:
        lake_copy.sync(settings, conn)


def _analyze_new(conn: Any, results: list[batches.BatchResult]) -> None:
    """Statistics for the partitions this load filled (the planner needs them)."""
    tables = []
    for result in results:
        if result.status != "success":
            continue
        parents = [
            relations.RAW_EXPERIENCE_EVENTS
            if result.dataset == EVENTS
            else relations.RAW_PROFILES
        ]
        if result.source == SYNTHETIC_SOURCE and result.dataset == EVENTS:
            parents.append(relations.SYNTHETIC_TRUTH)
        tables += [warehouse.partition_name(p, result.batch_id) for p in parents]
    warehouse.analyze(conn, tables)


@dataclass(frozen=True)
class _ChunkSpec:
    """Where one generated chunk goes: its two batches."""

    params: Any
    dataset_fingerprint: str
    index: int

    @property
    def fingerprint(self) -> str:
        return f"{self.dataset_fingerprint}-{self.index:05d}"

    @property
    def batch_ids(self) -> dict[str, str]:
        prefix = f"syn-{self.dataset_fingerprint[:12]}-{self.index:05d}"
        return {dataset: f"{prefix}-{dataset}" for dataset in DATASETS}


def _load_chunk(
    settings: Settings, spec: _ChunkSpec, chunk: Any, known: list[str]
) -> list[batches.BatchResult]:
    """Load one generated chunk on a connection of its own (a worker thread)."""
    started = time.perf_counter()
    batch_params = {
        "generator": spec.params.as_dict(),
        "dataset_fingerprint": spec.dataset_fingerprint,
        "chunk": spec.index,
    }
    with warehouse.connect(settings, autocommit=True) as conn:
        for dataset in DATASETS:
            batches.begin(
                conn,
                spec.batch_ids[dataset],
                dataset,
                SYNTHETIC_SOURCE,
                spec.fingerprint,
                batch_params,
            )
        events = _events_with_flags(chunk.events, known)
        results = _write_chunk(conn, chunk, events, spec.batch_ids)
        if settings.storage.raw_to_lake:
            rows = lake_copy.batch_rows(conn, list(spec.batch_ids.values()))
            lake_copy.publish(settings, rows[spec.batch_ids[PROFILES]], chunk.profiles)
            lake_copy.publish(settings, rows[spec.batch_ids[EVENTS]], events)
    seconds = time.perf_counter() - started
    for result in results:
        result.seconds = seconds
    _report(
        spec.index,
        spec.params.n_chunks,
        f"{chunk.profiles.num_rows:,} profiles, {results[1].records_loaded:,} "
        "events loaded "
        f"in {seconds:.1f} s",
    )
    return results


def _report(index: int, total: int, text: str) -> None:
    logger.info("chunk %d/%d: %s", index + 1, total, text)


def _events_with_flags(events: pa.Table, known: list[str]) -> pa.Table:
    """Generated events in the raw table's shape, unknown event types flagged."""
    return events.append_column(
        "is_known_event_type",
        pc.is_in(events["event_type"], value_set=pa.array(known)),
    ).select(
        [
            "event_id",
            "profile_id",
            "event_type",
            "event_at",
            "is_known_event_type",
            "record",
        ]
    )


def _write_chunk(
    conn: Any, chunk: Any, events: pa.Table, batch_ids: dict[str, str]
) -> list[batches.BatchResult]:
    flagged = events.num_rows - pc.sum(events["is_known_event_type"]).as_py()
    results = [
        batches.BatchResult(
            batch_ids[PROFILES],
            PROFILES,
            SYNTHETIC_SOURCE,
            "success",
            chunk.profiles.num_rows,
            chunk.profiles.num_rows,
        ),
        batches.BatchResult(
            batch_ids[EVENTS],
            EVENTS,
            SYNTHETIC_SOURCE,
            "success",
            events.num_rows,
            events.num_rows,
            records_flagged=flagged,
        ),
    ]
    with batches.transaction(conn, list(batch_ids.values()), SYNTHETIC_SOURCE):
        parts = [
            (relations.RAW_PROFILES, batch_ids[PROFILES], chunk.profiles),
            (relations.RAW_EXPERIENCE_EVENTS, batch_ids[EVENTS], events),
            (relations.SYNTHETIC_TRUTH, batch_ids[EVENTS], chunk.truth),
        ]
        for parent, batch_id, table in parts:
            arrow_io.copy_arrow(
                conn, warehouse.new_partition(conn, parent, batch_id), table, batch_id
            )
        warehouse.attach_partitions(
            conn, [(parent, batch_id) for parent, batch_id, _ in parts]
        )
        for result in results:
            batches.finish(conn, result)
    return results


def _replace_other_synthetic(conn: Any, fingerprint: str, replace: bool) -> None:
    """Refuse, or drop, a different synthetic dataset already loaded."""
    from psycopg import sql

    batches = sql.Identifier(*relations.RAW_BATCHES)
    others = conn.execute(
        sql.SQL(
            "select batch_id from {} where source = %s "
            "and params ->> 'dataset_fingerprint' <> %s"
        ).format(batches),
        [SYNTHETIC_SOURCE, fingerprint],
    ).fetchall()
    if not others:
        return
    if not replace:
        raise LoadError(
            "The warehouse already holds a synthetic dataset generated with other "
            "parameters. Pass --replace to drop it, or use another ENRICH_HOME."
        )
    stale = [row[0] for row in others]
    logger.info("dropping %d batches of another synthetic dataset", len(stale))
    with conn.transaction():
        for batch_id in stale:
            for parent in PARTITIONED:
                conn.execute(
                    sql.SQL("drop table if exists {}").format(
                        sql.Identifier(*warehouse.partition_name(parent, batch_id))
                    )
                )
        for target in (relations.RAW_QUARANTINE, relations.RAW_BATCHES):
            conn.execute(
                sql.SQL("delete from {} where batch_id = any(%s)").format(
                    sql.Identifier(*target)
                ),
                [stale],
            )


# -- files --------------------------------------------------------------------


def load_files(
    settings: Settings,
    locations: Iterable[str],
    dataset: str = EVENTS,
    identity_field: str | None = None,
) -> list[batches.BatchResult]:
    """Load XDM files (one batch per file) with validation and quarantine.

    Args:
        settings: Project settings.
        locations: Files or folders, local or ``s3://`` (an object or a prefix).
        dataset: ``experience_events`` or ``profiles``.
        identity_field: Dot path to the identity in each record; the
            configured ``load.identity_field`` when None.

    Returns:
        One result per file; ``skipped`` for files loaded before.

    Raises:
        LoadError: A file cannot be read or loaded (its batch is marked failed).
        StorageError: A location does not exist.
    """
    if dataset not in DATASETS:
        raise LoadError(
            f"Unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}."
        )
    identity_field = identity_field or settings.load.identity_field
    identity_path = identity_jsonpath(identity_field)
    known = known_event_types(settings)
    # Every input is found before the warehouse is touched: a typo fails fast.
    inputs = list(_resolve(settings, locations))
    results: list[batches.BatchResult] = []
    with (
        tempfile.TemporaryDirectory(prefix="enrich-load-") as scratch,
        batches.loader_session(settings) as conn,
    ):
        for source, fetch in inputs:
            path = fetch(Path(scratch))
            fingerprint = _fingerprint(path, dataset, identity_field)
            batch_id = f"file-{fingerprint[:20]}"
            earlier = batches.successful_batch(conn, dataset, fingerprint)
            if earlier is not None:
                logger.info(
                    "%s was already loaded as batch %s", source, earlier.batch_id
                )
                results.append(earlier)
                continue
            started = time.perf_counter()
            batches.begin(
                conn,
                batch_id,
                dataset,
                source,
                fingerprint,
                {"identity_field": identity_field, "file": path.name},
            )
            with batches.transaction(conn, [batch_id], source):
                result = _load_file(
                    conn,
                    settings,
                    _BatchSpec(
                        batch_id, dataset, source, identity_field, identity_path, known
                    ),
                    path,
                )
                batches.finish(conn, result)
            result.seconds = time.perf_counter() - started
            logger.info(
                "%s: %d loaded, %d quarantined, %d flagged (batch %s)",
                source,
                result.records_loaded,
                result.records_quarantined,
                result.records_flagged,
                batch_id,
            )
            results.append(result)
        _analyze_new(conn, results)
        _sync_lake(settings, conn)
    return results


@dataclass(frozen=True)
class _BatchSpec:
    batch_id: str
    dataset: str
    source: str
    identity_field: str
    identity_path: str
    known_event_types: list[str]


def _resolve(
    settings: Settings, locations: Iterable[str]
) -> Iterator[tuple[str, Callable[[Path], Path]]]:
    """Yield (source address, fetch) for every input file.

    ``fetch(scratch)`` returns a local path, downloading S3 objects into
    ``scratch`` only when their turn comes.
    """
    for location in locations:
        if storage.is_s3(location):
            for url in storage.list_s3(settings, location):
                if url.key.endswith(FILE_SUFFIXES):
                    yield str(url), functools.partial(storage.download, settings, url)
        else:
            for path in storage.local_files(location, FILE_SUFFIXES):
                yield str(path.resolve()), functools.partial(_local, path)


def _local(path: Path, scratch: Path) -> Path:
    return path


def _fingerprint(path: Path, dataset: str, identity_field: str) -> str:
    """Hash of the file's bytes and how it is read (same inputs, same batch)."""
    digest = hashlib.sha256(f"{dataset}\0{identity_field}\0".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_file(
    conn: Any,
    settings: Settings,
    spec: _BatchSpec,
    path: Path,
) -> batches.BatchResult:
    """Stage the file's records, validate them in SQL, write good and bad rows."""
    conn.execute(
        "create temp table enrich_stage (record_number bigint primary key, "
        "raw_text text) on commit drop"
    )
    rejected: list[tuple[int, str, str, str]] = []
    chunk_records = settings.load.chunk_records
    number = 0
    with conn.cursor().copy(
        "copy enrich_stage (record_number, raw_text) from stdin"
    ) as copy:
        for lines in _record_blocks(path, chunk_records):
            rows = []
            for line in lines:
                number += 1
                if not line.strip():
                    continue
                problem = _screen(line)
                if problem is None:
                    rows.append((number, line.decode()))
                else:
                    rejected.append((number, "invalid_json", problem, _printable(line)))
            for row in rows:
                copy.write_row(row)
            logger.info("%s: read %s records", spec.source, f"{number:,}")
    if rejected:
        _quarantine_rows(conn, spec, rejected)
    validate = _VALIDATE_EVENTS if spec.dataset == EVENTS else _VALIDATE_PROFILES
    counts = _run_validation(conn, settings, spec, validate)
    if rejected:
        counts["invalid_json"] = counts.get("invalid_json", 0) + len(rejected)
    reasons = {reason: n for reason, n in counts.items() if reason not in _TOTALS}
    return batches.BatchResult(
        spec.batch_id,
        spec.dataset,
        spec.source,
        "success",
        records_read=counts["read"] + len(rejected),
        records_loaded=counts["loaded"],
        records_quarantined=sum(reasons.values()),
        records_flagged=counts["flagged"],
        reasons=reasons,
    )


def _record_blocks(path: Path, size: int) -> Iterator[list[bytes]]:
    """Raw records of a JSON Lines or Parquet file, ``size`` at a time."""
    if path.name.endswith(".parquet"):
        yield from _parquet_blocks(path, size)
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            block: list[bytes] = []
            for line in handle:
                block.append(line.rstrip(b"\r\n"))
                if len(block) >= size:
                    yield block
                    block = []
            if block:
                yield block
    except (OSError, EOFError) as exc:
        raise LoadError(f"Cannot read {path.name}: {exc}") from None


def _parquet_blocks(path: Path, size: int) -> Iterator[list[bytes]]:
    """Parquet rows (nested XDM columns) as JSON text, one record per row."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=size):
            yield [
                json.dumps(row, default=_json_value, separators=(",", ":")).encode()
                for row in batch.to_pylist()
            ]
    except (OSError, pa.ArrowException) as exc:
        raise LoadError(f"Cannot read Parquet file {path.name}: {exc}") from None


def _json_value(value: Any) -> Any:
    """JSON form of the Parquet values ``json`` cannot write on its own."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
            return value.isoformat().replace("+00:00", "Z")
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _screen(line: bytes) -> str | None:
    """Problems PostgreSQL cannot even stage: bad UTF-8 and raw control bytes."""
    try:
        line.decode()
    except UnicodeDecodeError as exc:
        return f"not valid UTF-8 text (byte {exc.start})"
    match = _CONTROL_BYTES.search(line)
    if match is not None:
        return f"raw control character 0x{match.group()[0]:02x} at byte {match.start()}"
    return None


def _printable(line: bytes) -> str:
    return line.decode(errors="backslashreplace").replace("\x00", "\\x00")


def _quarantine_rows(
    conn: Any, spec: _BatchSpec, rows: list[tuple[int, str, str, str]]
) -> None:
    from psycopg import sql

    statement = sql.SQL(
        "copy {} (batch_id, dataset, record_number, reason, detail, raw_text) "
        "from stdin"
    ).format(sql.Identifier(*relations.RAW_QUARANTINE))
    with conn.cursor().copy(statement) as copy:
        for number, reason, detail, text in rows:
            copy.write_row((spec.batch_id, spec.dataset, number, reason, detail, text))


_TOTALS = ("read", "loaded", "flagged")


def _run_validation(
    conn: Any, settings: Settings, spec: _BatchSpec, validate: str
) -> dict[str, int]:
    """Validate the staged records in SQL and write both outcomes.

    Returns:
        Counts: ``read``, ``loaded``, ``flagged`` and one per quarantine reason.
    """
    from psycopg import sql

    values = {
        "identity_path": spec.identity_path,
        "identity_field": spec.identity_field,
        "iso_8601": _ISO_8601,
        "max_future_hours": settings.load.max_future_hours,
        "known": spec.known_event_types,
        "batch_id": spec.batch_id,
        "dataset": spec.dataset,
    }
    names = {
        "events": sql.Identifier(*relations.RAW_EXPERIENCE_EVENTS),
        "profiles": sql.Identifier(*relations.RAW_PROFILES),
        "quarantine": sql.Identifier(*relations.RAW_QUARANTINE),
    }
    conn.execute(sql.SQL(validate).format(**names), values)
    parent = (
        relations.RAW_EXPERIENCE_EVENTS
        if spec.dataset == EVENTS
        else relations.RAW_PROFILES
    )
    target = sql.Identifier(*warehouse.new_partition(conn, parent, spec.batch_id))
    conn.execute(sql.SQL(_WRITE[spec.dataset]).format(target=target), values)
    warehouse.attach_partitions(conn, [(parent, spec.batch_id)])
    conn.execute(sql.SQL(_WRITE_QUARANTINE).format(**names), values)
    counts = dict(
        conn.execute(
            "select coalesce(reason, 'loaded'), count(*) from enrich_checked group by 1"
        ).fetchall()
    )
    counts["read"] = sum(counts.values())
    counts.setdefault("loaded", 0)
    counts["flagged"] = conn.execute(
        "select count(*) from enrich_checked where reason is null "
        "and not is_known_event_type"
    ).fetchone()[0]
    return counts


# Structural checks shared by both datasets: JSON, object, identity.
_PARSED = """
    with parsed as (
        select
            record_number,
            raw_text,
            case
                when pg_input_is_valid(raw_text, 'jsonb') then raw_text::jsonb
            end as doc
        from enrich_stage
    ),

    fields as (
        select
            record_number,
            raw_text,
            doc,
            jsonb_typeof(doc) as doc_type,
            case when jsonb_typeof(doc) = 'object' then doc ->> '_id' end as record_id,
            case
                when jsonb_typeof(doc) = 'object' then doc ->> 'eventType'
            end as event_type,
            case
                when jsonb_typeof(doc) = 'object' then doc ->> 'timestamp'
            end as event_time_text,
            (
                select identity #>> '{{}}'
                from jsonb_path_query_first(
                    doc, %(identity_path)s::jsonpath
                ) as found (identity)
                where jsonb_typeof(identity) in ('string', 'number')
            ) as profile_id
        from parsed
    )
"""

_STRUCTURE_REASON = """
                when doc is null then 'invalid_json'
                when doc_type <> 'object' then 'not_an_object'
                when coalesce(profile_id, '') = '' then 'missing_identity'
"""
_STRUCTURE_DETAIL = """
                when doc is null then 'not valid JSON'
                when doc_type <> 'object'
                    then 'a JSON ' || doc_type || ', not an object'
                when coalesce(profile_id, '') = ''
                    then 'no identity at ' || %(identity_field)s
"""

# Order of records sharing a key among the structurally valid ones: the first
# loads, later ones are duplicates.
_RANKED = """
    ranked as (
        select
            structural.*,
            row_number() over same_key as key_rank,
            min(record_number) over same_key as first_record
        from structural
        window same_key as (
            partition by $key, reason is null order by record_number
        )
    )
"""

_VALIDATE_EVENTS = (
    """
create temp table enrich_checked on commit drop as
"""
    + _PARSED
    + """,

    checked as (
        select
            *,
            event_time_text ~ %(iso_8601)s
            and pg_input_is_valid(event_time_text, 'timestamptz') as is_valid_time
        from fields
    ),

    structural as (
        select
            *,
            case when is_valid_time then event_time_text::timestamptz end as event_at,
            case"""
    + _STRUCTURE_REASON
    + """
                when coalesce(record_id, '') = '' then 'missing_id'
                when coalesce(event_type, '') = '' then 'missing_event_type'
                when event_time_text is null then 'missing_timestamp'
                when not is_valid_time then 'invalid_timestamp'
                when event_time_text::timestamptz
                    > now() + %(max_future_hours)s * interval '1 hour'
                    then 'future_timestamp'
            end as reason,
            case"""
    + _STRUCTURE_DETAIL
    + """
                when coalesce(record_id, '') = '' then 'required field _id is missing'
                when coalesce(event_type, '') = ''
                    then 'required field eventType is missing'
                when event_time_text is null
                    then 'required field timestamp is missing'
                when not is_valid_time
                    then 'timestamp ' || quote_literal(event_time_text)
                        || ' is not an ISO 8601 date-time'
                when event_time_text::timestamptz
                    > now() + %(max_future_hours)s * interval '1 hour'
                    then 'timestamp ' || event_time_text
                        || ' is more than ' || %(max_future_hours)s
                        || ' hours after the load time'
            end as detail
        from checked
    ),

"""
    + _RANKED.replace("$key", "record_id")
    + """

    select
        ranked.record_number,
        ranked.raw_text,
        ranked.doc,
        ranked.record_id as event_id,
        ranked.profile_id,
        ranked.event_type,
        ranked.event_at,
        ranked.event_type = any(%(known)s::text[]) as is_known_event_type,
        case
            when ranked.reason is not null then ranked.reason
            when ranked.key_rank > 1 or existing.batch_id is not null
                then 'duplicate_id'
        end as reason,
        case
            when ranked.reason is not null then ranked.detail
            when ranked.key_rank > 1
                then '_id ' || ranked.record_id || ' already appears at record '
                    || ranked.first_record || ' of this batch'
            when existing.batch_id is not null
                then '_id ' || ranked.record_id || ' was already loaded by batch '
                    || existing.batch_id
        end as detail
    from ranked
    left join {events} as existing
        on ranked.reason is null and existing.event_id = ranked.record_id
"""
)

_VALIDATE_PROFILES = (
    """
create temp table enrich_checked on commit drop as
"""
    + _PARSED
    + """,

    structural as (
        select
            *,
            case"""
    + _STRUCTURE_REASON
    + """
            end as reason,
            case"""
    + _STRUCTURE_DETAIL
    + """
            end as detail
        from fields
    ),

"""
    + _RANKED.replace("$key", "profile_id")
    + """

    select
        record_number,
        raw_text,
        doc,
        coalesce(nullif(record_id, ''), profile_id) as record_id,
        profile_id,
        true as is_known_event_type,
        case
            when reason is not null then reason
            when key_rank > 1 then 'duplicate_id'
        end as reason,
        case
            when reason is not null then detail
            when key_rank > 1
                then 'profile ' || profile_id || ' already appears at record '
                    || first_record || ' of this batch'
        end as detail
    from ranked
"""
)

_WRITE = {
    EVENTS: """
        insert into {target} (
            event_id, profile_id, event_type, event_at, is_known_event_type,
            batch_id, record
        )
        select
            event_id, profile_id, event_type, event_at, is_known_event_type,
            %(batch_id)s, doc
        from enrich_checked
        where reason is null
    """,
    PROFILES: """
        insert into {target} (profile_id, record_id, batch_id, record)
        select profile_id, record_id, %(batch_id)s, doc
        from enrich_checked
        where reason is null
    """,
}

_WRITE_QUARANTINE = """
    insert into {quarantine} (
        batch_id, dataset, record_number, reason, detail, raw_text
    )
    select %(batch_id)s, %(dataset)s, record_number, reason, detail, raw_text
    from enrich_checked
    where reason is not null
"""
