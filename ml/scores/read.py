"""What other layers may read of the scores: the current run and its spread.

The run report asks here which scoring run the profile store shows and how
its propensities are distributed, instead of querying the scores tables
itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ml.core import relations, sql, warehouse

if TYPE_CHECKING:
    import psycopg

PACKAGE = "ml.scores"


@dataclass(frozen=True)
class CurrentRun:
    """The scoring run the enriched profiles show, and its ingest batch."""

    batch_id: str
    model_name: str
    model_version: int
    as_of: dt.datetime
    run_id: str
    rows: int  # rows the batch ingested
    mean_propensity: float


@dataclass(frozen=True)
class ScoreDistribution:
    """Scores of one ingest batch per bin of equal width over [0, upper)."""

    upper: float  # the 99.5th percentile of the scores (at least 1e-6)
    highest: float  # the highest score
    counts: np.ndarray  # scores per bin, from 0 up (below 0 in the first)
    beyond: int  # scores at or above ``upper``

    @property
    def edges(self) -> np.ndarray:
        """The bins' edges, from 0 to ``upper``."""
        return np.linspace(0, self.upper, len(self.counts) + 1)


def current_run(conn: psycopg.Connection) -> CurrentRun | None:
    """The scoring run the enriched profiles show, and its ingest batch.

    ``profiles_enriched`` decides which run is current (as audiences read
    it); the ingest log names the run's partition of the scores.

    Args:
        conn: A warehouse connection.

    Returns:
        The run, or None when no profile has a score yet, or the run has no
        successful ingest batch.
    """
    for relation in (relations.PROFILES_ENRICHED, relations.INGEST_BATCHES):
        if not warehouse.exists(conn, relation):
            return None
    found = conn.execute(sql.statement(PACKAGE, "current_run")).fetchone()
    if found is None:
        return None
    batch_id, model_name, model_version, as_of, run_id, rows = found
    [mean_propensity] = sql.single_row(
        conn.execute(sql.statement(PACKAGE, "mean_propensity"), [batch_id])
    )
    return CurrentRun(
        batch_id=batch_id,
        model_name=model_name,
        model_version=model_version,
        as_of=as_of,
        run_id=run_id,
        rows=rows,
        mean_propensity=mean_propensity,
    )


def score_distribution(
    conn: psycopg.Connection, batch_id: str, bins: int = 60
) -> ScoreDistribution:
    """The scores of one ingest batch, binned up to their 99.5th percentile.

    The bins span the scores up to the 99.5th percentile: a long thin tail
    would squeeze everyone else into a few bars.

    Args:
        conn: A warehouse connection.
        batch_id: The ingest batch (:attr:`CurrentRun.batch_id`).
        bins: How many bins of equal width.
    """
    top, highest = sql.single_row(
        conn.execute(sql.statement(PACKAGE, "score_range"), [batch_id])
    )
    upper = max(float(top or 0.0), 1e-6)
    rows = conn.execute(
        sql.statement(PACKAGE, "score_histogram"), [upper, bins, batch_id]
    ).fetchall()
    counts = np.zeros(bins)
    beyond = 0
    for bucket, count in rows:
        if bucket >= bins:
            beyond += count
        else:
            counts[max(0, bucket)] += count
    return ScoreDistribution(upper=upper, highest=highest, counts=counts, beyond=beyond)
