"""Activation to file destinations: consent, suppression, ledger, exactly once."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from ml.activation import activate, builds
from ml.activation.errors import ActivationError
from ml.activation.ledger import idempotency_key, suppress
from ml.features import featurize
from ml.scores import score, writeback

pytestmark = pytest.mark.integration


def changes(location: str) -> list[dict]:
    with (Path(location) / "changes.csv").open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def built_audiences(ingested, settings, warehouse):
    from ml.core.warehouse import connect

    with connect(warehouse) as conn:  # a clean ledger for this module ...
        conn.execute("drop schema if exists audiences cascade")
    # ... and no files an earlier module (the flow tests) delivered.
    shutil.rmtree(Path(settings.lake) / "activation", ignore_errors=True)
    return builds.build(settings)


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
    assert len(rows) == warm.entered and {r["status"] for r in rows} == {"entered"}
    assert set(rows[0]) == {"status", "profile_id", "propensity", "decile"}
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
    assert suppress(settings, [gone], "test") == 1
    writeback.ingest(settings, score.score(settings))
    featurize.featurize(settings, select=["source:scores+"])
    builds.build(settings)
    second = {d.audience_id: d for d in activate.activate(settings)}["warm_prospects"]
    assert second.status == "delivered" and second.withheld_suppressed >= 1
    rows2 = changes(second.location)
    assert {"status": "exited", "profile_id": gone} in [
        {"status": r["status"], "profile_id": r["profile_id"]} for r in rows2
    ]
    assert second.exited >= 1 and len(rows2) == second.entered + second.exited
    # Entries are exactly the profiles not already activated.
    assert not {r["profile_id"] for r in rows2 if r["status"] == "entered"} & sent
    [(ledger,)] = sql(
        "select count(*) from audiences.deliveries where status = 'delivered'"
    )
    assert ledger == 2 * len(first)  # every audience, once per build


def test_a_failed_delivery_is_retried_under_the_same_key(
    built_audiences, settings, sql
):
    writeback.ingest(settings, score.score(settings))
    featurize.featurize(settings, select=["source:scores+"])
    build = builds.build(settings)
    blocker = Path(settings.lake) / "activation" / "likely_subscribers"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    moved = blocker.with_name("likely_subscribers.moved")
    if blocker.exists():
        blocker.rename(moved)
    blocker.write_text("not a folder")  # the destination cannot be written
    with pytest.raises(ActivationError, match="likely_subscribers") as caught:
        activate.activate(settings, audience_ids=["likely_subscribers"])
    assert [d.status for d in caught.value.deliveries] == ["failed"]
    key = idempotency_key(build.batch_id, "likely_subscribers", "lake_files")
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


# -- HTTP destinations, against a real server on 127.0.0.1 -------------------------


def ledger_changes(sql, key):
    return sorted(
        ("entered", row[0])
        for row in sql(
            "select profile_id from audiences.activated where idempotency_key = %s",
            [key],
        )
    )


def test_http_retries_500_429_and_timeouts_and_delivers_each_batch_once(
    built_audiences, settings, tmp_path, receiver, monkeypatch, sql, http_audiences
):
    local = http_audiences(settings, tmp_path, receiver.url, "hook_retry", monkeypatch)
    builds.build(local)
    receiver.script = ["500", "429", "ok", "slow", "ok", "500", "500"]
    [delivery] = activate.activate(local)
    assert delivery.status == "delivered" and delivery.entered > 20
    assert delivery.location.endswith("/hook") and "token" not in delivery.location
    batches = -(-delivery.entered // 10)
    assert len(receiver.accepted) == batches
    assert len(receiver.requests) > batches  # the retries reached the server
    assert receiver.changes() == ledger_changes(sql, delivery.idempotency_key)
    [(count,)] = sql(
        "select count(*) from audiences.delivery_batches where idempotency_key = %s",
        [delivery.idempotency_key],
    )
    assert count == batches


def test_http_permanent_refusal_fails_without_printing_the_secret(
    built_audiences, settings, tmp_path, receiver, monkeypatch, sql, http_audiences
):
    local = http_audiences(settings, tmp_path, receiver.url, "hook_refuse", monkeypatch)
    builds.build(local)
    receiver.script = ["400"]
    with pytest.raises(ActivationError, match="HTTP 400") as caught:
        activate.activate(local)
    assert receiver.secret not in str(caught.value) and "token" not in str(caught.value)
    [(status, error)] = sql(
        "select status, error from audiences.deliveries where destination = %s",
        ["hook_refuse"],
    )
    assert status == "failed" and "audience unknown here" in error
    assert receiver.secret not in error


def test_a_sender_killed_mid_run_resumes_and_sends_each_change_once(
    built_audiences, settings, tmp_path, receiver, monkeypatch, sql, http_audiences
):
    import os
    import signal
    import subprocess
    import sys

    local = http_audiences(settings, tmp_path, receiver.url, "hook_crash", monkeypatch)
    builds.build(local)
    receiver.script = ["ok", "ok", "hold"]
    enrich = Path(sys.executable).parent / "enrich"
    process = subprocess.Popen(
        [str(enrich), "audiences", "activate"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert receiver.held.wait(120), "the sender never reached batch 3"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    receiver.release.set()  # batch 3 reaches the server after the sender died
    [(status, sent)] = sql(
        "select d.status, count(b.batch_number) from audiences.deliveries as d "
        "left join audiences.delivery_batches as b using (idempotency_key) "
        "where d.destination = 'hook_crash' group by d.status"
    )
    assert status == "pending" and sent == 2
    [delivery] = activate.activate(local)  # the next run resumes
    assert delivery.status == "delivered"
    batches = -(-delivery.entered // 10)
    assert sorted(receiver.accepted) == [
        f"{delivery.idempotency_key}-{n:05d}" for n in range(1, batches + 1)
    ]
    # Batch 3 went out twice under one key; the rest once.
    assert receiver.requests.count(f"{delivery.idempotency_key}-00003") == 2
    assert receiver.changes() == ledger_changes(sql, delivery.idempotency_key)


def test_full_mode_sends_every_member_as_parquet(
    built_audiences, settings, tmp_path, monkeypatch
):
    import pyarrow.parquet as pq

    path = tmp_path / "audiences.yml"
    path.write_text(
        """
