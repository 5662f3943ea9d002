"""Stage 3: export the training and scoring sets to the lake as Parquet.

The datasets: the default prediction's ``ml_training_set`` and
``ml_scoring_set``, and every prediction's ``ml_<name>__training_set`` and
``ml_<name>__scoring_set`` (:func:`prediction_datasets`).

Layout: ``<lake>/egress/<dataset>/export_time=<UTC timestamp>/part-NNNNN.parquet``
and ``_manifest.json`` (rows, columns and types, as_of, cutoffs, the dbt
invocation that built the data, a checksum per part), written last. Rows
stream from PostgreSQL with ``COPY ... TO STDOUT`` into Arrow record batches,
so memory stays bounded by one part whatever the table size; both sets come
from one repeatable-read snapshot.

:func:`latest_export` trusts only a folder whose manifest exists and whose
parts match it; a half-written export (a killed process) is never read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ml.core import relations
from ml.core.arrow_io import rebatch
from ml.core.config import Settings
from ml.core.engines import Reader, open_reader
from ml.core.errors import EnrichError, RelationMissingError, StorageError
from ml.core.lake import Lake, complete_folders, open_lake, verified_part, write_part
from ml.core.predictions import load_predictions
from ml.features.builds import ml_set_build

logger = logging.getLogger(__name__)

DATASETS = {
    "ml_training_set": relations.ML_TRAINING_SET,
    "ml_scoring_set": relations.ML_SCORING_SET,
}
"""The default prediction's sets (what ``enrich export`` exports by default)."""
EGRESS = "egress"
FORMAT_VERSION = 1


class ExportError(EnrichError):
    """No usable export, or an export that does not match its manifest."""


@dataclass
class Export:
    """One complete export of a dataset, as its manifest describes it."""

    dataset: str
    folder: str
    manifest: dict[str, Any]

    @property
    def export_id(self) -> str:
        """The export's timestamp, e.g. ``20261130T120000.123456Z``."""
        export_id: str = self.manifest["export_id"]
        return export_id

    @property
    def rows(self) -> int:
        """Rows over all parts."""
        return int(self.manifest["rows"])


# -- which datasets ---------------------------------------------------------------


def known_datasets(settings: Settings) -> list[str]:
    """Every dataset that can be exported, the default prediction's two first.

    Then each prediction's training and scoring sets (``predictions.yml``).

    Raises:
        PredictionError: The predictions file does not validate.
    """
    return load_predictions(settings).datasets()


def prediction_datasets(settings: Settings, name: str | None = None) -> list[str]:
    """The training and scoring sets a prediction trains and scores on.

    Args:
        settings: Project settings.
        name: A prediction of ``predictions.yml`` (default: the default one,
            whose sets are ``ml_training_set`` and ``ml_scoring_set``).

    Raises:
        PredictionError: No such prediction, or the file does not validate.
    """
    predictions = load_predictions(settings)
    item = predictions.default if name is None else predictions.get(name)
    return [predictions.training_set(item.name), predictions.scoring_set(item.name)]


def relation(dataset: str) -> tuple[str, str]:
    """The warehouse relation of an ML dataset (they all live in ``ml``)."""
    return DATASETS.get(dataset, (relations.ML_SCHEMA, dataset))


# -- writing ----------------------------------------------------------------------


def export(
    settings: Settings,
    datasets: Sequence[str] = tuple(DATASETS),
    target: str | None = None,
) -> list[Export]:
    """Export ML datasets, each from the engine that last built it.

    From the warehouse, every dataset comes from one consistent snapshot.

    Args:
        settings: Project settings (warehouse, lake, part size).
        datasets: Names among :func:`known_datasets` (default: the default
            prediction's two sets).
        target: Read from this engine (``warehouse``, ``duckdb``, ``spark``)
            instead of the one that last built each dataset.

    Returns:
        One complete export per dataset.

    Raises:
        ExportError: A dataset is unknown or missing (run ``enrich featurize``).
    """
    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown:  # only then is predictions.yml read
        known = known_datasets(settings)
        unknown = sorted(set(unknown) - set(known))
        if unknown:
            raise ExportError(f"Unknown dataset {unknown}: use {', '.join(known)}.")
    lake = open_lake(settings)
    export_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    builds = {name: ml_set_build(settings, name) for name in datasets}
    exports = []
    with (
        contextlib.ExitStack() as stack,
        tempfile.TemporaryDirectory(prefix="enrich-export-") as scratch,
    ):
        readers: dict[str, Reader] = {}
        for dataset in datasets:
            engine = target or builds[dataset].target
            if engine not in readers:
                readers[engine] = stack.enter_context(open_reader(settings, engine))
            exports.append(
                _export_one(
                    readers[engine],
                    settings,
                    lake,
                    dataset,
                    export_id,
                    builds[dataset].as_dict()
                    if engine == builds[dataset].target
                    else None,
                    Path(scratch),
                )
            )
    return exports


