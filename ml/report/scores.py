"""The report's scores section: the current scores' spread and their back-test."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.core import warehouse
from ml.core.config import Settings
from ml.report import plots
from ml.report.page import Section, Table
from ml.report.plots import Plot
from ml.scores import read as scores_read
from ml.scores import score


def scores_section(
    settings: Settings, scores: scores_read.CurrentRun | None
) -> Section:
    """The distribution of the current scores and the back-test by decile.

    Args:
        settings: Project settings.
        scores: The current scores (:func:`ml.scores.read.current_run`).
    """
    section = Section("scores", "Scores")
    if scores is None:
        section.items.append("No scores ingested yet: run `enrich score` and `ingest`.")
        return section
    section.summary = (
        f"{scores.rows:,} profiles scored by {scores.model_name} "
        f"v{scores.model_version} as of {scores.as_of:%Y-%m-%d} "
        f"(run {scores.run_id})."
    )
    with warehouse.connect(settings) as conn:
        spread = scores_read.score_distribution(conn, scores.batch_id, bins=60)
    edges = spread.edges
    mean = scores.mean_propensity

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        axes.bar(
            edges[:-1],
            spread.counts,
            width=np.diff(edges),
            align="edge",
            color=plots.MODEL,
        )
        axes.axvline(mean, color=plots.ACCENT, linewidth=1.5, label=f"mean {mean:.3f}")
        plots.style(axes, "Distribution of propensities", "propensity", "profiles")
        plots.thousands(axes)
        axes.legend(fontsize=8, loc="upper right")

    section.items.append(
        plots.plot(
            "Propensity distribution",
            "Scored profiles per propensity bin (calibrated probabilities), up to "
            f"the 99.5th percentile ({spread.upper:.3f}); {spread.beyond:,} "
            f"profiles score higher, up to {spread.highest:.3f}.",
            draw,
        )
    )
    table = score.backtest(
        settings, scores.model_name, scores.model_version, scores.as_of
    )
    if table is None:
        section.items.append(
            "No simulated future for this as_of (the data is not synthetic, or "
            "the generator's as_of differs): no back-test."
        )
        return section
    section.items.append(_backtest_plot(table))
    section.items.append(
        Table(
            "Back-test by decile",
            ["decile", "profiles", "mean propensity", "realised conversion"],
            [
                [
                    row["decile"],
                    row["profiles"],
                    f"{row['mean_propensity']:.4f}",
                    f"{row['realised_rate']:.4f}",
                ]
                for row in reversed(table)
            ],
        )
    )
    return section


def _backtest_plot(table: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.subplots()
        deciles = np.array([row["decile"] for row in table])
        width = 0.4
        axes.bar(
            deciles - width / 2,
            [row["mean_propensity"] for row in table],
            width=width,
            color=plots.BASELINE,
            label="mean predicted propensity",
        )
        axes.bar(
            deciles + width / 2,
            [row["realised_rate"] for row in table],
            width=width,
            color=plots.MODEL,
            label="realised conversion (simulated future)",
        )
        axes.set_xticks(deciles)
        plots.style(
            axes,
            "Back-test: predicted vs realised by score decile",
            "score decile (10 = highest)",
            "conversion rate",
        )
        plots.percent(axes, decimals=1)
        axes.legend(fontsize=8, loc="upper left")

    return plots.plot(
        "Back-test",
        "Each decile's mean score beside the share that converted in the "
        "generator's simulated future window.",
        draw,
    )
