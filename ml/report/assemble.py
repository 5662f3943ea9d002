"""The whole report: every section, read and drawn, and the facts of its header."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from ml.core import engines, warehouse
from ml.core.config import Settings
from ml.core.lake import open_lake
from ml.core.predictions import load_predictions
from ml.features import builds
from ml.report.audiences import audiences_section
from ml.report.data import data_section
from ml.report.model import model_section
from ml.report.page import Report
from ml.report.run import run_section
from ml.report.scores import scores_section
from ml.scores import read as scores_read


def collect(settings: Settings, run: dict[str, Any] | None = None) -> Report:
    """Read everything the report shows and draw its pictures.

    Args:
        settings: Project settings.
        run: The run's stage record, if a run writes the report.
    """
    engine = builds.ml_set_build(settings, builds.EDA).target
    with contextlib.ExitStack() as stack:
        marts = (
            stack.enter_context(engines.open_reader(settings, engine))
            if engine.reads_lake
            else None
        )
        with warehouse.connect(settings) as conn:
            order = [item.name for item in load_predictions(settings).items]
            data = data_section(conn, marts, order)
            scores = scores_read.current_run(conn)
    sections = [data, model_section(settings, scores)]
    sections.append(scores_section(settings, scores))
    sections.append(audiences_section(settings))
    if run is not None:
        sections.append(run_section(run))
    facts = {"warehouse": warehouse.redact_url(warehouse.database_url(settings))}
    if scores is not None:
        facts["scores"] = (
            f"{scores.model_name} v{scores.model_version}, as of "
            f"{scores.as_of:%Y-%m-%d}"
        )
    facts["lake"] = open_lake(settings).url("")
    return Report(
        title="enrich run report",
        created_at=dt.datetime.now(dt.UTC),
        sections=sections,
        facts=facts,
    )
