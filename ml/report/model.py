"""The report's model section: the model of the current scores, on its holdout.

Curves, calibration, lift and gain, importance and baselines, from the
registry's record of the version and its artifacts in the lake.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

from ml.core.config import Settings
from ml.core.errors import StorageError
from ml.model import diagnostics, registry
from ml.report import plots
from ml.report.page import Section, Table
from ml.report.plots import Plot
from ml.scores import read as scores_read

logger = logging.getLogger(__name__)


def _model_version(
    settings: Settings, scores: scores_read.CurrentRun | None
) -> registry.Version | None:
    try:
        if scores is not None:
            return registry.get(settings, scores.model_version)
        return registry.get(settings)
    except registry.RegistryError:
        found = registry.versions(settings)
        return found[0] if found else None


def _importance(settings: Settings, version: registry.Version) -> list[dict[str, Any]]:
    """The version's explanations, from its artifacts in the lake."""
    lake, folder = registry.artifact_lake(settings, version)
    try:
        metrics = json.loads(lake.get_bytes(f"{folder}/metrics.json"))
        importance: list[dict[str, Any]] = metrics["importance"]
        return importance
    except (StorageError, ValueError, KeyError) as exc:
        logger.warning("no explanations for v%s: %s", version.version, exc)
        return []


def model_section(settings: Settings, scores: scores_read.CurrentRun | None) -> Section:
    """Curves, calibration, lift and gain, importance, baselines, decision.

    Args:
        settings: Project settings.
        scores: The current scores; their model is shown (else the
            production version, else the newest).
    """
    section = Section("model", "Model")
    version = _model_version(settings, scores)
    if version is None:
        section.items.append("No model trained yet: run `enrich train`.")
        return section
    m = version.metrics
    oracle = m.get("oracle_auc")
    section.summary = (
        f"{version.model_name} v{version.version} ({version.status}): holdout ROC "
        f"AUC {m['roc_auc']:.3f}"
        + (f" (the generator's oracle reaches {oracle:.3f})" if oracle else "")
        + f" on {m['rows']:,} holdout rows, {m['positives']:,} conversions."
    )
    section.items.append(f"Promotion decision: {version.decision or 'not yet decided'}")
    compared = m.get("baseline_comparison")
    if compared is not None:
        low, high = compared["interval"]
        section.items.append(
            f"Against the best baseline on the same holdout: "
            f"{compared['best_baseline'].replace('_', ' ')} "
            f"(AUC {compared['baseline_auc']:.3f}); CatBoost minus it "
            f"{compared['difference']:+.3f}, {compared['level']:.0%} bootstrap "
            f"interval {low:+.3f} to {high:+.3f}"
            + (
                f": {compared['best_baseline'].replace('_', ' ')} won"
                + (
                    ", so the gate does not promote this model."
                    if settings.registry.baseline_rule == "refuse"
                    else " (registry.baseline_rule is warn: promoted anyway)."
                )
                if compared["beaten"]
                else "."
            )
        )
    section.items.extend(_prediction_items(version))
    section.items.append(_auc_bars(version))
    if "curves" in m:
        section.items.append(_curves(version))
    else:
        section.items.append(
            f"v{version.version} was trained before curves were recorded: "
            "retrain to see ROC and precision-recall curves."
        )
    section.items.append(_calibration(m))
    section.items.append(_lift_gain(m))
    importance = _importance(settings, version)
    if importance:
        section.items.append(_importance_plot(importance))
    section.items.append(
        Table(
            "Holdout metrics",
            ["metric", "value"],
            [
                ["ROC AUC", f"{m['roc_auc']:.4f}"],
                ["PR AUC", f"{m['pr_auc']:.4f}"],
                ["log loss", f"{m['log_loss']:.4f}"],
                ["Brier score", f"{m['brier']:.4f}"],
                ["expected calibration error", f"{m['ece']:.4f}"],
                ["top-decile precision", f"{m['top_decile_precision']:.4f}"],
                ["top-decile lift", f"{m['top_decile_lift']:.2f}"],
                ["base rate", f"{m['base_rate']:.4f}"],
                ["oracle ROC AUC", "n/a" if oracle is None else f"{oracle:.4f}"],
                *_leakage_rows(version.leakage),
            ],
        )
    )
    return section


