"""Loading into the real embedded PostgreSQL: generated data and XDM files."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml import synthetic
from ml.core.errors import LoadError
from ml.data import files, generated

pytestmark = pytest.mark.integration

AS_OF = dt.date(2026, 11, 1)
ENRICH = Path(sys.executable).parent / "enrich"


def small_params(seed: int = 5, profiles: int = 3_000) -> synthetic.GeneratorParams:
    return synthetic.GeneratorParams(
        profiles=profiles, seed=seed, as_of=AS_OF, chunk_profiles=1_000
    )


def counts(sql) -> dict[str, int]:
    tables = ["raw.experience_events", "raw.profiles", "synthetic.truth", "raw.batches"]
    return {table: sql(f"select count(*) from {table}")[0][0] for table in tables}  # noqa: S608


def expected_counts(params: synthetic.GeneratorParams) -> dict[str, int]:
    chunks = list(synthetic.generate(params))
    return {
        "raw.experience_events": sum(c.events.num_rows for c in chunks),
        "raw.profiles": sum(c.profiles.num_rows for c in chunks),
        "synthetic.truth": sum(c.truth.num_rows for c in chunks),
        "raw.batches": 2 * len(chunks),
    }


def test_generate_twice_changes_nothing(warehouse, empty_raw, sql):
    params = small_params()
    first = generated.load_generated(warehouse, params)
    assert {r.status for r in first} == {"success"}
    after_first = counts(sql)
    assert after_first == expected_counts(params)
    per_profile = after_first["raw.experience_events"] / params.profiles
    assert 10 <= per_profile <= 40

    second = generated.load_generated(warehouse, params)
    assert {r.status for r in second} == {"skipped"}
    assert counts(sql) == after_first
    statuses = sql("select status, count(*) from raw.batches group by 1")
    assert statuses == [("success", 6)]


def test_another_dataset_is_refused_unless_replaced(warehouse, empty_raw, sql):
    generated.load_generated(warehouse, small_params(seed=5))
    with pytest.raises(LoadError, match="--replace"):
        generated.load_generated(warehouse, small_params(seed=6))
    replacement = small_params(seed=6, profiles=2_000)
    generated.load_generated(warehouse, replacement, replace=True)
    assert counts(sql) == expected_counts(replacement)
    partitions = sql(
        "select count(*) from pg_inherits "
        "where inhparent = 'raw.experience_events'::regclass"
    )
    assert partitions == [(2,)]


def test_a_killed_generate_resumes_without_loss_or_duplicates(
    warehouse, empty_raw, sql, prefect_api
):
    params = small_params(seed=8, profiles=6_000)
    env = {
        **os.environ,
        "ENRICH_GENERATE__CHUNK_PROFILES": "1000",
        "ENRICH_LOAD__WORKERS": "1",
    }
    command = [
        str(ENRICH), "generate", "--profiles", "6000", "--seed", "8",
        "--as-of", AS_OF.isoformat(),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    for line in process.stderr:
        if "chunk 2/6" in line:
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    loaded = sql("select count(*) from raw.batches where status = 'success'")[0][0]
    assert 4 <= loaded < 12

    rerun = subprocess.run(command, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert (
        counts(sql)["raw.experience_events"]
        == expected_counts(params)["raw.experience_events"]
    )
    assert counts(sql)["synthetic.truth"] == expected_counts(params)["synthetic.truth"]
    duplicates = sql(
        "select count(*) from (select event_id from raw.experience_events "
        "group by 1 having count(*) > 1) as d"
    )
    assert duplicates == [(0,)]
    assert sql("select count(*) from raw.batches where status = 'loading'") == [(0,)]


# -- files --------------------------------------------------------------------


def event(number: int, **fields) -> dict:
    record = {
        "_id": f"evt-{number}",
        "timestamp": "2026-10-01T10:00:00.000Z",
        "eventType": "web.webpagedetails.pageViews",
        "identityMap": {"ECID": [{"id": f"ecid-{number % 4}", "primary": True}]},
        "web": {"webPageDetails": {"name": "home"}},
    }
    record.update(fields)
    return record


MALFORMED = {
    "invalid_json": '{"_id": "evt-90", "timestamp": ',
    "not_an_object": "[1, 2, 3]",
    "missing_id": json.dumps({k: v for k, v in event(91).items() if k != "_id"}),
    "missing_event_type": json.dumps(
        {k: v for k, v in event(92).items() if k != "eventType"}
    ),
    "missing_timestamp": json.dumps(
        {k: v for k, v in event(93).items() if k != "timestamp"}
    ),
    "missing_identity": json.dumps(
        {k: v for k, v in event(94).items() if k != "identityMap"}
    ),
    "invalid_timestamp": json.dumps(event(95, timestamp="last tuesday")),
    "future_timestamp": json.dumps(event(96, timestamp="2999-01-01T00:00:00Z")),
    "duplicate_id": json.dumps(event(1)),
}


def write_jsonl(path: Path, lines: list[str]) -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def test_malformed_records_go_to_quarantine_with_their_reason(
    warehouse, empty_raw, sql, tmp_path
):
    good = [
        json.dumps(event(1)),
        json.dumps(event(2, timestamp="2026-10-01T12:00:00")),  # no zone: UTC
        json.dumps(event(3, timestamp="2026-10-01T12:00:00+02:00")),
        json.dumps(event(4, eventType="web.brandNewThing")),  # kept, flagged
    ]
    lines = [*good, *MALFORMED.values(), ""]
    path = write_jsonl(tmp_path / "mixed.jsonl", lines)

    [result] = files.load_files(warehouse, [str(path)])
    assert result.status == "success"
    assert result.records_read == len(good) + len(MALFORMED)
    assert result.records_loaded == len(good)
    assert result.records_flagged == 1
    assert result.reasons == dict.fromkeys(MALFORMED, 1)

    quarantined = sql(
        "select record_number, reason, raw_text from raw.quarantine order by 1"
    )
    for number, reason, raw_text in quarantined:
        assert MALFORMED[reason] == raw_text
        assert lines[number - 1] == raw_text
    loaded = dict(sql("select event_id, event_at from raw.experience_events"))
    utc = dt.UTC
    assert loaded["evt-2"] == dt.datetime(2026, 10, 1, 12, tzinfo=utc)
    assert loaded["evt-3"] == dt.datetime(2026, 10, 1, 10, tzinfo=utc)
    assert sql(
        "select is_known_event_type from raw.experience_events where event_id = 'evt-4'"
    ) == [(False,)]
    batch = sql(
        "select status, records_loaded, records_quarantined, records_flagged "
        "from raw.batches"
    )
    assert batch == [("success", 4, len(MALFORMED), 1)]

    [again] = files.load_files(warehouse, [str(path)])
    assert again.status == "skipped"
    assert (again.batch_id, again.records_loaded) == (result.batch_id, 4)
    assert sql("select count(*) from raw.experience_events") == [(4,)]
    assert sql("select count(*) from raw.quarantine") == [(len(MALFORMED),)]
    assert sql("select count(*) from raw.batches") == [(1,)]


def test_bytes_postgres_cannot_take_are_quarantined(
    warehouse, empty_raw, sql, tmp_path
):
    path = tmp_path / "bytes.jsonl"
    path.write_bytes(
        json.dumps(event(1)).encode()
        + b'\n{"_id": "evt-2", "x": "\xff\xfe"}\n'
        + b'{"_id": "evt-3", "x": "a\x00b"}\n'
        + json.dumps(event(4)).encode()
        + b"\r\n"
    )
    [result] = files.load_files(warehouse, [str(path)])
    assert result.records_loaded == 2
    assert result.reasons == {"invalid_json": 2}
    details = [row[0] for row in sql("select detail from raw.quarantine order by 1")]
    assert "UTF-8" in details[0] and "0x00" in details[1]


def test_an_event_loaded_before_is_a_duplicate(warehouse, empty_raw, sql, tmp_path):
    first = write_jsonl(tmp_path / "a.jsonl", [json.dumps(event(n)) for n in (1, 2)])
    second = write_jsonl(tmp_path / "b.jsonl", [json.dumps(event(n)) for n in (2, 3)])
    [a] = files.load_files(warehouse, [str(first)])
    [b] = files.load_files(warehouse, [str(second)])
    assert b.records_loaded == 1 and b.reasons == {"duplicate_id": 1}
    [(detail,)] = sql("select detail from raw.quarantine")
    assert a.batch_id in detail
    assert sql("select count(*) from raw.experience_events") == [(3,)]


def test_gzip_parquet_and_a_tenant_identity_field(warehouse, empty_raw, sql, tmp_path):
    records = [
        {
            "_id": f"t-{n}",
            "timestamp": dt.datetime(2026, 10, 2, n, tzinfo=dt.UTC),
            "eventType": "commerce.purchases",
            "_acme": {"userid": f"user-{n % 3}"},
            "commerce": {"order": {"priceTotal": 10.5 + n}},
        }
        for n in range(6)
    ]
    parquet = tmp_path / "export.parquet"
    pq.write_table(pa.Table.from_pylist(records), parquet)
    gz = write_jsonl(
        tmp_path / "more.jsonl.gz",
        [
            json.dumps({**event(50), "_acme": {"userid": "user-9"}}),
            json.dumps(event(51)),  # no tenant identity
        ],
    )
    results = files.load_files(
        warehouse, [str(parquet), str(gz)], identity_field="_acme.userid"
    )
    assert [r.records_loaded for r in results] == [6, 1]
    assert results[1].reasons == {"missing_identity": 1}
    rows = sql(
        "select profile_id, event_at, "
        "(record #>> '{commerce,order,priceTotal}')::float "
        "from raw.experience_events where event_id = 't-4'"
    )
    assert rows == [("user-1", dt.datetime(2026, 10, 2, 4, tzinfo=dt.UTC), 14.5)]


def test_profiles_dataset(warehouse, empty_raw, sql, tmp_path):
    profiles = [
        {"_id": "r1", "identityMap": {"ECID": [{"id": "p1"}]}, "homeAddress": {}},
        {"identityMap": {"ECID": [{"id": "p2"}]}},
        {"_id": "r3", "identityMap": {"ECID": [{"id": "p1"}]}},
        {"_id": "r4"},
    ]
    path = write_jsonl(tmp_path / "profiles.jsonl", [json.dumps(p) for p in profiles])
    [result] = files.load_files(warehouse, [str(path)], dataset="profiles")
    assert result.records_loaded == 2
    assert result.reasons == {"duplicate_id": 1, "missing_identity": 1}
    rows = sql("select profile_id, record_id from raw.profiles order by 1")
    assert rows == [("p1", "r1"), ("p2", "p2")]


def test_a_failed_batch_leaves_no_rows(warehouse, empty_raw, sql, tmp_path):
    lines = [json.dumps(event(n)) for n in range(2_000)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "truncated.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    settings = warehouse.model_copy(
        update={"load": warehouse.load.model_copy(update={"chunk_records": 100})}
    )
    with pytest.raises(LoadError, match=r"truncated\.jsonl\.gz"):
        files.load_files(settings, [str(path)])
    [(status, error)] = sql("select status, error from raw.batches")
    assert status == "failed" and error
    assert sql("select count(*) from raw.experience_events") == [(0,)]
    assert sql("select count(*) from raw.quarantine") == [(0,)]
    assert sql(
        "select count(*) from pg_inherits "
        "where inhparent = 'raw.experience_events'::regclass"
    ) == [(0,)]


def test_missing_inputs_fail_before_anything_is_recorded(warehouse, empty_raw, sql):
    from ml.core.errors import StorageError

    with pytest.raises(StorageError, match="does not exist"):
        files.load_files(warehouse, ["/nonexistent/events.jsonl"])


def test_s3_inputs_through_a_real_endpoint(warehouse, empty_raw, sql, s3_endpoint):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="xdm-exports")
    for part in range(2):
        body = gzip.compress(
            "\n".join(json.dumps(event(10 * part + n)) for n in range(5)).encode()
        )
        client.put_object(
            Bucket="xdm-exports", Key=f"events/part-{part}.jsonl.gz", Body=body
        )
    client.put_object(Bucket="xdm-exports", Key="events/_SUCCESS", Body=b"")
    settings = warehouse.model_copy(
        update={
            "storage": warehouse.storage.model_copy(
                update={"s3_endpoint_url": s3_endpoint}
            )
        }
    )
    results = files.load_files(settings, ["s3://xdm-exports/events/"])
    assert [r.source for r in results] == [
        "s3://xdm-exports/events/part-0.jsonl.gz",
        "s3://xdm-exports/events/part-1.jsonl.gz",
    ]
    assert sum(r.records_loaded for r in results) == 10
    again = files.load_files(settings, ["s3://xdm-exports/events/part-1.jsonl.gz"])
    assert [r.status for r in again] == ["skipped"]
    assert sql("select count(*) from raw.experience_events") == [(10,)]
