"""The warehouse: an embedded PostgreSQL (pgserver) or any PostgreSQL by DSN.

The embedded server keeps its data under ``ENRICH_HOME/pgdata`` and listens on
a unix socket only. Every command that needs the database calls
:func:`ensure_database`, which starts the server when it is not running.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ml.core.config import Settings
from ml.core.errors import EnrichError, WarehouseError
from ml.core.sql import statement

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

# The schemas enrich owns, created on first contact (idempotent DDL, in order).
SCHEMA_FILES = ("raw_schema.sql", "scores_schema.sql", "audiences_schema.sql")

# The XDG_RUNTIME_DIR enrich set itself, if any (see start_embedded).
_own_runtime_dir: list[str] = []
EMBEDDED_DATABASE = "postgres"
EMBEDDED_USER = "postgres"
EMBEDDED_PORT = 5432
# Applied once to a new embedded server: the per-profile aggregations of the
# feature models spill to disk at PostgreSQL's 4 MB default (see ENV.md), and
# bulk loads checkpoint less with a larger WAL budget. A local warehouse has
# no replicas, so wal_level minimal lets a COPY into a partition created in
# the same transaction skip the WAL (about 1.4x faster loads).
EMBEDDED_SERVER_SETTINGS = {
    "work_mem": "256MB",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "timezone": "UTC",
    "wal_level": "minimal",
    "max_wal_senders": "0",
}


@dataclass(frozen=True)
class ServerStatus:
    """What is known about the embedded server."""

    running: bool
    pgdata: Path
    pid: int | None = None
    socket_dir: Path | None = None


def _postmaster_fields(pgdata: Path) -> list[str] | None:
    try:
        return (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def embedded_status(settings: Settings) -> ServerStatus:
    """Read ``postmaster.pid`` to tell whether the embedded server runs.

    Args:
        settings: Project settings (for the data folder).

    Returns:
        The server's status, with its pid and socket folder when running.
    """
    fields = _postmaster_fields(settings.pgdata)
    if not fields or len(fields) < 5 or not fields[0].strip().isdigit():
        return ServerStatus(running=False, pgdata=settings.pgdata)
    pid = int(fields[0])
    if not _pid_alive(pid):
        return ServerStatus(running=False, pgdata=settings.pgdata)
    return ServerStatus(
        running=True,
        pgdata=settings.pgdata,
        pid=pid,
        socket_dir=Path(fields[4].strip()),
    )


def _embedded_url(socket_dir: Path) -> str:
    host = quote(str(socket_dir), safe="")
    return f"postgresql://{EMBEDDED_USER}@/{EMBEDDED_DATABASE}?host={host}"


def start_embedded(settings: Settings) -> ServerStatus:
    """Start the embedded PostgreSQL server unless it is already running.

    The server outlives this process; stop it with :func:`stop_embedded`.

    Args:
        settings: Project settings (for the data folder).

    Returns:
        The running server's status.

    Raises:
        WarehouseError: The server could not start.
    """
    status = embedded_status(settings)
    if status.running:
        return status
    settings.home.mkdir(parents=True, exist_ok=True)
    is_new = not (settings.pgdata / "PG_VERSION").exists()
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current is None or current in _own_runtime_dir:
        # pgserver keeps a lock file there; it must be private (0700), and a
        # second ENRICH_HOME in this process gets its own, not the first's.
        runtime = settings.home / "run"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        _own_runtime_dir[:] = [str(runtime)]
    import pgserver  # slow import: only when a server is needed

    logger.info("starting embedded PostgreSQL in %s", settings.pgdata)
    try:
        server = pgserver.get_server(settings.pgdata, cleanup_mode=None)
        if is_new:
            socket_dir = embedded_status(settings).socket_dir or settings.pgdata
            _apply_server_settings(_embedded_url(socket_dir))
            # wal_level takes effect at the next start; restart keeps the
            # socket-only options pgserver started the server with.
            pgserver.pg_ctl(  # type: ignore[attr-defined]
                ["-w", "-l", str(settings.pgdata / "log"), "restart"],
                pgdata=settings.pgdata,
                user=server.system_user,
                timeout=60,
            )
    except Exception as exc:
        log = settings.pgdata / "log"
        raise WarehouseError(
            f"The embedded PostgreSQL did not start ({exc}). "
            f"Its log is {log}; remove {settings.pgdata} to start afresh "
            "(this deletes the local warehouse)."
        ) from exc
    status = embedded_status(settings)
    if not status.running:
        raise WarehouseError(
            f"The embedded PostgreSQL in {settings.pgdata} reported success but is "
            "not running; see its log file there."
        )
    return status


def _apply_server_settings(url: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        for name, value in EMBEDDED_SERVER_SETTINGS.items():
            conn.execute(
                sql.SQL("alter system set {} = {}").format(
                    sql.Identifier(name), sql.Literal(value)
                )
            )
        conn.execute("select pg_reload_conf()")


def stop_embedded(settings: Settings, timeout: float = 30.0) -> bool:
    """Stop the embedded server (fast shutdown) and wait until it is gone.

    Args:
        settings: Project settings (for the data folder).
        timeout: Seconds to wait for the server to exit.

    Returns:
        True when a running server was stopped, False when none was running.

    Raises:
        WarehouseError: The server did not stop in time.
    """
    status = embedded_status(settings)
    if not status.running or status.pid is None:
        return False
    os.kill(status.pid, signal.SIGINT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            not _pid_alive(status.pid)
            or not (settings.pgdata / "postmaster.pid").exists()
        ):
            return True
        time.sleep(0.05)
    raise WarehouseError(
        f"The embedded PostgreSQL (pid {status.pid}) did not stop within "
        f"{timeout:.0f} s; check {settings.pgdata / 'log'}."
    )


def database_url(settings: Settings, start: bool = True) -> str:
    """The libpq URL of the warehouse, starting the embedded server if needed.

    Args:
        settings: Project settings.
        start: Start the embedded server when it is not running.

    Returns:
        A connection URL. It may carry a password when the external DSN does:
        never log it.

    Raises:
        WarehouseError: The embedded server is not running and ``start`` is False.
    """
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    status = start_embedded(settings) if start else embedded_status(settings)
    if not status.running or status.socket_dir is None:
        raise WarehouseError(
            "The embedded PostgreSQL is not running: start it with `enrich db start`."
        )
    return _embedded_url(status.socket_dir)


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (for messages).

    URLs stay URLs; ``key=value`` connection strings stay in that form.
    """
    from urllib.parse import urlsplit, urlunsplit

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if url.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    try:
        params = conninfo_to_dict(url)
    except Exception:
        return "<unparseable database URL>"
    if params.get("password"):
        params["password"] = "***"  # noqa: S105 - a mask, not a secret
    return make_conninfo("", **params)


