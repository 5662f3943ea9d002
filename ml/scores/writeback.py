"""Stage 6: ingest scored datasets into the profile store.

Loads the latest complete scores dataset of the lake's ingress folder (see
:mod:`ml.score`) into ``scores.propensity_scores``, which keeps history: one
row per profile, model, model version and as_of.

Nothing becomes visible before it is checked. In one transaction the rows
are copied into a new partition (not yet attached), checked (manifest and
checksums, readable Parquet, probabilities in [0, 1], one row per profile,
every profile known to the profile store), and only then attached, while the
partition of an earlier ingest of the same model version and as_of is dropped.
A failure, or a killed process, rolls everything back: readers keep the
previous scores. Every attempt is a row of ``scores.ingest_batches``
(running -> success | failed, with the reason); an attempt left running by
a killed process is marked failed by the next ingest.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ml.core import arrow_io, relations, sql, warehouse
from ml.core.config import Settings
from ml.core.errors import EnrichError, StorageError
from ml.core.lake import complete_folders, open_lake, verified_part
from ml.scores import score

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

# Key of the advisory lock that serialises ingests ("ingest" in ASCII).
INGEST_LOCK = 0x696E67657374
# What a scores dataset must carry: every column of ml.score.SCHEMA (the
# contract columns profile_id, propensity, model_version, as_of among them).
STORED = tuple(score.SCHEMA.names)
# Columns with one value per run: checked against the manifest, then set as
# the new partition's defaults instead of being sent with every row.
CONSTANT = ("model_name", "model_version", "as_of", "scored_at", "run_id")
VARYING = tuple(name for name in STORED if name not in CONSTANT)
EXAMPLES = 3
# The statistics target of a new partition's first ANALYZE: 3,000 sampled
# rows give the planner what it needs here (row count, one row per profile)
# in 0.02 s; PostgreSQL's default (100: 30,000 rows) takes 0.3 s at 1M rows.
STATISTICS_TARGET = 10


class IngestError(EnrichError):
    """A scores dataset was refused, or the ingest failed (nothing changed)."""


@dataclass
class IngestResult:
    """What one ingest did."""

    batch_id: str
    source: str
    status: str  # success | skipped
    rows: int
    model_name: str
    model_version: int
    as_of: dt.datetime
    replaced: list[str] = field(default_factory=list)
    seconds: float = 0.0


def latest_scores(settings: Settings) -> score.Scored:
    """The newest complete scores dataset in the lake's ingress folder.

    Raises:
        IngestError: There is none.
    """
    lake = open_lake(settings)
    for folder, manifest in complete_folders(lake, f"{score.INGRESS}/{score.DATASET}"):
        return score.Scored(folder, manifest)
    raise IngestError(
        f"No complete scores dataset in {lake.url(score.INGRESS)}: "
        "run `enrich score` first."
    )


def _check_manifest(scored: score.Scored) -> None:
    manifest = scored.manifest
    problems = []
    if manifest.get("dataset") != score.DATASET:
        problems.append(
            f"dataset is {manifest.get('dataset')!r}, not {score.DATASET!r}"
        )
    for key in (*CONSTANT, "rows", "parts"):
        if key not in manifest:
            problems.append(f"no {key!r}")
    names = {column.get("name") for column in manifest.get("columns", [])}
    absent = [name for name in STORED if name not in names]
    if absent:
        problems.append(f"columns missing: {', '.join(absent)}")
    if not problems:
        listed = sum(int(part["rows"]) for part in manifest["parts"])
        if listed != int(manifest["rows"]):
            problems.append(
                f"parts hold {listed} rows, the manifest says {manifest['rows']}"
            )
    if problems:
        raise IngestError(
            f"The manifest of {scored.folder} does not describe a scores dataset: "
            f"{'; '.join(problems)}. Nothing was ingested."
        )


def ingest(settings: Settings, scored: score.Scored | None = None) -> IngestResult:
    """Ingest a scores dataset (default: the latest complete one), atomically.

    Args:
        settings: Project settings.
        scored: The dataset to ingest; the newest complete one when None.

    Returns:
        What was done. A dataset already ingested (and not replaced since)
        is skipped.

    Raises:
        IngestError: The dataset was refused or the ingest failed; the
            previous scores are untouched and the attempt is marked failed.
    """
    started = time.perf_counter()
    scored = scored or latest_scores(settings)
    _check_manifest(scored)
    manifest = scored.manifest
    lake = open_lake(settings)
    source = lake.url(scored.folder)
    model_name = str(manifest["model_name"])
    model_version = int(manifest["model_version"])
    as_of = dt.datetime.fromisoformat(manifest["as_of"])
    with warehouse.locked_session(
        settings, INGEST_LOCK, relations.INGEST_BATCHES, "the ingest"
    ) as conn:
        done = conn.execute(
            sql.statement("ml.scores", "succeeded_ingest"),
            [source],
        ).fetchone()
        if done is not None:
            logger.info("%s is already ingested (%s)", source, done[0])
            return IngestResult(
                done[0], source, "skipped", done[1], model_name, model_version, as_of
            )
        batch_id = "ingest-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        conn.execute(
            sql.statement("ml.scores", "insert_ingest_batch"),
            [batch_id, source, manifest["run_id"], model_name, model_version, as_of],
        )
        with warehouse.recorded_attempt(
            conn,
            relations.INGEST_BATCHES,
            [batch_id],
            IngestError,
            f"Ingesting {source} (the previous scores stay in place)",
        ):
            rows = _copy_checked(settings, conn, scored, batch_id)
            replaced = _swap(conn, batch_id, model_name, model_version, as_of)
            conn.execute(
                sql.statement("ml.scores", "finish_ingest_batch"),
                [rows, batch_id],
            )
    seconds = time.perf_counter() - started
    logger.info(
        "ingested %s scores of %s v%d as of %s in %.1f s (%.0f rows/s)%s",
        f"{rows:,}",
        model_name,
        model_version,
        as_of.date(),
        seconds,
        rows / seconds if seconds else 0,
        f"; replaced {', '.join(replaced)}" if replaced else "",
    )
    return IngestResult(
        batch_id,
        source,
        "success",
        rows,
        model_name,
        model_version,
        as_of,
        replaced,
        seconds,
    )


def _constants(manifest: dict[str, Any]) -> dict[str, Any]:
    """The run's one-value columns, as the manifest states them."""
    return {
        "model_name": str(manifest["model_name"]),
        "model_version": int(manifest["model_version"]),
        "as_of": dt.datetime.fromisoformat(manifest["as_of"]),
        "scored_at": dt.datetime.fromisoformat(manifest["scored_at"]),
        "run_id": str(manifest["run_id"]),
    }


