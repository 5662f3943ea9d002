"""Stage 7, delivery: send each audience's changes to its destinations, once.

For every audience of the latest build and each of its destinations, the
activatable members are the build's members outside the holdout that have
consented to the destination's channel and are not on the suppression list
(``audiences.suppressions``); what was withheld, and why, is counted. The
delivery sends the difference from what the previous delivery left activated:
profiles that enter (with the audience's attributes) and profiles that exit.

Every delivery is a row of the ledger ``audiences.deliveries`` under an
idempotency key derived from build, audience and destination: ``pending``
is committed before anything is sent, ``delivered`` only with the new
activated set, in one transaction. A run that stops half-way is simply run
again: delivered rows are skipped, pending or failed ones are sent again
under the same key, so a receiver can drop repeats.

File destinations write ``<lake>/<path>/<audience>/<idempotency key>/``:
``changes.csv`` (or ``changes.parquet``: status, profile_id, attributes) and
``_manifest.json`` last. A destination in ``full`` mode receives the whole
activatable set each time (status ``member``) instead of the changes
(``entered``, ``exited``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import logging
import os
import random
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.activation import rules
from ml.activation.audiences import (
    Audience,
    AudienceError,
    Definitions,
    Destination,
    latest_build,
    load_definitions,
    session,
)
from ml.core import relations
from ml.core.config import Settings
from ml.core.errors import EnrichError
from ml.core.lake import open_lake, sha256_of

logger = logging.getLogger(__name__)

CONSENT = {
    "email": "has_email_consent",
    "sms": "has_sms_consent",
    "push": "has_push_consent",
    "personalize": "has_personalize_consent",
}


class ActivationError(EnrichError):
    """A delivery failed (the ledger keeps it for the next run).

    Attributes:
        deliveries: Every result of the run, the failed ones included.
        retryable: Whether running again may succeed (a destination that was
            down, slow or throttling, or storage that failed), rather than a
            refusal (a 4xx, a missing secret) that needs a person.
    """

    def __init__(
        self,
        message: str,
        deliveries: list[Delivery] | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.deliveries = deliveries or []
        self.retryable = retryable


@dataclass
class Delivery:
    """One audience's changes for one destination."""

    idempotency_key: str
    audience_id: str
    destination: str
    status: str  # delivered | skipped | planned | failed
    entered: int = 0
    exited: int = 0
    withheld_consent: int = 0
    withheld_suppressed: int = 0
    holdout: int = 0
    location: str | None = None
    error: str | None = None
    retryable: bool = False  # a failure that a later run may get past


def idempotency_key(batch_id: str, audience_id: str, destination: str) -> str:
    """The key of one delivery: the same build, audience and destination, same key."""
    text = f"{batch_id}/{audience_id}/{destination}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _sql(text: str, **extra: Any) -> Any:
    from psycopg import sql

    return sql.SQL(text).format(
        **extra,
        members=sql.Identifier(*relations.AUDIENCE_MEMBERSHIPS),
        profiles=sql.Identifier(*relations.PROFILES_ENRICHED),
        suppressions=sql.Identifier(*relations.AUDIENCE_SUPPRESSIONS),
        deliveries=sql.Identifier(*relations.AUDIENCE_DELIVERIES),
        activated=sql.Identifier(*relations.AUDIENCE_ACTIVATED),
        batches=sql.Identifier(*relations.AUDIENCE_DELIVERY_BATCHES),
    )


def suppress(settings: Settings, profile_ids: list[str], reason: str) -> int:
    """Add identities to the suppression list; returns how many were new."""
    with session(settings) as conn:
        added = 0
        for profile_id in profile_ids:
            cursor = conn.execute(
                _sql(
                    "insert into {suppressions} (profile_id, reason) values (%s, %s) "
                    "on conflict (profile_id) do nothing"
                ),
                [profile_id, reason],
            )
            added += cursor.rowcount
    return added


