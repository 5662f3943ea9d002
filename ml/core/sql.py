"""The library's one convention for SQL: text in ``.sql`` files, names bound.

Statements of more than a line live in a ``sql/`` folder beside the module
that runs them (``ml/data/sql/validate_events.sql``, ...). A statement names
its relations as placeholders, the lower-cased constants of
:mod:`ml.core.relations` (``{raw_batches}``, ``{profiles_enriched}``, ...),
each bound as a quoted identifier; other placeholders are the caller's
:mod:`psycopg.sql` objects (identifiers, composed fragments). Values are
never formatted in: they are bound parameters (``%s``) at execution.
:func:`single_row` is the one row a statement always returns.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from ml.core import relations
from ml.core.errors import WarehouseError

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as psql

Row = TypeVar("Row")


@functools.cache
def _relation_names() -> dict[str, Any]:
    from psycopg import sql as psql

    return {
        name.lower(): psql.Identifier(*value)
        for name, value in vars(relations).items()
        if name.isupper() and isinstance(value, tuple)
    }


def compose(text: str, **names: Any) -> psql.Composed:
    """``text`` with every relation placeholder and ``names`` bound.

    Args:
        text: SQL with ``{placeholders}``; literal braces doubled.
        **names: Further placeholders: :mod:`psycopg.sql` objects.
    """
    from psycopg import sql as psql

    return psql.SQL(text).format(**_relation_names(), **names)


@functools.cache
def text_of(package: str, name: str) -> str:
    """The text of ``<package>/sql/<name>.sql``."""
    return resources.files(package).joinpath("sql", f"{name}.sql").read_text()


def statement(package: str, name: str, **names: Any) -> psql.Composed:
    """The statement of ``<package>/sql/<name>.sql``, composed as :func:`compose`.

    Args:
        package: The package holding the ``sql/`` folder, e.g. ``ml.data``.
        name: The file's name without ``.sql``.
        **names: Further placeholders, as for :func:`compose`.
    """
    return compose(text_of(package, name), **names)


def single_row(cursor: psycopg.Cursor[Row]) -> Row:
    """The one row a statement always returns (an aggregate, ``... returning``).

    Args:
        cursor: The executed statement.

    Raises:
        WarehouseError: The statement returned no row after all.
    """
    row = cursor.fetchone()
    if row is None:
        raise WarehouseError("The statement returned no row.")
    return row
