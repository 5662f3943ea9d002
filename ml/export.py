"""Stage 3: export the training and scoring sets to the lake as Parquet.

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
import io
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ml import relations, warehouse
from ml.config import Settings
from ml.errors import EnrichError, StorageError
from ml.lake import Lake, complete_folders, open_lake, verified_part, write_part

logger = logging.getLogger(__name__)

DATASETS = {
    "ml_training_set": relations.ML_TRAINING_SET,
    "ml_scoring_set": relations.ML_SCORING_SET,
}
EGRESS = "egress"
FORMAT_VERSION = 1
# PostgreSQL types to Arrow; anything else leaves as text.
_ARROW_TYPES = {
    "text": pa.string(),
    "character varying": pa.string(),
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "numeric": pa.float64(),
    "boolean": pa.bool_(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


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
        return self.manifest["export_id"]

    @property
    def rows(self) -> int:
        """Rows over all parts."""
        return int(self.manifest["rows"])


@dataclass
class Column:
    """A column of a warehouse relation and the Arrow type it exports as."""

    name: str
    pg_type: str
    arrow_type: pa.DataType = field(repr=False)


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
        datasets: Names among ``ml_training_set`` and ``ml_scoring_set``.
        target: Read from this engine (``warehouse``, ``duckdb``, ``spark``)
            instead of the one that last built each dataset.

    Returns:
        One complete export per dataset.

    Raises:
        ExportError: A dataset is unknown or missing (run ``enrich featurize``).
    """
    from ml.featurize import ml_set_build

    unknown = sorted(set(datasets) - set(DATASETS))
    if unknown:
        raise ExportError(f"Unknown dataset {unknown}: use {', '.join(DATASETS)}.")
    lake = open_lake(settings)
    export_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    builds = {name: ml_set_build(settings, name) for name in datasets}
    exports = []
    with (
        contextlib.ExitStack() as stack,
        tempfile.TemporaryDirectory(prefix="enrich-export-") as scratch,
    ):
        readers: dict[str, _Reader] = {}
        for dataset in datasets:
            engine = target or builds[dataset]["target"]
            if engine not in readers:
                readers[engine] = stack.enter_context(_reader(settings, engine))
            exports.append(
                _export_one(
                    readers[engine],
                    settings,
                    lake,
                    dataset,
                    export_id,
                    builds[dataset] if engine == builds[dataset]["target"] else None,
                    Path(scratch),
                )
            )
    return exports


class _Reader:
    """Reads whole relations from one engine as Arrow record batches."""

    engine: str

    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        raise NotImplementedError

    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError


@contextlib.contextmanager
def _reader(settings: Settings, engine: str) -> Iterator[_Reader]:
    if engine == "duckdb":
        reader = _DuckDBReader(settings)
        try:
            yield reader
        finally:
            reader.close()
    elif engine == "spark":
        yield _SparkReader(settings)
    else:
        with warehouse.connect(settings) as conn:
            conn.execute("set transaction isolation level repeatable read, read only")
            yield _WarehouseReader(conn)


class _WarehouseReader(_Reader):
    engine = "warehouse"

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.columns: dict[tuple[str, str], list[Column]] = {}

    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        self.columns[relation] = relation_columns(self.conn, relation)
        return pa.schema([(c.name, c.arrow_type) for c in self.columns[relation]])

    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        return stream_relation(self.conn, relation, self.columns[relation])


def portable_schema(schema: pa.Schema) -> pa.Schema:
    """The types an export holds whatever engine built it (the warehouse's).

    Whole decimals (DuckDB's HUGEINT sums) become int64, other decimals
    float64, every string type string, every timestamp microseconds in UTC.
    """
    fields = []
    for item in schema:
        kind = item.type
        if pa.types.is_decimal(kind):
            kind = pa.int64() if kind.scale == 0 else pa.float64()
        elif pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            kind = pa.string()
        elif pa.types.is_timestamp(kind):
            kind = pa.timestamp("us", tz="UTC")
        fields.append(pa.field(item.name, kind))
    return pa.schema(fields)


class _DuckDBReader(_Reader):
    engine = "duckdb"

    def __init__(self, settings: Settings) -> None:
        self.path = settings.duckdb_path
        self.conn: Any = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def _relation(self, relation: tuple[str, str]) -> str:
        return ".".join('"' + part.replace('"', '""') + '"' for part in relation)

    def _query(self, relation: tuple[str, str]) -> Any:
        import duckdb

        if not self.path.exists():
            raise ExportError(
                f"{self.path} does not exist: run `enrich featurize --target duckdb`."
            )
        if self.conn is None:
            self.conn = duckdb.connect(str(self.path), read_only=True)
        try:
            return self.conn.sql(f"select * from {self._relation(relation)}")  # noqa: S608
        except duckdb.CatalogException:
            raise ExportError(
                f"{'.'.join(relation)} is not in {self.path}: run "
                "`enrich featurize --target duckdb`."
            ) from None

    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        return portable_schema(self._query(relation).to_arrow_reader(1).schema)

    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        reader = self._query(relation).to_arrow_reader(65_536)
        schema = portable_schema(reader.schema)
        for batch in reader:
            yield batch.cast(schema)


