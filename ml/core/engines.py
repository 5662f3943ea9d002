"""The engines the dbt project runs on, and one reader per engine.

The warehouse (PostgreSQL) is the default; DuckDB and Spark featurize from
the lake's Parquet copy of the raw datasets. This is the one module that
knows where each engine keeps what dbt built (DuckDB's database file,
Spark's warehouse folder): the export reads the ML sets through
:func:`open_reader`, the report reads the exploration marts through it, and
the featurization asks :func:`check_installed` and :func:`release`.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from ml.core import warehouse
from ml.core.arrow_io import Column, portable_schema, relation_columns, stream_relation
from ml.core.config import Settings
from ml.core.errors import EnrichError, RelationMissingError

if TYPE_CHECKING:
    import pyarrow as pa


class Engine(StrEnum):
    """Where the dbt project runs (``featurize.target``)."""

    WAREHOUSE = "warehouse"
    DUCKDB = "duckdb"
    SPARK = "spark"

    @property
    def reads_lake(self) -> bool:
        """Whether the engine reads the raw datasets from the lake's Parquet."""
        return self is not Engine.WAREHOUSE

    @property
    def suffix(self) -> str:
        """`` on duckdb`` for log lines; nothing for the warehouse."""
        return "" if self is Engine.WAREHOUSE else f" on {self.value}"


LAKE_ENGINES = (Engine.DUCKDB, Engine.SPARK)
_ADAPTER_MODULES = {
    Engine.DUCKDB: "dbt.adapters.duckdb",
    Engine.SPARK: "dbt.adapters.spark",
}


class EngineError(EnrichError):
    """An unknown engine, or one whose optional dependencies are missing."""


def engine_of(name: str | Engine) -> Engine:
    """The engine named ``name``.

    Raises:
        EngineError: No such engine.
    """
    try:
        return Engine(name)
    except ValueError:
        names = ", ".join(engine.value for engine in Engine)
        raise EngineError(f"Unknown featurize target {name!r}: use {names}.") from None


def check_installed(name: str | Engine) -> Engine:
    """The engine, after checking that its dbt adapter is installed.

    Raises:
        EngineError: Unknown engine, or its extra is not installed.
    """
    engine = engine_of(name)
    module = _ADAPTER_MODULES.get(engine)
    if module is not None and importlib.util.find_spec(module) is None:
        raise EngineError(
            f"Featurizing on {engine} needs the `{engine}` extra: "
            f"`pip install 'enrich[{engine}]'` (or `uv sync --extra {engine}`)."
        )
    return engine


def release(engine: Engine) -> None:
    """Let go of the engine dbt held in this process.

    dbt-duckdb keeps its database open (another connection to the file, as
    the export makes, would fail); a local SparkSession keeps its memory.
    """
    if engine is Engine.DUCKDB:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
        DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]
    elif engine is Engine.SPARK:
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()


def _quoted(relation: tuple[str, str]) -> str:
    """A DuckDB relation name, each part quoted as an identifier."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in relation)


class Reader:
    """Reads what one engine built: whole relations as Arrow, or query rows."""

    engine: Engine

    def exists(self, relation: tuple[str, str]) -> bool:
        """Whether the engine built the relation (table or view)."""
        raise NotImplementedError

    def rows(self, query: str, relation: tuple[str, str]) -> list[tuple[Any, ...]]:
        """The rows of ``query``, in which ``{table}`` stands for the relation.

        The query is the caller's own text (never a user's); only the
        relation's name is filled in, quoted as an identifier.
        """
        raise NotImplementedError

    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        """The relation's columns as the warehouse would export them."""
        raise NotImplementedError

    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        """The relation's rows, streamed in record batches of that schema."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the engine's files."""


class WarehouseReader(Reader):
    """The warehouse, through one connection (the caller's transaction)."""

    engine = Engine.WAREHOUSE

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self._columns: dict[tuple[str, str], list[Column]] = {}

    @override
    def exists(self, relation: tuple[str, str]) -> bool:
        return warehouse.exists(self.conn, relation)

    @override
    def rows(self, query: str, relation: tuple[str, str]) -> list[tuple[Any, ...]]:
        from psycopg import sql

        statement = sql.SQL(query).format(table=sql.Identifier(*relation))
        rows: list[tuple[Any, ...]] = self.conn.execute(statement).fetchall()
        return rows

    @override
    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        import pyarrow as pa

        self._columns[relation] = relation_columns(self.conn, relation)
        return pa.schema([(c.name, c.arrow_type) for c in self._columns[relation]])

    @override
    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        if relation not in self._columns:
            self.schema(relation)
        return stream_relation(self.conn, relation, self._columns[relation])


