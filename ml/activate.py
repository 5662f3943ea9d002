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
``changes.csv`` (action, profile_id, attributes) and ``_manifest.json`` last.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml import relations, rules
from ml.audiences import (
    Audience,
    AudienceError,
    Definitions,
    Destination,
    load_definitions,
    session,
)
from ml.config import Settings
from ml.errors import EnrichError
from ml.lake import open_lake, sha256_of

logger = logging.getLogger(__name__)

CONSENT = {
    "email": "has_email_consent",
    "sms": "has_sms_consent",
    "push": "has_push_consent",
    "personalize": "has_personalize_consent",
}
FILE_NAME = "changes.csv"


class ActivationError(EnrichError):
    """A delivery failed (the ledger keeps it for the next run)."""


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


def idempotency_key(batch_id: str, audience_id: str, destination: str) -> str:
    """The key of one delivery: the same build, audience and destination, same key."""
    text = f"{batch_id}/{audience_id}/{destination}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _sql(text: str, **extra: Any) -> Any:
    from psycopg import sql

    return sql.SQL(text).format(
        **extra,
        builds=sql.Identifier(*relations.AUDIENCE_BUILDS),
        members=sql.Identifier(*relations.AUDIENCE_MEMBERSHIPS),
        profiles=sql.Identifier(*relations.PROFILES_ENRICHED),
        suppressions=sql.Identifier(relations.AUDIENCES_SCHEMA, "suppressions"),
        deliveries=sql.Identifier(relations.AUDIENCES_SCHEMA, "deliveries"),
        activated=sql.Identifier(relations.AUDIENCES_SCHEMA, "activated"),
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
        build = conn.execute(
            _sql(
                "select batch_id from {builds} where status = 'success' "
                "order by started_at desc limit 1"
            )
        ).fetchone()
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
            )
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
    status = conn.execute(
        _sql("select status, location from {deliveries} where idempotency_key = %s"),
        [key],
    ).fetchone()
    if status is not None and status[0] == "delivered":
        return Delivery(key, audience.id, name, "skipped", location=status[1])
    previous = conn.execute(
        _sql(
            "select idempotency_key from {deliveries} where audience_id = %s "
            "and destination = %s and status = 'delivered' "
            "order by delivered_at desc limit 1"
        ),
        [audience.id, name],
    ).fetchone()
    previous_key = previous[0] if previous else None
    # Count first, leaving no trace: a dry run stops here.
    with conn.transaction(force_rollback=True):
        counts = _stage(conn, batch_id, audience, destination, previous_key)
    result = Delivery(key, audience.id, name, "planned", **counts)
    if dry_run:
        return result
    # Committed before anything is sent: a crash leaves it pending.
    conn.execute(
        _sql(
            "insert into {deliveries} (idempotency_key, batch_id, audience_id, "
            "destination, previous_key, status, count_entered, count_exited, "
            "count_withheld_consent, count_withheld_suppressed, count_holdout, "
            "attempts) values (%s, %s, %s, %s, %s, 'pending', %s, %s, %s, %s, %s, 1) "
            "on conflict (idempotency_key) do update set status = 'pending', "
            "attempts = {deliveries}.attempts + 1, error = null"
        ),
        [
            key,
            batch_id,
            audience.id,
            name,
            previous_key,
            counts["entered"],
            counts["exited"],
            counts["withheld_consent"],
            counts["withheld_suppressed"],
            counts["holdout"],
        ],
    )
    try:
        with conn.transaction():
            # Staged again in this transaction: what is sent is what is counted.
            counts = _stage(conn, batch_id, audience, destination, previous_key)
            result = Delivery(key, audience.id, name, "planned", **counts)
            result.location = _send(settings, conn, destination, audience, result)
            conn.execute(
                _sql(
                    "insert into {activated} (idempotency_key, profile_id) "
                    "select %s, profile_id from _activatable"
                ),
                [key],
            )
            conn.execute(
                _sql(
                    "update {deliveries} set status = 'delivered', location = %s, "
                    "count_entered = %s, count_exited = %s, "
                    "count_withheld_consent = %s, count_withheld_suppressed = %s, "
                    "count_holdout = %s, delivered_at = clock_timestamp() "
                    "where idempotency_key = %s"
                ),
                [
                    result.location,
                    result.entered,
                    result.exited,
                    result.withheld_consent,
                    result.withheld_suppressed,
                    result.holdout,
                    key,
                ],
            )
        result.status = "delivered"
    except Exception as exc:  # recorded, reported, retried next run
        result.status = "failed"
        result.error = str(exc) if isinstance(exc, EnrichError) else repr(exc)
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