class _SparkReader(_Reader):
    """Reads the Parquet files of the Spark target's tables (no JVM needed)."""

    engine = "spark"

    def __init__(self, settings: Settings) -> None:
        self.root = settings.spark_warehouse

    def _dataset(self, relation: tuple[str, str]) -> Any:
        import pyarrow.dataset as pads

        folder = self.root / f"{relation[0]}.db" / relation[1]
        if not folder.is_dir():
            raise ExportError(
                f"{folder} does not exist: run `enrich featurize --target spark`."
            )
        return pads.dataset(folder, format="parquet")

    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        return portable_schema(self._dataset(relation).schema)

    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        dataset = self._dataset(relation)
        schema = portable_schema(dataset.schema)
        for batch in dataset.to_batches():
            yield batch.cast(schema)


def _export_one(
    reader: _Reader,
    settings: Settings,
    lake: Lake,
    dataset: str,
    export_id: str,
    dbt_run: dict[str, Any] | None,
    scratch: Path,
) -> Export:
    started = time.perf_counter()
    relation = DATASETS[dataset]
    schema = reader.schema(relation)
    folder = f"{EGRESS}/{dataset}/export_time={export_id}"
    parts: list[dict[str, Any]] = []
    rows = 0
    cutoffs: set[dt.datetime] = set()
    batches = rebatch(reader.batches(relation), settings.export.part_rows)
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
        "relation": ".".join(relation),
        "export_id": export_id,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "rows": rows,
        "columns": [{"name": f.name, "type": str(f.type)} for f in schema],
        "engine": reader.engine,
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


def relation_columns(conn: Any, relation: tuple[str, str]) -> list[Column]:
    """The relation's columns in order, each with the Arrow type it exports as.

    Raises:
        ExportError: The relation does not exist.
    """
    rows = conn.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        list(relation),
    ).fetchall()
    if not rows:
        raise ExportError(
            f"{'.'.join(relation)} does not exist: run `enrich featurize` first."
        )
    return [
        Column(name, kind, _ARROW_TYPES.get(kind, pa.string())) for name, kind in rows
    ]


def _select_list(columns: list[Column]) -> Any:
    """Columns as text PyArrow parses exactly (timestamps in UTC ISO 8601)."""
    from psycopg import sql

    items = []
    for column in columns:
        name = sql.Identifier(column.name)
        if column.pg_type == "timestamp with time zone":
            items.append(
                sql.SQL("to_char({} at time zone 'UTC', {})").format(
                    name, sql.Literal('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                )
            )
        else:
            items.append(name)
    return sql.SQL(", ").join(items)


def stream_relation(
    conn: Any, relation: tuple[str, str], columns: list[Column]
) -> Iterator[pa.RecordBatch]:
    """Record batches of ``columns`` of the relation, streamed by COPY TO STDOUT."""
    from psycopg import sql

    statement = sql.SQL("copy (select {} from {}) to stdout (format csv)").format(
        _select_list(columns), sql.Identifier(*relation)
    )
    with conn.cursor().copy(statement) as copy:
        reader = pacsv.open_csv(
            _CopyStream(copy),
            read_options=pacsv.ReadOptions(
                column_names=[c.name for c in columns],
                use_threads=False,
                block_size=8 << 20,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c.name: c.arrow_type for c in columns},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        yield from reader


class _CopyStream(io.RawIOBase):
    """A read-only file over a psycopg COPY TO (which yields a row at a time)."""

    def __init__(self, copy: Any) -> None:
        self._rows = iter(copy)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        view = memoryview(target).cast("B")
        filled = 0
        while filled < len(view):
            if not self._pending:
                row = next(self._rows, None)
                if row is None:
                    break
                self._pending = bytes(row)
            size = min(len(view) - filled, len(self._pending))
            view[filled : filled + size] = self._pending[:size]
            self._pending = self._pending[size:]
            filled += size
        return filled


def _nonempty(
    parts: Iterator[list[pa.RecordBatch]], schema: pa.Schema
) -> Iterator[list[pa.RecordBatch]]:
    empty = True
    for part in parts:
        empty = False
        yield part
    if empty:
        yield [pa.RecordBatch.from_pylist([], schema=schema)]


def rebatch(
    batches: Iterable[pa.RecordBatch], part_rows: int
) -> Iterator[list[pa.RecordBatch]]:
    """Group record batches into parts of about ``part_rows`` rows."""
    part: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        while batch.num_rows:
            take = min(batch.num_rows, part_rows - rows)
            part.append(batch.slice(0, take))
            rows += take
            batch = batch.slice(take)
            if rows == part_rows:
                yield part
                part, rows = [], 0
    if part:
        yield part


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