def _export_one(
    reader: Reader,
    settings: Settings,
    lake: Lake,
    dataset: str,
    export_id: str,
    dbt_run: dict[str, Any] | None,
    scratch: Path,
) -> Export:
    started = time.perf_counter()
    source = relation(dataset)
    try:
        schema = reader.schema(source)
    except RelationMissingError as exc:
        raise ExportError(str(exc)) from None
    folder = f"{EGRESS}/{dataset}/export_time={export_id}"
    parts: list[dict[str, Any]] = []
    rows = 0
    cutoffs: set[dt.datetime] = set()
    batches = rebatch(reader.batches(source), settings.export.part_rows)
    # An empty set still gets one (empty) part, so readers always see the schema.
    for batch in _nonempty(batches, schema):
        table = pa.Table.from_batches(batch, schema)
        if "cutoff_at" in table.column_names:  # noted on the way, not scanned again
            cutoffs.update(pc.unique(table["cutoff_at"]).to_pylist())
        parts.append(write_part(lake, table, folder, len(parts), scratch))
        rows += table.num_rows
        logger.info("%s: part %d, %s rows so far", dataset, len(parts), f"{rows:,}")
    cutoff_list = [c.astimezone(dt.UTC).isoformat() for c in sorted(cutoffs)]
    manifest = {
        "format_version": FORMAT_VERSION,
        "dataset": dataset,
        "relation": ".".join(source),
        "export_id": export_id,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "rows": rows,
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "engine": str(reader.engine),
        "as_of": cutoff_list[-1] if cutoff_list else None,
        "cutoffs": cutoff_list,
        "dbt": dbt_run,
        "parts": parts,
    }
    lake.write_manifest(folder, manifest)
    logger.info(
        "%s: %s rows in %d part(s) to %s in %.1f s",
        dataset,
        f"{rows:,}",
        len(parts),
        lake.url(folder),
        time.perf_counter() - started,
    )
    return Export(dataset, folder, manifest)


def _nonempty(
    parts: Iterator[list[pa.RecordBatch]], schema: pa.Schema
) -> Iterator[list[pa.RecordBatch]]:
    empty = True
    for part in parts:
        empty = False
        yield part
    if empty:
        yield [pa.RecordBatch.from_pylist([], schema=schema)]


# -- reading ----------------------------------------------------------------------


def latest_export(settings: Settings, dataset: str) -> Export:
    """The newest export of ``dataset`` whose manifest exists.

    Folders without a manifest (a writer that died) are skipped with a
    warning; part checksums are verified by :func:`read_export`.

    Raises:
        ExportError: There is no complete export.
    """
    lake = open_lake(settings)
    for folder, manifest in complete_folders(lake, f"{EGRESS}/{dataset}"):
        return Export(dataset, folder, manifest)
    raise ExportError(
        f"No complete export of {dataset} in {lake.root}: run `enrich export`."
    )


def read_export(
    settings: Settings,
    exported: Export,
    columns: Sequence[str] | None = None,
    row_filter: Callable[[pa.Table], pa.Table] | None = None,
) -> pa.Table:
    """Read an export's parts, each checked against the manifest's checksum.

    Args:
        settings: Project settings.
        exported: The export.
        columns: Only these columns (default: all).
        row_filter: Applied to each part as it is read, so rows it drops
            never sit in memory all at once.

    Raises:
        ExportError: A part is missing or does not match the manifest.
    """
    lake = open_lake(settings)
    tables = []
    with tempfile.TemporaryDirectory(prefix="enrich-read-") as scratch:
        for part in exported.manifest["parts"]:
            try:
                local = verified_part(lake, exported.folder, part, Path(scratch))
            except StorageError as exc:
                raise ExportError(f"{exc} (export again)") from None
            table = pq.read_table(local, columns=columns)
            tables.append(table if row_filter is None else row_filter(table))
    if not tables:
        raise ExportError(f"{lake.url(exported.folder)} lists no parts.")
    return pa.concat_tables(tables)
