"""Every prediction of predictions.yml trains and registers its own model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.features import export
from ml.model import frames, registry, train

pytestmark = pytest.mark.integration

ENRICH = Path(sys.executable).parent / "enrich"


@pytest.fixture(scope="module")
def targets(built, settings, warehouse):
    """A fresh registry, and the shipped predictions' training exports."""
    from ml.core.warehouse import connect

    with connect(settings) as conn:
        conn.execute("drop schema if exists registry cascade")
    found = frames.prediction_models(settings)
    exported = export.export(settings, [target.training_set for target in found])
    return {
        target.name: (target, item)
        for target, item in zip(found, exported, strict=True)
    }


def test_each_prediction_is_its_own_registry_model(targets, settings, quick):
    subscription, purchase = targets["subscription"][0], targets["purchase"][0]
    assert subscription.is_default and subscription.training_set == "ml_training_set"
    assert subscription.model_name == settings.train.model_name
    assert purchase.model_name == "purchase_propensity"
    assert purchase.training_set == "ml_purchase__training_set"

    fast = quick(settings)
    trained = {
        name: train.train(fast, exported, target=target)
        for name, (target, exported) in targets.items()
    }
    # Each trains on its own set: the purchase set has the target features.
    assert "count_target_7d" in trained["purchase"].features
    assert "count_target_7d" not in trained["subscription"].features
    assert trained["purchase"].data["prediction"]["kind"] == "repeat"
    assert trained["purchase"].data["training_set"] == "ml_purchase__training_set"
    assert trained["purchase"].metrics["oracle_auc"] is None
    registered = {}
    for name, model in trained.items():
        version, new = registry.register(fast, model)
        assert new and version.version == 1, name
        version, decision = registry.promote(fast, version.version, version.model_name)
        assert version.status == "production", decision
        registered[name] = version
    assert registered["purchase"].model_name == "purchase_propensity"
    assert registry.get(settings).model_name == "subscription_propensity"

    # A second purchase version: its own number, its gate against its own model.
    strong = quick(settings, iterations=90, depth=4)
    target, exported = targets["purchase"]
    v2, new = registry.register(strong, train.train(strong, exported, target=target))
    assert new and (v2.model_name, v2.version) == ("purchase_propensity", 2)
    v2, decision = registry.promote(strong, 2, "purchase_propensity")
    assert v2.status == "production", decision
    assert "replaces v1" in decision
    restored, _ = registry.rollback(settings, "purchase_propensity")
    assert (restored.model_name, restored.version) == ("purchase_propensity", 1)
    # The subscription model saw none of it.
    [only] = registry.versions(settings, "subscription_propensity")
    assert (only.version, only.status) == (1, "production")
    assert only.decision == registered["subscription"].decision
    assert {
        v.version: v.status for v in registry.versions(settings, "purchase_propensity")
    } == {
        1: "production",
        2: "archived",
    }


def test_a_prediction_refuses_another_predictions_export(targets, settings, quick):
    purchase = targets["purchase"][0]
    subscription_export = targets["subscription"][1]
    with pytest.raises(frames.TrainError, match="trains on ml_purchase__training_set"):
        train.train(quick(settings), subscription_export, target=purchase)


def test_model_commands_take_the_prediction(targets, settings):
    def enrich(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ENRICH), "-q", "model", *args],
            capture_output=True,
            text=True,
            check=check,
        )

    shown = json.loads(enrich("show", "--prediction", "purchase", "--json").stdout)
    assert shown["model_name"] == "purchase_propensity"
    assert shown["status"] == "production"
    assert shown["data"]["prediction"]["name"] == "purchase"
    assert "roc_auc" in shown["metrics"]
    assert set(shown["baselines"]) >= {"logistic_regression", "random_forest"}
    card = (Path(shown["artifact_uri"]) / "model_card.md").read_text()
    assert "Prediction `purchase` (repeat)" in card
    default = json.loads(enrich("show", "--json").stdout)
    assert default["model_name"] == "subscription_propensity"

    listed = enrich("list", "--prediction", "purchase").stdout
    assert listed.startswith("purchase_propensity:")
    assert len([line for line in listed.splitlines() if "production" in line]) == 1

    unknown = enrich("show", "--prediction", "nosuch", check=False)
    assert unknown.returncode == 2
    assert "No prediction 'nosuch'" in unknown.stderr
    assert "Traceback" not in unknown.stderr