def _prediction_items(version: registry.Version) -> list[str | Table]:
    """The training window and the per-cutoff counts (older versions: a note)."""
    record = version.data.get("diagnostics")
    if record is None:
        return [
            f"v{version.version} was trained before the per-cutoff counts were "
            "recorded: retrain to see them."
        ]
    target = diagnostics.target_text(
        record["prediction"], record["event_type"], record["where"]
    )
    return [
        f"Prediction {record['prediction']} ({record['kind']}): {target}; "
        f"{diagnostics.window_text(record)}.",
        Table(
            "Per cutoff: target events before it, eligible profiles, positives",
            diagnostics.TABLE_HEADER,
            diagnostics.table_rows(record),
        ),
    ]


def _leakage_rows(leakage: dict[str, Any]) -> list[list[str]]:
    """The leakage audit's rows of the metrics table (older versions: none)."""
    null = leakage.get("permutation_test")
    if null is None:
        return []
    deciding = leakage.get("deciding_features", {})
    verdict = "passed" if leakage["passed"] else "; ".join(leakage["reasons"])
    return [
        [
            f"features with AUC alone >= {leakage['max_feature_auc']} (leakage)",
            ", ".join(f"{k} {v:.3f}" for k, v in deciding.items()) or "none",
        ],
        [
            "permuted-label AUC (leakage audit)",
            f"{null['auc']:.4f} (null 0.5 +/- {null['null_sd']:.4f}, "
            f"p = {null['p_value']:.3g})",
        ],
        ["leakage audit", verdict],
    ]


def _auc_bars(version: registry.Version) -> Plot:
    m = version.metrics
    bars = [("CatBoost", m["roc_auc"], plots.MODEL)]
    for name, label in (
        ("logistic_regression", "logistic regression"),
        ("random_forest", "random forest"),
        ("recency_frequency", "recency-frequency"),
    ):
        if name in version.baselines:
            bars.append((label, version.baselines[name]["roc_auc"], plots.BASELINE))
    if m.get("oracle_auc") is not None:
        bars.append(("oracle (true p)", m["oracle_auc"], plots.ORACLE))
    null = version.leakage.get("permutation_test")
    if null is not None:
        bars.append(("permuted labels", null["auc"], plots.NEGATIVE))

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        positions = np.arange(len(bars))
        axes.barh(positions, [b[1] for b in bars], color=[b[2] for b in bars])
        axes.set_yticks(positions, [b[0] for b in bars])
        axes.invert_yaxis()
        for position, (_, value, _) in enumerate(bars):
            plots.label_bar(axes, f"{value:.3f}", value, position)
        axes.axvline(0.5, color="#555", linestyle=":", linewidth=1)
        plots.style(
            axes, "Holdout ROC AUC: the model, its baselines and the oracle", "AUC"
        )
        axes.grid(axis="y", visible=False)
        axes.set_xlim(0.4, 1.0)

    return plots.plot(
        "Model against baselines",
        "ROC AUC on the same holdout rows. The oracle scores with the generator's "
        "true probabilities (the ceiling); permuted labels must sit near 0.5.",
        draw,
        height=0.4 * len(bars) + 1.2,
    )


def _curves(version: registry.Version) -> Plot:
    curves = version.metrics["curves"]
    base_rate = version.metrics["base_rate"]

    def draw(figure: Any) -> None:
        roc, pr = figure.subplots(1, 2)
        roc.plot(
            curves["roc"]["fpr"],
            curves["roc"]["tpr"],
            color=plots.MODEL,
            linewidth=2,
            label=f"CatBoost ({version.metrics['roc_auc']:.3f})",
        )
        for name, style in (("random_forest", "--"), ("logistic_regression", ":")):
            baseline = version.baselines.get(name, {})
            if "roc" in baseline:
                roc.plot(
                    baseline["roc"]["fpr"],
                    baseline["roc"]["tpr"],
                    color=plots.BASELINE,
                    linestyle=style,
                    label=f"{name.replace('_', ' ')} ({baseline['roc_auc']:.3f})",
                )
        roc.plot([0, 1], [0, 1], color="#bbb", linewidth=1)
        plots.style(roc, "ROC curve", "false-positive rate", "true-positive rate")
        roc.legend(fontsize=8, loc="lower right")
        pr.plot(
            curves["precision_recall"]["recall"],
            curves["precision_recall"]["precision"],
            color=plots.MODEL,
            linewidth=2,
            label=f"CatBoost (PR AUC {version.metrics['pr_auc']:.3f})",
        )
        pr.axhline(
            base_rate, color="#bbb", linewidth=1, label=f"base rate {base_rate:.3f}"
        )
        plots.style(pr, "Precision-recall curve", "recall", "precision")
        pr.legend(fontsize=8, loc="upper right")

    return plots.plot(
        "ROC and precision-recall",
        "Holdout curves of the model (and the baselines' ROC curves).",
        draw,
        width=9.0,
    )


