"""HTTP destinations: a delivery's changes POSTed in signed batches.

Each batch is a JSON body under its own idempotency key (the delivery's key
and the batch number), signed with HMAC-SHA256 when the destination names a
secret, and recorded in ``audiences.delivery_batches`` once accepted: a
delivery that stops half-way resumes at the first batch not accepted.
Connection errors, timeouts and 408/425/429/5xx are retried with backoff and
jitter, waiting at least what ``Retry-After`` asks; other 4xx are refusals.
URLs are redacted (no credentials, no query) in logs and errors.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import time
import urllib.parse
from typing import TYPE_CHECKING, Any

from ml.activation.definitions import Audience, Destination
from ml.activation.errors import ActivationError
from ml.activation.ledger import Delivery
from ml.core import sql

if TYPE_CHECKING:
    import psycopg
    import requests
    from psycopg import sql as psql

logger = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

_PACKAGE = "ml.activation"


def signature(secret: str, body: bytes) -> str:
    """The ``X-Enrich-Signature`` header value: HMAC-SHA256 of the body.

    Args:
        secret: The destination's shared secret.
        body: The request body, as sent.
    """
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send_http(
    conn: psycopg.Connection,
    destination: Destination,
    audience: Audience,
    result: Delivery,
    query: psql.Composed,
) -> str:
    """POST the changes in batches; each batch is recorded once delivered.

    Args:
        conn: A warehouse connection.
        destination: An ``http`` destination.
        audience: The audience delivered.
        result: The delivery (key and counts).
        query: The changes (:func:`ml.activation.ledger.changes_query`).

    Returns:
        The destination's URL, redacted.

    Raises:
        ActivationError: The secret is missing, a batch was refused, or every
            attempt at a batch failed (retryable).
    """
    import requests

    secret = _secret(destination, result)
    key = result.idempotency_key
    done = {
        number
        for (number,) in conn.execute(
            sql.statement(_PACKAGE, "delivered_batches"), [key]
        ).fetchall()
    }
    total = -(-(result.entered + result.exited) // destination.batch_size)
    with (
        requests.Session() as http,
        conn.cursor(name=f"changes_{key}", withhold=True) as cursor,
    ):
        cursor.execute(query)
        columns = [column.name for column in cursor.description or []]
        number = 0
        while rows := cursor.fetchmany(destination.batch_size):
            number += 1
            if number in done:
                continue
            body = _body(key, audience, number, total, columns, rows)
            attempts, status = _post(
                http, destination, body, f"{key}-{number:05d}", secret
            )
            conn.execute(
                sql.statement(_PACKAGE, "record_batch"),
                [key, number, attempts, status, len(rows)],
            )
            logger.info(
                "%s -> %s: batch %d of %d delivered",
                audience.id,
                result.destination,
                number,
                total,
            )
    return _redact(destination.url or "")


def _secret(destination: Destination, result: Delivery) -> str | None:
    """The signature secret from the environment (None: requests go unsigned)."""
    if not destination.secret_env:
        return None
    secret = os.environ.get(destination.secret_env)
    if not secret:
        raise ActivationError(
            f"The environment variable {destination.secret_env} is not set: "
            f"it holds the signature secret of {result.destination}."
        )
    return secret


def _body(
    key: str,
    audience: Audience,
    number: int,
    total: int,
    columns: list[str],
    rows: list[tuple[Any, ...]],
) -> bytes:
    """The JSON body of one batch (null attributes left out)."""
    return json.dumps(
        {
            "idempotency_key": f"{key}-{number:05d}",
            "delivery": key,
            "audience_id": audience.id,
            "batch": number,
            "batches": total,
            "changes": [
                {k: v for k, v in zip(columns, row, strict=True) if v is not None}
                for row in rows
            ],
        },
        default=float,
    ).encode()


def _post(
    http: requests.Session,
    destination: Destination,
    body: bytes,
    batch_key: str,
    secret: str | None,
) -> tuple[int, int]:
    """POST one batch with retries; returns (attempts, status code).

    Retries connection errors, timeouts and 408/425/429/5xx with exponential
    backoff and jitter, waiting at least what ``Retry-After`` asks; any other
    4xx is permanent.

    Raises:
        ActivationError: A permanent refusal, or every attempt failed.
    """
    import requests

    headers = {"Content-Type": "application/json", "Idempotency-Key": batch_key}
    if secret is not None:
        headers["X-Enrich-Signature"] = signature(secret, body)
    where = _redact(destination.url or "")
    problem = ""
    for attempt in range(1, destination.max_attempts + 1):
        wait = None
        try:
            response = http.post(
                destination.endpoint,
                data=body,
                headers=headers,
                timeout=destination.timeout_seconds,
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            problem = type(exc).__name__
        else:
            if response.status_code < 300:
                return attempt, response.status_code
            problem = f"HTTP {response.status_code} {response.reason}"
            if response.status_code not in RETRYABLE:
                raise ActivationError(
                    f"{where} refused batch {batch_key}: {problem}: "
                    f"{response.text[:200]!r}"
                )
            wait = _retry_after(response.headers.get("Retry-After"))
        if attempt == destination.max_attempts:
            break
        delay = _delay(destination, attempt, wait)
        logger.warning(
            "%s: batch %s attempt %d failed (%s); retrying in %.1f s",
            where,
            batch_key,
            attempt,
            problem,
            delay,
        )
        time.sleep(delay)
    raise ActivationError(
        f"{where}: batch {batch_key} failed {destination.max_attempts} times, "
        f"last: {problem}",
        retryable=True,
    )


def _delay(destination: Destination, attempt: int, wait: float | None) -> float:
    """Exponential backoff with jitter, at least ``wait``, at most the cap."""
    backoff: float = destination.backoff_seconds * 2 ** (attempt - 1)
    backoff *= 0.5 + random.random()  # noqa: S311 - jitter, not security
    return min(max(wait or 0.0, backoff), destination.max_backoff_seconds)


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())


def _redact(url: str) -> str:
    """A URL without credentials or query string, for logs and errors."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
