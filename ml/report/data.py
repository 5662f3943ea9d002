"""The report's data section: volumes, funnel, co-occurrence, the quarantine.

The exploration marts are dbt's and are read through an engine's
:class:`~ml.core.engines.Reader` (the warehouse's, or the lake engine's that
built them); what the loads read and refused comes from :mod:`ml.data.read`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.core import engines, relations
from ml.data import read as data_read
from ml.report import plots
from ml.report.page import Section, Table

if TYPE_CHECKING:
    import psycopg


def data_section(
    conn: psycopg.Connection,
    marts: engines.Reader | None = None,
    predictions: Sequence[str] = (),
) -> Section:
    """Volumes, funnel, co-occurrence, correlation with the labels, quarantine.

    Args:
        conn: A warehouse connection.
        marts: The exploration marts of another engine, when it built them.
        predictions: The order to show the predictions in (predictions.yml's,
            the default first); others follow by name.
    """
    section = Section("data", "Data")
    eda = marts or engines.WarehouseReader(conn)
    if marts is not None:
        section.items.append(f"The exploration marts were built on {marts.engine}.")
    needed = (
        relations.EDA_DATASET_SUMMARY,
        relations.EDA_DAILY_VOLUMES,
        relations.EDA_EMAIL_FUNNEL,
        relations.EDA_EVENT_COOCCURRENCE,
        relations.EDA_LABEL_CORRELATION,
    )
    absent = next((".".join(r) for r in needed if not eda.exists(r)), None)
    if absent:
        section.items.append(f"{absent} does not exist yet: run `enrich featurize`.")
    else:
        _volumes(eda, section)
        _funnel(eda, section)
        _cooccurrence(eda, section)
        _correlation(eda, section, predictions)
    _quarantine(conn, section)
    return section


def _volumes(eda: Any, section: Section) -> None:
    summary = eda.rows(
        "select event_type, count_events, count_profiles, count_events_all_types, "
        "count_profiles_all_types, first_event_at_all_types, "
        "last_event_at_all_types, sample_percent from {table} "
        "order by count_events desc",
        relations.EDA_DATASET_SUMMARY,
    )
    if not summary:
        section.items.append("The warehouse holds no events yet.")
        return
    _, _, _, events, profiles, first, last, sample = summary[0]
    section.summary = (
        f"{events:,} events of {profiles:,} profiles, {first:%Y-%m-%d} to "
        f"{last:%Y-%m-%d}"
        + (f" (estimated from a {sample:g}% sample)" if sample < 100 else "")
        + "."
    )
    section.items.append(
        plots.plot(
            "Events per type",
            "Every event type in the warehouse, most frequent first.",
            plots.hbar(
                "Events per type",
                [plots.short(row[0]) for row in summary],
                [row[1] for row in summary],
                "events",
            ),
            height=0.3 * len(summary) + 1.2,
        )
    )
    daily = eda.rows(
        "select event_date, event_type, count_events from {table} "
        "order by event_date, event_type",
        relations.EDA_DAILY_VOLUMES,
    )
    types = [row[0] for row in summary]
    dates = sorted({row[0] for row in daily})
    where = {date: i for i, date in enumerate(dates)}
    stacked = np.zeros((len(types), len(dates)))
    index = {name: i for i, name in enumerate(types)}
    for date, event_type, count in daily:
        if event_type in index:
            stacked[index[event_type], where[date]] = count

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        from matplotlib import colormaps

        palette = colormaps["tab20"](np.linspace(0, 1, 20))[: len(types)]
        axes.stackplot(
            dates, stacked, labels=[plots.short(t) for t in types], colors=palette
        )
        plots.style(axes, "Events per day, by type", "", "events per day")
        plots.thousands(axes)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        figure.autofmt_xdate()

    section.items.append(
        plots.plot(
            "Daily volumes",
            "Events per day, stacked by event type.",
            draw,
            width=8.0,
        )
    )


def _funnel(eda: Any, section: Section) -> None:
    steps = eda.rows(
        "select step_name, count_profiles, share_of_sent, share_of_previous_step "
        "from {table} order by step_number",
        relations.EDA_EMAIL_FUNNEL,
    )
    if not steps:
        return

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        positions = np.arange(len(steps))
        counts = [row[1] for row in steps]
        axes.barh(
            positions,
            counts,
            color=[plots.MODEL, plots.MODEL, plots.MODEL, plots.ACCENT][: len(steps)],
        )
        axes.set_yticks(positions, [row[0] for row in steps])
        axes.invert_yaxis()
        for position, (_, count, share, _) in enumerate(steps):
            label = f"{count:,}" + ("" if share is None else f"  ({share:.1%} of sent)")
            plots.label_bar(axes, label, count, position)
        plots.style(axes, "Email funnel", "distinct profiles")
        axes.grid(axis="y", visible=False)
        axes.set_xlim(0, max(counts) * 1.35 if max(counts) else 1)
        plots.thousands(axes, "x")

    section.items.append(
        plots.plot(
            "Email funnel",
            "Distinct profiles sent an email, then opening, clicking and subscribing.",
            draw,
            height=2.6,
        )
    )


def _cooccurrence(eda: Any, section: Section) -> None:
    pairs = eda.rows(
        "select antecedent_event_type, consequent_event_type, "
        "share_with_consequent_after from {table}",
        relations.EDA_EVENT_COOCCURRENCE,
    )
    if not pairs:
        return
    types = sorted({row[0] for row in pairs} | {row[1] for row in pairs})
    index = {name: i for i, name in enumerate(types)}
    grid = np.full((len(types), len(types)), np.nan)
    for antecedent, consequent, share in pairs:
        if share is not None:
            grid[index[antecedent], index[consequent]] = share

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        image = axes.imshow(grid, cmap=plots.HEATMAP, vmin=0, vmax=1)
        labels = [plots.short(t) for t in types]
        axes.set_xticks(range(len(types)), labels, rotation=45, ha="right")
        axes.set_yticks(range(len(types)), labels)
        if len(types) <= 14:
            for (row, column), value in np.ndenumerate(grid):
                if not np.isnan(value):
                    axes.text(
                        column,
                        row,
                        f"{value:.0%}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if value < 0.6 else "black",
                    )
        axes.set_title(
            "Share of profiles with A (row) that later have B (column)",
            fontsize=11,
            loc="left",
            fontweight="bold",
        )
        axes.set_xlabel("later event B")
        axes.set_ylabel("event A")
        figure.colorbar(image, ax=axes, format="{x:.0%}", shrink=0.8)

    size = 0.45 * len(types) + 2.5
    section.items.append(
        plots.plot(
            "Event co-occurrence",
            "For each pair, the share of profiles with event A that have event B "
            "afterwards.",
            draw,
            width=size + 1.5,
            height=size,
        )
    )


def _correlation(eda: Any, section: Section, order: Sequence[str]) -> None:
    """Per prediction: each event type's count at the cutoffs against the label.

    The longest feature window's counts (all history before the cutoff).
    """
    rows = eda.rows(
        "select prediction_name, event_type, correlation_with_label from {table} "
        "where feature_window = 'total' and correlation_with_label is not null "
        "order by prediction_name, correlation_with_label desc",
        relations.EDA_LABEL_CORRELATION,
    )
    by_prediction: dict[str, list[tuple[str, float]]] = {}
    for prediction, event_type, value in rows:
        by_prediction.setdefault(prediction, []).append((event_type, float(value)))
    rank = {name: number for number, name in enumerate(order)}
    shown = sorted(by_prediction, key=lambda name: (rank.get(name, len(rank)), name))
    for prediction in shown:
        pairs = by_prediction[prediction]
        values = [value for _, value in pairs]
        section.items.append(
            plots.plot(
                f"Correlation with the label: {prediction}",
                f"Pearson correlation, over {prediction}'s training rows, of each "
                "event type's count before the cutoff with the label in the "
                "window after it (point in time, as the model sees the data).",
                plots.hbar(
                    f"Event counts at the cutoff vs {prediction}'s label",
                    [plots.short(event_type) for event_type, _ in pairs],
                    values,
                    "correlation",
                    colors=[plots.MODEL if v >= 0 else plots.NEGATIVE for v in values],
                    counts=False,
                ),
                height=0.3 * len(pairs) + 1.2,
            )
        )


def _quarantine(conn: psycopg.Connection, section: Section) -> None:
    summary = data_read.batches_summary(conn)
    if summary is None:
        section.items.append("Nothing loaded yet: run `enrich generate` or `load`.")
        return
    reasons = data_read.quarantine_by_reason(conn)
    section.items.append(
        Table(
            "Loaded batches",
            ["batches", "records read", "loaded", "quarantined"],
            [
                [
                    summary.batches,
                    summary.records_read,
                    summary.records_loaded,
                    summary.records_quarantined,
                ]
            ],
        )
    )
    if not reasons:
        section.items.append("No record was quarantined in the loaded batches.")
        return
    section.items.append(
        plots.plot(
            "Quarantine by reason",
            "Records the loader refused, by dataset and reason (raw text and "
            "detail in raw.quarantine).",
            plots.hbar(
                "Quarantined records by reason",
                [f"{row.dataset}: {row.reason}" for row in reasons],
                [row.records for row in reasons],
                "records",
                colors=plots.NEGATIVE,
            ),
            height=0.3 * len(reasons) + 1.2,
        )
    )
