"""The delivery ledger: keys, frozen activatable sets, and what to send.

Every delivery is a row of ``audiences.deliveries`` under an idempotency key
derived from build, audience and destination: ``pending`` is committed
before anything is sent, ``delivered`` only once the destination has it. The
activatable members (outside the holdout, consented to the destination's
channel, not on ``audiences.suppressions``) are frozen in
``audiences.activated`` with the ledger row, so a retry sends the same
changes under the same key. The changes are the difference from what the
previous delivery left activated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypedDict

from ml.activation import rules
from ml.activation.builds import session
from ml.activation.definitions import Audience, Destination
from ml.core import sql
from ml.core.config import Settings

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql as psql

CONSENT = {
    "email": "has_email_consent",
    "sms": "has_sms_consent",
    "push": "has_push_consent",
    "personalize": "has_personalize_consent",
}

# The counts a delivery freezes with its ledger row, in the ledger's order.
CountName = Literal[
    "entered", "exited", "withheld_consent", "withheld_suppressed", "holdout"
]
COUNTS: tuple[CountName, ...] = (
    "entered",
    "exited",
    "withheld_consent",
    "withheld_suppressed",
    "holdout",
)


class Counts(TypedDict):
    """The counts a delivery freezes with its ledger row (:data:`COUNTS`)."""

    entered: int
    exited: int
    withheld_consent: int
    withheld_suppressed: int
    holdout: int


def _counts(values: Sequence[int]) -> Counts:
    """The counts from their values in the ledger's order (:data:`COUNTS`)."""
    entered, exited, withheld_consent, withheld_suppressed, holdout = values
    return Counts(
        entered=entered,
        exited=exited,
        withheld_consent=withheld_consent,
        withheld_suppressed=withheld_suppressed,
        holdout=holdout,
    )


_PACKAGE = "ml.activation"


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


@dataclass
class Entry:
    """A delivery's row of the ledger."""

    status: str  # pending | delivered | failed
    location: str | None
    previous_key: str | None
    counts: Counts


def idempotency_key(batch_id: str, audience_id: str, destination: str) -> str:
    """The key of one delivery: the same build, audience and destination, same key.

    Args:
        batch_id: The audience build.
        audience_id: The audience.
        destination: The destination's name.
    """
    text = f"{batch_id}/{audience_id}/{destination}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def suppress(settings: Settings, profile_ids: list[str], reason: str) -> int:
    """Add identities to the suppression list; returns how many were new.

    Args:
        settings: Project settings.
        profile_ids: The identities never to activate again.
        reason: Why, kept with each of them.
    """
    with session(settings) as conn:
        added = 0
        for profile_id in profile_ids:
            cursor = conn.execute(
                sql.statement(_PACKAGE, "insert_suppression"), [profile_id, reason]
            )
            added += cursor.rowcount
    return added


def entry(conn: psycopg.Connection, key: str) -> Entry | None:
    """The ledger row of a delivery, if it was ever planned.

    Args:
        conn: A warehouse connection.
        key: The delivery's idempotency key.
    """
    row = conn.execute(sql.statement(_PACKAGE, "delivery_row"), [key]).fetchone()
    if row is None:
        return None
    return Entry(row[0], row[1], row[2], _counts(row[3:]))


def freeze(
    conn: psycopg.Connection,
    key: str,
    batch_id: str,
    audience: Audience,
    name: str,
    destination: Destination,
    dry_run: bool,
) -> tuple[Counts, str | None]:
    """Stage a new delivery's set and, unless a dry run, commit its ledger row.

    The delivery's set is frozen with its ledger row, before anything is
    sent: a retry sends the same changes under the same key.

    Args:
        conn: An autocommit warehouse connection.
        key: The delivery's idempotency key.
        batch_id: The audience build.
        audience: The audience.
        name: The destination's name.
        destination: The destination.
        dry_run: Count only; roll everything back.

    Returns:
        The delivery's counts (:data:`COUNTS`) and the previous delivery's key.
    """
    previous = conn.execute(
        sql.statement(_PACKAGE, "previous_delivery"), [audience.id, name]
    ).fetchone()
    previous_key = previous[0] if previous else None
    with conn.transaction(force_rollback=dry_run):
        counts = _stage(conn, batch_id, audience, destination, previous_key)
        if destination.mode == "full":  # the whole set, nothing exits
            [(size,)] = conn.execute("select count(*) from _activatable")
            counts = {**counts, "entered": int(size), "exited": 0}
        if not dry_run:
            _open(conn, key, batch_id, audience.id, name, previous_key, counts)
    return counts, previous_key


