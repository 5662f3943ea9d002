"""The Prefect flows, really run against one Prefect server per test session."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.UTC).date()
ENRICH = Path(sys.executable).parent / "enrich"
PREFECT = Path(sys.executable).parent / "prefect"
ARTIFACTS = {
    "dbt-run-results",
    "model-metrics",
    "promotion-decision",
    "score-backtest",
    "audience-sizes",
    "deliveries",
    "run-report",
}


def quick(monkeypatch) -> None:
    """Small training parameters and no waiting between retries (via ENRICH_*)."""
    for key, value in {
        "ENRICH_TRAIN__ITERATIONS": "60",
        "ENRICH_TRAIN__BASELINE_TREES": "20",
        "ENRICH_TRAIN__SHAP_SAMPLE_ROWS": "200",
        "ENRICH_REGISTRY__MIN_AUC": "0.3",
        "ENRICH_REGISTRY__MAX_AUC_DROP": "0.5",
        "ENRICH_ORCHESTRATION__RETRY_DELAY_SECONDS": "0",
    }.items():
        monkeypatch.setenv(key, value)


def since(started: dt.datetime, items: list) -> list:
    return [item for item in items if item.created >= started]


def artifacts_since(started: dt.datetime) -> list:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return since(started, client.read_artifacts(limit=200))


def task_runs_since(started: dt.datetime, name: str) -> list:
    """Runs of the task called ``name`` (run names are ``<name>-<suffix>``)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=name))
        )
    return [run for run in since(started, runs) if run.name.rsplit("-", 1)[0] == name]


def flow_runs_since(started: dt.datetime, flow_name: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name]))
        )
    return since(started, runs)


@pytest.fixture(scope="module")
def piped(prefect_api, warehouse, settings):
    """One pipeline run on 1,500 profiles, and when it started."""
    from flows.pipeline import pipeline_flow

    with pytest.MonkeyPatch.context() as monkeypatch:
        quick(monkeypatch)
        started = dt.datetime.now(dt.UTC)
        result = pipeline_flow(profiles=1_500, seed=3, as_of=TODAY)
    return started, result


def test_the_pipeline_completes_with_its_artifacts(piped, sql):
    started, result = piped
    stages = [stage["name"] for stage in result.stages["stages"]]
    assert stages == ["data", "featurize", "train", "score", "activate", "report"]
    assert all(s["status"] == "success" for s in result.stages["stages"])
    assert result.report.is_file()
    # Every eligible profile has exactly one current score.
    [(eligible,)] = sql("select count(*) from ml.ml_scoring_set")
    [(scored, profiles)] = sql(
        "select count(*) filter (where has_score), count(distinct profile_id) "
        "from profiles.profiles_enriched"
    )
    assert scored == eligible == result.scored.profiles
    assert profiles == sql("select count(*) from profiles.profiles_enriched")[0][0]
    keys = {artifact.key for artifact in artifacts_since(started)}
    assert keys >= ARTIFACTS, f"missing: {ARTIFACTS - keys}"
    [link] = [a for a in artifacts_since(started) if a.key == "run-report"]
    assert result.report.as_uri() in link.data
    subflows = {
        name: len(flow_runs_since(started, name))
        for name in ("load", "featurize", "train", "score", "activate")
    }
    assert subflows == dict.fromkeys(subflows, 1)
    # Each prediction trains in its own subflow, its own registry model.
    assert len(flow_runs_since(started, "train prediction")) == 2
    models = {model.prediction: model.model_name for model in result.trained.models}
    assert models == {
        "subscription": "subscription_propensity",
        "purchase": "purchase_propensity",
    }
    assert {"model-metrics-purchase", "promotion-decision-purchase"} <= keys


def test_training_again_on_the_same_rows_finds_the_version(piped, monkeypatch, sql):
    from flows.pipeline import train_flow

    quick(monkeypatch)
    versions = sql("select count(*) from registry.model_versions")
    started = dt.datetime.now(dt.UTC)

    again = train_flow(build_features=False)

    assert again.version == piped[1].trained.version
    assert sql("select count(*) from registry.model_versions") == versions
    # One look-up per prediction of predictions.yml, and no fit at all.
    predictions = [model.prediction for model in again.models]
    assert predictions == ["subscription", "purchase"]
    assert len(task_runs_since(started, "find trained version")) == len(predictions)
    assert task_runs_since(started, "train") == []


def test_the_pipeline_featurizes_on_duckdb_end_to_end(
    piped, settings, monkeypatch, sql, keep_builds
):
    from flows.pipeline import pipeline_flow
    from ml.features import export

    quick(monkeypatch)
    started = dt.datetime.now(dt.UTC)

    result = pipeline_flow(
        profiles=1_500, seed=3, as_of=TODAY, featurize_target="duckdb"
    )

    assert all(s["status"] == "success" for s in result.stages["stages"])
    [featurized] = flow_runs_since(started, "featurize")
    assert featurized.parameters["target"] == "duckdb"
    for name in ("ml_training_set", "ml_scoring_set"):
        assert export.latest_export(settings, name).manifest["engine"] == "duckdb"
    # Same data as the warehouse's run: as many training rows, a model as good.
    trained, before = result.trained, piped[1].trained
    assert trained.rows == before.rows
    assert abs(trained.roc_auc - before.roc_auc) < 0.03
    # Every eligible profile (as DuckDB counted them) has one current score.
    scored = result.scored.profiles
    assert scored == piped[1].scored.profiles
    assert sql(
        "select count(*) filter (where has_score) from profiles.profiles_enriched"
    ) == [(scored,)]
    assert result.activated.members > 0


