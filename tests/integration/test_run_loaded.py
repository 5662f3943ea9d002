"""``enrich run --no-generate``: the whole pipeline on exports a user loaded.

The data is of a shape this project did not choose (:mod:`tests.shapes`):
the reference workflow's own format, any form fill the conversion, naive
timestamps, a tenant identity field, no profile records. Each command runs
as a user runs it, in a subprocess with its own ENRICH_HOME (its own embedded
PostgreSQL), against the session's Prefect server.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ml.core import warehouse
from ml.core.config import load_settings
from tests import shapes

pytestmark = pytest.mark.integration

ENRICH = Path(sys.executable).parent / "enrich"
QUICK = {
    "ENRICH_TRAIN__ITERATIONS": "80",
    "ENRICH_TRAIN__BASELINE_TREES": "20",
    "ENRICH_TRAIN__SHAP_SAMPLE_ROWS": "200",
    "ENRICH_REGISTRY__MIN_AUC": "0.55",
    "ENRICH_GENERATE__PROFILES": "1500",  # only if a run generates by mistake
}


@pytest.fixture(scope="module")
def own(prefect_api):
    """A user's state: an empty ENRICH_HOME, their predictions.yml (the
    default prediction: any form fill), their export (2,000 profiles), and
    the environment to run enrich in."""
    home = Path(tempfile.mkdtemp(prefix="enrich-own-", dir="/tmp"))  # short: socket
    predictions = home / "predictions.yml"
    predictions.write_text(shapes.ANY_FORM_FILL)
    export = shapes.form_fill_export(home / "acme-events.jsonl.gz")
    env = {
        **os.environ,
        **QUICK,
        "ENRICH_HOME": str(home),
        "ENRICH_PREDICTIONS__FILE": str(predictions),
    }
    settings = load_settings(home=home)
    yield settings, env, export
    warehouse.stop_embedded(settings)
    shutil.rmtree(home, ignore_errors=True)


def enrich(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ENRICH), *args], capture_output=True, text=True, env=env, timeout=600
    )


def rows(settings, query: str, params: list | None = None) -> list[tuple]:
    with warehouse.connect(settings) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def ran(own):
    """Nothing loaded, then ``enrich load``, then ``enrich run --no-generate``."""
    _, env, export = own
    empty = enrich(env, "run", "--no-generate")
    loaded = enrich(env, "load", str(export.path), "--identity-field", "_acme.userid")
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    run = enrich(env, "run", "--no-generate")
    assert run.returncode == 0, run.stderr[-5000:]
    return empty, run


def test_nothing_loaded_stops_in_one_line_before_any_flow(ran):
    empty, _ = ran
    assert empty.returncode == 2
    errors = [line for line in empty.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, empty.stderr
    assert errors[0].startswith("error: Nothing is loaded:")
    assert "Traceback" not in empty.stderr
    assert "prefect" not in empty.stderr.lower()  # stopped before any flow


def test_naive_timestamps_load_as_utc_and_the_tenant_field_is_the_identity(ran, own):
    settings, _, export = own
    [(profile_id, event_at)] = rows(
        settings,
        "select profile_id, event_at from raw.experience_events where event_id = %s",
        [export.first["_id"]],
    )
    assert profile_id == export.first["_acme"]["userid"]
    naive = dt.datetime.fromisoformat(export.first["timestamp"])
    assert event_at == naive.replace(tzinfo=dt.UTC)
    [(events, profiles)] = rows(
        settings,
        "select count(*), count(distinct profile_id) from raw.experience_events",
    )
    assert (events, profiles) == (export.events, export.profiles)


def test_the_pipeline_trains_scores_and_reports_on_the_loaded_data(ran, own):
    settings, _, export = own
    _, run = ran
    assert f"{export.events:,} experience events (loaded)" in run.stderr
    # The default prediction is the file's "any form fill": it has positives.
    [(training_rows, positives)] = rows(
        settings, "select count(*), sum(label::int) from ml.ml_training_set"
    )
    assert 0 < positives < training_rows
    [(name, status, auc, oracle)] = rows(
        settings,
        "select model_name, status, (metrics ->> 'roc_auc')::float, "
        "metrics ->> 'oracle_auc' from registry.model_versions "
        "where model_name = 'subscription_propensity'",
    )
    assert status == "production", (name, auc)
    assert oracle is None  # no generator, no oracle
    assert auc > 0.6  # form fills follow email clicks: the model sees it
    [(eligible,)] = rows(settings, "select count(*) from ml.ml_scoring_set")
    [(scored,)] = rows(
        settings,
        "select count(*) filter (where has_score) from profiles.profiles_enriched",
    )
    assert scored == eligible > 0
    # No generator here: no synthetic dataset, so no back-test either.
    assert rows(settings, "select count(*) from synthetic.truth") == [(0,)]
    assert "simulated future" not in run.stderr
    report = Path(run.stderr.split("the run report: ", 1)[1].split("\n", 1)[0])
    assert report.is_file() and report.is_relative_to(settings.home)
    assert "Model" in report.read_text()
