"""predictions.yml: validation with named, positioned errors; the compiled
spec; the generated block of dbt_project.yml; the CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from ml.core import prediction_files, predictions
from ml.core.config import PredictionSettings, load_settings
from ml.core.predictions import PredictionError

ENRICH = Path(sys.executable).parent / "enrich"
PROJECT = Path(__file__).resolve().parents[2]

GOOD = """\
predictions:
  - name: subscription
    kind: first
    target:
      event_type: web.formFilledOut
      where: page_name = 'subscriptionForm'
  - name: big_buyers
    kind: repeat
    target:
      event_type: commerce.purchases
      where: order_total > 50
    eligible: days_since_last_event <= 90 and has_email_consent
    previous_only: true
  - name: lapsing
    kind: churn
    target:
      event_type: null
    horizon_days: 28
    gap_days: 7
    active_days: 60
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "predictions.yml"
    path.write_text(textwrap.dedent(text))
    return path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(PredictionError) as caught:
        predictions.read_predictions(write(tmp_path, text))
    return str(caught.value)


def test_the_shipped_file_is_valid_and_compiles_to_the_contract():
    spec = predictions.compiled(predictions.load_predictions(load_settings()))
    assert [item["name"] for item in spec] == ["subscription", "purchase"]
    assert spec[0] == {
        "name": "subscription",
        "kind": "first",
        "event_type": "web.formFilledOut",
        "where": {"op": "=", "field": "page_name", "value": "subscriptionForm"},
        "eligible": None,
        "horizon_days": 14,
        "gap_days": 0,
        "training_cutoffs": 4,
        "cutoff_step_days": 14,
        "previous_only": False,
        "active_days": 30,
    }
    assert spec[1]["kind"] == "repeat" and spec[1]["where"] is None
    assert spec[1]["event_type"] == "commerce.purchases"


