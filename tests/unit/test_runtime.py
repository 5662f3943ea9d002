"""How flows talk to the console and decide on retries (no server needed)."""

from __future__ import annotations

import io
import logging

from flows import runtime
from ml.activation.errors import ActivationError
from ml.core.errors import EnrichError, StorageError


def test_enrich_errors_print_without_traceback_other_errors_with_one():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("enrich.tests.console")
    logger.propagate = False  # this handler only, not the session's
    logger.addHandler(handler)
    try:
        runtime.quiet_expected_tracebacks([handler])
        for error in (EnrichError("a dbt test failed"), KeyError("k")):
            try:
                raise error
            except Exception as exc:
                logger.error("Task run failed with exception: %r", exc, exc_info=True)
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert (
        lines[0] == "Task run failed with exception: EnrichError('a dbt test failed')"
    )
    assert lines[1] == "Task run failed with exception: KeyError('k')"
    assert lines[2] == "Traceback (most recent call last):"
    assert lines[-1] == "KeyError: 'k'"


def test_only_failures_that_may_pass_are_retried():
    assert runtime.is_transient(StorageError("S3 said 503", retryable=True))
    assert not runtime.is_transient(StorageError("s3://b/k does not exist."))
    assert runtime.is_transient(ActivationError("timed out 5 times", retryable=True))
    assert not runtime.is_transient(ActivationError("HTTP 400 from the destination"))
    assert runtime.is_transient(ConnectionResetError())
    assert not runtime.is_transient(EnrichError("a dbt test failed"))
    assert not runtime.is_transient(ValueError("bad data"))
    assert not runtime.is_transient(None)
