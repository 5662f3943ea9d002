"""The lake's raw copy: every successful load batch, as Parquet, in the lake.

Not to be confused with its neighbours: :mod:`ml.core.lake` is the lake
itself (where it is, local or S3, and how a part file is written and listed),
and :mod:`ml.core.storage` reads the loader's *input* files (local paths or
``s3://`` objects). This module decides *what* of the warehouse's ``raw``
schema the lake holds and keeps the two in step.

Layout, one folder per batch (Hive-style, so engines see a ``batch_id``
column)::

    <lake>/raw/experience_events/batch_id=<id>/part-NNNNN.parquet
    <lake>/raw/profiles/batch_id=<id>/part-NNNNN.parquet
    <lake>/raw/batches/batch_id=<id>/part-00000.parquet   (written last)

The ``batches`` file is the batch's row of ``raw.batches`` and the commit
mark: engines that featurize from the lake (DuckDB, Spark) keep only rows
whose batch has one, as the staging models do in PostgreSQL. Quarantined
records stay in the warehouse's ``raw.quarantine``; they are never here.

:func:`sync` makes the lake hold exactly the warehouse's successful batches:
it writes any that are missing (a loader killed between its commit and its
lake write, a lake added later) from the warehouse, and removes batches the
warehouse dropped (a replaced synthetic dataset). Every load ends with it.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from ml.core import sql, warehouse
from ml.core.arrow_io import rebatch, relation_columns, stream_relation
from ml.core.config import Settings
from ml.core.lake import Lake, open_lake, write_part
from ml.data import batches
from ml.data.datasets import EVENTS, PROFILES, RAW_TABLES

logger = logging.getLogger(__name__)

RAW = "raw"
BATCHES = "batches"
TIMESTAMP = pa.timestamp("us", tz="UTC")
# What each dataset's files hold (batch_id is the folder, not a column);
# macros/lake/lake_schemas.sql declares the same columns to DuckDB and Spark.
SCHEMAS = {
    EVENTS: pa.schema(
        [
            ("event_id", pa.string()),
            ("profile_id", pa.string()),
            ("event_type", pa.string()),
            ("event_at", TIMESTAMP),
            ("is_known_event_type", pa.bool_()),
            ("record", pa.string()),
        ]
    ),
    PROFILES: pa.schema(
        [
            ("profile_id", pa.string()),
            ("record_id", pa.string()),
            ("record", pa.string()),
        ]
    ),
    BATCHES: pa.schema(
        [
            ("dataset", pa.string()),
            ("source", pa.string()),
            ("status", pa.string()),
            ("records_read", pa.int64()),
            ("records_loaded", pa.int64()),
            ("records_quarantined", pa.int64()),
            ("records_flagged", pa.int64()),
            ("started_at", TIMESTAMP),
            ("finished_at", TIMESTAMP),
        ]
    ),
}
# Dictionary-encoded columns (the JSON records and ids are unique text).
_DICTIONARY: dict[str, bool | list[str]] = {
    EVENTS: ["event_type", "is_known_event_type"],
    PROFILES: [],
    BATCHES: True,
}


@dataclass
class SyncResult:
    """What :func:`sync` changed in the lake."""

    written: list[str]
    removed: list[str]
    seconds: float


def folder(dataset: str, batch_id: str) -> str:
    """The lake folder of one batch of a dataset."""
    return f"{RAW}/{dataset}/batch_id={batch_id}"


def mirrored_batches(lake: Lake) -> set[str]:
    """Batch ids the lake holds completely (their batch row is written)."""
    prefix = f"{RAW}/{BATCHES}/batch_id="
    return {
        key[len(prefix) :].split("/", 1)[0]
        for key in lake.list(f"{RAW}/{BATCHES}/")
        if key.startswith(prefix)
    }


def publish(
    settings: Settings,
    row: dict[str, Any],
    data: pa.Table | Iterable[pa.RecordBatch],
    lake: Lake | None = None,
) -> None:
    """Write one committed batch to the lake: its data, then its batch row.

    Args:
        settings: Project settings (lake, part size).
        row: The batch's row, from :func:`batch_rows`.
        data: The batch's rows, in the shape of its dataset's schema.
        lake: The lake (default: the configured one).
    """
    lake = lake or open_lake(settings)
    row = dict(row)
    batch_id, dataset = row.pop("batch_id"), row.pop("dataset_name")
    schema = SCHEMAS[dataset]
    record_batches = data.to_batches() if isinstance(data, pa.Table) else data
    target = folder(dataset, batch_id)
    # A batch written again (after a crash) must not keep parts of the first try.
    lake.delete(lake.list(f"{target}/"))
    with tempfile.TemporaryDirectory(prefix="enrich-raw-") as scratch:
        parts = 0
        for part in rebatch(record_batches, settings.export.part_rows):
            table = pa.Table.from_batches(part).select(schema.names).cast(schema)
            write_part(lake, table, target, parts, Path(scratch), _DICTIONARY[dataset])
            parts += 1
        if not parts:
            write_part(lake, schema.empty_table(), target, 0, Path(scratch))
        marker = pa.Table.from_pylist([row], SCHEMAS[BATCHES])
        write_part(lake, marker, folder(BATCHES, batch_id), 0, Path(scratch))


def batch_rows(conn: Any, batch_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of these successful batches, by batch id, for :func:`publish`.

    Raises:
        ValueError: A batch is not (or no longer) successful.
    """
    from psycopg import sql as psql

    names = SCHEMAS[BATCHES].names
    rows = conn.execute(
        sql.statement(
            "ml.data",
            "lake_batch_rows",
            columns=psql.SQL(", ").join(map(psql.Identifier, names)),
        ),
        [batch_ids],
    ).fetchall()
    columns = ["batch_id", "dataset_name", *names]
    found = {row[0]: dict(zip(columns, row, strict=True)) for row in rows}
    missing = sorted(set(batch_ids) - set(found))
    if missing:
        raise ValueError(f"Not successful batches, cannot go to the lake: {missing}")
    return found


