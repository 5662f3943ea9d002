"""Stage 7, delivery: send each audience's changes to its destinations, once.

For every audience of the latest build and each of its destinations, the
activatable members are the build's members outside the holdout that have
consented to the destination's channel and are not on the suppression list
(``audiences.suppressions``); what was withheld, and why, is counted. The
delivery sends the difference from what the previous delivery left activated:
profiles that enter (with the audience's attributes) and profiles that exit.

Every delivery is a row of the ledger (:mod:`ml.activation.ledger`) under an
idempotency key derived from build, audience and destination: ``pending``
is committed before anything is sent, ``delivered`` only once the
destination has it. A run that stops half-way is simply run again:
delivered rows are skipped, pending or failed ones are sent again under the
same key, so a receiver can drop repeats.

Destinations are files in the lake (:mod:`ml.activation.files`) or an HTTP
endpoint (:mod:`ml.activation.http`). A destination in ``full`` mode
receives the whole activatable set each time (status ``member``) instead of
the changes (``entered``, ``exited``).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from ml.activation import ledger, read
from ml.activation.builds import session
from ml.activation.definitions import (
    Audience,
    AudienceError,
    Definitions,
    Destination,
    load_definitions,
)
from ml.activation.errors import ActivationError
from ml.activation.files import send_files
from ml.activation.http import send_http
from ml.activation.ledger import Delivery
from ml.core.config import Settings
from ml.core.errors import EnrichError

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)


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
            and the failed one is retried by the next run. Its ``retryable``
            says whether every failure may pass on a later run.
    """
    definitions = load_definitions(settings)
    chosen = (
        [definitions.get(i) for i in audience_ids]
        if audience_ids
        else definitions.audiences
    )
    results = []
    with session(settings) as conn:
        build = read.latest_build(conn)
        if build is None:
            raise AudienceError("No audience build yet: run `enrich audiences build`.")
        for audience in chosen:
            for name in audience.destinations:
                results.append(
                    _deliver(
                        settings,
                        conn,
                        definitions,
                        build.batch_id,
                        audience,
                        name,
                        dry_run,
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
    conn: psycopg.Connection,
    definitions: Definitions,
    batch_id: str,
    audience: Audience,
    name: str,
    dry_run: bool,
) -> Delivery:
    """One audience to one destination: skipped, planned (dry run) or attempted."""
    destination = definitions.destinations[name]
    key = ledger.idempotency_key(batch_id, audience.id, name)
    entry = ledger.entry(conn, key)
    if entry is not None and entry.status == "delivered":
        return Delivery(key, audience.id, name, "skipped", location=entry.location)
    if entry is None:
        counts, previous_key = ledger.freeze(
            conn, key, batch_id, audience, name, destination, dry_run
        )
        result = Delivery(key, audience.id, name, "planned", **counts)
        if dry_run:
            return result
    else:
        previous_key = entry.previous_key
        result = Delivery(key, audience.id, name, "planned", **entry.counts)
    ledger.mark_pending(conn, key)
    return _attempt(settings, conn, destination, audience, result, previous_key)


def _attempt(
    settings: Settings,
    conn: psycopg.Connection,
    destination: Destination,
    audience: Audience,
    result: Delivery,
    previous_key: str | None,
) -> Delivery:
    """Send a pending delivery; the ledger says delivered or failed (and why)."""
    key = result.idempotency_key
    try:
        result.location = _send(
            settings, conn, destination, audience, result, previous_key
        )
        ledger.mark_delivered(conn, key, result.location)
        result.status = "delivered"
    except Exception as exc:  # recorded, reported, retried next run
        result.status = "failed"
        result.error = str(exc) if isinstance(exc, EnrichError) else repr(exc)
        result.retryable = bool(getattr(exc, "retryable", False))
        with contextlib.suppress(Exception):
            ledger.mark_failed(conn, key, result.error[:2000])
        logger.error(
            "%s -> %s failed: %s", audience.id, result.destination, result.error
        )
    return result


def _send(
    settings: Settings,
    conn: psycopg.Connection,
    destination: Destination,
    audience: Audience,
    result: Delivery,
    previous_key: str | None,
) -> str:
    """The delivery's changes to its destination; returns where they went."""
    full = destination.mode == "full"
    query = ledger.changes_query(audience, result.idempotency_key, previous_key, full)
    if destination.type == "http":
        return send_http(conn, destination, audience, result, query)
    return send_files(settings, conn, destination, audience, result, query)
