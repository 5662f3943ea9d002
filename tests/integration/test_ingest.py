"""Ingesting scores into the profile store: history, atomic swap, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.core.lake import open_lake, sha256_of
from ml.features import featurize
from ml.scores import score, writeback

pytestmark = pytest.mark.integration

ENRICH = Path(sys.executable).parent / "enrich"
STATE = (
    "select count(*), sum(propensity), count(distinct batch_id) "
    "from scores.propensity_scores"
)


def batches_of(sql, version) -> int:
    """Ingest batches holding scores of this model version and as_of (other
    modules' scores, of other versions, may share the table)."""
    return sql(
        "select count(distinct batch_id) from scores.propensity_scores "
        "where model_name = %s and model_version = %s and as_of = %s",
        [version.model_name, version.model_version, version.as_of],
    )[0][0]


def test_every_eligible_profile_has_exactly_one_current_score(ingested, settings, sql):
    eligible = sql("select count(*) from ml.ml_scoring_set")[0][0]
    assert ingested.status == "success" and ingested.rows == eligible
    [(scored, distinct, version)] = sql(
        "select count(*) filter (where has_score), "
        "count(distinct profile_id) filter (where has_score), "
        "max(model_version) from profiles.profiles_enriched"
    )
    assert scored == distinct == eligible and version == ingested.model_version
    # Scored profiles are exactly the eligible ones.
    assert sql(
        "select count(*) from profiles.profiles_enriched as p "
        "full join ml.ml_scoring_set as s on s.profile_id = p.profile_id "
        "where p.has_score is distinct from (s.profile_id is not null)"
    ) == [(0,)]

    assert featurize.run_dbt(
        settings, ["source", "freshness", "--select", "source:scores"]
    ).success

    # Score and ingest again for the same as_of and model: row counts stay.
    before = sql(STATE)[0]
    again = writeback.ingest(settings, score.score(settings))
    assert again.replaced == [ingested.batch_id] or ingested.batch_id in again.replaced
    after = sql(STATE)[0]
    assert after[0] == before[0] and batches_of(sql, again) == 1
    assert after[1] == pytest.approx(before[1])
    statuses = dict(sql("select batch_id, status from scores.ingest_batches"))
    assert statuses[ingested.batch_id] == "replaced"
    assert statuses[again.batch_id] == "success"
    # The same dataset a second time: nothing to do.
    assert writeback.ingest(settings).status == "skipped"
    assert sql(STATE)[0][0] == before[0]


def test_the_warehouse_holds_the_lakes_scores_exactly(ingested, settings, sql):
    """Binary COPY: every value as the scores dataset has it, bit for bit."""
    scored = writeback.latest_scores(settings)
    lake = open_lake(settings)
    parts = [
        pq.read_table(pa.BufferReader(lake.get_bytes(f"{scored.folder}/{p['file']}")))
        for p in scored.manifest["parts"]
    ]
    expected = pa.concat_tables(parts).sort_by("profile_id")
    names = [n for n in writeback.VARYING if n != "profile_id"]
    rows = sql(
        "select profile_id, propensity, percentile, decile, reason_1, "
        "reason_1_shap, reason_2, reason_2_shap, reason_3, reason_3_shap "
        "from scores.propensity_scores where run_id = %s "
        'order by profile_id collate "C"',
        [scored.manifest["run_id"]],
    )
    assert [row[0] for row in rows] == expected["profile_id"].to_pylist()
    for index, name in enumerate(names, start=1):
        assert [row[index] for row in rows] == expected[name].to_pylist(), name


def test_backtest_ranks_realised_conversion_by_decile(ingested, settings):
    import pandas as pd

    rows = score.backtest(
        settings, ingested.model_name, ingested.model_version, ingested.as_of
    )
    assert rows is not None
    table = pd.DataFrame(rows)
    assert list(table["decile"]) == list(range(1, 11))
    assert table["profiles"].sum() == ingested.rows
    # 1,500 profiles are too few for a strictly monotone table; the top
    # deciles must still convert well above the bottom ones.
    top = table[table["decile"] >= 8]["realised_rate"].mean()
    bottom = table[table["decile"] <= 3]["realised_rate"].mean()
    assert top > 1.5 * bottom


# -- refusals ------------------------------------------------------------------


def _copy_dataset(settings, good, name, edit=None, manifest_edit=None, refresh=True):
    """A copy of a scores dataset under another folder, its first part edited.

    ``edit`` maps the first part's Parquet bytes to new bytes; the manifest's
    checksums follow unless ``refresh`` is false; ``manifest_edit`` edits the
    manifest itself.
    """
    lake = open_lake(settings)
    folder = f"ingress/propensity_scores_test/{name}"
    manifest = json.loads(json.dumps(good.manifest))
    for number, part in enumerate(manifest["parts"]):
        data = lake.get_bytes(f"{good.folder}/{part['file']}")
        if number == 0 and edit is not None:
            data = edit(data)
        lake.put_bytes(f"{folder}/{part['file']}", data)
        if refresh:
            part["sha256"] = sha256_of(Path(lake.root) / folder / part["file"])
    if manifest_edit:
        manifest_edit(manifest)
    lake.write_manifest(folder, manifest)
    return score.Scored(folder, manifest)


def _table_edit(change):
    """A bytes edit that changes the Parquet table and keeps its row count."""

    def edit(data):
        table = change(pq.read_table(pa.BufferReader(data)))
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return sink.getvalue().to_pybytes()

    return edit


def _set(table, name, index, value):
    column = table[name].to_pylist()
    column[index] = value
    return table.set_column(
        table.column_names.index(name), name, pa.array(column, table[name].type)
    )


def _duplicate_first(table):
    """The second row becomes a copy of the first (row count unchanged)."""
    return _set(table, "profile_id", 1, table["profile_id"][0].as_py())


BAD = {
    "out_of_range": (
        _table_edit(lambda t: _set(t, "propensity", 0, 1.5)),
        None,
        "not probabilities in \\[0, 1\\].*1.5",
    ),
    "nan": (
        _table_edit(lambda t: _set(t, "propensity", 1, float("nan"))),
        None,
        "not probabilities",
    ),
    "duplicate_profile": (_table_edit(_duplicate_first), None, "more than one score"),
    "unknown_profile": (
        _table_edit(lambda t: _set(t, "profile_id", 0, "9" * 38)),
        None,
        "not in the profile store.*99999999999999999999",
    ),
    "truncated": (lambda data: data[: len(data) // 2], None, "not a readable Parquet"),
    "text_propensity": (
        _table_edit(
            lambda t: t.set_column(
                t.column_names.index("propensity"),
                "propensity",
                pa.array(["high"] * t.num_rows),
            )
        ),
        None,
        "columns of other types \\(propensity string",
    ),
    "wider_types": (  # int64 deciles and float32 reasons are fine once cast...
        _table_edit(
            lambda t: _set(
                t.set_column(
                    t.column_names.index("decile"), "decile", t["decile"].cast("int64")
                ),
                "propensity",
                2,
                -0.25,
            )
        ),
        None,
        "not probabilities.*-0.25",  # ... and still checked
    ),
    "manifest_rows": (
        None,
        lambda m: m.update(rows=m["rows"] + 1),
        "does not describe",
    ),
    "other_version": (
        None,
        lambda m: m.update(model_version=m["model_version"] + 1),
        "has model_version",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_score_files_are_refused_and_nothing_changes(case, ingested, settings, sql):
    edit, manifest_edit, message = BAD[case]
    good = writeback.latest_scores(settings)
    bad = _copy_dataset(settings, good, case, edit, manifest_edit)
    before = sql(STATE)
    with pytest.raises(writeback.IngestError, match=message):
        writeback.ingest(settings, bad)
    assert sql(STATE) == before
    failed = sql(
        "select status, error from scores.ingest_batches where source like %s",
        [f"%/{case}"],
    )
    if failed:  # refused after the attempt was recorded: recorded with its reason
        assert failed[-1][0] == "failed" and failed[-1][1]


def test_a_part_altered_after_writing_fails_its_checksum(ingested, settings, sql):
    good = writeback.latest_scores(settings)
    bad = _copy_dataset(
        settings,
        good,
        "altered",
        _table_edit(lambda t: _set(t, "propensity", 0, 0.5)),
        refresh=False,
    )
    before = sql(STATE)
    with pytest.raises(writeback.IngestError, match="checksum"):
        writeback.ingest(settings, bad)
    assert sql(STATE) == before
    [(status, error)] = sql(
        "select status, error from scores.ingest_batches where source like '%/altered'"
    )
    assert status == "failed" and "checksum" in error


# -- a real kill ---------------------------------------------------------------


def test_a_killed_ingest_leaves_the_previous_scores_in_place(ingested, settings, sql):
    """SIGKILL `enrich ingest` while it waits to swap, after copying and checking.

    A session of the test holds a lock the swap needs, so the ingest is caught
    mid-way deterministically: its rows copied and checked in an open
    transaction, not yet visible.
    """
    from ml.core.warehouse import connect

    score.score(settings)  # a new dataset for the same model and as_of
    before = sql(STATE)
    with connect(settings) as blocker:
        blocker.execute(
            "lock table scores.propensity_scores in share update exclusive mode"
        )
        process = subprocess.Popen(
            [str(ENRICH), "ingest"],
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            waiting = []
            deadline = time.monotonic() + 60
            while not waiting and time.monotonic() < deadline:
                assert process.poll() is None, process.stdout.read().decode()
                waiting = sql(
                    "select query from pg_stat_activity where wait_event_type = 'Lock' "
                    "and pid <> pg_backend_pid() and query ~* %s",
                    ["^(drop table|alter table).*propensity_scores"],
                )
                time.sleep(0.05)
            if not waiting:
                process.kill()
                activity = sql(
                    "select wait_event_type, wait_event, left(query, 120) "
                    "from pg_stat_activity where pid <> pg_backend_pid()"
                )
                output = process.communicate()[0].decode()
                pytest.fail(f"the ingest never reached the swap: {activity}\n{output}")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        blocker.rollback()
    assert process.returncode == -signal.SIGKILL
    # The old scores are intact and queryable while the orphaned backend dies.
    assert sql(STATE) == before
    [(status,)] = sql(
        "select status from scores.ingest_batches order by started_at desc limit 1"
    )
    assert status == "running"  # the killed process could not say otherwise
    # The next ingest marks the killed one failed, then does the work.
    result = writeback.ingest(settings)
    assert result.status == "success"
    [(killed,)] = sql(
        "select count(*) from scores.ingest_batches "
        "where status = 'failed' and error like 'interrupted%%'"
    )
    assert killed == 1
    after = sql(STATE)[0]
    assert after[0] == before[0][0] and batches_of(sql, result) == 1