def activate(
    settings: Settings, dry_run: bool = False, audience_ids: list[str] | None = None
) -> list[Delivery]:
    """Deliver the latest build's changes to every destination, once.

    Args:
        settings: Project settings.
        dry_run: Count and show what would be sent; send and record nothing.
        audience_ids: Only these audiences (default: all).

    Returns:
        One result per (audience, destination).

    Raises:
        AudienceError: No successful build, or an unknown audience.
        ActivationError: A delivery failed; the others were still attempted
            and the failed one is retried by the next run.
    """
    definitions = load_definitions(settings)
    chosen = (
        [definitions.get(i) for i in audience_ids]
        if audience_ids
        else definitions.audiences
    )
    results = []
    with session(settings) as conn:
        build = latest_build(conn)
        if build is None:
            raise AudienceError("No audience build yet: run `enrich audiences build`.")
        for audience in chosen:
            for name in audience.destinations:
                results.append(
                    _deliver(
                        settings, conn, definitions, build[0], audience, name, dry_run
                    )
                )
    failed = [r for r in results if r.status == "failed"]
    if failed:
        raise ActivationError(
            "Deliveries failed and stay in the ledger for the next run: "
            + "; ".join(
                f"{r.audience_id} -> {r.destination}: {r.error}" for r in failed
            ),
            results,
            retryable=all(r.retryable for r in failed),
        )
    return results


def _deliver(
    settings: Settings,
    conn: Any,
    definitions: Definitions,
    batch_id: str,
    audience: Audience,
    name: str,
    dry_run: bool,
) -> Delivery:
    destination = definitions.destinations[name]
    key = idempotency_key(batch_id, audience.id, name)
    row = conn.execute(
        _sql(
            "select status, location, previous_key, count_entered, count_exited, "
            "count_withheld_consent, count_withheld_suppressed, count_holdout "
            "from {deliveries} where idempotency_key = %s"
        ),
        [key],
    ).fetchone()
    if row is not None and row[0] == "delivered":
        return Delivery(key, audience.id, name, "skipped", location=row[1])
    if row is None:
        previous = conn.execute(
            _sql(
                "select idempotency_key from {deliveries} where audience_id = %s "
                "and destination = %s and status = 'delivered' "
                "order by delivered_at desc limit 1"
            ),
            [audience.id, name],
        ).fetchone()
        previous_key = previous[0] if previous else None
        # The delivery's set is frozen with its ledger row, before anything is
        # sent: a retry sends the same changes under the same key.
        with conn.transaction(force_rollback=dry_run):
            counts = _stage(conn, batch_id, audience, destination, previous_key)
            if destination.mode == "full":  # the whole set, nothing exits
                [(size,)] = conn.execute("select count(*) from _activatable")
                counts = {**counts, "entered": int(size), "exited": 0}
            if not dry_run:
                _open(conn, key, batch_id, audience.id, name, previous_key, counts)
        result = Delivery(key, audience.id, name, "planned", **counts)
        if dry_run:
            return result
    else:
        previous_key = row[2]
        counts = dict(zip(_COUNTS, row[3:], strict=True))
        result = Delivery(key, audience.id, name, "planned", **counts)
    conn.execute(
        _sql(
            "update {deliveries} set status = 'pending', attempts = attempts + 1, "
            "error = null where idempotency_key = %s"
        ),
        [key],
    )
    try:
        result.location = _send(
            settings, conn, destination, audience, result, previous_key
        )
        conn.execute(
            _sql(
                "update {deliveries} set status = 'delivered', location = %s, "
                "delivered_at = clock_timestamp() where idempotency_key = %s"
            ),
            [result.location, key],
        )
        result.status = "delivered"
    except Exception as exc:  # recorded, reported, retried next run
        result.status = "failed"
        result.error = str(exc) if isinstance(exc, EnrichError) else repr(exc)
        result.retryable = bool(getattr(exc, "retryable", False))
        with contextlib.suppress(Exception):
            conn.execute(
                _sql(
                    "update {deliveries} set status = 'failed', error = %s "
                    "where idempotency_key = %s"
                ),
                [result.error[:2000], key],
            )
        logger.error("%s -> %s failed: %s", audience.id, name, result.error)
    return result


_COUNTS = ("entered", "exited", "withheld_consent", "withheld_suppressed", "holdout")


