"""What other layers may read of the loads: batch totals and the quarantine.

The run report asks here what the loader read, loaded and refused, instead
of querying the raw tables itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ml.core import relations, sql, warehouse

if TYPE_CHECKING:
    import psycopg

PACKAGE = "ml.data"


@dataclass(frozen=True)
class BatchesSummary:
    """Totals over every successful load batch."""

    records_read: int
    records_loaded: int
    records_quarantined: int
    batches: int


@dataclass(frozen=True)
class QuarantineReason:
    """Records of one dataset the loader refused for one reason."""

    dataset: str
    reason: str
    records: int


def batches_summary(conn: psycopg.Connection) -> BatchesSummary | None:
    """What the successful load batches read, loaded and quarantined.

    Args:
        conn: A warehouse connection.

    Returns:
        The totals, or None when nothing was ever loaded (the raw tables do
        not exist yet).
    """
    for relation in (relations.RAW_BATCHES, relations.RAW_QUARANTINE):
        if not warehouse.exists(conn, relation):
            return None
    found = conn.execute(sql.statement(PACKAGE, "batches_summary"))
    return BatchesSummary(*sql.single_row(found))


def quarantine_by_reason(conn: psycopg.Connection) -> list[QuarantineReason]:
    """Quarantined records of the successful batches per dataset and reason.

    Most frequent first. Call after :func:`batches_summary` found the raw
    tables.

    Args:
        conn: A warehouse connection.
    """
    rows = conn.execute(sql.statement(PACKAGE, "quarantine_by_reason")).fetchall()
    return [QuarantineReason(*row) for row in rows]
