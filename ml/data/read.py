"""What other layers may read of the loads: batch totals and the quarantine.

The run report asks here what the loader read, loaded and refused, instead
of querying the raw tables itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ml.core import relations, sql, warehouse
from ml.core.config import Settings
from ml.core.errors import LoadError

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


class NothingLoadedError(LoadError):
    """The pipeline was asked to run on loaded data, and none is loaded."""


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


def loaded_events(settings: Settings) -> int:
    """Experience events the successful load batches hold (files or generated).

    Args:
        settings: Project settings.

    Raises:
        NothingLoadedError: No batch of experience events was ever loaded, or
            every record of the files was quarantined.
    """
    with warehouse.connect(settings) as conn:
        if warehouse.exists(conn, relations.RAW_BATCHES):
            found = conn.execute(sql.statement(PACKAGE, "loaded_events"))
            events, _ = sql.single_row(found)
        else:
            events = 0
    if not events:
        raise NothingLoadedError(
            "Nothing is loaded: the warehouse holds no experience events. Load "
            "your exports first (enrich load PATH ...) or pass --load PATH; to "
            "run on generated data, drop --no-generate (or set run.source: "
            "generate in enrich.yml)."
        )
    return int(events)
