"""File destinations: a delivery's changes as files in the lake.

A delivery writes ``<lake>/<path>/<audience>/<idempotency key>/``:
``changes.csv`` (or ``changes.parquet``: status, profile_id, attributes) and
``_manifest.json`` last, so a reader that sees the manifest sees every file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ml.activation.definitions import Audience, Destination
from ml.activation.ledger import Delivery
from ml.core import sql
from ml.core.config import Settings
from ml.core.lake import open_lake, sha256_of

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as psql


def send_files(
    settings: Settings,
    conn: psycopg.Connection,
    destination: Destination,
    audience: Audience,
    result: Delivery,
    query: psql.Composed,
) -> str:
    """Write a delivery's changes and manifest to the lake; returns the folder.

    Args:
        settings: Project settings (the lake).
        conn: A warehouse connection.
        destination: A ``file`` destination.
        audience: The audience delivered.
        result: The delivery (key and counts).
        query: The changes (:func:`ml.activation.ledger.changes_query`).

    Raises:
        StorageError: The lake cannot be written.
    """
    lake = open_lake(settings)
    folder = (
        f"{destination.lake_folder.strip('/')}/{audience.id}/{result.idempotency_key}"
    )
    header = ",".join(["status", "profile_id", *audience.attributes]) + "\n"
    with tempfile.TemporaryDirectory(prefix="enrich-activate-") as scratch:
        local = Path(scratch) / "changes.csv"
        with local.open("wb") as handle:
            handle.write(header.encode())
            statement = sql.compose(
                "copy ({query}) to stdout (format csv)", query=query
            )
            with conn.cursor().copy(statement) as copy:
                for block in copy:
                    handle.write(block)
        if destination.format == "parquet":
            local = _to_parquet(local)
        name = local.name
        lake.put_file(local, f"{folder}/{name}")
        checksum = sha256_of(local)
    lake.write_manifest(
        folder,
        {
            "idempotency_key": result.idempotency_key,
            "audience_id": audience.id,
            "entered": result.entered,
            "exited": result.exited,
            "mode": destination.mode,
            "files": [{"file": name, "sha256": checksum}],
        },
    )
    return lake.url(folder)


def _to_parquet(local: Path) -> Path:
    """The CSV of changes as a Parquet file beside it (profile ids stay text)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(
        local,
        convert_options=pacsv.ConvertOptions(column_types={"profile_id": "string"}),
    )
    local = local.with_suffix(".parquet")
    pq.write_table(table, local)
    return local
