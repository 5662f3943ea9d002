"""Settings: file defaults, ENRICH_* overrides, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.core.config import load_settings
from ml.core.errors import ConfigError


def test_defaults_come_from_the_project_file(monkeypatch):
    monkeypatch.delenv("ENRICH_HOME", raising=False)
    settings = load_settings()
    assert settings.home == settings.project_dir / ".enrich"
    assert settings.generate.profiles == 20_000
    assert settings.load.identity_field == "identityMap.ECID[0].id"
    assert settings.database_url is None


def test_environment_overrides_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ENRICH_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("ENRICH_GENERATE__PROFILES", "123")
    monkeypatch.setenv("ENRICH_LOAD__IDENTITY_FIELD", "_acme.userid")
    settings = load_settings()
    assert settings.home == tmp_path / "state"
    assert settings.pgdata == tmp_path / "state" / "pgdata"
    assert settings.generate.profiles == 123
    assert settings.load.identity_field == "_acme.userid"


def test_invalid_values_name_the_key(monkeypatch):
    monkeypatch.setenv("ENRICH_GENERATE__PROFILES", "-5")
    with pytest.raises(ConfigError, match=r"generate\.profiles"):
        load_settings()


def test_config_file_can_be_named(monkeypatch, tmp_path):
    config = tmp_path / "other.yml"
    config.write_text("home: elsewhere\ngenerate:\n  seed: 99\n")
    monkeypatch.setenv("ENRICH_CONFIG", str(config))
    monkeypatch.delenv("ENRICH_HOME", raising=False)
    settings = load_settings()
    assert settings.generate.seed == 99
    assert settings.home == tmp_path / "elsewhere"


def test_unknown_keys_are_refused(monkeypatch, tmp_path):
    config = tmp_path / "enrich.yml"
    config.write_text("genrate:\n  seed: 1\n")
    monkeypatch.setenv("ENRICH_CONFIG", str(config))
    with pytest.raises(ConfigError, match="genrate"):
        load_settings()


def test_database_url_is_secret(monkeypatch):
    from ml.core.warehouse import redact_url

    url = "postgresql://scott:tiger-secret@db.example.com:5433/warehouse"
    monkeypatch.setenv("ENRICH_DATABASE_URL", url)
    settings = load_settings()
    assert "tiger-secret" not in repr(settings)
    assert "tiger-secret" not in redact_url(url)
    assert "db.example.com" in redact_url(url)


def test_dbt_environment_points_at_an_external_server(monkeypatch):
    from ml.core.warehouse import dbt_environment

    url = "postgresql://scott:tiger-secret@db.example.com:5433/warehouse"
    monkeypatch.setenv("ENRICH_DATABASE_URL", url)
    env = dbt_environment(load_settings())
    assert env["DBT_TARGET"] == "postgres"
    assert env["ENRICH_PGHOST"] == "db.example.com"
    assert env["ENRICH_PGPORT"] == "5433"
    assert env["DBT_ENV_SECRET_PGPASSWORD"] == "tiger-secret"  # noqa: S105
    assert Path(load_settings().project_dir, "profiles.yml").is_file()
