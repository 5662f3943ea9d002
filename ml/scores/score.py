"""Stage 5: score every eligible profile with a registered model.

Reads the latest complete scoring export (or the one for a given as_of),
scores it chunk by chunk with the production model (or a given version) and
writes the scores to the lake as an ingress dataset, the way scores return to
a platform: ``<lake>/ingress/propensity_scores/scored_at=<UTC timestamp>/``
with Parquet parts and a ``_manifest.json`` written last.

Each row: the profile, its calibrated propensity, percentile and decile within
the run (10 = highest), the three features with the largest SHAP contributions
(with their signed contributions in the model's log-odds), model name and
version, as_of, scored_at and the run id. SHAP values are CatBoost's own,
looked up per tree and leaf (see :mod:`ml.model.explain`), so explaining a million
profiles costs seconds, not minutes.

Memory stays bounded: one chunk of features at a time, plus one float per
profile for the run's percentiles.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ml.core import relations, sql, warehouse
from ml.core.config import Settings
from ml.core.errors import EnrichError, StorageError
from ml.core.lake import Lake, complete_folders, open_lake, verified_part, write_part
from ml.features import export
from ml.model import registry
from ml.model.explain import Explainer
from ml.model.frames import prepare
from ml.model.train import Calibrator

if TYPE_CHECKING:
    from catboost import CatBoostClassifier

logger = logging.getLogger(__name__)

DATASET = "propensity_scores"
INGRESS = "ingress"
FORMAT_VERSION = 1
REASONS = 3
SCHEMA = pa.schema(
    [
        ("profile_id", pa.string()),
        ("propensity", pa.float64()),
        ("percentile", pa.float64()),
        ("decile", pa.int16()),
        *(
            field
            for n in range(1, REASONS + 1)
            for field in (
                (f"reason_{n}", pa.string()),
                (f"reason_{n}_shap", pa.float64()),
            )
        ),
        ("model_name", pa.string()),
        ("model_version", pa.int32()),
        ("as_of", pa.timestamp("us", tz="UTC")),
        ("scored_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
    ]
)


# Columns worth dictionary-encoding in the parts (not the unique profile ids
# or the scores themselves, where trying costs time and saves nothing).
DICTIONARY_COLUMNS = [
    "decile",
    *(f"reason_{n}" for n in range(1, REASONS + 1)),
    "model_name",
    "run_id",
]


class ScoreError(EnrichError):
    """Scoring cannot run (no model, no scoring export, mismatched features)."""


@dataclass
class ScoringModel:
    """A registered model, loaded from its artifacts, ready to score."""

    version: registry.Version
    model: CatBoostClassifier
    calibrator: Calibrator
    features: list[str]
    categorical: list[str]
    explainer: Explainer


@dataclass
class Scored:
    """One complete scores dataset in the lake."""

    folder: str
    manifest: dict[str, Any]

    @property
    def rows(self) -> int:
        """Profiles scored."""
        return int(self.manifest["rows"])


def load_model(settings: Settings, version: int | None = None) -> ScoringModel:
    """Load a version's model from the lake (default: the production one).

    Raises:
        RegistryError: No such version, or no production model.
        ScoreError: The version's artifacts are incomplete, or its trees cannot
            be explained (not symmetric, no leaf weights).
    """
    from catboost import CatBoostClassifier

    found = registry.get(settings, version)
    lake, folder = registry.artifact_lake(settings, found)
    manifest = lake.read_manifest(folder)
    if manifest is None or "model.cbm" not in manifest.get("files", []):
        raise ScoreError(
            f"The artifacts of {found.model_name} v{found.version} in "
            f"{lake.url(folder)} are incomplete: train again (`enrich train`)."
        )
    model = CatBoostClassifier()
    features = list(manifest["features"])
    with tempfile.TemporaryDirectory(prefix="enrich-model-") as scratch:
        local = lake.get_file(f"{folder}/model.cbm", Path(scratch) / "model.cbm")
        model.load_model(str(local))
    try:
        explainer = Explainer(model, len(features))
    except ValueError as exc:
        raise ScoreError(
            f"{found.model_name} v{found.version} cannot be explained: {exc}. "
            "Score with a version enrich trained (`enrich model list`)."
        ) from None
    calibration = manifest["calibration"]
    return ScoringModel(
        found,
        model,
        Calibrator(float(calibration["a"]), float(calibration["b"])),
        features,
        list(manifest["categorical_features"]),
        explainer,
    )


def top_reasons(
    contributions: np.ndarray, features: list[str], count: int = REASONS
) -> list[tuple[pa.Array, pa.Array]]:
    """The ``count`` largest |SHAP| features per row, largest first.

    Args:
        contributions: SHAP values, shape (features, rows).
        features: Feature names, in the model's order.
        count: Reasons per row.

    Returns:
        Per rank: (feature names, signed contributions); null where a row
        has fewer features with a non-zero contribution.
    """
    size = contributions.shape[1]
    magnitude = np.abs(contributions)
    columns = np.arange(size)
    names = pa.array(features, pa.string())
    result = []
    for _ in range(count):
        # Repeated argmax (a few passes over the matrix) beats a partial sort.
        best = magnitude.argmax(axis=0)
        value = contributions[best, columns]
        empty = magnitude[best, columns] <= 0  # no feature left that counts
        magnitude[best, columns] = -1.0
        indices = pa.array(best.astype(np.int32), mask=empty)
        result.append(
            (
                pa.DictionaryArray.from_arrays(indices, names).cast(pa.string()),
                pa.array(value, pa.float64(), mask=empty),
            )
        )
    return result


def rank(propensity: np.ndarray, everyone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Percentile (0-100] and decile (1-10, 10 = highest) within the run.

    The percentile is the share of the run scoring at or below a profile;
    equal scores share their percentile and decile.
    """
    below = np.searchsorted(everyone, propensity, side="right")
    percentile = 100.0 * below / everyone.size
    decile = np.clip(np.ceil(percentile / 10.0), 1, 10).astype(np.int16)
    return percentile, decile


