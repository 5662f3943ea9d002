"""Holdout metrics of a model's scores: discrimination, calibration, lift.

Curves are kept on a fixed grid, small enough to store in the registry. On
synthetic data, :func:`oracle_auc` measures the generator's true
probabilities on the same holdout rows: the ceiling a model can reach.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ml.core import relations, sql, warehouse
from ml.core.config import Settings
from ml.model.frames import LABEL

CURVE_POINTS = 101  # points kept of each ROC and precision-recall curve


def roc_points(labels: np.ndarray, scores: np.ndarray) -> dict[str, list[float]]:
    """The ROC curve as the true-positive rate at ``CURVE_POINTS`` FP rates.

    Args:
        labels: 0/1 outcomes.
        scores: The model's scores of the same rows.

    Returns:
        ``fpr`` (the grid) and ``tpr``.
    """
    from sklearn.metrics import roc_curve

    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    fpr, tpr, _ = roc_curve(labels, scores)
    return {"fpr": grid.tolist(), "tpr": np.interp(grid, fpr, tpr).tolist()}


def curves(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """ROC and precision-recall curves on a fixed grid (small enough to store).

    The ROC curve is the true-positive rate at ``CURVE_POINTS`` false-positive
    rates; the precision-recall curve is the interpolated precision (the best
    precision at that recall or more) at as many recalls.

    Args:
        labels: 0/1 outcomes.
        scores: The model's scores of the same rows.

    Returns:
        ``roc`` and ``precision_recall``.
    """
    from sklearn.metrics import precision_recall_curve

    grid = np.linspace(0.0, 1.0, CURVE_POINTS)
    precision, recall, _ = precision_recall_curve(labels, scores)
    # recall falls as the threshold rises: reverse, then the running maximum of
    # precision from the right is the interpolated precision.
    recall, precision = recall[::-1], precision[::-1]
    best = np.maximum.accumulate(precision[::-1])[::-1]
    at = np.clip(np.searchsorted(recall, grid, side="left"), 0, recall.size - 1)
    return {
        "roc": roc_points(labels, scores),
        "precision_recall": {"recall": grid.tolist(), "precision": best[at].tolist()},
    }


def _reliability(
    labels: np.ndarray, scores: np.ndarray, bins: int
) -> tuple[list[dict[str, Any]], float]:
    """Equal-width probability bins over the observed range, and the ECE."""
    edges = np.linspace(0.0, max(scores.max(), 1e-9), bins + 1)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    reliability = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        predicted, observed = scores[mask].mean(), labels[mask].mean()
        ece += mask.mean() * abs(predicted - observed)
        reliability.append(
            {
                "bin": b,
                "rows": int(mask.sum()),
                "mean_predicted": float(predicted),
                "observed_rate": float(observed),
            }
        )
    return reliability, ece


def _deciles(labels: np.ndarray, scores: np.ndarray) -> list[dict[str, Any]]:
    """Rows, conversion, lift and cumulative gain by score decile, 10 first."""
    base_rate = labels.mean()
    order = np.argsort(-scores, kind="stable")
    decile_of = np.empty(labels.size, dtype=int)
    decile_of[order] = 10 - (np.arange(labels.size) * 10 // labels.size)
    deciles = []
    positives = labels.sum()
    cumulative = 0
    for decile in range(10, 0, -1):
        mask = decile_of == decile
        rate = labels[mask].mean() if mask.any() else 0.0
        cumulative += labels[mask].sum()
        deciles.append(
            {
                "decile": decile,
                "rows": int(mask.sum()),
                "mean_predicted": float(scores[mask].mean()) if mask.any() else None,
                "conversion_rate": float(rate),
                "lift": float(rate / base_rate) if base_rate else None,
                "cumulative_gain": float(cumulative / positives) if positives else None,
            }
        )
    return deciles


def evaluate(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Holdout metrics: discrimination, calibration, lift and gain by decile.

    Args:
        labels: 0/1 outcomes.
        scores: Calibrated probabilities of the same rows.
        bins: Bins of the reliability table.

    Returns:
        The metrics as the registry stores them.
    """
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        log_loss,
        roc_auc_score,
    )

    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    reliability, ece = _reliability(labels, scores, bins)
    deciles = _deciles(labels, scores)
    top = deciles[0]
    return {
        "rows": int(labels.size),
        "positives": int(labels.sum()),
        "base_rate": float(labels.mean()),
        "roc_auc": float(roc_auc_score(labels, scores)),
        "pr_auc": float(average_precision_score(labels, scores)),
        "log_loss": float(log_loss(labels, np.clip(scores, 1e-7, 1 - 1e-7))),
        "brier": float(brier_score_loss(labels, scores)),
        "ece": float(ece),
        "top_decile_precision": top["conversion_rate"],
        "top_decile_lift": top["lift"],
        "reliability": reliability,
        "deciles": deciles,
        "curves": curves(labels, scores),
    }


def oracle_auc(
    settings: Settings, holdout: pd.DataFrame, cutoff: pd.Timestamp
) -> float | None:
    """AUC of the generator's true probabilities on the same holdout rows.

    Args:
        settings: Project settings (the warehouse).
        holdout: The holdout rows (``profile_id`` and the label).
        cutoff: The holdout's cutoff (the truth's window start).

    Returns:
        The AUC; None when the warehouse holds no synthetic truth for this
        window.
    """
    from sklearn.metrics import roc_auc_score

    with warehouse.connect(settings) as conn:
        if not warehouse.exists(conn, relations.SYNTHETIC_TRUTH):
            return None
        rows = conn.execute(
            sql.compose(
                "select profile_id, p_true from {synthetic_truth} "
                "where window_start = %s"
            ),
            [cutoff.to_pydatetime()],
        ).fetchall()
    truth = dict(rows)
    p_true = holdout["profile_id"].map(truth)
    known = p_true.notna()
    # Profiles from loaded files have no truth; judge only when nearly all do.
    if known.mean() < 0.95 or holdout.loc[known, LABEL].nunique() < 2:
        return None
    return float(roc_auc_score(holdout.loc[known, LABEL].astype(int), p_true[known]))
