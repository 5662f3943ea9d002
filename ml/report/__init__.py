"""The run report: one self-contained HTML file with plots, per run.

``enrich report`` (and every ``enrich run``) reads what the warehouse and the
registry hold now: the exploration marts, the quarantine, the model of the
current scores, the scores, the latest audience build and its deliveries. It
draws each picture with matplotlib and embeds it as a PNG, so the file opens
anywhere without a network. A part that does not exist yet (no scores, no
audiences) gets a line saying which command makes it, not an error.

Nothing here writes to the warehouse.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import html
import io
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.core import engines, relations, warehouse
from ml.core.config import Settings
from ml.core.errors import StorageError
from ml.core.lake import open_lake
from ml.features import builds

logger = logging.getLogger(__name__)

REPORTS = "reports"
LATEST = "latest.html"
# Colours: one hue per role, the same across plots.
MODEL = "#1f5fa8"
BASELINE = "#9aa5b1"
ORACLE = "#2e8b57"
ACCENT = "#d9822b"
NEGATIVE = "#b23a48"
HEATMAP = "viridis"


@dataclass
class Plot:
    """One picture: a PNG and what it shows."""

    title: str
    caption: str
    png: bytes


@dataclass
class Table:
    """A small table of figures."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Section:
    """One part of the report: its pictures, tables and notes, in order."""

    key: str
    title: str
    summary: str = ""
    items: list[Plot | Table | str] = field(default_factory=list)

    @property
    def plots(self) -> list[Plot]:
        """The pictures of the section."""
        return [item for item in self.items if isinstance(item, Plot)]


@dataclass
class Report:
    """What one report shows, before it becomes HTML."""

    title: str
    created_at: dt.datetime
    sections: list[Section]
    facts: dict[str, str]


# -- plotting -----------------------------------------------------------------------


