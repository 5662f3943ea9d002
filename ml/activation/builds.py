"""Audience builds: every audience materialized against the current scores.

A build (:func:`build`) stores every audience's members as a snapshot (one
partition of ``audiences.memberships`` per build, attached when the whole
build succeeded), keeps a deterministic holdout (a stable hash of audience
and profile) as a control group, and records sizes and the delta against the
previous build (entered, exited, stayed), with the realised conversion rate
in the simulated future when the data is synthetic.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ml.activation import read, rules
from ml.activation.definitions import (
    Audience,
    AudienceError,
    Definitions,
    load_definitions,
)
from ml.core import relations, sql, warehouse
from ml.core.config import Settings

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

AUDIENCE_LOCK = 0x61756469656E6365  # "audience"
_PACKAGE = "ml.activation"


@dataclass
class Build:
    """One audience build: every audience's members, holdout and delta."""

    batch_id: str
    status: str  # success | skipped
    scoring_run_id: str
    audiences: list[dict[str, Any]]


def _digest(definitions: Definitions) -> str:
    payload = [
        {"id": a.id, "rule": a.rule, "holdout_percent": a.holdout_percent}
        for a in definitions.audiences
    ]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def session(
    settings: Settings,
) -> contextlib.AbstractContextManager[psycopg.Connection]:
    """An autocommit connection holding the audience lock, schema in place.

    Args:
        settings: Project settings.
    """
    return warehouse.locked_session(
        settings,
        AUDIENCE_LOCK,
        relations.AUDIENCE_BUILDS,
        "the audience build",
        ("audiences_schema.sql",),
    )


def build_sizes(conn: psycopg.Connection, batch_id: str) -> list[dict[str, Any]]:
    """Every audience of a build: sizes, holdout, delta (a dict per audience).

    Args:
        conn: A warehouse connection.
        batch_id: The build.
    """
    cursor = conn.execute(sql.statement(_PACKAGE, "build_sizes"), [batch_id])
    names = [column.name for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def build(settings: Settings) -> Build:
    """Materialize every audience against the current scores, atomically.

    Members are the scored profiles a rule selects; a stable hash of audience
    and profile puts ``holdout_percent`` of them in the holdout (control)
    group. The delta (entered, exited, stayed) is against the previous
    successful build. A build of the same scoring run with the same
    definitions is not repeated.

    Args:
        settings: Project settings.

    Returns:
        The build, ``skipped`` when the latest one already has these inputs.

    Raises:
        AudienceError: Invalid definitions, or no scores to build on.
    """
    definitions = load_definitions(settings)
    digest = _digest(definitions)
    with session(settings) as conn:
        current = conn.execute(sql.statement(_PACKAGE, "current_scores")).fetchone()
        if current is None:
            raise AudienceError(
                "No profile has a current score: run `enrich score`, `enrich "
                "ingest` and `enrich featurize` (or `enrich run`) first."
            )
        scoring_run_id, cutoff_at = current
        previous = read.latest_build(conn)
        if previous is not None and (
            previous.scoring_run_id,
            previous.definitions_digest,
        ) == (scoring_run_id, digest):
            logger.info("build %s has these scores and definitions", previous.batch_id)
            return Build(
                previous.batch_id,
                "skipped",
                scoring_run_id,
                build_sizes(conn, previous.batch_id),
            )
        batch_id = "build-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        conn.execute(
            sql.statement(_PACKAGE, "insert_build"),
            [batch_id, scoring_run_id, cutoff_at, digest],
        )
        with warehouse.recorded_attempt(
            conn,
            relations.AUDIENCE_BUILDS,
            [batch_id],
            AudienceError,
            "Building audiences",
        ):
            _materialize_all(
                conn,
                definitions,
                batch_id,
                previous.batch_id if previous else None,
                cutoff_at,
            )
            conn.execute(sql.statement(_PACKAGE, "build_succeeded"), [batch_id])
        return Build(batch_id, "success", scoring_run_id, build_sizes(conn, batch_id))


def _materialize_all(
    conn: psycopg.Connection,
    definitions: Definitions,
    batch_id: str,
    previous: str | None,
    cutoff_at: dt.datetime,
) -> None:
    """Every audience into a new membership partition, recorded, attached."""
    partition = warehouse.new_partition(conn, relations.AUDIENCE_MEMBERSHIPS, batch_id)
    truth = warehouse.exists(conn, relations.SYNTHETIC_TRUTH)
    base_rate = _base_rate(conn, cutoff_at) if truth else None
    for audience in definitions.audiences:
        _materialize(conn, partition, batch_id, audience)
    warehouse.analyze(conn, [partition])
    for audience in definitions.audiences:
        _record(
            conn,
            partition,
            batch_id,
            previous,
            audience,
            cutoff_at if truth else None,
            base_rate,
        )
    warehouse.attach_partitions(conn, [(relations.AUDIENCE_MEMBERSHIPS, batch_id)])


def _materialize(
    conn: psycopg.Connection,
    partition: tuple[str, str],
    batch_id: str,
    audience: Audience,
) -> None:
    from psycopg import sql as psql

    condition, params = rules.compile_rule(audience.rule)
    conn.execute(
        sql.statement(
            _PACKAGE,
            "materialize",
            partition=psql.Identifier(*partition),
            condition=condition,
        ),
        [
            audience.id,
            audience.id,
            round(audience.holdout_percent * 100),
            batch_id,
            *params,
        ],
    )


def _base_rate(conn: psycopg.Connection, cutoff_at: dt.datetime) -> float | None:
    row = conn.execute(sql.statement(_PACKAGE, "base_rate"), [cutoff_at]).fetchone()
    return None if row is None else row[0]


def _record(
    conn: psycopg.Connection,
    partition: tuple[str, str],
    batch_id: str,
    previous: str | None,
    audience: Audience,
    cutoff_at: dt.datetime | None,
    base_rate: float | None,
) -> None:
    """Sizes, delta and (synthetic data) realised conversion of one audience."""
    from psycopg import sql as psql

    members = psql.Identifier(*partition)
    count_members, count_holdout, expected = sql.single_row(
        conn.execute(
            sql.statement(_PACKAGE, "member_counts", partition=members),
            [audience.id],
        )
    )
    entered, exited, stayed = sql.single_row(
        conn.execute(
            sql.statement(_PACKAGE, "membership_delta", partition=members),
            [audience.id, previous, audience.id],
        )
    )
    realised = None
    if cutoff_at is not None:
        realised = sql.single_row(
            conn.execute(
                sql.statement(_PACKAGE, "realised_rate", partition=members),
                [cutoff_at, audience.id],
            )
        )[0]
    conn.execute(
        sql.statement(_PACKAGE, "insert_build_audience"),
        [
            batch_id,
            audience.id,
            audience.rule,
            audience.holdout_percent,
            count_members,
            count_holdout,
            entered,
            exited,
            stayed,
            expected,
            realised,
            base_rate,
        ],
    )