def mark_pending(conn: psycopg.Connection, key: str) -> None:
    """A delivery is being sent (again): one more attempt, no error yet."""
    conn.execute(sql.statement(_PACKAGE, "delivery_pending"), [key])


def mark_delivered(conn: psycopg.Connection, key: str, location: str) -> None:
    """The destination has the delivery; where it went."""
    conn.execute(sql.statement(_PACKAGE, "delivery_delivered"), [location, key])


def mark_failed(conn: psycopg.Connection, key: str, error: str) -> None:
    """A delivery failed, and why (kept for the next run)."""
    conn.execute(sql.statement(_PACKAGE, "delivery_failed"), [error, key])


def _open(
    conn: psycopg.Connection,
    key: str,
    batch_id: str,
    audience_id: str,
    destination: str,
    previous_key: str | None,
    counts: Counts,
) -> None:
    """The ledger row (pending) and the frozen activated set of a delivery."""
    conn.execute(
        sql.statement(_PACKAGE, "insert_delivery"),
        [key, batch_id, audience_id, destination, previous_key]
        + [counts[name] for name in COUNTS],
    )
    conn.execute(sql.statement(_PACKAGE, "insert_activated"), [key])


def _stage(
    conn: psycopg.Connection,
    batch_id: str,
    audience: Audience,
    destination: Destination,
    previous_key: str | None,
) -> Counts:
    """A temporary table of the activatable members; counts against the previous."""
    from psycopg import sql as psql

    consent = psql.Identifier(CONSENT[destination.channel])
    conn.execute(sql.statement(_PACKAGE, "create_members"))
    conn.execute(
        sql.statement(_PACKAGE, "fill_members", consent=consent),
        [batch_id, audience.id],
    )
    conn.execute(sql.statement(_PACKAGE, "create_activatable"))
    row = sql.single_row(
        conn.execute(
            sql.statement(_PACKAGE, "delivery_counts"), [previous_key, previous_key]
        )
    )
    return _counts([int(value) for value in row])


def changes_query(
    audience: Audience, key: str, previous_key: str | None, full: bool = False
) -> psql.Composed:
    """Entries (with the audience's attributes) then exits, in a fixed order.

    With ``full``, every activated member (status ``member``) and no exits.
    Keys are hex digests made here, passed as literals: COPY takes no
    parameters.

    Args:
        audience: The audience (its attributes are sent with entries).
        key: The delivery's idempotency key.
        previous_key: The previous delivery's key (None: everyone enters).
        full: The whole activated set instead of the changes.
    """
    from psycopg import sql as psql

    attributes = [rules.FIELDS[name] for name in audience.attributes]
    entered = psql.SQL(", ").join(
        [
            psql.SQL("'member' as status" if full else "'entered' as status"),
            psql.SQL("cur.profile_id"),
            *(
                psql.SQL("profiles.{} as {}").format(
                    psql.Identifier(f.column), psql.Identifier(f.name)
                )
                for f in attributes
            ),
        ]
    )
    exited = psql.SQL(", ").join(
        [
            psql.SQL("'exited'"),
            psql.SQL("prev.profile_id"),
            *(psql.SQL("null") for _ in attributes),
        ]
    )
    if full:
        previous_key = None  # nothing is subtracted, nothing exits
    return sql.statement(
        _PACKAGE,
        "changes",
        entered=entered,
        exited=exited,
        key=psql.Literal(key),
        previous=psql.Literal(previous_key),
    )
