"""Arrow in and out of PostgreSQL, by COPY.

Writing: :func:`copy_arrow` sends Arrow tables as CSV or binary COPY, the
client's formatting overlapping the server's parsing. Reading:
:func:`stream_relation` streams a relation's rows by ``COPY ... TO STDOUT``
into Arrow record batches, so memory stays bounded whatever the table size;
:func:`rebatch` groups them into parts of a fixed number of rows.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ml.core.errors import RelationMissingError

COPY_SLICE_ROWS = 50_000


# PostgreSQL types to Arrow; anything else leaves as text.
ARROW_TYPES = {
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


@dataclass
class Column:
    """A column of a warehouse relation and the Arrow type it exports as."""

    name: str
    pg_type: str
    arrow_type: pa.DataType = field(repr=False)


def copy_arrow(
    conn: Any,
    target: tuple[str, str],
    tables: Any,
    batch_id: str | None = None,
    binary: bool = False,
    freeze: bool = False,
) -> None:
    """COPY Arrow rows (plus their batch id, if given) into ``target``.

    A writer thread sends each slice while the next one is formatted, so the
    client's formatting and the server's parsing overlap on two cores; rows
    given as several tables go in one COPY, so preparing the next table
    overlaps the server's work too.

    Args:
        conn: The connection (its transaction holds the rows).
        target: Schema and table.
        tables: An Arrow table, or an iterable of tables of one schema; the
            column names are the target's.
        batch_id: Sent as a ``batch_id`` column when given.
        binary: Send PostgreSQL's binary format (encoded by pgpq) instead of
            CSV: the server parses numbers about twice as fast. The Arrow
            types must then be the columns' exactly (string: text, float64:
            double precision, int16: smallint, ...).
        freeze: Write the rows frozen (only for a table created in this
            transaction): readers need not set hint bits on them, nor a
            later VACUUM freeze them.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from psycopg import sql
    from psycopg.copy import QueuedLibpqWriter

    def with_batch(table: pa.Table) -> pa.Table:
        if batch_id is None:
            return table
        return table.append_column(
            "batch_id", pa.repeat(pa.scalar(batch_id, pa.string()), table.num_rows)
        )

    remaining = iter([tables] if isinstance(tables, pa.Table) else tables)
    first = next(remaining, None)
    if first is None:
        return
    first = with_batch(first)
    statement = sql.SQL("copy {} ({}) from stdin (format {}{})").format(
        sql.Identifier(*target),
        sql.SQL(", ").join(sql.Identifier(name) for name in first.column_names),
        sql.SQL("binary" if binary else "csv"),
        sql.SQL(", freeze" if freeze else ""),
    )
    everything = itertools.chain([first], (with_batch(t) for t in remaining))
    cursor = conn.cursor()
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        if binary:
            from pgpq import ArrowToPostgresBinaryEncoder

            encoder = ArrowToPostgresBinaryEncoder(first.schema)
            copy.write(encoder.write_header())
            for table in everything:
                for batch in table.to_batches(max_chunksize=COPY_SLICE_ROWS):
                    copy.write(encoder.write_batch(batch))
            copy.write(encoder.finish())
            return
        options = pacsv.WriteOptions(include_header=False)
        for table in everything:
            for start in range(0, table.num_rows, COPY_SLICE_ROWS):
                sink = pa.BufferOutputStream()
                pacsv.write_csv(table.slice(start, COPY_SLICE_ROWS), sink, options)
                copy.write(sink.getvalue())


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
        raise RelationMissingError(
            f"{'.'.join(relation)} does not exist: run `enrich featurize` first."
        )
    return [
        Column(name, kind, ARROW_TYPES.get(kind, pa.string())) for name, kind in rows
    ]


def _select_list(columns: list[Column]) -> Any:
    """Columns as text PyArrow parses exactly (timestamps in UTC ISO 8601)."""
    from psycopg import sql

    items: list[sql.Composable] = []
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


def portable_schema(schema: pa.Schema) -> pa.Schema:
    """The types a relation exports as whatever engine built it (the warehouse's).

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