def scoring_export(settings: Settings, as_of: dt.date | None = None) -> export.Export:
    """The latest complete scoring export, or the latest one for ``as_of``.

    Raises:
        ScoreError: No such export.
    """
    if as_of is None:
        try:
            return export.latest_export(settings, "ml_scoring_set")
        except export.ExportError as exc:
            raise ScoreError(str(exc)) from None
    lake = open_lake(settings)
    for folder, manifest in complete_folders(lake, f"{export.EGRESS}/ml_scoring_set"):
        if str(manifest.get("as_of") or "")[:10] == as_of.isoformat():
            return export.Export("ml_scoring_set", folder, manifest)
    raise ScoreError(
        f"No scoring export as of {as_of}: build the features for that date "
        f"(`enrich featurize --as-of {as_of}`) and export them "
        "(`enrich export --dataset scoring`)."
    )


def score(
    settings: Settings, model_version: int | None = None, as_of: dt.date | None = None
) -> Scored:
    """Score every profile of a scoring export and write the scores to the lake.

    Args:
        settings: Project settings (``score`` section, lake, registry).
        model_version: The version to score with; the production one when None.
        as_of: Score the latest export for this date; the latest one when None.

    Returns:
        The complete scores dataset.

    Raises:
        ScoreError: No model, no export, or the export lacks the model's features.
        RegistryError: The version does not exist, or no model is in production.
    """
    started = time.perf_counter()
    loaded = load_model(settings, model_version)
    exported = scoring_export(settings, as_of)
    _check_export(exported, loaded)
    scored_at = dt.datetime.now(dt.UTC)
    run_id = scored_at.strftime("%Y%m%dT%H%M%S.%fZ")
    as_of_at = dt.datetime.fromisoformat(exported.manifest["as_of"])
    lake = open_lake(settings)
    folder = f"{INGRESS}/{DATASET}/scored_at={run_id}"
    logger.info(
        "scoring %s profiles as of %s with %s v%d (%d trees)",
        f"{exported.rows:,}",
        as_of_at.date(),
        loaded.version.model_name,
        loaded.version.version,
        loaded.explainer.trees,
    )
    constants = {
        "model_name": pa.scalar(loaded.version.model_name, pa.string()),
        "model_version": pa.scalar(loaded.version.version, pa.int32()),
        "as_of": pa.scalar(as_of_at, pa.timestamp("us", tz="UTC")),
        "scored_at": pa.scalar(scored_at, pa.timestamp("us", tz="UTC")),
        "run_id": pa.scalar(run_id, pa.string()),
    }
    with tempfile.TemporaryDirectory(prefix="enrich-score-") as work:
        scratch = Path(work)
        chunk_files, everyone = _score_chunks(
            settings, lake, exported, loaded, scratch, started
        )
        parts = _write_parts(
            settings, lake, folder, chunk_files, everyone, constants, scratch
        )
    manifest = {
        "format_version": FORMAT_VERSION,
        "dataset": DATASET,
        "run_id": run_id,
        "model_name": loaded.version.model_name,
        "model_version": loaded.version.version,
        "as_of": as_of_at.isoformat(),
        "scored_at": scored_at.isoformat(),
        "scoring_export": exported.folder,
        "scoring_export_id": exported.export_id,
        "rows": int(everyone.size),
        "columns": [{"name": f.name, "type": str(f.type)} for f in SCHEMA],
        "summary": {
            "mean_propensity": float(everyone.mean()),
            "median_propensity": float(np.median(everyone)),
            "top_decile_min_propensity": float(np.quantile(everyone, 0.9)),
        },
        "parts": parts,
    }
    lake.write_manifest(folder, manifest)
    seconds = time.perf_counter() - started
    logger.info(
        "%s profiles scored in %.1f s (%.0f profiles/s) -> %s",
        f"{everyone.size:,}",
        seconds,
        everyone.size / seconds,
        lake.url(folder),
    )
    return Scored(folder, manifest)