@contextlib.contextmanager
def connect(
    settings: Settings, autocommit: bool = False
) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """Open a psycopg connection to the warehouse with the session in UTC.

    Args:
        settings: Project settings.
        autocommit: Open the connection in autocommit mode.

    Yields:
        A ``psycopg.Connection``; committed on success, rolled back on error.

    Raises:
        WarehouseError: The database cannot be reached.
    """
    import psycopg

    url = database_url(settings)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, options="-c TimeZone=UTC")
    except psycopg.OperationalError as exc:
        message = str(exc)
        if settings.database_url is not None:
            secret = settings.database_url.get_secret_value()
            message = message.replace(secret, redact_url(secret))
        raise WarehouseError(
            f"Cannot connect to the warehouse {redact_url(url)}: {message}"
        ) from None
    with conn:
        yield conn


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Environment variables that point the project's ``profiles.yml`` here.

    Args:
        settings: Project settings.

    Returns:
        Variables for the ``embedded`` target (socket folder) or the
        ``postgres`` target (from the external DSN; the password goes in
        ``DBT_ENV_SECRET_PGPASSWORD``, which dbt scrubs from its logs).
    """
    if settings.database_url is None:
        status = embedded_status(settings)
        socket_dir = status.socket_dir or settings.pgdata
        return {"ENRICH_PGHOST": str(socket_dir), "DBT_TARGET": "embedded"}
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(settings.database_url.get_secret_value())
    return {
        "DBT_TARGET": "postgres",
        "ENRICH_PGHOST": str(params.get("host", "localhost")),
        "ENRICH_PGPORT": str(params.get("port", 5432)),
        "ENRICH_PGUSER": str(params.get("user", "postgres")),
        "ENRICH_PGDATABASE": str(params.get("dbname", "postgres")),
        "DBT_ENV_SECRET_PGPASSWORD": str(params.get("password", "")),
    }


# -- enrich's own tables -------------------------------------------------------


def ensure_schemas(conn: Any, files: tuple[str, ...] = SCHEMA_FILES) -> None:
    """Create enrich's schemas and tables when missing (raw data, scores).

    Every command that writes them calls this first, so a plain ``dbt build``
    after ``enrich generate`` finds every source it declares.
    """
    for name in files:
        conn.execute(resources.files("ml.core").joinpath("sql", name).read_text())


def partition_name(parent: tuple[str, str], batch_id: str) -> tuple[str, str]:
    """The (schema, table) of the partition of ``parent`` that holds a batch."""
    digest = hashlib.sha256(batch_id.encode()).hexdigest()[:16]
    return parent[0], f"{parent[1]}__{digest}"


def new_partition(conn: Any, parent: tuple[str, str], batch_id: str) -> tuple[str, str]:
    """Create the batch's table, shaped like ``parent``, not yet attached.

    Filled while detached, it locks nothing that readers or other loaders
    need; its check constraint lets :func:`attach_partitions` skip the scan.
    """
    from psycopg import sql

    child = partition_name(parent, batch_id)
    conn.execute(
        statement(
            "ml.core",
            "new_partition",
            child=sql.Identifier(*child),
            parent=sql.Identifier(*parent),
            batch_id=sql.Literal(batch_id),
        )
    )
    return child


def analyze(
    conn: Any, tables: list[tuple[str, str]], statistics_target: int | None = None
) -> None:
    """Give the planner statistics for tables just filled.

    Autovacuum gets there eventually; until it does, a fresh partition looks
    empty to the planner, and a join over it can pick a nested loop that
    runs for minutes (seen on the back-test right after the first ingest).

    Args:
        conn: The connection.
        tables: Schema and name of each table.
        statistics_target: Sample this many x 300 rows instead of the
            server's default (for the rest of the transaction, which must
            be open).
    """
    from psycopg import sql

    if statistics_target is not None:
        conn.execute(
            sql.SQL("set local default_statistics_target = {}").format(
                sql.Literal(statistics_target)
            )
        )
    for table in tables:
        conn.execute(sql.SQL("analyze {}").format(sql.Identifier(*table)))


def attach_partitions(conn: Any, parts: list[tuple[tuple[str, str], str]]) -> None:
    """Attach filled batch tables to their parents, last step before commit.

    ATTACH holds a lock that readers do not wait for, and only until commit.
    """
    from psycopg import sql

    for parent, batch_id in parts:
        conn.execute(
            sql.SQL("alter table {} attach partition {} for values in ({})").format(
                sql.Identifier(*parent),
                sql.Identifier(*partition_name(parent, batch_id)),
                sql.Literal(batch_id),
            )
        )


def exists(conn: Any, relation: tuple[str, str]) -> bool:
    """Whether a table or view exists."""
    return bool(
        conn.execute(
            "select to_regclass(%s) is not null", [".".join(relation)]
        ).fetchone()[0]
    )


@contextlib.contextmanager
def locked_session(
    settings: Settings,
    lock: int,
    attempts: tuple[str, str],
    what: str,
    schema_files: tuple[str, ...] = SCHEMA_FILES,
) -> Iterator[Any]:
    """An autocommit connection holding an advisory lock, the schemas in place.

    One writer of a kind (loader, ingest, audience build) runs at a time, so
    an attempt still ``running`` in ``attempts`` when the lock is taken was
    left by a killed process: it is marked failed, interrupted.
    """
    from psycopg import sql

    with connect(settings, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", [lock])
        try:
            ensure_schemas(conn, schema_files)
            interrupted = conn.execute(
                statement(
                    "ml.core", "mark_interrupted", attempts=sql.Identifier(*attempts)
                ),
                [f"interrupted: {what} stopped before it finished"],
            ).fetchall()
            for (batch_id,) in interrupted:
                logger.warning("%s was interrupted: %s marked failed", what, batch_id)
            yield conn
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", [lock])


def mark_failed(
    conn: Any, attempts: tuple[str, str], batch_ids: list[str], reason: str
) -> None:
    """Record attempts as failed with the reason (best effort: never raises)."""
    from psycopg import sql

    with contextlib.suppress(Exception):
        conn.execute(
            statement("ml.core", "mark_failed", attempts=sql.Identifier(*attempts)),
            [reason[:2000], batch_ids],
        )


@contextlib.contextmanager
def recorded_attempt(
    conn: Any,
    attempts: tuple[str, str],
    batch_ids: list[str],
    error: type[EnrichError],
    describe: str,
) -> Iterator[None]:
    """Write an attempt's data in one transaction; on failure record why.

    Any error rolls the writes back and marks the attempt failed with the
    reason; an :class:`EnrichError` passes through, anything else becomes
    ``error`` with a message that says nothing was kept.
    """
    try:
        with conn.transaction():
            yield
    except Exception as exc:
        reason = (
            str(exc) if isinstance(exc, EnrichError) else f"{type(exc).__name__}: {exc}"
        )
        mark_failed(conn, attempts, batch_ids, reason)
        if isinstance(exc, EnrichError):
            raise
        raise error(
            f"{describe} failed and was rolled back; {', '.join(batch_ids)} is "
            f"marked failed. Cause: {reason}"
        ) from exc