destinations:
  snapshot: {type: file, channel: sms, path: snapshots, format: parquet, mode: full}
audiences:
  - {id: everyone_scored, name: All, rule: has_score, destinations: [snapshot],
     attributes: [decile]}
"""
    )
    local = settings.model_copy(
        update={"audiences": settings.audiences.model_copy(update={"file": path})}
    )
    builds.build(local)
    for _ in range(2):  # a second build of new scores: the whole set again
        [delivery] = activate.activate(local)
        table = pq.read_table(Path(delivery.location) / "changes.parquet")
        assert set(table["status"].to_pylist()) == {"member"}
        assert table.num_rows == delivery.entered and delivery.exited == 0
        assert table.column_names == ["status", "profile_id", "decile"]
        writeback.ingest(settings, score.score(settings))
        featurize.featurize(settings, select=["source:scores+"])
        builds.build(local)


def test_file_destinations_on_an_s3_lake(
    built_audiences, settings, s3_endpoint, tmp_path
):
    import boto3

    from ml.core.lake import open_lake

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket="activation"
    )
    path = tmp_path / "audiences.yml"
    path.write_text(
        """
destinations:
  s3_files: {type: file, channel: email, path: exports}
audiences:
  - {id: top_decile, name: Top, rule: decile >= 10, destinations: [s3_files],
     attributes: [propensity]}
"""
    )
    s3 = settings.model_copy(
        update={
            "storage": settings.storage.model_copy(
                update={"lake": "s3://activation/lake", "s3_endpoint_url": s3_endpoint}
            ),
            "audiences": settings.audiences.model_copy(update={"file": path}),
        }
    )
    builds.build(s3)
    [delivery] = activate.activate(s3)
    assert delivery.status == "delivered" and delivery.entered > 0
    assert delivery.location.startswith("s3://activation/lake/exports/top_decile/")
    lake = open_lake(s3)
    folder = f"exports/top_decile/{delivery.idempotency_key}"
    rows = lake.get_bytes(f"{folder}/changes.csv").decode().splitlines()
    assert rows[0] == "status,profile_id,propensity"
    assert len(rows) == 1 + delivery.entered
    assert lake.read_manifest(folder)["entered"] == delivery.entered
