"""Load batches: their bookkeeping in ``raw.batches`` and the loader's lock.

A batch is recorded ``loading`` (committed, so operators see it), its rows are
written in one transaction, and it ends ``success``, or ``failed`` with the
reason; a batch of the same content that already succeeded is ``skipped``.
One loader runs at a time: every writer of ``raw`` holds :func:`loader_session`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ml.core import relations, sql, warehouse
from ml.core.config import Settings
from ml.core.errors import LoadError

# Key of the advisory lock that serialises loaders ("enrich" in ASCII).
LOADER_LOCK = 0x656E72696368


@dataclass
class BatchResult:
    """What happened to one batch."""

    batch_id: str
    dataset: str
    source: str
    status: str  # "success", or "skipped" when the content was already loaded
    records_read: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    records_flagged: int = 0
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)


def loader_session(settings: Settings) -> Any:
    """An autocommit connection holding the loader lock, schemas in place."""
    return warehouse.locked_session(
        settings, LOADER_LOCK, relations.RAW_BATCHES, "the loader"
    )


def successful_batch(conn: Any, dataset: str, fingerprint: str) -> BatchResult | None:
    """The earlier successful batch with this content, as a ``skipped`` result."""
    row = conn.execute(
        sql.statement("ml.data", "successful_batch"), [dataset, fingerprint]
    ).fetchone()
    if row is None:
        return None
    batch_id, source, *numbers = row
    return BatchResult(batch_id, dataset, source, "skipped", *numbers)


def begin(
    conn: Any,
    batch_id: str,
    dataset: str,
    source: str,
    fingerprint: str,
    params: dict[str, Any],
) -> None:
    """Record a batch as ``loading`` (committed, so operators can see it)."""
    from psycopg.types.json import Jsonb

    conn.execute(
        sql.statement("ml.data", "begin_batch"),
        [batch_id, dataset, source, fingerprint, Jsonb(params)],
    )


def finish(conn: Any, result: BatchResult) -> None:
    """Record a batch as ``success`` with its counts (in the batch's transaction)."""
    conn.execute(
        sql.statement("ml.data", "finish_batch"),
        [
            result.records_read,
            result.records_loaded,
            result.records_quarantined,
            result.records_flagged,
            result.batch_id,
        ],
    )


def transaction(conn: Any, batch_ids: list[str], source: str) -> Any:
    """Write a batch's data atomically; on any error mark it failed and say so."""
    return warehouse.recorded_attempt(
        conn, relations.RAW_BATCHES, batch_ids, LoadError, f"Loading {source}"
    )