def _figure(width: float = 7.0, height: float = 3.6) -> Any:
    """A new figure outside pyplot (no global state, no display needed)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure


def _style(axes: Any, title: str, xlabel: str = "", ylabel: str = "") -> None:
    axes.set_title(title, fontsize=11, loc="left", fontweight="bold")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="both", color="#e5e8eb", linewidth=0.7)
    axes.set_axisbelow(True)


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _plot(title: str, caption: str, draw: Callable[[Any], None], **size: Any) -> Plot:
    figure = _figure(**size)
    draw(figure)
    return Plot(title=title, caption=caption, png=_png(figure))


def _thousands(axes: Any, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda value, _: f"{value:,.0f}")
    (axes.yaxis if axis == "y" else axes.xaxis).set_major_formatter(formatter)


def _percent(axes: Any, axis: str = "y", decimals: int = 0) -> None:
    from matplotlib.ticker import PercentFormatter

    formatter = PercentFormatter(xmax=1.0, decimals=decimals)
    (axes.yaxis if axis == "y" else axes.xaxis).set_major_formatter(formatter)


def _label_bar(axes: Any, text: str, end: float, position: float) -> None:
    """Text just past the end of a horizontal bar."""
    axes.annotate(
        text,
        (end, position),
        xytext=(4, 0),
        textcoords="offset points",
        va="center",
        fontsize=9,
    )


def _short(event_type: str) -> str:
    """``directMarketing.emailOpened`` -> ``emailOpened`` (labels stay readable)."""
    return event_type.rsplit(".", 1)[-1]


def _hbar(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    xlabel: str,
    colors: Sequence[str] | str = MODEL,
    counts: bool = True,
) -> Callable[[Any], None]:
    def draw(figure: Any) -> None:
        axes = figure.subplots()
        positions = np.arange(len(labels))
        axes.barh(positions, values, color=colors)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        _style(axes, title, xlabel)
        axes.grid(axis="y", visible=False)
        if counts:
            _thousands(axes, "x")

    return draw


# -- reading ------------------------------------------------------------------------


def _rows(conn: Any, query: str, relation: tuple[str, str], params: Any = None) -> list:
    from psycopg import sql

    statement = sql.SQL(query).format(table=sql.Identifier(*relation))
    return conn.execute(statement, params).fetchall()


def _missing(conn: Any, *needed: tuple[str, str]) -> str | None:
    for relation in needed:
        if not warehouse.exists(conn, relation):
            return ".".join(relation)
    return None


# -- data ---------------------------------------------------------------------------


def data_section(conn: Any, marts: engines.Reader | None = None) -> Section:
    """Volumes, funnel, co-occurrence, correlation with conversion, quarantine.

    Args:
        conn: A warehouse connection.
        marts: The exploration marts of another engine, when it built them.
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
        relations.EDA_CONVERSION_CORRELATION,
    )
    absent = next((".".join(r) for r in needed if not eda.exists(r)), None)
    if absent:
        section.items.append(f"{absent} does not exist yet: run `enrich featurize`.")
    else:
        _volumes(eda, section)
        _funnel(eda, section)
        _cooccurrence(eda, section)
        _correlation(eda, section)
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
        _plot(
            "Events per type",
            "Every event type in the warehouse, most frequent first.",
            _hbar(
                "Events per type",
                [_short(row[0]) for row in summary],
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
            dates, stacked, labels=[_short(t) for t in types], colors=palette
        )
        _style(axes, "Events per day, by type", "", "events per day")
        _thousands(axes)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        figure.autofmt_xdate()

    section.items.append(
        _plot(
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
        axes.barh(positions, counts, color=[MODEL, MODEL, MODEL, ACCENT][: len(steps)])
        axes.set_yticks(positions, [row[0] for row in steps])
        axes.invert_yaxis()
        for position, (_, count, share, _) in zip(positions, steps, strict=True):
            label = f"{count:,}" + ("" if share is None else f"  ({share:.1%} of sent)")
            _label_bar(axes, label, count, position)
        _style(axes, "Email funnel", "distinct profiles")
        axes.grid(axis="y", visible=False)
        axes.set_xlim(0, max(counts) * 1.35 if max(counts) else 1)
        _thousands(axes, "x")

    section.items.append(
        _plot(
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
        image = axes.imshow(grid, cmap=HEATMAP, vmin=0, vmax=1)
        labels = [_short(t) for t in types]
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
        _plot(
            "Event co-occurrence",
            "For each pair, the share of profiles with event A that have event B "
            "afterwards.",
            draw,
            width=size + 1.5,
            height=size,
        )
    )


def _correlation(eda: Any, section: Section) -> None:
    rows = eda.rows(
        "select event_type, correlation_with_conversion from {table} "
        "where correlation_with_conversion is not null "
        "order by correlation_with_conversion desc",
        relations.EDA_CONVERSION_CORRELATION,
    )
    if not rows:
        return
    values = [float(row[1]) for row in rows]
    section.items.append(
        _plot(
            "Correlation with conversion",
            "Pearson correlation of each event type's count per profile with the "
            "profile converting.",
            _hbar(
                "Correlation of event counts with conversion",
                [_short(row[0]) for row in rows],
                values,
                "correlation",
                colors=[MODEL if v >= 0 else NEGATIVE for v in values],
                counts=False,
            ),
            height=0.3 * len(rows) + 1.2,
        )
    )


def _quarantine(conn: Any, section: Section) -> None:
    if _missing(conn, relations.RAW_BATCHES, relations.RAW_QUARANTINE):
        section.items.append("Nothing loaded yet: run `enrich generate` or `load`.")
        return
    from psycopg import sql

    read, loaded, quarantined, batches = conn.execute(
        sql.SQL(
            "select coalesce(sum(records_read), 0), coalesce(sum(records_loaded), 0), "
            "coalesce(sum(records_quarantined), 0), count(*) from {} "
            "where status = 'success'"
        ).format(sql.Identifier(*relations.RAW_BATCHES))
    ).fetchone()
    reasons = conn.execute(
        sql.SQL(
            "select quarantine.dataset, quarantine.reason, count(*) "
            "from {quarantine} as quarantine inner join {batches} as batches "
            "on batches.batch_id = quarantine.batch_id "
            "where batches.status = 'success' group by 1, 2 order by 3 desc"
        ).format(
            quarantine=sql.Identifier(*relations.RAW_QUARANTINE),
            batches=sql.Identifier(*relations.RAW_BATCHES),
        )
    ).fetchall()
    section.items.append(
        Table(
            "Loaded batches",
            ["batches", "records read", "loaded", "quarantined"],
            [[batches, read, loaded, quarantined]],
        )
    )
    if not reasons:
        section.items.append("No record was quarantined in the loaded batches.")
        return
    section.items.append(
        _plot(
            "Quarantine by reason",
            "Records the loader refused, by dataset and reason (raw text and "
            "detail in raw.quarantine).",
            _hbar(
                "Quarantined records by reason",
                [f"{dataset}: {reason}" for dataset, reason, _ in reasons],
                [count for _, _, count in reasons],
                "records",
                colors=NEGATIVE,
            ),
            height=0.3 * len(reasons) + 1.2,
        )
    )


# -- model --------------------------------------------------------------------------


def current_scores(conn: Any) -> dict[str, Any] | None:
    """The scoring run the enriched profiles show, and its ingest batch.

    ``profiles_enriched`` decides which run is current (as audiences read
    it); the ingest log names the run's partition of the scores.
    """
    if _missing(conn, relations.PROFILES_ENRICHED, relations.INGEST_BATCHES):
        return None
    current = _rows(
        conn,
        "select scoring_run_id from {table} where has_score limit 1",
        relations.PROFILES_ENRICHED,
    )
    if not current:
        return None
    rows = _rows(
        conn,
        "select batch_id, model_name, model_version, as_of, run_id, rows_ingested "
        "from {table} where status = 'success' and run_id = %s "
        "order by finished_at desc limit 1",
        relations.INGEST_BATCHES,
        [current[0][0]],
    )
    if not rows:
        return None
    names = ("batch_id", "model_name", "model_version", "as_of", "run_id", "rows")
    found = dict(zip(names, rows[0], strict=True))
    [(found["mean_propensity"],)] = _rows(
        conn,
        "select coalesce(avg(propensity), 0)::float8 from {table} where batch_id = %s",
        relations.PROPENSITY_SCORES,
        [found["batch_id"]],
    )
    return found


def _model_version(settings: Settings, scores: dict[str, Any] | None) -> Any:
    from ml.model import registry

    try:
        if scores is not None:
            return registry.get(settings, scores["model_version"])
        return registry.get(settings)
    except registry.RegistryError:
        found = registry.versions(settings)
        return found[0] if found else None


def _importance(settings: Settings, version: Any) -> list[dict[str, Any]]:
    """The version's explanations, from its artifacts in the lake."""
    from ml.model import registry

    lake, folder = registry.artifact_lake(settings, version)
    try:
        return json.loads(lake.get_bytes(f"{folder}/metrics.json"))["importance"]
    except (StorageError, ValueError, KeyError) as exc:
        logger.warning("no explanations for v%s: %s", version.version, exc)
        return []


def model_section(settings: Settings, scores: dict[str, Any] | None) -> Section:
    """Curves, calibration, lift and gain, importance, baselines, decision."""
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
                [
                    "shuffled-label AUC (leakage audit)",
                    f"{version.leakage.get('shuffled_label_auc', float('nan')):.4f}",
                ],
            ],
        )
    )
    return section


def _auc_bars(version: Any) -> Plot:
    m = version.metrics
    bars = [("CatBoost", m["roc_auc"], MODEL)]
    for name, label in (
        ("logistic_regression", "logistic regression"),
        ("random_forest", "random forest"),
    ):
        if name in version.baselines:
            bars.append((label, version.baselines[name]["roc_auc"], BASELINE))
    if m.get("oracle_auc") is not None:
        bars.append(("oracle (true p)", m["oracle_auc"], ORACLE))
    shuffled = version.leakage.get("shuffled_label_auc")
    if shuffled is not None:
        bars.append(("shuffled labels", shuffled, NEGATIVE))

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        positions = np.arange(len(bars))
        axes.barh(positions, [b[1] for b in bars], color=[b[2] for b in bars])
        axes.set_yticks(positions, [b[0] for b in bars])
        axes.invert_yaxis()
        for position, (_, value, _) in zip(positions, bars, strict=True):
            _label_bar(axes, f"{value:.3f}", value, position)
        axes.axvline(0.5, color="#555", linestyle=":", linewidth=1)
        _style(axes, "Holdout ROC AUC: the model, its baselines and the oracle", "AUC")
        axes.grid(axis="y", visible=False)
        axes.set_xlim(0.4, 1.0)

    return _plot(
        "Model against baselines",
        "ROC AUC on the same holdout rows. The oracle scores with the generator's "
        "true probabilities (the ceiling); shuffled labels must sit near 0.5.",
        draw,
        height=0.4 * len(bars) + 1.2,
    )


def _curves(version: Any) -> Plot:
    curves = version.metrics["curves"]
    base_rate = version.metrics["base_rate"]

    def draw(figure: Any) -> None:
        roc, pr = figure.subplots(1, 2)
        roc.plot(
            curves["roc"]["fpr"],
            curves["roc"]["tpr"],
            color=MODEL,
            linewidth=2,
            label=f"CatBoost ({version.metrics['roc_auc']:.3f})",
        )
        for name, style in (("random_forest", "--"), ("logistic_regression", ":")):
            baseline = version.baselines.get(name, {})
            if "roc" in baseline:
                roc.plot(
                    baseline["roc"]["fpr"],
                    baseline["roc"]["tpr"],
                    color=BASELINE,
                    linestyle=style,
                    label=f"{name.replace('_', ' ')} ({baseline['roc_auc']:.3f})",
                )
        roc.plot([0, 1], [0, 1], color="#bbb", linewidth=1)
        _style(roc, "ROC curve", "false-positive rate", "true-positive rate")
        roc.legend(fontsize=8, loc="lower right")
        pr.plot(
            curves["precision_recall"]["recall"],
            curves["precision_recall"]["precision"],
            color=MODEL,
            linewidth=2,
            label=f"CatBoost (PR AUC {version.metrics['pr_auc']:.3f})",
        )
        pr.axhline(
            base_rate, color="#bbb", linewidth=1, label=f"base rate {base_rate:.3f}"
        )
        _style(pr, "Precision-recall curve", "recall", "precision")
        pr.legend(fontsize=8, loc="upper right")

    return _plot(
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
            predicted, observed, color=MODEL, marker="o", linewidth=1.5, label=label
        )
        axes.set_xlim(0, top)
        axes.set_ylim(0, top)
        _percent(axes, "x", decimals=1)
        _percent(axes, "y", decimals=1)
        _style(
            axes,
            f"Calibration (ECE {metrics['ece']:.4f})",
            "mean predicted probability",
            "observed conversion rate",
        )
        axes.legend(fontsize=8, loc="upper left")

    return _plot(
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
        lift.bar(positions, [row["lift"] or 0 for row in deciles], color=MODEL)
        lift.set_xticks(positions, [str(row["decile"]) for row in deciles])
        lift.axhline(1.0, color="#555", linestyle=":", linewidth=1)
        _style(lift, "Lift by decile", "score decile (10 = highest)", "lift")
        shares = [0.0, *[(i + 1) / len(deciles) for i in range(len(deciles))]]
        gains = [0.0, *[row["cumulative_gain"] or 0 for row in deciles]]
        gain.plot(shares, gains, color=MODEL, marker="o", linewidth=2, label="model")
        gain.plot([0, 1], [0, 1], color="#bbb", linewidth=1, label="random")
        _style(
            gain,
            "Cumulative gain",
            "share of profiles contacted (best first)",
            "share of conversions",
        )
        _percent(gain, "x")
        _percent(gain, "y")
        gain.legend(fontsize=8, loc="lower right")

    return _plot(
        "Lift and gain",
        "Holdout conversion rate per decile over the base rate, and the share of "
        "conversions reached by contacting the top deciles.",
        draw,
        width=9.0,
    )


def _importance_plot(importance: list[dict[str, Any]], top: int = 15) -> Plot:
    shown = importance[:top]
    return _plot(
        "Feature importance",
        f"The {len(shown)} features with the largest mean |SHAP| on holdout rows "
        "(log-odds).",
        _hbar(
            "Mean |SHAP| per feature",
            [row["feature"] for row in shown],
            [row["mean_abs_shap"] for row in shown],
            "mean |SHAP| (log-odds)",
            counts=False,
        ),
        height=0.28 * len(shown) + 1.2,
    )


# -- scores -------------------------------------------------------------------------


def scores_section(settings: Settings, scores: dict[str, Any] | None) -> Section:
    """The distribution of the current scores and the back-test by decile."""
    from ml.scores import score

    section = Section("scores", "Scores")
    if scores is None:
        section.items.append("No scores ingested yet: run `enrich score` and `ingest`.")
        return section
    section.summary = (
        f"{scores['rows']:,} profiles scored by {scores['model_name']} "
        f"v{scores['model_version']} as of {scores['as_of']:%Y-%m-%d} "
        f"(run {scores['run_id']})."
    )
    bins = 60
    with warehouse.connect(settings) as conn:
        # The bins span the scores up to the 99.5th percentile: a long thin
        # tail would squeeze everyone else into a few bars.
        top, highest = _rows(
            conn,
            "select percentile_cont(0.995) within group (order by propensity), "
            "max(propensity) from {table} where batch_id = %s",
            relations.PROPENSITY_SCORES,
            [scores["batch_id"]],
        )[0]
        upper = max(float(top or 0.0), 1e-6)
        counts = _rows(
            conn,
            "select width_bucket(propensity, 0, %s, %s) - 1, count(*) "
            "from {table} where batch_id = %s group by 1 order by 1",
            relations.PROPENSITY_SCORES,
            [upper, bins, scores["batch_id"]],
        )
    histogram = np.zeros(bins)
    beyond = 0
    for bucket, count in counts:
        if bucket >= bins:
            beyond += count
        else:
            histogram[max(0, bucket)] += count
    edges = np.linspace(0, upper, bins + 1)
    mean = scores["mean_propensity"]

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        axes.bar(edges[:-1], histogram, width=np.diff(edges), align="edge", color=MODEL)
        axes.axvline(mean, color=ACCENT, linewidth=1.5, label=f"mean {mean:.3f}")
        _style(axes, "Distribution of propensities", "propensity", "profiles")
        _thousands(axes)
        axes.legend(fontsize=8, loc="upper right")

    section.items.append(
        _plot(
            "Propensity distribution",
            "Scored profiles per propensity bin (calibrated probabilities), up to "
            f"the 99.5th percentile ({upper:.3f}); {beyond:,} profiles score "
            f"higher, up to {highest:.3f}.",
            draw,
        )
    )
    table = score.backtest(
        settings, scores["model_name"], scores["model_version"], scores["as_of"]
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
            color=BASELINE,
            label="mean predicted propensity",
        )
        axes.bar(
            deciles + width / 2,
            [row["realised_rate"] for row in table],
            width=width,
            color=MODEL,
            label="realised conversion (simulated future)",
        )
        axes.set_xticks(deciles)
        _style(
            axes,
            "Back-test: predicted vs realised by score decile",
            "score decile (10 = highest)",
            "conversion rate",
        )
        _percent(axes, decimals=1)
        axes.legend(fontsize=8, loc="upper left")

    return _plot(
        "Back-test",
        "Each decile's mean score beside the share that converted in the "
        "generator's simulated future window.",
        draw,
    )


# -- audiences ----------------------------------------------------------------------


def audiences_section(settings: Settings) -> Section:
    """Reach curves, the interval heatmap, sizes, deltas, holdout, deliveries."""
    from ml.activation.sizing import size

    section = Section("audiences", "Audiences")
    with warehouse.connect(settings) as conn:
        if _missing(conn, relations.PROFILES_ENRICHED):
            section.items.append(
                "No enriched profiles yet: run `enrich run` (or `enrich featurize` "
                "after `enrich ingest`)."
            )
            return section
        build = _latest_build(conn)
    everyone = size(settings, "propensity >= 0")
    if not everyone.scored:
        section.items.append("No profile has a score yet: nothing to size.")
        return section
    sized: dict[str, Any] = {"all scored profiles": everyone}
    if build is not None:
        for row in build["audiences"]:
            sized[row["audience_id"]] = size(settings, row["rule"])
    section.items.append(_reach_curves(sized, everyone.profiles))
    section.items.append(_interval_heatmap(everyone))
    if build is None:
        section.items.append("No audience built yet: run `enrich audiences build`.")
        return section
    section.summary = (
        f"Build {build['batch_id']} of scoring run {build['scoring_run_id']}: "
        f"{len(build['audiences'])} audience(s)."
    )
    section.items.append(_sizes_plot(build["audiences"]))
    section.items.append(
        Table(
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
                    row["audience_id"],
                    row["rule"],
                    row["count_members"],
                    row["count_holdout"],
                    row["count_entered"],
                    row["count_exited"],
                    f"{row['expected_conversions']:,.1f}",
                ]
                for row in build["audiences"]
            ],
        )
    )
    if build["deliveries"]:
        section.items.append(_deliveries_plot(build["deliveries"]))
        section.items.append(
            Table(
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
                        row["audience_id"],
                        row["destination"],
                        row["status"],
                        row["attempts"],
                        row["count_entered"],
                        row["count_exited"],
                        row["count_withheld_consent"],
                        row["count_withheld_suppressed"],
                        row["error"] or "",
                    ]
                    for row in build["deliveries"]
                ],
            )
        )
    else:
        section.items.append(
            "This build has not been activated yet: run `enrich activate`."
        )
    return section


