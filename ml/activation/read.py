"""What other layers may read of the audiences: the latest build and its deliveries.

The run report asks here for the build activation works on, its audiences'
sizes and what each destination received, instead of querying the audience
tables itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ml.core import relations, sql, warehouse

if TYPE_CHECKING:
    import psycopg

PACKAGE = "ml.activation"


@dataclass(frozen=True)
class BuildRecord:
    """A successful audience build."""

    batch_id: str
    scoring_run_id: str
    definitions_digest: str


@dataclass(frozen=True)
class AudienceSize:
    """One audience of a build: its rule, size, holdout and delta."""

    audience_id: str
    rule: str
    count_members: int
    count_holdout: int
    count_entered: int  # since the previous build
    count_exited: int
    expected_conversions: float


@dataclass(frozen=True)
class Delivery:
    """One delivery of a build's audience to one destination."""

    audience_id: str
    destination: str
    status: str
    attempts: int
    count_entered: int
    count_exited: int
    count_withheld_consent: int
    count_withheld_suppressed: int
    error: str | None


def latest_build(conn: psycopg.Connection) -> BuildRecord | None:
    """The latest successful build (the one activation works on).

    Args:
        conn: A warehouse connection.

    Returns:
        The build, or None when there is none yet (or the audience tables do
        not exist yet).
    """
    for relation in (
        relations.AUDIENCE_BUILDS,
        relations.AUDIENCE_BUILD_AUDIENCES,
        relations.AUDIENCE_DELIVERIES,
    ):
        if not warehouse.exists(conn, relation):
            return None
    found = conn.execute(sql.statement(PACKAGE, "latest_build")).fetchone()
    return None if found is None else BuildRecord(*found)


def build_sizes(conn: psycopg.Connection, batch_id: str) -> list[AudienceSize]:
    """Every audience of a build, by audience id.

    Args:
        conn: A warehouse connection.
        batch_id: The build (:attr:`BuildRecord.batch_id`).
    """
    rows = conn.execute(sql.statement(PACKAGE, "audience_sizes"), [batch_id])
    return [AudienceSize(*row) for row in rows.fetchall()]


def deliveries(conn: psycopg.Connection, batch_id: str) -> list[Delivery]:
    """Every delivery of a build, by audience and destination.

    Args:
        conn: A warehouse connection.
        batch_id: The build (:attr:`BuildRecord.batch_id`).
    """
    rows = conn.execute(sql.statement(PACKAGE, "deliveries"), [batch_id])
    return [Delivery(*row) for row in rows.fetchall()]