def _set_defaults(
    conn: psycopg.Connection, child: tuple[str, str], defaults: dict[str, Any]
) -> None:
    """Give the partition's one-value columns their defaults (not sent per row)."""
    from psycopg import sql as psql

    conn.execute(
        sql.compose(
            "alter table {partition} {defaults}",
            partition=psql.Identifier(*child),
            defaults=psql.SQL(", ").join(
                psql.SQL("alter column {} set default {}").format(
                    psql.Identifier(name), psql.Literal(value)
                )
                for name, value in defaults.items()
            ),
        )
    )


def _copy_checked(
    settings: Settings, conn: psycopg.Connection, scored: score.Scored, batch_id: str
) -> int:
    """Copy every part into the batch's new partition, checking as it goes."""
    from psycopg import sql as psql

    manifest = scored.manifest
    constants = _constants(manifest)
    lake = open_lake(settings)
    child = warehouse.new_partition(conn, relations.PROPENSITY_SCORES, batch_id)
    _set_defaults(conn, child, {**constants, "batch_id": batch_id})
    rows = 0
    profile_ids = []
    with tempfile.TemporaryDirectory(prefix="enrich-ingest-") as scratch:

        def parts() -> Iterator[pa.Table]:
            nonlocal rows
            for number, part in enumerate(manifest["parts"], start=1):
                try:
                    local = verified_part(lake, scored.folder, part, Path(scratch))
                except StorageError as exc:
                    raise IngestError(f"Refused: {exc} Nothing was ingested.") from None
                table = _read_part(local, part, scored)
                _check_values(table, part, manifest, constants)
                profile_ids.append(table["profile_id"])
                rows += table.num_rows
                yield table.select(VARYING)
                logger.info(
                    "ingest: part %d of %d sent (%s rows)",
                    number,
                    len(manifest["parts"]),
                    f"{rows:,}",
                )

        # One COPY for every part: the next part is read and checked while
        # the server stores the last one.
        arrow_io.copy_arrow(conn, child, parts(), binary=True, freeze=True)
    # Statistics before the checks below, so the planner knows the rows.
    warehouse.analyze(conn, [child], statistics_target=STATISTICS_TARGET)
    if rows != int(manifest["rows"]):
        raise IngestError(
            f"Refused: {scored.folder} holds {rows:,} rows, its manifest says "
            f"{int(manifest['rows']):,}. Nothing was ingested."
        )
    ids = pa.chunked_array([c for ids in profile_ids for c in ids.chunks])
    # The duplicate check runs here while the server looks for unknown profiles.
    with ThreadPoolExecutor(1, thread_name_prefix="ingest") as pool:
        unique = pool.submit(_check_unique, ids, scored)
        if not warehouse.exists(conn, relations.PROFILES_ENRICHED):
            unique.result()
            raise IngestError(
                f"The profile store {'.'.join(relations.PROFILES_ENRICHED)} does not "
                "exist yet: run `enrich featurize` first. Nothing was ingested."
            )
        unknown = sql.single_row(
            conn.execute(
                sql.statement(
                    "ml.scores", "unknown_profiles", partition=psql.Identifier(*child)
                ),
                [EXAMPLES],
            )
        )
        unique.result()
    if unknown[0]:
        raise IngestError(
            f"Refused: {unknown[0]:,} scored profile(s) are not in the profile "
            f"store, e.g. {', '.join(unknown[1])}. Were they scored on another "
            "warehouse's data? Nothing was ingested."
        )
    return rows