def _latest_build(conn: Any) -> dict[str, Any] | None:
    """The build activation works on: its audiences and its deliveries."""
    from psycopg import sql
    from psycopg.rows import dict_row

    from ml.activation.builds import build_sizes, latest_build

    if _missing(
        conn,
        relations.AUDIENCE_BUILDS,
        relations.AUDIENCE_BUILD_AUDIENCES,
        relations.AUDIENCE_DELIVERIES,
    ):
        return None
    found = latest_build(conn)
    if found is None:
        return None
    batch_id, scoring_run_id, _ = found
    with conn.cursor(row_factory=dict_row) as cursor:
        deliveries = cursor.execute(
            sql.SQL(
                "select * from {} where batch_id = %s order by audience_id, destination"
            ).format(sql.Identifier(*relations.AUDIENCE_DELIVERIES)),
            [batch_id],
        ).fetchall()
    return {
        "batch_id": batch_id,
        "scoring_run_id": scoring_run_id,
        "audiences": build_sizes(conn, batch_id),
        "deliveries": deliveries,
    }


def _reach_curves(sized: dict[str, Any], profiles: int) -> Plot:
    from ml.activation.sizing import BUCKETS

    everyone = next(iter(sized.values()))
    top = max(1, covered_bucket(everyone.counts, 0.995)) / BUCKETS

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        for i, (name, sizing) in enumerate(sized.items()):
            curve = sizing.curve()
            thresholds = [row["threshold"] for row in curve]
            reach = [row["reach"] for row in curve]
            axes.step(
                thresholds,
                reach,
                where="post",
                linewidth=2.2 if i == 0 else 1.4,
                color=MODEL if i == 0 else None,
                label=name,
            )
        axes.set_xlim(0, top)
        _style(
            axes,
            "Propensity-reach: profiles at or above a threshold",
            "propensity threshold",
            "profiles reached",
        )
        _thousands(axes)
        secondary = axes.secondary_yaxis(
            "right", functions=(lambda n: n / profiles, lambda s: s * profiles)
        )
        secondary.set_ylabel("share of all profiles")
        _percent(secondary)
        axes.legend(fontsize=8, loc="upper right")

    return _plot(
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


def _interval_heatmap(sizing: Any) -> Plot:
    from matplotlib.colors import LogNorm

    from ml.activation.sizing import BUCKETS

    bounds, reach = interval_grid(sizing.counts, BUCKETS)
    step = bounds[1] - bounds[0]

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        shown = np.ma.masked_where(~(reach > 0), reach)
        image = axes.pcolormesh(
            bounds,
            bounds,
            shown,
            cmap=HEATMAP,
            norm=LogNorm(vmin=1, vmax=max(1.0, float(np.nanmax(reach)))),
            shading="nearest",
        )
        axes.set_xlim(-step / 2, bounds[-1] + step / 2)
        axes.set_ylim(-step / 2, bounds[-1] + step / 2)
        _style(
            axes,
            "Reach of an interval: lower <= propensity < upper",
            "upper bound",
            "lower bound",
        )
        axes.grid(visible=False)
        bar = figure.colorbar(image, ax=axes)
        bar.set_label("profiles in the interval (log scale)")

    return _plot(
        "Interval reach heatmap",
        "Profiles whose propensity falls between a lower bound (rows) and an "
        "upper bound (columns), for bounds up to the 99th percentile "
        f"({bounds[-1]:.3f}): the flat form of a propensity-reach surface. "
        "Empty cells reach nobody.",
        draw,
        width=6.5,
        height=5.0,
    )


def _sizes_plot(rows: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.subplots()
        names = [row["audience_id"] for row in rows]
        positions = np.arange(len(rows))
        width = 0.2
        parts = (
            ("members", "count_members", MODEL),
            ("holdout", "count_holdout", BASELINE),
            ("entered", "count_entered", ORACLE),
            ("exited", "count_exited", NEGATIVE),
        )
        for offset, (label, key, color) in enumerate(parts):
            axes.bar(
                positions + (offset - 1.5) * width,
                [row[key] for row in rows],
                width=width,
                color=color,
                label=label,
            )
        axes.set_xticks(positions, names)
        _style(
            axes, "Audience sizes and changes since the previous build", "", "profiles"
        )
        _thousands(axes)
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    return _plot(
        "Audience sizes",
        "Members, the holdout kept out of activation, and who entered or exited "
        "since the previous build.",
        draw,
        width=8.0,
    )


def _deliveries_plot(rows: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        axes = figure.subplots()
        names = [f"{row['audience_id']}\n-> {row['destination']}" for row in rows]
        positions = np.arange(len(rows))
        left = np.zeros(len(rows))
        parts = (
            ("entered (sent)", "count_entered", ORACLE),
            ("exited (sent)", "count_exited", NEGATIVE),
            ("withheld: no consent", "count_withheld_consent", BASELINE),
            ("withheld: suppressed", "count_withheld_suppressed", ACCENT),
        )
        for label, key, color in parts:
            values = np.array([row[key] for row in rows], dtype=float)
            axes.barh(positions, values, left=left, color=color, label=label)
            left += values
        for position, row in zip(positions, rows, strict=True):
            _label_bar(axes, row["status"], left[position], position)
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.set_xlim(0, max(left.max(), 1) * 1.2)
        _style(axes, "Deliveries of the latest build", "profiles")
        axes.grid(axis="y", visible=False)
        _thousands(axes, "x")
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))

    return _plot(
        "Deliveries",
        "What each destination received (entries and exits) and what was held "
        "back, with the delivery's status.",
        draw,
        width=8.0,
        height=0.6 * len(rows) + 1.6,
    )


# -- the run ------------------------------------------------------------------------


def run_section(run: dict[str, Any]) -> Section:
    """Wall time and peak memory per stage of the run that wrote the report."""
    stages = [stage for stage in run["stages"] if stage["status"] != "running"]
    section = Section(
        "run",
        "Run",
        f"{len(stages)} stages in {run['seconds_in_stages']:,.1f} s "
        f"({run['seconds_outside_stages']:,.1f} s outside the stages).",
    )

    def draw(figure: Any) -> None:
        seconds, memory = figure.subplots(1, 2, sharey=True)
        positions = np.arange(len(stages))
        names = [stage["name"] for stage in stages]
        colors = [MODEL if s["status"] == "success" else NEGATIVE for s in stages]
        seconds.barh(positions, [s["seconds"] for s in stages], color=colors)
        seconds.set_yticks(positions, names)
        seconds.invert_yaxis()
        _style(seconds, "Wall time per stage", "seconds")
        memory.barh(
            positions, [s["peak_rss_bytes"] / 2**20 for s in stages], color=BASELINE
        )
        _style(memory, "Peak memory per stage", "MiB (this process)")

    section.items.append(
        _plot(
            "Stages",
            "Each stage's wall time and the peak resident memory of the pipeline "
            "process during it (the database server is not counted).",
            draw,
            width=9.0,
            height=0.35 * len(stages) + 1.4,
        )
    )
    section.items.append(
        Table(
            "Stages",
            ["stage", "status", "seconds", "peak MiB", "throughput"],
            [
                [
                    stage["name"],
                    stage["status"],
                    f"{stage['seconds']:,.1f}",
                    f"{stage['peak_rss_bytes'] / 2**20:,.0f}",
                    ""
                    if stage["per_second"] is None
                    else f"{stage['per_second']:,.0f} {stage['unit']}/s",
                ]
                for stage in stages
            ],
        )
    )
    return section


# -- the whole report ---------------------------------------------------------------


def collect(settings: Settings, run: dict[str, Any] | None = None) -> Report:
    """Read everything the report shows and draw its pictures."""
    engine = builds.ml_set_build(settings, builds.EDA).target
    with contextlib.ExitStack() as stack:
        marts = (
            stack.enter_context(engines.open_reader(settings, engine))
            if engine.reads_lake
            else None
        )
        with warehouse.connect(settings) as conn:
            data = data_section(conn, marts)
            scores = current_scores(conn)
    sections = [data, model_section(settings, scores)]
    sections.append(scores_section(settings, scores))
    sections.append(audiences_section(settings))
    if run is not None:
        sections.append(run_section(run))
    facts = {"warehouse": warehouse.redact_url(warehouse.database_url(settings))}
    if scores is not None:
        facts["scores"] = (
            f"{scores['model_name']} v{scores['model_version']}, as of "
            f"{scores['as_of']:%Y-%m-%d}"
        )
    facts["lake"] = open_lake(settings).url("")
    return Report(
        title="enrich run report",
        created_at=dt.datetime.now(dt.UTC),
        sections=sections,
        facts=facts,
    )


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  color: #1d2733; background: #f6f7f9; }
header { background: #1d2733; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 2px 0; color: #c9d1d9; font-size: 13px; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #dde1e6;
  padding: 8px 32px; z-index: 1; }
nav a { margin-right: 18px; color: #1f5fa8; text-decoration: none; font-weight: 600; }
main { max-width: 1040px; margin: 0 auto; padding: 8px 24px 48px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 8px;
  margin: 20px 0; padding: 8px 24px 20px; }
section h2 { border-bottom: 2px solid #1f5fa8; padding-bottom: 6px; }
.summary { font-size: 15px; }
figure { margin: 18px 0; }
figure img { max-width: 100%; height: auto; }
figcaption { color: #5b6570; font-size: 13px; }
p.note { background: #f1f4f8; border-left: 3px solid #9aa5b1; padding: 6px 10px; }
table { border-collapse: collapse; font-size: 13px; margin: 12px 0; }
th, td { border-bottom: 1px solid #e5e8eb; padding: 4px 10px; text-align: left; }
th { background: #f1f4f8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
"""


def _cell(value: Any) -> str:
    """One table cell: numbers right-aligned with separators, text left."""
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int):
        return f'<td class="n">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="n">{value:,.4g}</td>'
    text = str(value)
    numeric = text.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
    return (
        f'<td class="n">{html.escape(text)}</td>'
        if numeric
        else (f"<td>{html.escape(text)}</td>")
    )


def render(report: Report) -> str:
    """The report as one self-contained HTML page (images inline)."""
    escape = html.escape
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(report.title)}</h1>",
        f"<p>written {report.created_at:%Y-%m-%d %H:%M:%S} UTC</p>",
        *(f"<p>{escape(k)}: {escape(v)}</p>" for k, v in report.facts.items()),
        "</header><nav>",
        *(f'<a href="#{s.key}">{escape(s.title)}</a>' for s in report.sections),
        "</nav><main>",
    ]
    for section in report.sections:
        parts.append(f'<section id="{section.key}"><h2>{escape(section.title)}</h2>')
        if section.summary:
            parts.append(f'<p class="summary">{escape(section.summary)}</p>')
        for item in section.items:
            if isinstance(item, Plot):
                data = base64.b64encode(item.png).decode()
                parts.append(
                    f'<figure><img alt="{escape(item.title)}" '
                    f'src="data:image/png;base64,{data}">'
                    f"<figcaption>{escape(item.caption)}</figcaption></figure>"
                )
            elif isinstance(item, Table):
                parts.append(f"<table><caption>{escape(item.title)}</caption><tr>")
                parts.extend(f"<th>{escape(c)}</th>" for c in item.columns)
                parts.append("</tr>")
                for row in item.rows:
                    cells = "".join(_cell(v) for v in row)
                    parts.append(f"<tr>{cells}</tr>")
                parts.append("</table>")
            else:
                parts.append(f'<p class="note">{escape(item)}</p>')
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def write_report(
    settings: Settings, run: dict[str, Any] | None = None, name: str | None = None
) -> Path:
    """Write the report under ``ENRICH_HOME/reports/`` (and ``latest.html``).

    Args:
        settings: Project settings.
        run: The run's stage record (:meth:`StageClock.as_dict`), if a run
            wrote the report (the run saves it with :func:`write_run_record`
            once the report's own stage is timed).
        name: The file's stem; default ``report-<UTC time>``.

    Returns:
        The report's path.
    """
    report = collect(settings, run)
    folder = settings.home / REPORTS
    folder.mkdir(parents=True, exist_ok=True)
    stem = name or f"report-{report.created_at:%Y%m%dT%H%M%SZ}"
    path = folder / f"{stem}.html"
    page = render(report)
    scratch = path.with_suffix(".html.partial")
    scratch.write_text(page, encoding="utf-8")
    scratch.replace(path)
    latest = folder / LATEST
    scratch.write_text(page, encoding="utf-8")
    scratch.replace(latest)
    plots = sum(len(section.plots) for section in report.sections)
    logger.info("report with %d plots: %s", plots, path)
    return path


def write_run_record(settings: Settings, stem: str, run: dict[str, Any]) -> Path:
    """Save a run's stage record as ``reports/<stem>.json`` (benchmarks read it)."""
    path = settings.home / REPORTS / f"{stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2, default=str))
    return path
