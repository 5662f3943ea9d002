"""``enrich db``: the embedded PostgreSQL warehouse."""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
from pathlib import Path

from enrich.cli.common import echo, settings
from ml.core import warehouse
from ml.core.errors import WarehouseError


def start(args: argparse.Namespace) -> int:
    """Start the embedded PostgreSQL and tell dbt users what to export."""
    current = settings()
    if current.database_url is not None:
        echo("ENRICH_DATABASE_URL is set: enrich uses that server, nothing to start.")
        return 0
    status = warehouse.start_embedded(current)
    echo(
        f"embedded PostgreSQL running (pid {status.pid}), socket in {status.socket_dir}"
    )
    default_socket = current.project_dir / ".enrich" / "pgdata"
    if status.socket_dir != default_socket:
        echo("for dbt in this shell, run:")
        print(f"export ENRICH_PGHOST={status.socket_dir}")
    else:
        echo("dbt debug / dbt run in the project folder need no further set-up.")
    return 0


def stop(args: argparse.Namespace) -> int:
    """Stop the embedded PostgreSQL."""
    stopped = warehouse.stop_embedded(settings())
    echo(
        "embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL not running"
    )
    return 0


def status(args: argparse.Namespace) -> int:
    """Say whether the warehouse runs; exit 1 when it does not."""
    current = settings()
    if current.database_url is not None:
        url = warehouse.redact_url(current.database_url.get_secret_value())
        print(f"external PostgreSQL: {url}")
        return 0
    found = warehouse.embedded_status(current)
    if found.running:
        print(
            f"running: pid {found.pid}, data {found.pgdata}, socket {found.socket_dir}"
        )
        return 0
    print(f"stopped: data {found.pgdata}")
    return 1


def url(args: argparse.Namespace) -> int:
    """Print the connection URL (password masked unless --show-password)."""
    found = warehouse.database_url(settings())
    print(found if args.show_password else warehouse.redact_url(found))
    return 0


def psql(args: argparse.Namespace) -> int:
    """Open psql on the warehouse (the bundled client when none is installed)."""
    found = warehouse.database_url(settings())
    client = shutil.which("psql")
    if client is None:
        spec = importlib.util.find_spec("pgserver")
        locations = spec.submodule_search_locations if spec else None
        if locations:
            client = str(Path(locations[0]) / "pginstall" / "bin" / "psql")
    if client is None or not Path(client).exists():
        raise WarehouseError("No psql client found: install postgresql-client.")
    os.execv(client, [client, found, *args.psql_args])  # noqa: S606 - replaces this process
    return 0  # pragma: no cover
