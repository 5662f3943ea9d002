"""The report's run section: wall time and memory per stage of the run."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.report import plots
from ml.report.page import Section, Table


def run_section(run: dict[str, Any]) -> Section:
    """Wall time and peak memory per stage of the run that wrote the report.

    Args:
        run: The run's stage record (:meth:`StageClock.as_dict`).
    """
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
        colors = [
            plots.MODEL if s["status"] == "success" else plots.NEGATIVE for s in stages
        ]
        seconds.barh(positions, [s["seconds"] for s in stages], color=colors)
        seconds.set_yticks(positions, names)
        seconds.invert_yaxis()
        plots.style(seconds, "Wall time per stage", "seconds")
        memory.barh(
            positions,
            [s["peak_rss_bytes"] / 2**20 for s in stages],
            color=plots.BASELINE,
        )
        plots.style(memory, "Peak memory per stage", "MiB (this process)")

    section.items.append(
        plots.plot(
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