def _check_export(exported: export.Export, loaded: ScoringModel) -> None:
    """Refuse an export without the model's features, or without rows.

    Raises:
        ScoreError: Which features are missing, or that there are no rows.
    """
    columns = {c["name"] for c in exported.manifest["columns"]}
    missing = [f for f in loaded.features if f not in columns]
    if missing:
        raise ScoreError(
            f"The scoring export {exported.folder} lacks features "
            f"{loaded.version.model_name} v{loaded.version.version} was trained "
            f"on: {', '.join(missing[:5])}. Score with a version trained on the "
            "current features (`enrich model list`), or train again."
        )
    if exported.rows == 0:
        raise ScoreError(
            f"The scoring export {exported.folder} has no rows: no profile is "
            "eligible at its as_of."
        )


def _score_chunks(
    settings: Settings,
    lake: Lake,
    exported: export.Export,
    loaded: ScoringModel,
    scratch: Path,
    started: float,
) -> tuple[list[Path], np.ndarray]:
    """Pass 1: propensities and reasons, chunk by chunk, to scratch files.

    The workers write the files; score.workers chunks are in flight and one
    more is read ahead (CatBoost, numpy and Parquet release the GIL).

    Returns:
        The chunk files, in order, and every propensity of the run, sorted.
    """
    chunk_files: list[Path] = []
    propensities: list[np.ndarray] = []

    def keep(propensity: np.ndarray) -> None:
        propensities.append(propensity)
        done = sum(p.size for p in propensities)
        logger.info(
            "scored %s of %s profiles (%.0f profiles/s)",
            f"{done:,}",
            f"{exported.rows:,}",
            done / (time.perf_counter() - started),
        )

    workers = settings.score.workers
    with ThreadPoolExecutor(workers, thread_name_prefix="score") as pool:
        pending: deque[Future[np.ndarray]] = deque()
        for chunk in _chunks(settings, lake, exported, loaded, scratch):
            chunk_files.append(scratch / f"chunk-{len(chunk_files):05d}.parquet")
            pending.append(pool.submit(_score_chunk, chunk, loaded, chunk_files[-1]))
            if len(pending) > workers:
                keep(pending.popleft().result())
        while pending:
            keep(pending.popleft().result())
    return chunk_files, np.sort(np.concatenate(propensities))


