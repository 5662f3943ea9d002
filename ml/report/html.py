"""The report as HTML: one self-contained page, and where it is written.

Images are inline (base64 PNG), so the file opens anywhere without a network.
"""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path
from typing import Any

from ml.core.config import Settings
from ml.report.assemble import collect
from ml.report.page import Report, Table
from ml.report.plots import Plot

logger = logging.getLogger(__name__)

REPORTS = "reports"
LATEST = "latest.html"

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
