"""Loading the synthetic generator's chunks, valid by construction.

:func:`load_generated` generates the dataset chunk by chunk and writes each
chunk straight to the raw tables with COPY, one batch per dataset per chunk,
with the ground truth in the same transaction. Chunks already loaded with the
same parameters are skipped without being generated again; a different
synthetic dataset already loaded is refused, or dropped on request.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ml import synthetic
from ml.core import arrow_io, relations, sql, warehouse
from ml.core.config import Settings
from ml.core.errors import LoadError
from ml.data import batches, lake_copy
from ml.data.datasets import (
    DATASETS,
    EVENTS,
    PARTITIONED,
    PROFILES,
    SYNTHETIC_SOURCE,
    analyze_loaded,
    known_event_types,
)

logger = logging.getLogger(__name__)


def load_generated(
    settings: Settings,
    params: synthetic.GeneratorParams,
    replace: bool = False,
) -> list[batches.BatchResult]:
    """Generate the synthetic dataset chunk by chunk and load each chunk.

    Chunks already loaded (same parameters) are skipped without being
    generated again, so a second run, or a run after an interruption, only
    does what is missing.

    Args:
        settings: Project settings.
        params: The dataset's parameters.
        replace: Drop a different synthetic dataset already in the warehouse
            instead of refusing to mix the two.

    Returns:
        One result per batch (two per chunk: profiles and events).

    Raises:
        LoadError: Another synthetic dataset is loaded and ``replace`` is
            False, or a chunk failed (its batches are marked failed).
    """
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
            loaded = [result for result in earlier if result is not None]
            if len(loaded) == len(earlier):
                results.extend(loaded)
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
        analyze_loaded(conn, results)
        lake_copy.sync_if_enabled(settings, conn)
    return results


@dataclass(frozen=True)
class _ChunkSpec:
    """Where one generated chunk goes: its two batches."""

    params: synthetic.GeneratorParams
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
    settings: Settings,
    spec: _ChunkSpec,
    chunk: synthetic.SyntheticChunk,
    known: list[str],
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
    conn: Any,
    chunk: synthetic.SyntheticChunk,
    events: pa.Table,
    batch_ids: dict[str, str],
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
    from psycopg import sql as psql

    others = conn.execute(
        sql.statement("ml.data", "other_synthetic_batches"),
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
                    sql.compose(
                        "drop table if exists {partition}",
                        partition=psql.Identifier(
                            *warehouse.partition_name(parent, batch_id)
                        ),
                    )
                )
        for target in (relations.RAW_QUARANTINE, relations.RAW_BATCHES):
            conn.execute(
                sql.compose(
                    "delete from {target} where batch_id = any(%s)",
                    target=psql.Identifier(*target),
                ),
                [stale],
            )