def sync(settings: Settings, conn: Any | None = None) -> SyncResult:
    """Make the lake hold exactly the warehouse's successful batches.

    Args:
        settings: Project settings.
        conn: A warehouse connection holding the loader lock (default: take
            the lock on a new one, waiting for a running loader).

    Returns:
        The batches written and removed.
    """
    if conn is None:
        with batches.loader_session(settings) as locked:
            return sync(settings, locked)
    started = time.perf_counter()
    lake = open_lake(settings)
    wanted = dict(
        conn.execute(sql.statement("ml.data", "successful_batches")).fetchall()
    )
    present = mirrored_batches(lake)
    removed = sorted(present - set(wanted))
    for batch_id in removed:
        # The batch row first: from then on readers ignore the rest.
        lake.delete(lake.list(f"{folder(BATCHES, batch_id)}/"))
        for dataset in (EVENTS, PROFILES):
            lake.delete(lake.list(f"{folder(dataset, batch_id)}/"))
    written = [batch_id for batch_id in wanted if batch_id not in present]
    rows = batch_rows(conn, written)
    for batch_id in written:
        table = warehouse.partition_name(RAW_TABLES[wanted[batch_id]], batch_id)
        columns = {c.name: c for c in relation_columns(conn, table)}
        names = SCHEMAS[wanted[batch_id]].names
        with conn.transaction():
            data = stream_relation(conn, table, [columns[name] for name in names])
            publish(settings, rows[batch_id], data, lake)
    result = SyncResult(written, removed, time.perf_counter() - started)
    if written or removed:
        logger.info(
            "lake %s: %d batch(es) written, %d removed in %.1f s",
            lake.url(RAW),
            len(written),
            len(removed),
            result.seconds,
        )
    return result


def sync_if_enabled(settings: Settings, conn: Any) -> None:
    """End of every load: :func:`sync`, when ``storage.raw_to_lake`` is on.

    Args:
        settings: Project settings.
        conn: The loader's connection (it holds the loader lock).
    """
    if settings.storage.raw_to_lake:
        sync(settings, conn)
