"""The report's audiences section: reach, the latest build and its deliveries.

Sizing comes from :mod:`ml.activation.sizing`; the latest build, its
audiences' sizes and its deliveries from :mod:`ml.activation.read`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ml.activation import read as activation_read
from ml.activation import sizing
from ml.core import relations, warehouse
from ml.core.config import Settings
from ml.report import plots
from ml.report.page import Section, Table
from ml.report.plots import Plot


def audiences_section(settings: Settings) -> Section:
    """Reach curves, the interval heatmap, sizes, deltas, holdout, deliveries."""
    section = Section("audiences", "Audiences")
    with warehouse.connect(settings) as conn:
        if not warehouse.exists(conn, relations.PROFILES_ENRICHED):
            section.items.append(
                "No enriched profiles yet: run `enrich run` (or `enrich featurize` "
                "after `enrich ingest`)."
            )
            return section
        build = activation_read.latest_build(conn)
        sizes: list[activation_read.AudienceSize] = []
        deliveries: list[activation_read.Delivery] = []
        if build is not None:
            sizes = activation_read.build_sizes(conn, build.batch_id)
            deliveries = activation_read.deliveries(conn, build.batch_id)
    everyone = sizing.size(settings, "propensity >= 0")
    if not everyone.scored:
        section.items.append("No profile has a score yet: nothing to size.")
        return section
    sized: dict[str, sizing.Sizing] = {"all scored profiles": everyone}
    for row in sizes:
        sized[row.audience_id] = sizing.size(settings, row.rule)
    section.items.append(_reach_curves(sized, everyone.profiles))
    section.items.append(_interval_heatmap(everyone))
    if build is None:
        section.items.append("No audience built yet: run `enrich audiences build`.")
        return section
    section.summary = (
        f"Build {build.batch_id} of scoring run {build.scoring_run_id}: "
        f"{len(sizes)} audience(s)."
    )
    section.items.append(_sizes_plot(sizes))
    section.items.append(_sizes_table(sizes))
    if deliveries:
        section.items.append(_deliveries_plot(deliveries))
        section.items.append(_deliveries_table(deliveries))
    else:
        section.items.append(
            "This build has not been activated yet: run `enrich activate`."
        )
    return section


def _sizes_table(sizes: list[activation_read.AudienceSize]) -> Table:
    return Table(
        "Audience sizes",
        [
            "audience",
            "rule",
            "members",
            "holdout",
            "entered",
            "exited",
            "expected conversions",
        ],
        [
            [
                row.audience_id,
                row.rule,
                row.count_members,
                row.count_holdout,
                row.count_entered,
                row.count_exited,
                f"{row.expected_conversions:,.1f}",
            ]
            for row in sizes
        ],
    )


def _deliveries_table(deliveries: list[activation_read.Delivery]) -> Table:
    return Table(
        "Deliveries",
        [
            "audience",
            "destination",
            "status",
            "attempts",
            "entered",
            "exited",
            "no consent",
            "suppressed",
            "error",
        ],
        [
            [
                row.audience_id,
                row.destination,
                row.status,
                row.attempts,
                row.count_entered,
                row.count_exited,
                row.count_withheld_consent,
                row.count_withheld_suppressed,
                row.error or "",
            ]
            for row in deliveries
        ],
    )


def _reach_curves(sized: dict[str, sizing.Sizing], profiles: int) -> Plot:
    everyone = next(iter(sized.values()))
    top = max(1, covered_bucket(everyone.counts, 0.995)) / sizing.BUCKETS

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        for i, (name, sized_one) in enumerate(sized.items()):
            curve = sized_one.curve()
            thresholds = [row["threshold"] for row in curve]
            reach = [row["reach"] for row in curve]
            axes.step(
                thresholds,
                reach,
                where="post",
                linewidth=2.2 if i == 0 else 1.4,
                color=plots.MODEL if i == 0 else None,
                label=name,
            )
        axes.set_xlim(0, top)
        plots.style(
            axes,
            "Propensity-reach: profiles at or above a threshold",
            "propensity threshold",
            "profiles reached",
        )
        plots.thousands(axes)
        secondary = axes.secondary_yaxis(
            "right", functions=(lambda n: n / profiles, lambda s: s * profiles)
        )
        secondary.set_ylabel("share of all profiles")
        plots.percent(secondary)
        axes.legend(fontsize=8, loc="upper right")

    return plots.plot(
        "Propensity-reach curve",
        "How many profiles each audience's rule reaches above each propensity "
        "threshold (the thick line: every scored profile), up to the 99.5th "
        f"percentile of the scores ({top:.3f}).",
        draw,
        width=8.0,
        height=4.0,
    )


def covered_bucket(counts: Sequence[int], share: float) -> int:
    """The first bucket below which at least ``share`` of the profiles fall."""
    cumulative = np.cumsum(np.asarray(counts, dtype=float))
    if not cumulative.size or cumulative[-1] == 0:
        return 0
    return int(np.searchsorted(cumulative, share * cumulative[-1], side="left")) + 1


def interval_grid(
    counts: Sequence[int], buckets: int, steps: int = 24, share: float = 0.99
) -> tuple[np.ndarray, np.ndarray]:
    """Reach of every [lower, upper) interval on a grid over the scored range.

    Args:
        counts: Profiles per propensity bucket (``buckets`` of equal width
            over [0, 1]).
        buckets: How many buckets cover [0, 1].
        steps: Grid lines at most, from 0 to the top bound.
        share: The top bound is the bucket edge below which this share of
            the profiles fall (a thin tail of high scores would otherwise
            squeeze everyone else into one corner).

    Returns:
        The bounds (an edge of the buckets each) and a matrix ``reach[i, j]``
        of the profiles with ``bounds[i] <= propensity < bounds[j]`` (NaN
        where ``j <= i``).
    """
    last = max(1, covered_bucket(counts, share))
    per_step = max(1, int(np.ceil(last / steps)))
    edges = np.minimum(np.arange(0, last + per_step, per_step), buckets)
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(counts, dtype=float))])
    below = cumulative[edges]
    reach = below[None, :] - below[:, None]
    lower, upper = np.indices(reach.shape)
    reach[upper <= lower] = np.nan
    return edges / buckets, reach


def _interval_heatmap(sized: sizing.Sizing) -> Plot:
    from matplotlib.colors import LogNorm

    bounds, reach = interval_grid(sized.counts, sizing.BUCKETS)
    step = bounds[1] - bounds[0]

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        shown = np.ma.masked_where(~(reach > 0), reach)
        image = axes.pcolormesh(
            bounds,
            bounds,
            shown,
            cmap=plots.HEATMAP,
            norm=LogNorm(vmin=1, vmax=max(1.0, float(np.nanmax(reach)))),
            shading="nearest",
        )
        axes.set_xlim(-step / 2, bounds[-1] + step / 2)
        axes.set_ylim(-step / 2, bounds[-1] + step / 2)
        plots.style(
            axes,
            "Reach of an interval: lower <= propensity < upper",
            "upper bound",
            "lower bound",
        )
        axes.grid(visible=False)
        bar = figure.colorbar(image, ax=axes)
        bar.set_label("profiles in the interval (log scale)")

    return plots.plot(
        "Interval reach heatmap",
        "Profiles whose propensity falls between a lower bound (rows) and an "
        "upper bound (columns), for bounds up to the 99th percentile "
        f"({bounds[-1]:.3f}): the flat form of a propensity-reach surface. "
        "Empty cells reach nobody.",
        draw,
        width=6.5,
        height=5.0,
    )


def _sizes_plot(rows: list[activation_read.AudienceSize]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.subplots()
        names = [row.audience_id for row in rows]
        positions = np.arange(len(rows))
        width = 0.2
        parts = (
            ("members", "count_members", plots.MODEL),
            ("holdout", "count_holdout", plots.BASELINE),
            ("entered", "count_entered", plots.ORACLE),
            ("exited", "count_exited", plots.NEGATIVE),
        )
        for offset, (label, key, color) in enumerate(parts):
            axes.bar(
                positions + (offset - 1.5) * width,
                [getattr(row, key) for row in rows],
                width=width,
                color=color,
                label=label,
            )
        axes.set_xticks(positions, names)
        plots.style(
            axes, "Audience sizes and changes since the previous build", "", "profiles"
        )
        plots.thousands(axes)
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    return plots.plot(
        "Audience sizes",
        "Members, the holdout kept out of activation, and who entered or exited "
        "since the previous build.",
        draw,
        width=8.0,
    )


def _deliveries_plot(rows: list[activation_read.Delivery]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.subplots()
        names = [f"{row.audience_id}\n-> {row.destination}" for row in rows]
        positions = np.arange(len(rows))
        left = np.zeros(len(rows))
        parts = (
            ("entered (sent)", "count_entered", plots.ORACLE),
            ("exited (sent)", "count_exited", plots.NEGATIVE),
            ("withheld: no consent", "count_withheld_consent", plots.BASELINE),
            ("withheld: suppressed", "count_withheld_suppressed", plots.ACCENT),
        )
        for label, key, color in parts:
            values = np.array([getattr(row, key) for row in rows], dtype=float)
            axes.barh(positions, values, left=left, color=color, label=label)
            left += values
        for position, row in enumerate(rows):
            plots.label_bar(axes, row.status, left[position], position)
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.set_xlim(0, max(left.max(), 1) * 1.2)
        plots.style(axes, "Deliveries of the latest build", "profiles")
        axes.grid(axis="y", visible=False)
        plots.thousands(axes, "x")
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    return plots.plot(
        "Deliveries",
        "What each destination received (entries and exits) and what was held "
        "back, with the delivery's status.",
        draw,
        width=8.0,
        height=0.6 * len(rows) + 1.6,
    )
