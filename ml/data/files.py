"""Loading XDM files: JSON Lines (optionally gzipped) or Parquet, local or S3.

:func:`load_files` makes one batch of each file: it finds every input first
(a typo fails before the warehouse is touched), fingerprints the file's bytes
and how it is read (the same file loads once), streams its raw records into
the staging table with COPY, and leaves validation and quarantine to
:mod:`ml.data.validate`. Records PostgreSQL cannot even stage (bad UTF-8,
raw control bytes) are screened here and quarantined as ``invalid_json``.
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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ml.core import storage
from ml.core.config import Settings
from ml.core.errors import LoadError
from ml.data import batches, lake_copy, validate
from ml.data.datasets import (
    DATASETS,
    EVENTS,
    analyze_loaded,
    identity_jsonpath,
    known_event_types,
)

logger = logging.getLogger(__name__)

FILE_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".parquet")
# Bytes that cannot stand raw in JSON text (tab is whitespace, newline ends
# the record). A record holding one is refused before it reaches COPY.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f]")


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
            fingerprint = fingerprint_file(path, dataset, identity_field)
            earlier = batches.successful_batch(conn, dataset, fingerprint)
            if earlier is not None:
                logger.info(
                    "%s was already loaded as batch %s", source, earlier.batch_id
                )
                results.append(earlier)
                continue
            spec = validate.BatchSpec(
                f"file-{fingerprint[:20]}",
                dataset,
                source,
                identity_field,
                identity_path,
                known,
            )
            results.append(_load_batch(conn, settings, spec, fingerprint, path))
        analyze_loaded(conn, results)
        lake_copy.sync_if_enabled(settings, conn)
    return results


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


def fingerprint_file(path: Path, dataset: str, identity_field: str) -> str:
    """Hash of the file's bytes and how it is read (same inputs, same batch)."""
    digest = hashlib.sha256(f"{dataset}\0{identity_field}\0".encode())
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_batch(
    conn: Any,
    settings: Settings,
    spec: validate.BatchSpec,
    fingerprint: str,
    path: Path,
) -> batches.BatchResult:
    """Load one file as a new batch, recorded from ``loading`` to its end."""
    started = time.perf_counter()
    batches.begin(
        conn,
        spec.batch_id,
        spec.dataset,
        spec.source,
        fingerprint,
        {"identity_field": spec.identity_field, "file": path.name},
    )
    with batches.transaction(conn, [spec.batch_id], spec.source):
        result = _load_file(conn, settings, spec, path)
        batches.finish(conn, result)
    result.seconds = time.perf_counter() - started
    logger.info(
        "%s: %d loaded, %d quarantined, %d flagged (batch %s)",
        spec.source,
        result.records_loaded,
        result.records_quarantined,
        result.records_flagged,
        spec.batch_id,
    )
    return result


def _load_file(
    conn: Any,
    settings: Settings,
    spec: validate.BatchSpec,
    path: Path,
) -> batches.BatchResult:
    """Stage the file's records, validate them in SQL, write good and bad rows."""
    rejected: list[tuple[int, str, str, str]] = []
    chunk_records = settings.load.chunk_records
    number = 0
    with validate.open_stage(conn) as copy:
        for lines in record_blocks(path, chunk_records):
            rows = []
            for line in lines:
                number += 1
                if not line.strip():
                    continue
                problem = screen_record(line)
                if problem is None:
                    rows.append((number, line.decode()))
                else:
                    rejected.append((number, "invalid_json", problem, _printable(line)))
            for row in rows:
                copy.write_row(row)
            logger.info("%s: read %s records", spec.source, f"{number:,}")
    if rejected:
        validate.quarantine_rows(conn, spec, rejected)
    return validate.validate_staged(conn, settings, spec, rejected)


def record_blocks(path: Path, size: int) -> Iterator[list[bytes]]:
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


def screen_record(line: bytes) -> str | None:
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