def _open(
    conn: Any,
    key: str,
    batch_id: str,
    audience_id: str,
    destination: str,
    previous_key: str | None,
    counts: dict[str, int],
) -> None:
    """The ledger row (pending) and the frozen activated set of a delivery."""
    conn.execute(
        _sql(
            "insert into {deliveries} (idempotency_key, batch_id, audience_id, "
            "destination, previous_key, status, count_entered, count_exited, "
            "count_withheld_consent, count_withheld_suppressed, count_holdout) "
            "values (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s)"
        ),
        [key, batch_id, audience_id, destination, previous_key]
        + [counts[name] for name in _COUNTS],
    )
    conn.execute(
        _sql(
            "insert into {activated} (idempotency_key, profile_id) "
            "select %s, profile_id from _activatable"
        ),
        [key],
    )


def _stage(
    conn: Any,
    batch_id: str,
    audience: Audience,
    destination: Destination,
    previous_key: str | None,
) -> dict[str, int]:
    """A temporary table of the activatable members; counts against the previous."""
    from psycopg import sql

    consent = sql.Identifier(CONSENT[destination.channel])
    conn.execute(
        "create temp table _members (profile_id text primary key, "
        "is_holdout boolean, is_consented boolean, is_suppressed boolean) "
        "on commit drop"
    )
    conn.execute(
        _sql(
            "insert into _members select members.profile_id, members.is_holdout, "
            "coalesce(profiles.{consent}, false), suppressions.profile_id is not null "
            "from {members} as members "
            "left join {profiles} as profiles on profiles.profile_id = "
            "members.profile_id "
            "left join {suppressions} as suppressions "
            "on suppressions.profile_id = members.profile_id "
            "where members.batch_id = %s and members.audience_id = %s",
            consent=consent,
        ),
        [batch_id, audience.id],
    )
    conn.execute(
        "create temp table _activatable on commit drop as select profile_id "
        "from _members where not is_holdout and is_consented and not is_suppressed"
    )
    row = conn.execute(
        _sql(
            "select "
            "(select count(*) from _activatable as a where not exists "
            "(select from {activated} as p where p.idempotency_key = %s "
            "and p.profile_id = a.profile_id)), "
            "(select count(*) from {activated} as p where p.idempotency_key = %s "
            "and not exists (select from _activatable as a "
            "where a.profile_id = p.profile_id)), "
            "(select count(*) from _members where not is_holdout "
            "and not is_consented), "
            "(select count(*) from _members where not is_holdout and is_consented "
            "and is_suppressed), "
            "(select count(*) from _members where is_holdout)"
        ),
        [previous_key, previous_key],
    ).fetchone()
    return dict(zip(_COUNTS, (int(value) for value in row), strict=True))


def changes_query(
    audience: Audience, key: str, previous_key: str | None, full: bool = False
) -> Any:
    """Entries (with the audience's attributes) then exits, in a fixed order.

    With ``full``, every activated member (status ``member``) and no exits.
    Keys are hex digests made here, passed as literals: COPY takes no
    parameters.
    """
    from psycopg import sql

    attributes = [rules.FIELDS[name] for name in audience.attributes]
    entered = sql.SQL(", ").join(
        [
            sql.SQL("'member' as status" if full else "'entered' as status"),
            sql.SQL("cur.profile_id"),
            *(
                sql.SQL("profiles.{} as {}").format(
                    sql.Identifier(f.column), sql.Identifier(f.name)
                )
                for f in attributes
            ),
        ]
    )
    exited = sql.SQL(", ").join(
        [
            sql.SQL("'exited'"),
            sql.SQL("prev.profile_id"),
            *(sql.SQL("null") for _ in attributes),
        ]
    )
    if full:
        previous_key = None  # nothing is subtracted, nothing exits
    return _sql(
        "select {entered} from {activated} as cur "
        "left join {profiles} as profiles on profiles.profile_id = cur.profile_id "
        "where cur.idempotency_key = {key} and not exists (select from {activated} "
        "as prev where prev.idempotency_key = {previous} "
        "and prev.profile_id = cur.profile_id) "
        "union all select {exited} from {activated} as prev "
        "where prev.idempotency_key = {previous} and not exists (select from "
        "{activated} as cur where cur.idempotency_key = {key} "
        "and cur.profile_id = prev.profile_id) "
        "order by 1, 2",
        entered=entered,
        exited=exited,
        key=sql.Literal(key),
        previous=sql.Literal(previous_key),
    )


