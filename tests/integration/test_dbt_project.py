"""dbt runs against the embedded warehouse with the project-local profiles."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from ml import load, synthetic, warehouse

pytestmark = pytest.mark.integration


def test_dbt_build_and_freshness_pass_on_fresh_generated_data(
    settings, empty_raw, tmp_path, monkeypatch
):
    from dbt.cli.main import dbtRunner

    today = dt.datetime.now(dt.UTC).date()
    params = synthetic.GeneratorParams(profiles=1_500, seed=3, as_of=today)
    load.load_generated(settings, params)
    for key, value in warehouse.dbt_environment(settings).items():
        monkeypatch.setenv(key, value)
    project = str(settings.project_dir)
    common = [
        "--project-dir", project, "--profiles-dir", project,
        "--target-path", str(tmp_path / "target"),
    ]  # fmt: skip
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    runner = dbtRunner()
    build = runner.invoke(["build", *common])
    assert build.success, build.exception
    passed = [r for r in build.result.results if str(r.status) in ("pass", "success")]
    assert len(passed) == len(build.result.results) > 10
    freshness = runner.invoke(["source", "freshness", *common])
    assert freshness.success, freshness.exception
    assert os.environ["DBT_TARGET"] == "embedded"