def _check_unique(profile_ids: pa.ChunkedArray, scored: score.Scored) -> None:
    """One score per profile in the run."""
    if pc.count_distinct(profile_ids).as_py() == len(profile_ids):
        return
    counts = pc.value_counts(profile_ids).flatten()
    repeated = pc.filter(counts[0], pc.greater(counts[1], 1))
    examples = sorted(repeated.to_pylist())[:EXAMPLES]
    raise IngestError(
        f"Refused: {len(repeated):,} profile(s) have more than one score in "
        f"{scored.folder}, e.g. {', '.join(examples)}. A run scores each "
        "profile once: score again. Nothing was ingested."
    )


def _read_part(local: Path, part: dict[str, Any], scored: score.Scored) -> pa.Table:
    try:
        table = pq.read_table(local)
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(
            f"Refused: {part['file']} of {scored.folder} is not a readable Parquet "
            f"file ({exc}); it may be truncated. Nothing was ingested."
        ) from None
    absent = [name for name in STORED if name not in table.column_names]
    if absent:
        raise IngestError(
            f"Refused: {part['file']} of {scored.folder} lacks columns "
            f"{', '.join(absent)}. Nothing was ingested."
        )
    if table.num_rows != int(part["rows"]):
        raise IngestError(
            f"Refused: {part['file']} of {scored.folder} holds {table.num_rows:,} "
            f"rows, its manifest says {int(part['rows']):,}. Nothing was ingested."
        )
    return _typed(table.select(STORED), part, scored)


def _typed(table: pa.Table, part: dict[str, Any], scored: score.Scored) -> pa.Table:
    """The columns in the stored types (binary COPY takes nothing else)."""
    expected = pa.schema([score.SCHEMA.field(name) for name in table.column_names])
    try:
        return table.cast(expected)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        found = ", ".join(
            f"{field.name} {field.type}"
            for field in table.schema
            if field.type != expected.field(field.name).type
        )
        raise IngestError(
            f"Refused: {part['file']} of {scored.folder} has columns of other types "
            f"({found}; {exc}). Nothing was ingested."
        ) from None


def _check_values(
    table: pa.Table,
    part: dict[str, Any],
    manifest: dict[str, Any],
    constants: dict[str, Any],
) -> None:
    """Probabilities in [0, 1], ids present, the run's constants as stated."""
    where = f"{part['file']} of run {manifest['run_id']}"
    propensity = table["propensity"]
    # Null and NaN fail the range test too.
    bad = pc.fill_null(
        pc.invert(
            pc.and_(pc.greater_equal(propensity, 0.0), pc.less_equal(propensity, 1.0))
        ),
        True,
    )
    count = pc.sum(bad.cast(pa.int64())).as_py() or 0
    if count:
        examples = pc.filter(table["profile_id"], bad)
        values = pc.filter(propensity, bad)
        shown = ", ".join(
            f"{pid}: {value}"
            for pid, value in zip(
                examples.slice(0, EXAMPLES).to_pylist(),
                values.slice(0, EXAMPLES).to_pylist(),
                strict=True,
            )
        )
        raise IngestError(
            f"Refused: {count:,} propensities in {where} are not probabilities in "
            f"[0, 1] (e.g. {shown}). Nothing was ingested."
        )
    if table["profile_id"].null_count:
        raise IngestError(
            f"Refused: {table['profile_id'].null_count:,} rows of {where} have no "
            "profile_id. Nothing was ingested."
        )
    for name, expected in constants.items():
        values = pc.unique(table[name]).to_pylist()
        if values and values != [expected]:
            raise IngestError(
                f"Refused: {where} has {name} {values[:EXAMPLES]}, its manifest says "
                f"{expected}. Nothing was ingested."
            )


def _swap(
    conn: psycopg.Connection,
    batch_id: str,
    model_name: str,
    model_version: int,
    as_of: dt.datetime,
) -> list[str]:
    """Attach the new partition; drop the one it replaces (same transaction)."""
    from psycopg import sql as psql

    replaced = [
        row[0]
        for row in conn.execute(
            sql.statement("ml.scores", "ingests_to_replace"),
            [model_name, model_version, as_of],
        ).fetchall()
    ]
    for old in replaced:
        conn.execute(
            sql.compose(
                "drop table if exists {partition}",
                partition=psql.Identifier(
                    *warehouse.partition_name(relations.PROPENSITY_SCORES, old)
                ),
            )
        )
    if replaced:
        conn.execute(
            sql.statement("ml.scores", "mark_replaced"),
            [batch_id, replaced],
        )
    warehouse.attach_partitions(conn, [(relations.PROPENSITY_SCORES, batch_id)])
    return replaced