def _send(
    settings: Settings,
    conn: Any,
    destination: Destination,
    audience: Audience,
    result: Delivery,
    previous_key: str | None,
) -> str:
    full = destination.mode == "full"
    query = changes_query(audience, result.idempotency_key, previous_key, full)
    if destination.type == "http":
        return _send_http(conn, destination, audience, result, query)
    from psycopg import sql

    lake = open_lake(settings)
    folder = f"{destination.path.strip('/')}/{audience.id}/{result.idempotency_key}"
    header = ",".join(["status", "profile_id", *audience.attributes]) + "\n"
    with tempfile.TemporaryDirectory(prefix="enrich-activate-") as scratch:
        local = Path(scratch) / "changes.csv"
        with local.open("wb") as handle:
            handle.write(header.encode())
            statement = sql.SQL("copy ({}) to stdout (format csv)").format(query)
            with conn.cursor().copy(statement) as copy:
                for block in copy:
                    handle.write(block)
        if destination.format == "parquet":
            import pyarrow.csv as pacsv
            import pyarrow.parquet as pq

            table = pacsv.read_csv(
                local,
                convert_options=pacsv.ConvertOptions(
                    column_types={"profile_id": "string"}
                ),
            )
            local = local.with_suffix(".parquet")
            pq.write_table(table, local)
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


# -- HTTP destinations ------------------------------------------------------------

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


def signature(secret: str, body: bytes) -> str:
    """The ``X-Enrich-Signature`` header value: HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _send_http(
    conn: Any,
    destination: Destination,
    audience: Audience,
    result: Delivery,
    query: Any,
) -> str:
    """POST the changes in batches; each batch is recorded once delivered."""
    import requests

    secret = None
    if destination.secret_env:
        secret = os.environ.get(destination.secret_env)
        if not secret:
            raise ActivationError(
                f"The environment variable {destination.secret_env} is not set: "
                f"it holds the signature secret of {result.destination}."
            )
    key = result.idempotency_key
    done = {
        number
        for (number,) in conn.execute(
            _sql(
                "select batch_number from {batches} where idempotency_key = %s "
                "and status = 'delivered'"
            ),
            [key],
        ).fetchall()
    }
    total = -(-(result.entered + result.exited) // destination.batch_size)
    with (
        requests.Session() as http,
        conn.cursor(name=f"changes_{key}", withhold=True) as cursor,
    ):
        cursor.execute(query)
        columns = [column.name for column in cursor.description]
        number = 0
        while rows := cursor.fetchmany(destination.batch_size):
            number += 1
            if number in done:
                continue
            body = json.dumps(
                {
                    "idempotency_key": f"{key}-{number:05d}",
                    "delivery": key,
                    "audience_id": audience.id,
                    "batch": number,
                    "batches": total,
                    "changes": [
                        {
                            k: v
                            for k, v in zip(columns, row, strict=True)
                            if v is not None
                        }
                        for row in rows
                    ],
                },
                default=float,
            ).encode()
            attempts, status = _post(
                http, destination, body, f"{key}-{number:05d}", secret
            )
            conn.execute(
                _sql(
                    "insert into {batches} (idempotency_key, batch_number, status, "
                    "attempts, status_code, rows_sent, sent_at) "
                    "values (%s, %s, 'delivered', %s, %s, %s, clock_timestamp()) "
                    "on conflict (idempotency_key, batch_number) do update set "
                    "status = 'delivered', attempts = {batches}.attempts + "
                    "excluded.attempts, status_code = excluded.status_code, "
                    "sent_at = excluded.sent_at"
                ),
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


def _post(
    http: Any, destination: Destination, body: bytes, batch_key: str, secret: str | None
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
                destination.url,
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
        backoff = destination.backoff_seconds * 2 ** (attempt - 1)
        backoff *= 0.5 + random.random()  # noqa: S311 - jitter, not security
        delay = min(max(wait or 0.0, backoff), destination.max_backoff_seconds)
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