class DuckDBReader(Reader):
    """The DuckDB database file dbt-duckdb built, opened read-only."""

    engine = Engine.DUCKDB

    def __init__(self, settings: Settings) -> None:
        self.path: Path = settings.duckdb_path
        self._conn: Any = None

    @property
    def conn(self) -> Any:
        """The read-only connection, opened on first use."""
        import duckdb

        if self._conn is None:
            if not self.path.exists():
                raise RelationMissingError(
                    f"{self.path} does not exist: run "
                    "`enrich featurize --target duckdb`."
                )
            self._conn = duckdb.connect(str(self.path), read_only=True)
        return self._conn

    @override
    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @override
    def exists(self, relation: tuple[str, str]) -> bool:
        [(count,)] = self.conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            list(relation),
        ).fetchall()
        return bool(count > 0)

    @override
    def rows(self, query: str, relation: tuple[str, str]) -> list[tuple[Any, ...]]:
        statement = query.format(table=_quoted(relation))
        rows: list[tuple[Any, ...]] = self.conn.execute(statement).fetchall()
        return rows

    def _query(self, relation: tuple[str, str]) -> Any:
        import duckdb

        try:
            return self.conn.sql(f"select * from {_quoted(relation)}")  # noqa: S608
        except duckdb.CatalogException:
            raise RelationMissingError(
                f"{'.'.join(relation)} is not in {self.path}: run "
                "`enrich featurize --target duckdb`."
            ) from None

    @override
    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        return portable_schema(self._query(relation).to_arrow_reader(1).schema)

    @override
    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        reader = self._query(relation).to_arrow_reader(65_536)
        schema = portable_schema(reader.schema)
        for batch in reader:
            yield batch.cast(schema)


class SparkReader(Reader):
    """The Parquet files of the Spark target's tables (no JVM needed).

    Whole relations are read with pyarrow; queries run on DuckDB over views
    of the same files.
    """

    engine = Engine.SPARK

    def __init__(self, settings: Settings) -> None:
        self.root: Path = settings.spark_warehouse
        self._conn: Any = None

    def folder(self, relation: tuple[str, str]) -> Path:
        """Where Spark keeps the relation's Parquet files."""
        return self.root / f"{relation[0]}.db" / relation[1]

    @override
    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @override
    def exists(self, relation: tuple[str, str]) -> bool:
        return any(self.folder(relation).glob("*.parquet"))

    @override
    def rows(self, query: str, relation: tuple[str, str]) -> list[tuple[Any, ...]]:
        import duckdb

        if self._conn is None:
            self._conn = duckdb.connect()
        files = str(self.folder(relation) / "*.parquet")
        # The relation's name in the query is a view of its files.
        name = "_".join(relation)
        self._conn.read_parquet(files).create_view(name, replace=True)
        statement = query.format(table=_quoted(("main", name)))
        rows: list[tuple[Any, ...]] = self._conn.execute(statement).fetchall()
        return rows

    def _dataset(self, relation: tuple[str, str]) -> Any:
        import pyarrow.dataset as pads

        folder = self.folder(relation)
        if not folder.is_dir():
            raise RelationMissingError(
                f"{folder} does not exist: run `enrich featurize --target spark`."
            )
        return pads.dataset(folder, format="parquet")

    @override
    def schema(self, relation: tuple[str, str]) -> pa.Schema:
        return portable_schema(self._dataset(relation).schema)

    @override
    def batches(self, relation: tuple[str, str]) -> Iterator[pa.RecordBatch]:
        dataset = self._dataset(relation)
        schema = portable_schema(dataset.schema)
        for batch in dataset.to_batches():
            yield batch.cast(schema)


@contextlib.contextmanager
def open_reader(settings: Settings, name: str | Engine) -> Iterator[Reader]:
    """A reader of what ``name`` built, closed on exit.

    The warehouse's reader holds one repeatable-read, read-only transaction,
    so everything read through it comes from one snapshot.
    """
    engine = engine_of(name)
    if engine is Engine.WAREHOUSE:
        with warehouse.connect(settings) as conn:
            conn.execute("set transaction isolation level repeatable read, read only")
            yield WarehouseReader(conn)
        return
    reader: Reader = (
        DuckDBReader(settings) if engine is Engine.DUCKDB else SparkReader(settings)
    )
    try:
        yield reader
    finally:
        reader.close()
