"""Exports to the lake: complete, consistent, streamed, and never half-read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from ml.core.lake import open_lake
from ml.features import export
from tests.integration.conftest import s3_lake_settings

pytestmark = pytest.mark.integration

ENRICH = Path(sys.executable).parent / "enrich"


def test_export_matches_the_warehouse_and_its_manifest(built, settings, sql):
    small = settings.model_copy(
        update={"export": settings.export.model_copy(update={"part_rows": 1_000})}
    )
    training, scoring = export.export(small)
    rows = sql("select count(*), count(*) filter (where label) from ml.ml_training_set")
    assert training.rows == rows[0][0] > 2_000
    assert len(training.manifest["parts"]) == -(-training.rows // 1_000)
    assert training.manifest["as_of"] == training.manifest["cutoffs"][-1]
    assert training.manifest["dbt"]["invocation_id"]
    assert scoring.rows == sql("select count(*) from ml.ml_scoring_set")[0][0]

    latest = export.latest_export(settings, "ml_training_set")
    assert latest.folder == training.folder
    table = export.read_export(settings, latest)
    assert table.num_rows == training.rows
    assert pc.sum(table["label"]).as_py() == rows[0][1]
    names = [c["name"] for c in training.manifest["columns"]]
    assert table.column_names == names
    assert str(table.schema.field("cutoff_at").type) == "timestamp[us, tz=UTC]"
    assert set(scoring.manifest["columns"][i]["name"] for i in range(3)) <= set(names)
    # Values survive the trip: nulls stay nulls, counts stay counts.
    [(nulls, total)] = sql(
        "select count(*) filter (where days_since_purchases is null), "
        "sum(count_email_sent_total) from ml.ml_training_set"
    )
    assert table["days_since_purchases"].null_count == nulls
    assert pc.sum(table["count_email_sent_total"]).as_py() == total


def test_a_killed_export_is_never_read(built, settings):
    before = export.latest_export(settings, "ml_training_set")
    lake = Path(settings.lake) / "egress" / "ml_training_set"
    existing = set(lake.glob("export_time=*"))  # other tests' exports, complete
    env = {
        **os.environ,
        "ENRICH_EXPORT__PART_ROWS": "10",
        "ENRICH_EXPORT__FETCH_ROWS": "50",
    }
    process = subprocess.Popen(
        [str(ENRICH), "export", "--dataset", "training"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    killed_folder = None
    while time.monotonic() < deadline and killed_folder is None:
        for folder in set(lake.glob("export_time=*")) - existing:
            if any(folder.glob("part-*")):
                killed_folder = folder
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert killed_folder is not None, "the export never wrote a part"
    assert not (killed_folder / "_manifest.json").exists()
    assert export.latest_export(settings, "ml_training_set").folder == before.folder


def test_an_altered_part_is_refused(built, settings, tmp_path):
    exported = export.latest_export(settings, "ml_scoring_set")
    part = Path(settings.lake) / exported.folder / exported.manifest["parts"][0]["file"]
    original = part.read_bytes()
    try:
        part.write_bytes(original[:-10] + b"0123456789")
        with pytest.raises(export.ExportError, match="checksum"):
            export.read_export(settings, exported)
    finally:
        part.write_bytes(original)


def test_the_s3_lake_through_a_real_endpoint(built, settings, s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="enrich-lake")
    s3 = s3_lake_settings(settings, s3_endpoint, "s3://enrich-lake/demo")
    [scoring] = export.export(s3, ["ml_scoring_set"])
    keys = open_lake(s3).list("egress/ml_scoring_set/")
    assert {key.rsplit("/", 1)[1] for key in keys} == {
        "_manifest.json",
        "part-00000.parquet",
    }
    manifest = json.loads(
        client.get_object(
            Bucket="enrich-lake", Key=f"demo/{scoring.folder}/_manifest.json"
        )["Body"].read()
    )
    assert manifest["rows"] == scoring.rows
    latest = export.latest_export(s3, "ml_scoring_set")
    assert export.read_export(s3, latest).num_rows == scoring.rows


def test_unknown_datasets_are_refused_before_anything_is_written(settings):
    with pytest.raises(export.ExportError, match="Unknown dataset"):
        export.export(settings, ["ml_nothing"])