def _write_parts(
    settings: Settings,
    lake: Lake,
    folder: str,
    chunk_files: list[Path],
    everyone: np.ndarray,
    constants: dict[str, pa.Scalar],
    scratch: Path,
) -> list[dict[str, Any]]:
    """Pass 2: percentiles and deciles within the run, then the parts.

    Returns:
        The parts, as the manifest lists them.
    """

    def finish(number: int, path: Path) -> dict[str, Any]:
        table = pq.read_table(path)
        path.unlink()
        percentile, decile = rank(table["propensity"].to_numpy(), everyone)
        table = table.append_column("percentile", pa.array(percentile))
        table = table.append_column("decile", pa.array(decile))
        for name, value in constants.items():
            table = table.append_column(name, pa.repeat(value, table.num_rows))
        table = table.select(SCHEMA.names).cast(SCHEMA)
        return write_part(
            lake, table, folder, number, scratch, dictionary=DICTIONARY_COLUMNS
        )

    # Parquet encoding, checksums and uploads release the GIL.
    workers = settings.score.workers
    with ThreadPoolExecutor(workers, thread_name_prefix="score") as pool:
        return list(pool.map(finish, range(len(chunk_files)), chunk_files))


def _chunks(
    settings: Settings,
    lake: Lake,
    exported: export.Export,
    loaded: ScoringModel,
    scratch: Path,
) -> Iterator[pa.Table]:
    """The export's rows in chunks of ``score.chunk_rows``, parts verified."""
    wanted = ["profile_id", *loaded.features]
    downloads = scratch / "export"
    downloads.mkdir()
    for part in exported.manifest["parts"]:
        try:
            local = verified_part(lake, exported.folder, part, downloads)
        except StorageError as exc:
            raise ScoreError(f"{exc} (export again: `enrich export`)") from None
        for batch in pq.ParquetFile(local).iter_batches(
            batch_size=settings.score.chunk_rows, columns=wanted
        ):
            if batch.num_rows:
                yield pa.Table.from_batches([batch])
        if local.is_relative_to(downloads):
            local.unlink()


def _score_chunk(chunk: pa.Table, loaded: ScoringModel, path: Path) -> np.ndarray:
    """Propensities and top reasons of one chunk (no ranks yet) to ``path``.

    Returns:
        The chunk's propensities.
    """
    from catboost import Pool

    frame = prepare(chunk.to_pandas(), loaded.features, loaded.categorical)
    pool = Pool(frame[loaded.features], cat_features=loaded.categorical)
    leaves = loaded.model.calc_leaf_indexes(pool, thread_count=1)
    contributions = loaded.explainer.contributions(leaves)
    del leaves
    # SHAP values add up to the raw score: no second pass through the trees.
    raw = 1.0 / (1.0 + np.exp(-loaded.explainer.raw_scores(contributions)))
    propensity = loaded.calibrator.apply(raw)
    columns: dict[str, pa.Array] = {
        "profile_id": chunk["profile_id"].combine_chunks(),
        "propensity": pa.array(propensity, pa.float64()),
    }
    for n, (names, values) in enumerate(
        top_reasons(contributions, loaded.features), start=1
    ):
        columns[f"reason_{n}"] = names
        columns[f"reason_{n}_shap"] = values
    pq.write_table(pa.table(columns), path, compression="none")
    return propensity


# -- back-test -------------------------------------------------------------------


def backtest(
    settings: Settings, model_name: str, model_version: int, as_of: dt.datetime
) -> list[dict[str, Any]] | None:
    """Realised conversion by score decile in the generator's simulated future.

    Joins the ingested scores of one run to the synthetic truth of the window
    after as_of: one row per decile, lowest first. None when the warehouse
    holds no truth for that window (the data was not generated, or the as_of
    is not the generator's).
    """
    with warehouse.connect(settings) as conn:
        if not warehouse.exists(conn, relations.SYNTHETIC_TRUTH):
            return None
        rows = conn.execute(
            sql.statement("ml.scores", "backtest_deciles"),
            [model_name, model_version, as_of],
        ).fetchall()
    if not rows:
        return None
    names = (
        "decile",
        "profiles",
        "realised_rate",
        "mean_propensity",
        "mean_true_probability",
    )
    return [dict(zip(names, row, strict=True)) for row in rows]