def test_every_kind_and_condition_compiles(tmp_path):
    found = predictions.read_predictions(write(tmp_path, GOOD))
    assert found.default.name == "subscription"
    spec = {item["name"]: item for item in predictions.compiled(found)}
    assert spec["big_buyers"]["where"] == {
        "op": ">",
        "field": "order_total",
        "value": 50,
    }
    assert spec["big_buyers"]["eligible"]["op"] == "and"
    assert spec["big_buyers"]["previous_only"] is True
    assert spec["lapsing"]["event_type"] is None
    assert (spec["lapsing"]["active_days"], spec["lapsing"]["gap_days"]) == (60, 7)
    with pytest.raises(PredictionError, match=r"No prediction 'nope'.*known: sub"):
        found.get("nope")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # a bad field
        (
            ("page_name = 'subscriptionForm'", "revenue > 3"),
            "subscription: target.where: unknown field 'revenue' (fields: ad_id",
        ),
        # a bad value type
        (
            ("order_total > 50", "order_total > 'fifty'"),
            "big_buyers: target.where: order_total is number, not text",
        ),
        # SQL text
        (
            ("order_total > 50", "order_total > 50; drop table raw.batches"),
            "big_buyers: target.where: unexpected character ';' at position 17",
        ),
        (
            ("has_email_consent", "has_email_consent = 'x'"),
            "big_buyers: eligible: has_email_consent is boolean, not text",
        ),
        # an unknown key
        (
            ("    active_days: 60", "    active_days: 60\n    colour: red"),
            "predictions[2] (lapsing).colour: Extra inputs are not permitted",
        ),
        (
            ("      where: order_total > 50", "      when: order_total > 50"),
            "predictions[1] (big_buyers).target.when: Extra inputs",
        ),
        # a duplicate name
        (("name: lapsing", "name: big_buyers"), "big_buyers: name: the name is used"),
        (("name: lapsing", "name: Lapsing"), "predictions[2] (Lapsing).name: Value"),
        (("kind: churn", "kind: winback"), "predictions[2] (lapsing).kind: Input"),
        (
            ("horizon_days: 28", "horizon_days: 0"),
            "predictions[2] (lapsing).horizon_days: Input should be greater than 0",
        ),
        (
            ("gap_days: 7", "gap_days: -1"),
            "(lapsing).gap_days: Input should be greater than or equal to 0",
        ),
        (
            ("    active_days: 60", "    active_days: 60\n    training_cutoffs: 0"),
            "(lapsing).training_cutoffs: Input should be greater than 0",
        ),
        (
            ("    active_days: 60", "    active_days: 60\n    cutoff_step_days: 0"),
            "(lapsing).cutoff_step_days: Input should be greater than 0",
        ),
        (
            ("    previous_only: true", "    active_days: 3"),
            "big_buyers: active_days: only a churn prediction takes it (kind is "
            "repeat)",
        ),
        (
            ("    horizon_days: 28", "    horizon_days: 28\n    previous_only: false"),
            "lapsing: previous_only: only a repeat prediction takes it (kind is churn)",
        ),
        (
            ("event_type: web.formFilledOut", "event_type: null"),
            "subscription: target.event_type: a first prediction needs the event",
        ),
        (
            ("event_type: commerce.purchases", 'event_type: "commerce\'; --"'),
            "(big_buyers).target.event_type: Value error, an event type is",
        ),
    ],
)
def test_a_bad_prediction_is_refused_by_name_and_key(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    message = refused(tmp_path, GOOD.replace(old, new, 1))
    assert expected in message, message


def test_a_condition_error_shows_the_caret(tmp_path):
    message = refused(tmp_path, GOOD.replace("order_total > 50", "sku = 'it''s'"))
    assert re.search(r"big_buyers: target\.where: .* at position 7:", message)
    assert message.splitlines()[-1] == "          ^"


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD.replace("order_total > 50", "revenue > 1")
    text = text.replace("name: lapsing", "name: big_buyers")
    message = refused(tmp_path, text)
    assert "unknown field 'revenue'" in message and "used twice" in message


def test_missing_empty_and_broken_files_are_refused(tmp_path):
    with pytest.raises(PredictionError, match="No predictions file at"):
        predictions.read_predictions(tmp_path / "none.yml")
    assert "predictions: List should have at least 1 item" in refused(
        tmp_path, "predictions: []\n"
    )
    assert "is not valid YAML" in refused(tmp_path, "predictions: [\n")


# -- the generated block of dbt_project.yml -------------------------------------


def test_the_shipped_dbt_project_holds_what_sync_writes():
    settings = load_settings()
    found = predictions.load_predictions(settings)
    assert predictions.block_is_current(settings, found)
    project = yaml.safe_load(predictions.dbt_project_file(settings).read_text())
    assert project["vars"]["predictions"] == predictions.compiled(found)


def test_the_shipped_project_holds_the_generated_dbt_files():
    settings = load_settings()
    found = predictions.load_predictions(settings)
    assert prediction_files.stale(settings, found) == []
    wanted = prediction_files.expected(settings, found)
    assert len(wanted) == 3 + 2 * len(found.items)
    for path, text in wanted.items():
        assert (PROJECT / path).read_text() == text
        assert prediction_files.HEADER in text.splitlines()[0]


def test_sync_rewrites_only_the_block(tmp_path):
    spec = predictions.compiled(predictions.load_predictions(load_settings()))
    path = tmp_path / "dbt_project.yml"
    before = "name: x\r\nvars:\n  as_of: null  # kept\n\nmodels: {}\n"
    inserted = predictions.rewrite_block(before, spec, path)
    assert inserted.startswith("name: x\r\nvars:\n  # yamllint disable-line")
    assert inserted.endswith(
        "  # END predictions\n  as_of: null  # kept\n\nmodels: {}\n"
    )
    assert yaml.safe_load(inserted)["vars"]["predictions"] == spec
    # Rewriting a stale block changes its lines and nothing else.
    stale = inserted.replace("horizon_days: 14", "horizon_days: 7", 1)
    assert stale != inserted
    assert predictions.rewrite_block(stale, spec, path) == inserted
    assert predictions.rewrite_block(inserted, spec, path) == inserted
    broken = inserted.replace(predictions.END, "# the end")
    with pytest.raises(PredictionError, match="once each, in that order"):
        predictions.rewrite_block(broken, spec, path)


# -- the command line -----------------------------------------------------------


def project_copy(tmp_path: Path, predictions_text: str | None = None) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("enrich.yml", "dbt_project.yml", "predictions.yml"):
        shutil.copy(PROJECT / name, project / name)
    for name in ("models", "seeds"):  # the generated files and their inputs
        shutil.copytree(PROJECT / name, project / name)
    if predictions_text is not None:
        (project / "predictions.yml").write_text(predictions_text)
    return project


def enrich(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "ENRICH_CONFIG": str(project / "enrich.yml"),
        "ENRICH_HOME": str(project / ".enrich"),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
    }
    return subprocess.run(
        [str(ENRICH), *args], capture_output=True, text=True, env=env, cwd=project
    )


def test_validate_accepts_the_shipped_file(tmp_path):
    result = enrich(project_copy(tmp_path), "predictions", "validate")
    assert result.returncode == 0, result.stderr
    assert "2 prediction(s) are valid" in result.stdout
    assert "subscription (default): first: a first web.formFilledOut where " in (
        result.stdout
    )
    assert "purchase: repeat: at least one commerce.purchases in " in result.stdout
    assert "stale" not in result.stderr


def test_validate_refuses_a_broken_file_without_a_traceback(tmp_path):
    broken = (PROJECT / "predictions.yml").read_text()
    broken = broken.replace("where: page_name = 'subscriptionForm'", "where: pge = 1")
    result = enrich(project_copy(tmp_path, broken), "predictions", "validate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "subscription: target.where: unknown field 'pge'" in result.stderr
    assert len(result.stderr.splitlines()) <= 5, result.stderr


def test_validate_says_a_stale_block_and_sync_rewrites_it(tmp_path):
    project = project_copy(tmp_path)
    spec = project / "predictions.yml"
    spec.write_text(spec.read_text().replace("horizon_days: 14", "horizon_days: 21"))
    result = enrich(project, "predictions", "validate")
    assert result.returncode == 0
    assert "stale" in result.stderr and "enrich predictions sync" in result.stderr
    result = enrich(project, "predictions", "sync")
    assert result.returncode == 0 and "rewritten" in result.stdout
    written = yaml.safe_load((project / "dbt_project.yml").read_text())
    assert written["vars"]["predictions"][0]["horizon_days"] == 21
    assert "stale" not in enrich(project, "predictions", "validate").stderr
    assert "already current" in enrich(project, "predictions", "sync").stdout


def test_the_settings_name_the_file(tmp_path):
    settings = load_settings().model_copy(
        update={"predictions": PredictionSettings(file=tmp_path / "p.yml")}
    )
    assert settings.predictions_file == tmp_path / "p.yml"
    assert load_settings().predictions_file == PROJECT / "predictions.yml"


def test_featurize_passes_the_current_spec_with_its_other_vars(monkeypatch):
    import json

    from ml.features import featurize

    commands = []

    def run_dbt(settings, command, *args):
        commands.append(command)
        return featurize.DbtRun(command, True, 0.0)

    monkeypatch.setattr(featurize, "run_dbt", run_dbt)
    monkeypatch.setattr(featurize, "sample_percent", lambda s: 50.0)
    monkeypatch.setattr(featurize.builds, "record", lambda *a: None)
    settings = load_settings()
    featurize.featurize(settings, dbt_vars={"incremental_lookback_minutes": 0})
    [command] = commands
    # A user's build leaves out dbt's unit tests (the project's CI runs them).
    assert command[:3] == ["build", "--exclude-resource-type", "unit_test"]
    passed = json.loads(command[command.index("--vars") + 1])
    spec = predictions.compiled(predictions.load_predictions(settings))
    assert passed == {
        "predictions": spec,
        "incremental_lookback_minutes": 0,
        "eda_sample_percent": 50.0,
        "pit_test_sample_percent": 50.0,
    }


OTHER_NAMES = """\
predictions:
  - name: any_form_fill
    description: Any form fill {in braces}, shown as is.
    kind: first
    target:
      event_type: web.formFilledOut
  - name: big_order
    kind: repeat
    target:
      event_type: commerce.purchases
      where: order_total > 50
"""


def test_sync_generates_the_models_of_new_names_and_removes_the_old(tmp_path):
    project = project_copy(tmp_path, OTHER_NAMES)
    sets = project / prediction_files.PREDICTIONS_DIR
    before = enrich(project, "predictions", "validate")
    assert before.returncode == 0
    assert "generated dbt files are stale" in before.stderr
    assert "ml_any_form_fill__training_set.sql" in before.stderr
    result = enrich(project, "predictions", "sync")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in sets.glob("*.sql")) == [
        "ml_any_form_fill__scoring_set.sql",
        "ml_any_form_fill__training_set.sql",
        "ml_big_order__scoring_set.sql",
        "ml_big_order__training_set.sql",
    ]
    assert (sets / "ml_big_order__training_set.sql").read_text().splitlines()[1] == (
        "{{ prediction_training_set('big_order') }}"
    )
    models = yaml.safe_load((project / prediction_files.MODELS_FILE).read_text())
    entries = {entry["name"]: entry for entry in models["models"]}
    assert sorted(entries) == [
        "ml_any_form_fill__scoring_set",
        "ml_any_form_fill__training_set",
        "ml_big_order__scoring_set",
        "ml_big_order__training_set",
    ]
    assert entries["ml_big_order__scoring_set"]["config"]["tags"] == [
        "prediction_big_order"
    ]
    [label] = [
        column
        for column in entries["ml_big_order__training_set"]["columns"]
        if column["name"] == "label"
    ]
    assert label["data_tests"] == ["not_null"]
    buckets = yaml.safe_load((project / prediction_files.BUCKETS_FILE).read_text())
    columns = [column["name"] for column in buckets["models"][0]["columns"]]
    assert "first_target_big_order_at" in columns
    assert not any("subscription" in name for name in columns)
    docs = (project / prediction_files.DOCS_FILE).read_text()
    assert "{% docs prediction_big_order %}" in docs
    assert "{% raw %}Any form fill {in braces}" in docs
    assert "prediction_subscription" not in docs
    after = enrich(project, "predictions", "validate")
    assert "stale" not in after.stderr, after.stderr
    assert "already current" in enrich(project, "predictions", "sync").stdout
    # A user's own file without the header is never removed.
    own = sets / "ml_mine__training_set.sql"
    own.write_text("select 1 as x\n")
    (project / "predictions.yml").write_text(
        OTHER_NAMES.split("  - name: big_order")[0]
    )
    assert enrich(project, "predictions", "sync").returncode == 0
    assert not (sets / "ml_big_order__training_set.sql").exists()
    assert own.exists()


def test_featurize_refuses_stale_generated_files_in_one_line(tmp_path, monkeypatch):
    from ml.features import featurize

    project = project_copy(tmp_path, OTHER_NAMES)
    monkeypatch.setattr(featurize, "run_dbt", lambda *a: pytest.fail("dbt ran"))
    settings = load_settings().model_copy(update={"project_dir": project})
    with pytest.raises(PredictionError) as caught:
        featurize.featurize(settings)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert "run `enrich predictions sync`" in message
    assert "ml_any_form_fill__training_set.sql" in message
