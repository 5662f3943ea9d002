"""Activation to file destinations: consent, suppression, ledger, exactly once."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ml import activate, audiences, featurize, ingest, score

pytestmark = pytest.mark.integration


def changes(location: str) -> list[dict]:
    with (Path(location) / activate.FILE_NAME).open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def built_audiences(ingested, settings, warehouse):
    from ml.warehouse import connect

    with connect(warehouse) as conn:  # a clean ledger for this module
        conn.execute("drop schema if exists audiences cascade")
    return audiences.build(settings)


def test_dry_run_sends_and_records_nothing(built_audiences, settings, sql):
    planned = activate.activate(settings, dry_run=True)
    assert planned and all(d.status == "planned" for d in planned)
    assert sql("select count(*) from audiences.deliveries") == [(0,)]
    assert not (Path(settings.lake) / "activation").exists()


def test_changes_arrive_once_with_consent_suppression_and_exits(
    built_audiences, settings, sql
):
    first = {d.audience_id: d for d in activate.activate(settings)}
    warm = first["warm_prospects"]
    assert warm.status == "delivered" and warm.entered > 0
    rows = changes(warm.location)
    assert len(rows) == warm.entered and {r["action"] for r in rows} == {"enter"}
    assert set(rows[0]) == {"action", "profile_id", "propensity", "decile"}
    # Only consented, non-holdout members; what was withheld is counted.
    [(expected, no_consent, holdout)] = sql(
        "select count(*) filter (where not m.is_holdout and p.has_email_consent), "
        "count(*) filter (where not m.is_holdout and not p.has_email_consent), "
        "count(*) filter (where m.is_holdout) "
        "from audiences.memberships as m join profiles.profiles_enriched as p "
        "using (profile_id) where m.batch_id = %s and m.audience_id = %s",
        [built_audiences.batch_id, "warm_prospects"],
    )
    assert (warm.entered, warm.withheld_consent, warm.holdout) == (
        expected,
        no_consent,
        holdout,
    )
    sent = {r["profile_id"] for r in rows}
    unconsented = {
        row[0]
        for row in sql(
            "select profile_id from profiles.profiles_enriched "
            "where not has_email_consent"
        )
    }
    assert not sent & unconsented

    # Again: nothing new is sent.
    again = activate.activate(settings)
    assert all(d.status == "skipped" for d in again)

    # A suppressed profile exits at the next build's delivery, never re-enters.
    gone = sorted(sent)[0]
    assert activate.suppress(settings, [gone], "test") == 1
    ingest.ingest(settings, score.score(settings))
    featurize.featurize(settings, select=["source:scores+"])
    audiences.build(settings)
    second = {d.audience_id: d for d in activate.activate(settings)}["warm_prospects"]
    assert second.status == "delivered" and second.withheld_suppressed >= 1
    rows2 = changes(second.location)
    assert {"action": "exit", "profile_id": gone} in [
        {"action": r["action"], "profile_id": r["profile_id"]} for r in rows2
    ]
    assert second.exited >= 1 and len(rows2) == second.entered + second.exited
    # Entries are exactly the profiles not already activated.
    assert not {r["profile_id"] for r in rows2 if r["action"] == "enter"} & sent
    [(ledger,)] = sql(
        "select count(*) from audiences.deliveries where status = 'delivered'"
    )
    assert ledger == 2 * len(first)  # every audience, once per build


def test_a_failed_delivery_is_retried_under_the_same_key(
    built_audiences, settings, sql
):
    ingest.ingest(settings, score.score(settings))
    featurize.featurize(settings, select=["source:scores+"])
    build = audiences.build(settings)
    blocker = Path(settings.lake) / "activation" / "likely_subscribers"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    moved = blocker.with_name("likely_subscribers.moved")
    if blocker.exists():
        blocker.rename(moved)
    blocker.write_text("not a folder")  # the destination cannot be written
    with pytest.raises(activate.ActivationError, match="likely_subscribers"):
        activate.activate(settings, audience_ids=["likely_subscribers"])
    key = activate.idempotency_key(build.batch_id, "likely_subscribers", "lake_files")
    assert sql(
        "select status, attempts from audiences.deliveries where idempotency_key = %s",
        [key],
    ) == [("failed", 1)]
    blocker.unlink()
    if moved.exists():
        moved.rename(blocker)
    [retried] = activate.activate(settings, audience_ids=["likely_subscribers"])
    assert retried.status == "delivered" and retried.idempotency_key == key
    assert sql(
        "select status, attempts from audiences.deliveries where idempotency_key = %s",
        [key],
    ) == [("delivered", 2)]
