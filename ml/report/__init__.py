"""The run report: one self-contained HTML file with plots, per run.

``enrich report`` (and every ``enrich run``) reads what the warehouse and the
registry hold now: the exploration marts, the quarantine, the model of the
current scores, the scores, the latest audience build and its deliveries. It
draws each picture with matplotlib and embeds it as a PNG, so the file opens
anywhere without a network. A part that does not exist yet (no scores, no
audiences) gets a line saying which command makes it, not an error.

Nothing here writes to the warehouse. What other stages hold is read through
their public read functions (:mod:`ml.data.read`, :mod:`ml.scores.read`,
:mod:`ml.activation.read`); the exploration marts through an engine's reader.

The modules: :mod:`~ml.report.plots` (colours, matplotlib helpers,
:class:`Plot`), :mod:`~ml.report.page` (:class:`Section`, :class:`Table`,
:class:`Report`), one module per section (``data``, ``model``, ``scores``,
``audiences``, ``run``), :mod:`~ml.report.assemble` (the whole report) and
:mod:`~ml.report.html` (the page and the files written).
"""

from ml.report.assemble import collect
from ml.report.audiences import audiences_section, covered_bucket, interval_grid
from ml.report.data import data_section
from ml.report.html import LATEST, REPORTS, render, write_report, write_run_record
from ml.report.model import model_section
from ml.report.page import Report, Section, Table
from ml.report.plots import Plot
from ml.report.run import run_section
from ml.report.scores import scores_section

__all__ = [
    "LATEST",
    "REPORTS",
    "Plot",
    "Report",
    "Section",
    "Table",
    "audiences_section",
    "collect",
    "covered_bucket",
    "data_section",
    "interval_grid",
    "model_section",
    "render",
    "run_section",
    "scores_section",
    "write_report",
    "write_run_record",
]
