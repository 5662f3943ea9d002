"""The lake's raw copy: every successful batch, as the warehouse holds it."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from ml import synthetic
from ml.core.lake import open_lake
from ml.data import files, generated, lake_copy
from tests.integration.conftest import s3_lake_settings

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 11, 1)


def lake_rows(settings, dataset: str) -> list[dict]:
    """Every row of a dataset in the lake (only batches with a batch row)."""
    root = open_lake(settings).root
    partitioning = pads.partitioning(
        pa.schema([("batch_id", pa.string())]), flavor="hive"
    )
    marked = lake_copy.mirrored_batches(open_lake(settings))
    try:
        table = pads.dataset(
            f"{root}/raw/{dataset}", format="parquet", partitioning=partitioning
        ).to_table()
    except FileNotFoundError:
        return []
    return [row for row in table.to_pylist() if row["batch_id"] in marked]


def warehouse_events(sql) -> list[tuple]:
    return sql(
        "select event_id, profile_id, event_type, event_at, is_known_event_type, "
        "batch_id, record from raw.experience_events"
    )


def lake_events(settings) -> list[tuple]:
    return [
        (
            row["event_id"],
            row["profile_id"],
            row["event_type"],
            row["event_at"],
            row["is_known_event_type"],
            row["batch_id"],
            json.loads(row["record"]),
        )
        for row in lake_rows(settings, "experience_events")
    ]


def as_set(rows: list[tuple]) -> set[str]:
    """Rows with their JSON record as sorted text, so sets compare."""
    return {json.dumps(list(row), sort_keys=True, default=str) for row in rows}


@pytest.fixture
def loaded(warehouse, empty_raw, tmp_path):
    """A generated dataset and a file with malformed records, both loaded."""
    from tests.integration.test_load import MALFORMED, event, write_jsonl

    params = synthetic.GeneratorParams(
        profiles=800, seed=4, as_of=AS_OF, chunk_profiles=400
    )
    generated.load_generated(warehouse, params, replace=True)
    good = [json.dumps(event(number)) for number in range(1, 6)]
    path = write_jsonl(tmp_path / "mixed.jsonl", [*good, *MALFORMED.values()])
    [result] = files.load_files(warehouse, [str(path)])
    assert result.records_quarantined == len(MALFORMED)
    return result


def test_the_lake_holds_the_warehouse_rows_and_no_quarantined_record(
    loaded, settings, sql
):
    events = lake_events(settings)
    assert len(events) > 5_000
    assert as_set(events) == as_set(warehouse_events(sql))
    lake_ids = {row["event_id"] for row in lake_rows(settings, "experience_events")}
    assert {"evt-1", "evt-5"} <= lake_ids
    quarantined = [row[0] for row in sql("select raw_text from raw.quarantine")]
    assert len(quarantined) == 9
    assert all(text not in lake_ids for text in quarantined)
    profiles = {
        (row["profile_id"], row["batch_id"]) for row in lake_rows(settings, "profiles")
    }
    assert profiles == set(sql("select profile_id, batch_id from raw.profiles"))
    batches = {
        (row["batch_id"], row["dataset"], row["records_loaded"], row["finished_at"])
        for row in lake_rows(settings, "batches")
    }
    assert batches == set(
        sql(
            "select batch_id, dataset, records_loaded, finished_at from raw.batches "
            "where status = 'success'"
        )
    )


def test_sync_writes_what_is_missing_and_removes_what_is_gone(loaded, settings, sql):
    lake = open_lake(settings)
    # A loader killed after its commit, before its lake write: no batch row.
    lost = loaded.batch_id
    lake.delete(lake.list(f"{lake_copy.folder('batches', lost)}/"))
    # A batch the warehouse dropped since (a replaced dataset).
    stale = "syn-000000000000-00000-experience_events"
    lake.put_bytes(f"{lake_copy.folder('batches', stale)}/part-00000.parquet", b"x")
    lake.put_bytes(
        f"{lake_copy.folder('experience_events', stale)}/part-00000.parquet", b"x"
    )
    assert lost not in lake_copy.mirrored_batches(lake)

    result = lake_copy.sync(settings)
    assert (result.written, result.removed) == ([lost], [stale])
    assert not lake.list(f"{lake_copy.folder('experience_events', stale)}/")
    assert as_set(lake_events(settings)) == as_set(warehouse_events(sql))

    again = lake_copy.sync(settings)
    assert (again.written, again.removed) == ([], [])


def test_the_raw_copy_can_be_turned_off(warehouse, empty_raw, settings, sql):
    off = settings.model_copy(
        update={"storage": settings.storage.model_copy(update={"raw_to_lake": False})}
    )
    lake = open_lake(settings)
    lake.delete(lake.list("raw/"))
    params = synthetic.GeneratorParams(profiles=300, seed=4, as_of=AS_OF)
    generated.load_generated(off, params)
    assert lake.list("raw/") == []
    # Featurizing on a lake engine first copies what the lake lacks.
    result = lake_copy.sync(off)
    assert len(result.written) == 2
    assert as_set(lake_events(settings)) == as_set(warehouse_events(sql))


def test_an_s3_lake_gets_the_raw_copy_and_loses_dropped_batches(
    warehouse, empty_raw, settings, s3_endpoint
):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="raw-lake")
    s3 = s3_lake_settings(settings, s3_endpoint, "s3://raw-lake/lake")
    first = synthetic.GeneratorParams(profiles=300, seed=4, as_of=AS_OF)
    generated.load_generated(s3, first)
    lake = open_lake(s3)
    assert len(lake_copy.mirrored_batches(lake)) == 2
    second = synthetic.GeneratorParams(profiles=200, seed=8, as_of=AS_OF)
    results = generated.load_generated(s3, second, replace=True)
    assert lake_copy.mirrored_batches(lake) == {r.batch_id for r in results}
    keys = lake.list("raw/")
    assert keys and all(any(r.batch_id in key for r in results) for key in keys), keys
