"""How enrich runs Prefect: its environment, and which failures are worth a retry.

Nothing here imports Prefect, so the CLI can prepare the environment before
Prefect reads it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, cast

from ml.core.config import Settings
from ml.core.errors import EnrichError


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
    a refused model fail the same way every time. enrich's own errors say
    so themselves: a ``retryable`` attribute (``StorageError``, the
    activation's ``ActivationError``); one without it is not transient.
    """
    import psycopg

    if isinstance(error, EnrichError):
        return bool(getattr(error, "retryable", False))
    return isinstance(error, psycopg.OperationalError | ConnectionError | TimeoutError)


def retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's ``retry_condition_fn``: retry transient failures only."""
    error = state.data if isinstance(state.data, BaseException) else None
    return is_transient(error)


class _WithoutExpectedTracebacks:
    """A formatter wrapper: errors enrich explains itself print without traceback.

    Prefect logs every failed task and flow run with its traceback. For an
    ``EnrichError`` (a failed dbt test, bad data, a refused delivery) the
    message says what to do and the traceback is noise on a console; the
    run's log in the Prefect API keeps it.
    """

    def __init__(self, inner: logging.Formatter) -> None:
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        info = record.exc_info
        if not (info and isinstance(info[1], EnrichError)):
            return self.inner.format(record)
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return self.inner.format(record)
        finally:
            record.exc_info, record.exc_text = saved

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def quiet_expected_tracebacks(handlers: list[logging.Handler] | None = None) -> None:
    """Drop tracebacks of enrich's own errors from the console's log lines.

    Args:
        handlers: The handlers to change (default: the root logger's). Console
            handlers sit on the root logger (the CLI's, or Prefect's own);
            Prefect's API handlers sit on its run loggers and keep the
            traceback.
    """
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not isinstance(handler.formatter, _WithoutExpectedTracebacks):
            wrapper = _WithoutExpectedTracebacks(
                handler.formatter or logging.Formatter()
            )
            # A formatter by duck typing: what it does not define it takes
            # from the formatter it wraps (``__getattr__``).
            handler.setFormatter(cast(logging.Formatter, wrapper))
