"""The report's pictures: colours, the house style, and matplotlib helpers.

Every picture is drawn on a figure outside pyplot (no global state, no
display) and kept as PNG bytes in a :class:`Plot`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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


def _figure(width: float = 7.0, height: float = 3.6) -> Any:
    """A new figure outside pyplot (no global state, no display needed)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure


def style(axes: Any, title: str, xlabel: str = "", ylabel: str = "") -> None:
    """The house style of one axes: a bold title on the left, a light grid."""
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


def plot(title: str, caption: str, draw: Callable[[Any], None], **size: Any) -> Plot:
    """A :class:`Plot` of what ``draw`` draws on a new figure of ``size``."""
    figure = _figure(**size)
    draw(figure)
    return Plot(title=title, caption=caption, png=_png(figure))


def thousands(axes: Any, axis: str = "y") -> None:
    """Tick labels of one axis as whole numbers with thousands separators."""
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda value, _: f"{value:,.0f}")
    (axes.yaxis if axis == "y" else axes.xaxis).set_major_formatter(formatter)


def percent(axes: Any, axis: str = "y", decimals: int = 0) -> None:
    """Tick labels of one axis as percentages of 1."""
    from matplotlib.ticker import PercentFormatter

    formatter = PercentFormatter(xmax=1.0, decimals=decimals)
    (axes.yaxis if axis == "y" else axes.xaxis).set_major_formatter(formatter)


def label_bar(axes: Any, text: str, end: float, position: float) -> None:
    """Text just past the end of a horizontal bar."""
    axes.annotate(
        text,
        (end, position),
        xytext=(4, 0),
        textcoords="offset points",
        va="center",
        fontsize=9,
    )


def short(event_type: str) -> str:
    """``directMarketing.emailOpened`` -> ``emailOpened`` (labels stay readable)."""
    return event_type.rsplit(".", 1)[-1]


def hbar(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    xlabel: str,
    colors: Sequence[str] | str = MODEL,
    counts: bool = True,
) -> Callable[[Any], None]:
    """What draws horizontal bars, the first on top (counts with separators)."""

    def draw(figure: Any) -> None:
        axes = figure.subplots()
        positions = np.arange(len(labels))
        axes.barh(positions, values, color=colors)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        style(axes, title, xlabel)
        axes.grid(axis="y", visible=False)
        if counts:
            thousands(axes, "x")

    return draw