def _calibration(metrics: dict[str, Any]) -> Plot:
    """Predicted against observed per score decile (equal-size groups).

    Equal-size groups keep every point on the same footing; the equal-width
    bins of the ECE leave a few rows in the top bins, which only adds noise
    to a picture. Versions trained before deciles kept their mean prediction
    fall back to those bins.
    """
    deciles = [row for row in metrics["deciles"] if row.get("mean_predicted")]
    if deciles:
        points = [(r["mean_predicted"], r["conversion_rate"]) for r in deciles]
        label = "score deciles"
    else:
        points = [
            (r["mean_predicted"], r["observed_rate"]) for r in metrics["reliability"]
        ]
        label = "probability bins"
    points.sort()

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        predicted, observed = zip(*points, strict=True)
        top = max([*predicted, *observed, 1e-3]) * 1.1
        axes.plot([0, top], [0, top], color="#bbb", linewidth=1, label="perfect")
        axes.plot(
            predicted,
            observed,
            color=plots.MODEL,
            marker="o",
            linewidth=1.5,
            label=label,
        )
        axes.set_xlim(0, top)
        axes.set_ylim(0, top)
        plots.percent(axes, "x", decimals=1)
        plots.percent(axes, "y", decimals=1)
        plots.style(
            axes,
            f"Calibration (ECE {metrics['ece']:.4f})",
            "mean predicted probability",
            "observed conversion rate",
        )
        axes.legend(fontsize=8, loc="upper left")

    return plots.plot(
        "Calibration",
        f"Mean predicted probability against the observed conversion rate of the "
        f"holdout, per {label[:-1]}; on the diagonal is perfect.",
        draw,
        width=5.5,
        height=4.2,
    )


def _lift_gain(metrics: dict[str, Any]) -> Plot:
    deciles = sorted(metrics["deciles"], key=lambda row: -row["decile"])

    def draw(figure: Any) -> None:
        lift, gain = figure.subplots(1, 2)
        positions = np.arange(len(deciles))
        lift.bar(positions, [row["lift"] or 0 for row in deciles], color=plots.MODEL)
        lift.set_xticks(positions, [str(row["decile"]) for row in deciles])
        lift.axhline(1.0, color="#555", linestyle=":", linewidth=1)
        plots.style(lift, "Lift by decile", "score decile (10 = highest)", "lift")
        shares = [0.0, *[(i + 1) / len(deciles) for i in range(len(deciles))]]
        gains = [0.0, *[row["cumulative_gain"] or 0 for row in deciles]]
        gain.plot(
            shares, gains, color=plots.MODEL, marker="o", linewidth=2, label="model"
        )
        gain.plot([0, 1], [0, 1], color="#bbb", linewidth=1, label="random")
        plots.style(
            gain,
            "Cumulative gain",
            "share of profiles contacted (best first)",
            "share of conversions",
        )
        plots.percent(gain, "x")
        plots.percent(gain, "y")
        gain.legend(fontsize=8, loc="lower right")

    return plots.plot(
        "Lift and gain",
        "Holdout conversion rate per decile over the base rate, and the share of "
        "conversions reached by contacting the top deciles.",
        draw,
        width=9.0,
    )


def _importance_plot(importance: list[dict[str, Any]], top: int = 15) -> Plot:
    shown = importance[:top]
    return plots.plot(
        "Feature importance",
        f"The {len(shown)} features with the largest mean |SHAP| on holdout rows "
        "(log-odds).",
        plots.hbar(
            "Mean |SHAP| per feature",
            [row["feature"] for row in shown],
            [row["mean_abs_shap"] for row in shown],
            "mean |SHAP| (log-odds)",
            counts=False,
        ),
        height=0.28 * len(shown) + 1.2,
    )
