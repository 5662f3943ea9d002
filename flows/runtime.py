"""How enrich runs Prefect: its environment, and which failures are worth a retry.

Nothing here imports Prefect, so the CLI can prepare the environment before
Prefect reads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ml.config import Settings


def prepare_environment(settings: Settings) -> None:
    """Prefect's settings for enrich, unless the environment already has them.

    Prefect's state (the temporary server's database) lives in
    ``ENRICH_HOME/prefect``; the temporary server gets the start-up time it
    needs on a small machine; enrich's own log lines (progress of long
    steps) go to the flow run's log.
    """
    defaults = {
        "PREFECT_HOME": str(settings.home / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "ml",
        # enrich's worker threads (parallel COPY, scoring) log outside the
        # flow run's context: those lines stay on the console only.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "DO_NOT_TRACK": "1",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)


def is_transient(error: BaseException | None) -> bool:
    """Whether running a task again may get past this error.

    Storage (S3, a lake folder) and the network (HTTP destinations, a remote
    warehouse's connection) fail and recover; bad data, a failed dbt test or
    a refused model fail the same way every time.
    """
    import psycopg

    from ml.activate import ActivationError
    from ml.errors import StorageError

    if isinstance(error, ActivationError | StorageError):
        return error.retryable
    return isinstance(error, psycopg.OperationalError | ConnectionError | TimeoutError)


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: retry transient failures only."""
    error = state.data if isinstance(state.data, BaseException) else None
    return is_transient(error)
