"""Validation of staged XDM records in SQL, and the quarantine.

A file's records are staged as text in ``enrich_stage`` (:func:`open_stage`);
one set-based pass (``sql/validate_events.sql`` or
``sql/validate_profiles.sql``, both built on ``sql/parsed.sql``) gives every
record a reason or none in ``enrich_checked``. Good records go to the batch's
new partition of the raw table, bad ones to ``raw.quarantine`` with their
reason and raw text. Records PostgreSQL cannot even stage are quarantined
from Python (:func:`quarantine_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ml.core import sql, warehouse
from ml.core.config import Settings
from ml.data.batches import BatchResult
from ml.data.datasets import EVENTS, PROFILES, RAW_TABLES

_ISO_8601 = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?"
    r"([Zz]|[+-]\d{2}(:?\d{2})?)?$"
)
# Counts that are not quarantine reasons.
_TOTALS = ("read", "loaded", "flagged")
# The key that makes a record a duplicate, per dataset.
_KEYS = {EVENTS: "record_id", PROFILES: "profile_id"}


@dataclass(frozen=True)
class BatchSpec:
    """One file's batch: where it goes and how its records are read."""

    batch_id: str
    dataset: str
    source: str
    identity_field: str
    identity_path: str
    known_event_types: list[str]


def open_stage(conn: Any) -> Any:
    """Create the batch's staging table; a COPY of ``(record_number, raw_text)``.

    Args:
        conn: A warehouse connection in the batch's transaction.

    Returns:
        The COPY into ``enrich_stage``, to use as a context manager.
    """
    conn.execute(sql.statement("ml.data", "create_stage"))
    return conn.cursor().copy("copy enrich_stage (record_number, raw_text) from stdin")


def quarantine_rows(
    conn: Any, spec: BatchSpec, rows: list[tuple[int, str, str, str]]
) -> None:
    """Quarantine records refused before staging.

    Args:
        conn: A warehouse connection in the batch's transaction.
        spec: The batch.
        rows: (record number, reason, detail, raw text) of each record.
    """
    statement = sql.compose(
        "copy {raw_quarantine} "
        "(batch_id, dataset, record_number, reason, detail, raw_text) from stdin"
    )
    with conn.cursor().copy(statement) as copy:
        for number, reason, detail, text in rows:
            copy.write_row((spec.batch_id, spec.dataset, number, reason, detail, text))


def validate_staged(
    conn: Any,
    settings: Settings,
    spec: BatchSpec,
    rejected: list[tuple[int, str, str, str]],
) -> BatchResult:
    """Validate the staged records and write good and bad rows.

    Args:
        conn: A warehouse connection in the batch's transaction.
        settings: Project settings (``load.max_future_hours``).
        spec: The batch.
        rejected: Records quarantined before staging (counted as read).

    Returns:
        The batch's result, ``success`` with its counts and reasons.
    """
    counts = _run_validation(conn, settings, spec)
    if rejected:
        counts["invalid_json"] = counts.get("invalid_json", 0) + len(rejected)
    reasons = {reason: n for reason, n in counts.items() if reason not in _TOTALS}
    return BatchResult(
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


def _validation(dataset: str) -> Any:
    """The validation statement of a dataset, composed from its shared parts."""
    from psycopg import sql as psql

    return sql.statement(
        "ml.data",
        "validate_events" if dataset == EVENTS else "validate_profiles",
        parsed=sql.statement("ml.data", "parsed"),
        structure_reason=sql.statement("ml.data", "structure_reason"),
        structure_detail=sql.statement("ml.data", "structure_detail"),
        ranked=sql.statement("ml.data", "ranked", key=psql.Identifier(_KEYS[dataset])),
    )


def _run_validation(conn: Any, settings: Settings, spec: BatchSpec) -> dict[str, int]:
    """Validate the staged records in SQL and write both outcomes.

    Returns:
        Counts: ``read``, ``loaded``, ``flagged`` and one per quarantine reason.
    """
    from psycopg import sql as psql

    values = {
        "identity_path": spec.identity_path,
        "identity_field": spec.identity_field,
        "iso_8601": _ISO_8601,
        "max_future_hours": settings.load.max_future_hours,
        "known": spec.known_event_types,
        "batch_id": spec.batch_id,
        "dataset": spec.dataset,
    }
    conn.execute(_validation(spec.dataset), values)
    parent = RAW_TABLES[spec.dataset]
    target = psql.Identifier(*warehouse.new_partition(conn, parent, spec.batch_id))
    conn.execute(
        sql.statement("ml.data", f"write_{spec.dataset}", target=target), values
    )
    warehouse.attach_partitions(conn, [(parent, spec.batch_id)])
    conn.execute(sql.statement("ml.data", "write_quarantine"), values)
    counts = dict(
        conn.execute(
            "select coalesce(reason, 'loaded'), count(*) from enrich_checked group by 1"
        ).fetchall()
    )
    counts["read"] = sum(counts.values())
    counts.setdefault("loaded", 0)
    counts["flagged"] = conn.execute(
        sql.statement("ml.data", "count_flagged")
    ).fetchone()[0]
    return counts
