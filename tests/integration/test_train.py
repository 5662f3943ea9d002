"""Training on a real export, the registry and its promotion gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.features import export
from ml.model import registry, train

pytestmark = pytest.mark.integration

ENRICH = Path(sys.executable).parent / "enrich"


@pytest.fixture(scope="module")
def exported(built, settings, warehouse):
    from ml.core.warehouse import connect

    with connect(settings) as conn:
        conn.execute("drop schema if exists registry cascade")
    [training] = export.export(settings, ["ml_training_set"])
    return training


def test_training_evaluates_on_the_latest_cutoff(exported, settings, quick):
    trained = train.train(quick(settings), exported)
    assert trained.data["holdout_cutoff"] == exported.manifest["cutoffs"][-1]
    assert trained.data["rows"]["holdout"] > 500
    metrics = trained.metrics
    assert 0.55 < metrics["roc_auc"] <= 1
    assert metrics["oracle_auc"] is not None and metrics["oracle_auc"] > 0.6
    assert metrics["ece"] < 0.05
    assert sum(d["rows"] for d in metrics["deciles"]) == metrics["rows"]
    assert metrics["deciles"][-1]["cumulative_gain"] == pytest.approx(1.0)
    assert set(trained.baselines) == {
        "logistic_regression",
        "random_forest",
        "recency_frequency",
    }
    compared = metrics["baseline_comparison"]
    assert set(compared["per_baseline"]) == set(trained.baselines)
    best = max(trained.baselines.values(), key=lambda b: b["roc_auc"])["roc_auc"]
    assert compared["baseline_auc"] == pytest.approx(best)
    low, high = compared["interval"]
    assert low <= compared["difference"] <= high
    assert trained.leakage["passed"]
    null = trained.leakage["permutation_test"]
    # A small holdout: chance alone spreads the AUC by a few hundredths.
    assert 0 < null["null_sd"] < 0.2 and null["p_value"] >= null["alpha"]
    assert (
        trained.importance[0]["mean_abs_shap"]
        >= trained.importance[-1]["mean_abs_shap"]
    )
    scores = trained.holdout_scores["score"]
    assert scores.between(0, 1).all()
    # Deterministic under a seed.
    again = train.train(quick(settings), exported)
    assert again.metrics["roc_auc"] == pytest.approx(metrics["roc_auc"], abs=1e-9)


def forget_comparison(settings, version: int) -> None:
    """Drop a version's baseline comparison (as versions trained before it)."""
    from ml.core.warehouse import connect

    with connect(settings, autocommit=True) as conn:
        conn.execute(
            "update registry.model_versions set metrics = metrics - "
            "'baseline_comparison' where model_name = %s and version = %s",
            [settings.train.model_name, version],
        )


def test_the_promotion_gate_and_rollback(exported, settings, quick):
    weak = quick(settings, iterations=2, depth=1)
    strong = quick(settings, iterations=120, depth=4)

    v1, new = registry.register(weak, train.train(weak, exported))
    assert new and v1.status == "candidate"
    # Two trees of depth 1 score about 0.5: a baseline beats them beyond the
    # interval, and the decision names it.
    best = v1.metrics["baseline_comparison"]["best_baseline"].replace("_", " ")
    assert v1.metrics["baseline_comparison"]["interval"][1] < 0
    refusing = weak.model_copy(
        update={
            "registry": weak.registry.model_copy(update={"baseline_rule": "refuse"})
        }
    )
    v1, decision = registry.promote(refusing, v1.version)
    assert v1.status == "candidate"
    assert f"{best} won" in decision and "interval" in decision
    shown = json.loads(
        subprocess.run(
            [str(ENRICH), "-q", "model", "show", str(v1.version), "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert shown["decision"] == decision
    assert shown["metrics"]["baseline_comparison"]["interval"][1] < 0
    # Under the default rule (warn) the same candidate is promoted, and the
    # decision says which baseline beats it.
    v1, decision = registry.promote(weak, v1.version)
    assert v1.status == "production", decision
    assert "WARNING" in decision and best in decision

    v2, _ = registry.register(strong, train.train(strong, exported))
    forget_comparison(settings, v2.version)
    v2, decision = registry.promote(strong, v2.version)
    assert v2.status == "production", decision
    assert f"replaces v{v1.version}" in decision
    assert v2.metrics["roc_auc"] > v1.metrics["roc_auc"]

    # The weak parameters again: same export and parameters, no new version;
    # nor after exporting the unchanged data again (a pipeline re-run).
    again, new = registry.register(weak, train.train(weak, exported))
    assert not new and again.version == v1.version
    [reexported] = export.export(settings, ["ml_training_set"])
    assert reexported.folder != exported.folder
    again, new = registry.register(weak, train.train(weak, reexported))
    assert not new and again.version == v1.version

    worse = quick(settings, iterations=3, depth=1)
    v3, _ = registry.register(worse, train.train(worse, exported))
    forget_comparison(settings, v3.version)
    v3, decision = registry.promote(worse, v3.version)
    assert v3.status == "candidate"
    assert "below production" in decision and f"v{v2.version}" in decision
    assert registry.get(settings).version == v2.version

    floor = settings.model_copy(
        update={"registry": settings.registry.model_copy(update={"min_auc": 0.99})}
    )
    _, decision = registry.promote(floor, v3.version)
    assert "below the floor" in decision

    restored, decision = registry.rollback(settings)
    assert restored.version == v1.version and restored.status == "production"
    statuses = {v.version: v.status for v in registry.versions(settings)}
    assert statuses == {
        v1.version: "production",
        v2.version: "archived",
        v3.version: "candidate",
    }
    assert sum(status == "production" for status in statuses.values()) == 1


def test_model_show_json_carries_the_contract_fields(exported, settings):
    result = subprocess.run(
        [str(ENRICH), "-q", "model", "show", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    shown = json.loads(result.stdout)
    assert shown["status"] == "production"
    for key in ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "oracle_auc"):
        assert key in shown["metrics"]
    assert "roc_auc" in shown["baselines"]["random_forest"]
    assert "roc_auc" in shown["baselines"]["logistic_regression"]
    assert "roc_auc" in shown["baselines"]["recency_frequency"]
    assert "p_value" in shown["leakage"]["permutation_test"]
    card = Path(shown["artifact_uri"]) / "model_card.md"
    assert "Leakage audit" in card.read_text()
    assert (Path(shown["artifact_uri"]) / "_manifest.json").exists()
