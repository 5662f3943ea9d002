"""The embedded warehouse: socket only, idempotent start, dbt can reach it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_listens_on_a_unix_socket_only(sql, warehouse):
    assert sql("show listen_addresses") == [("",)]
    assert sql("show wal_level") == [("minimal",)]
    assert sql("show timezone") == [("UTC",)]


def test_start_is_idempotent_and_status_reports_it(warehouse):
    from ml.core import warehouse as wh

    first = wh.embedded_status(warehouse)
    again = wh.start_embedded(warehouse)
    assert first.running and again.pid == first.pid
    assert str(warehouse.home) in str(again.socket_dir)


def test_database_url_points_at_the_socket(warehouse):
    from ml.core import warehouse as wh

    url = wh.database_url(warehouse)
    assert url.startswith("postgresql://postgres@/postgres?host=")
    assert "localhost" not in url


def test_a_bad_external_dsn_fails_clearly_without_the_password(monkeypatch):
    from ml.core.config import load_settings
    from ml.core.errors import WarehouseError
    from ml.core.warehouse import connect

    monkeypatch.setenv(
        "ENRICH_DATABASE_URL", "postgresql://app:sup3r-secret@127.0.0.1:1/nowhere"
    )
    with pytest.raises(WarehouseError) as caught, connect(load_settings()):
        pass
    assert "sup3r-secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)


def test_two_homes_never_touch_each_other(warehouse, sql, tmp_path, monkeypatch):
    import datetime as dt

    from ml import synthetic
    from ml.core import warehouse as wh
    from ml.core.config import load_settings
    from ml.data import generated

    before = sql("select count(*) from pg_tables where schemaname = 'raw'")
    other_home = Path(tempfile.mkdtemp(prefix="enrich-other-", dir="/tmp"))
    monkeypatch.setenv("ENRICH_HOME", str(other_home))
    other = load_settings()
    try:
        status = wh.start_embedded(other)
        assert status.pid != wh.embedded_status(warehouse).pid
        params = synthetic.GeneratorParams(
            profiles=200, seed=1, as_of=dt.date(2026, 1, 1)
        )
        generated.load_generated(other, params)
        with wh.connect(other) as conn:
            profiles = conn.execute("select count(*) from raw.profiles").fetchone()
        assert profiles == (200,)
        assert sql("select count(*) from pg_tables where schemaname = 'raw'") == before
    finally:
        wh.stop_embedded(other)
        shutil.rmtree(other_home, ignore_errors=True)
    assert not wh.embedded_status(other).running
