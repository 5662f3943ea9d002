"""The model card: what a registered version predicts, from what, how well.

Written next to a version's artifacts in the lake (``model_card.md``) by the
registry; read by people.
"""

from __future__ import annotations

from typing import Any

from ml.model import diagnostics
from ml.model import gate as baseline_gate
from ml.model.train import TrainedModel


def model_card(name: str, number: int, trained: TrainedModel) -> str:
    """A short Markdown model card."""
    m, data, leak = trained.metrics, trained.data, trained.leakage
    oracle = "n/a" if m.get("oracle_auc") is None else f"{m['oracle_auc']:.3f}"
    lines = [
        f"# {name} v{number}",
        "",
        *_spec_lines(data.get("prediction")),
        "",
        *_diagnostics_lines(data.get("diagnostics")),
        "",
        "## Data",
        f"- Training export: `{data['training_export']}` (as_of {data['as_of']})",
        f"- Cutoffs: {', '.join(data['cutoffs'])}; holdout {data['holdout_cutoff']}",
        f"- Rows: {data['rows']}; positives: {data['positives']}",
        f"- Features: {len(trained.features)} ({len(trained.categorical)} categorical)",
        "",
        "## Holdout metrics",
        f"- ROC AUC {m['roc_auc']:.3f} (oracle {oracle}); PR AUC {m['pr_auc']:.3f}",
        f"- Log loss {m['log_loss']:.4f}; Brier {m['brier']:.4f}; ECE {m['ece']:.4f}",
        f"- Top decile: precision {m['top_decile_precision']:.3f}, "
        f"lift {m['top_decile_lift']:.2f}",
        "",
        "## Baselines (same split)",
        *(f"- {k}: ROC AUC {v['roc_auc']:.3f}" for k, v in trained.baselines.items()),
        *_comparison_lines(number, m.get("baseline_comparison"), trained.baselines),
        "",
        "## Leakage audit",
        f"- Highest single-feature AUC: {leak['max_single_feature_auc']:.3f}; "
        f"flagged: {leak['flagged_features'] or 'none'}",
        *_permutation_lines(leak),
        "",
        "## Most important features (mean |SHAP|)",
        *(
            f"- {row['feature']}: {row['mean_abs_shap']:.4f}"
            for row in trained.importance[:10]
        ),
        "",
    ]
    return "\n".join(lines)


def _spec_lines(spec: dict[str, Any] | None) -> list[str]:
    """What the model predicts: the prediction's spec in words."""
    if not spec:
        return ["Predicts the default prediction within its horizon after a cutoff."]
    target = spec["target"]
    event = target["event_type"] or "any event"
    where = f" where {target['where']}" if target.get("where") else ""
    kinds = {
        "first": f"a first {event}{where}",
        "repeat": f"at least one {event}{where}",
        "churn": f"no {event}{where} (churn)",
    }
    window = (
        f"{spec['horizon_days']} days from {spec['gap_days']} days after the cutoff"
    )
    lines = [
        f"Prediction `{spec['name']}` ({spec['kind']}): {kinds[spec['kind']]} "
        f"within {window}; {spec['training_cutoffs']} training cutoffs "
        f"{spec['cutoff_step_days']} days apart.",
    ]
    if spec.get("eligible"):
        lines.append(f"Eligible: {spec['eligible']}.")
    if spec.get("description"):
        lines += ["", " ".join(str(spec["description"]).split())]
    return lines


def _diagnostics_lines(record: dict[str, Any] | None) -> list[str]:
    """What the model predicts, its training window and the per-cutoff counts."""
    if record is None:
        return []
    target = diagnostics.target_text(
        record["prediction"], record["event_type"], record["where"]
    )
    header = diagnostics.TABLE_HEADER
    return [
        f"Target: {target}.",
        "",
        f"Training window: {diagnostics.window_text(record)}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *(
            "| " + " | ".join(str(cell) for cell in row) + " |"
            for row in diagnostics.table_rows(record)
        ),
    ]


def _permutation_lines(leak: dict[str, Any]) -> list[str]:
    """The audit's thresholded features, permutation test and reasons."""
    null = leak["permutation_test"]
    deciding = leak["deciding_features"]
    return [
        f"- At or above {leak['max_feature_auc']}: "
        + (", ".join(f"{k} {v:.3f}" for k, v in deciding.items()) or "none")
        + f" (allowed: {leak['allowed_features'] or 'none'})",
        f"- Permutation test ({null['method']}): AUC {null['auc']:.3f}, "
        f"null 0.5 +/- {null['null_sd']:.3f}, p = {null['p_value']:.3g} "
        f"(fails below {null['alpha']:g})",
        f"- {'Passed' if leak['passed'] else 'Failed: ' + '; '.join(leak['reasons'])}",
    ]


def _comparison_lines(
    number: int, compared: dict[str, Any] | None, baselines: dict[str, Any]
) -> list[str]:
    """The model card's lines on the baseline comparison and its definitions."""
    if compared is None:
        return []
    columns = baselines.get("recency_frequency", {}).get("columns", [])
    return [
        f"- Against the best baseline: {baseline_gate.verdict(number, compared)} "
        f"(paired stratified bootstrap, {compared['resamples']} resamples); "
        "a candidate whose interval lies entirely below 0 is not promoted when "
        "registry.baseline_rule is refuse (warn: promoted, and said here).",
        "- recency_frequency ranks without a model: the mean of the decile "
        "positions of days_since_last_event, count_events_total, "
        "count_events_28d and the target event's count and recency columns, "
        "each turned the way the training labels rank it "
        f"(here: {', '.join(columns) or 'none of them'}).",
    ]