def test_a_failing_dbt_test_stops_the_flow_before_training(
    piped, settings, tmp_path, monkeypatch, sql
):
    from flows.pipeline import pipeline_flow
    from ml.features.featurize import FeaturizeError

    project = tmp_path / "project"
    project.mkdir()
    names = ("dbt_project.yml", "profiles.yml", "selectors.yml", "enrich.yml")
    for name in (*names, "audiences.yml", "predictions.yml"):
        shutil.copy(settings.project_dir / name, project / name)
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(settings.project_dir / folder, project / folder)
    (project / "tests" / "dbt" / "assert_the_pipeline_stops_here.sql").write_text(
        "select 1 as failing_row\n"
    )
    monkeypatch.setenv("ENRICH_CONFIG", str(project / "enrich.yml"))
    quick(monkeypatch)
    versions = sql("select count(*) from registry.model_versions")
    started = dt.datetime.now(dt.UTC)

    with pytest.raises(FeaturizeError) as caught:
        pipeline_flow(profiles=1_500, seed=3, as_of=TODAY)

    assert "test.enrich.assert_the_pipeline_stops_here" in str(caught.value)
    assert flow_runs_since(started, "featurize")
    assert flow_runs_since(started, "train") == []
    assert sql("select count(*) from registry.model_versions") == versions
    [results] = [a for a in artifacts_since(started) if a.key == "dbt-run-results"]
    assert "assert_the_pipeline_stops_here" in results.data


def test_a_transient_http_failure_is_retried_and_a_refusal_is_not(
    piped, settings, tmp_path, monkeypatch, receiver, http_audiences
):
    from flows.pipeline import activate_flow
    from ml.activation.errors import ActivationError

    quick(monkeypatch)
    monkeypatch.setenv("ENRICH_ORCHESTRATION__TASK_RETRIES", "2")
    http_audiences(
        settings,
        tmp_path,
        receiver.url,
        "hook_flow",
        monkeypatch,
        "    max_attempts: 1",
    )
    receiver.script = ["500"]  # the destination's only attempt fails: a task retry
    started = dt.datetime.now(dt.UTC)

    activated = activate_flow()

    [delivery] = activated.deliveries
    assert delivery.status == "delivered"
    assert len(receiver.requests) == len(receiver.accepted) + 1
    [run] = task_runs_since(started, "activate")
    assert run.run_count == 2
    assert run.state.is_completed()

    # A refusal (HTTP 400) fails at once: no task retry.
    http_audiences(
        settings,
        tmp_path,
        receiver.url,
        "hook_refuses",
        monkeypatch,
        "    max_attempts: 1",
    )
    receiver.script = ["400"]
    started = dt.datetime.now(dt.UTC)
    with pytest.raises(ActivationError):
        activate_flow()
    [run] = task_runs_since(started, "activate")
    assert run.run_count == 1
    assert run.state.is_failed()


def test_serve_registers_the_scheduled_deployments_and_stops_cleanly(
    prefect_api, settings
):
    from prefect.client.orchestration import get_client

    serving = subprocess.Popen(
        [str(ENRICH), "serve"],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        listed = ""
        while time.monotonic() < deadline and serving.poll() is None:
            listed = subprocess.run(
                [str(PREFECT), "deployment", "ls"],
                capture_output=True,
                text=True,
                env={**os.environ, "COLUMNS": "200"},
            ).stdout
            if "daily-refresh" in listed and "weekly-train" in listed:
                break
            time.sleep(1)
        assert "refresh/daily-refresh" in listed and "train/weekly-train" in listed
        with get_client(sync_client=True) as client:
            for name, spec in settings.orchestration.deployments.items():
                deployment = client.read_deployment_by_name(f"{spec.flow}/{name}")
                [schedule] = deployment.schedules
                assert schedule.schedule.cron == spec.cron
                assert schedule.active
    finally:
        serving.send_signal(signal.SIGTERM)
        _, err = serving.communicate(timeout=60)
    assert serving.returncode == 0, err[-2000:]
    assert "Traceback" not in err


def test_prefect_yaml_deploys_to_a_work_pool(prefect_api, settings):
    """``prefect deploy --all`` registers the same schedules as enrich.yml."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="enrich", type="process"))
    deployed = subprocess.run(
        [str(PREFECT), "--no-prompt", "deploy", "--all"],
        cwd=settings.project_dir,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-2000:]
    with get_client(sync_client=True) as client:
        for name, spec in settings.orchestration.deployments.items():
            deployment = client.read_deployment_by_name(f"{spec.flow}/{name}")
            assert deployment.work_pool_name == "enrich"
            [schedule] = deployment.schedules
            assert schedule.schedule.cron == spec.cron
            assert deployment.pull_steps == [
                {
                    "prefect.deployments.steps.set_working_directory": {
                        "directory": str(settings.project_dir)
                    }
                }
            ]