def _stage(
    conn: Any,
    batch_id: str,
    audience: Audience,
    destination: Destination,
    previous_key: str | None,
) -> dict[str, int]:
    """Temporary tables of the activatable set and the previous one; counts."""
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
    conn.execute("create temp table _previous (profile_id text) on commit drop")
    if previous_key is not None:
        conn.execute(
            _sql(
                "insert into _previous select profile_id from {activated} "
                "where idempotency_key = %s"
            ),
            [previous_key],
        )
    row = conn.execute(
        "select "
        "(select count(*) from _members where is_holdout), "
        "(select count(*) from _members where not is_holdout "
        "and not is_consented), "
        "(select count(*) from _members where not is_holdout and is_consented "
        "and is_suppressed), "
        "(select count(*) from _activatable as a where not exists "
        "(select from _previous as p where p.profile_id = a.profile_id)), "
        "(select count(*) from _previous as p where not exists "
        "(select from _activatable as a where a.profile_id = p.profile_id))"
    ).fetchone()
    return dict(
        zip(
            ("holdout", "withheld_consent", "withheld_suppressed", "entered", "exited"),
            (int(value) for value in row),
            strict=True,
        )
    )


def _changes_query(audience: Audience) -> Any:
    """Entries with the audience's attributes, then exits (no parameters: COPY)."""
    from psycopg import sql

    attributes = [rules.FIELDS[name] for name in audience.attributes]
    entered = sql.SQL(", ").join(
        [
            sql.SQL("'enter'"),
            sql.SQL("a.profile_id"),
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
            sql.SQL("'exit'"),
            sql.SQL("p.profile_id"),
            *(sql.SQL("null") for _ in attributes),
        ]
    )
    return sql.SQL(
        "copy (select {entered} from _activatable as a "
        "inner join {profiles} as profiles on profiles.profile_id = a.profile_id "
        "where not exists (select from _previous as p "
        "where p.profile_id = a.profile_id) "
        "union all select {exited} from _previous as p where not exists "
        "(select from _activatable as a where a.profile_id = p.profile_id) "
        "order by 1, 2) to stdout (format csv)"
    ).format(
        entered=entered,
        exited=exited,
        profiles=sql.Identifier(*relations.PROFILES_ENRICHED),
    )


def _send(
    settings: Settings,
    conn: Any,
    destination: Destination,
    audience: Audience,
    result: Delivery,
) -> str:
    if destination.type != "file":
        raise ActivationError(
            f"{destination.type} destinations are not supported yet: use type file."
        )
    lake = open_lake(settings)
    folder = f"{destination.path.strip('/')}/{audience.id}/{result.idempotency_key}"
    header = ",".join(["action", "profile_id", *audience.attributes]) + "\n"
    with tempfile.TemporaryDirectory(prefix="enrich-activate-") as scratch:
        local = Path(scratch) / FILE_NAME
        with local.open("wb") as handle:
            handle.write(header.encode())
            with conn.cursor().copy(_changes_query(audience)) as copy:
                for block in copy:
                    handle.write(block)
        lake.put_file(local, f"{folder}/{FILE_NAME}")
        checksum = sha256_of(local)
    lake.write_manifest(
        folder,
        {
            "idempotency_key": result.idempotency_key,
            "audience_id": audience.id,
            "entered": result.entered,
            "exited": result.exited,
            "files": [{"file": FILE_NAME, "sha256": checksum}],
        },
    )
    return lake.url(folder)
