"""The embedded warehouse: socket only, idempotent start, dbt can reach it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_listens_on_a_unix_socket_only(sql, warehouse):
    assert sql("show listen_addresses") == [("",)]
    assert sql("show wal_level") == [("minimal",)]
    assert sql("show timezone") == [("UTC",)]


def test_start_is_idempotent_and_status_reports_it(warehouse):
    from ml import warehouse as wh

    first = wh.embedded_status(warehouse)
    again = wh.start_embedded(warehouse)
    assert first.running and again.pid == first.pid
    assert str(warehouse.home) in str(again.socket_dir)


def test_database_url_points_at_the_socket(warehouse):
    from ml import warehouse as wh

    url = wh.database_url(warehouse)
    assert url.startswith("postgresql://postgres@/postgres?host=")
    assert "localhost" not in url


def test_a_bad_external_dsn_fails_clearly_without_the_password(monkeypatch):
    from ml.config import load_settings
    from ml.errors import WarehouseError
    from ml.warehouse import connect

    monkeypatch.setenv(
        "ENRICH_DATABASE_URL", "postgresql://app:sup3r-secret@127.0.0.1:1/nowhere"
    )
    with pytest.raises(WarehouseError) as caught, connect(load_settings()):
        pass
    assert "sup3r-secret" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)
