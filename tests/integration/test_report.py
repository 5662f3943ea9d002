"""The run report: every section and picture present, from a real pipeline state."""

from __future__ import annotations

import base64
import json
from html.parser import HTMLParser

import pytest

from ml import report
from ml.activation import activate, builds
from ml.core.clock import StageClock

pytestmark = pytest.mark.integration

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Every picture the issue asks for, by section.
EXPECTED = {
    "data": [
        "Events per type",
        "Daily volumes",
        "Email funnel",
        "Event co-occurrence",
        "Correlation with the label: subscription",
        "Correlation with the label: purchase",
    ],
    "model": [
        "Model against baselines",
        "ROC and precision-recall",
        "Calibration",
        "Lift and gain",
        "Feature importance",
    ],
    "scores": ["Propensity distribution", "Back-test"],
    "audiences": [
        "Propensity-reach curve",
        "Interval reach heatmap",
        "Audience sizes",
        "Deliveries",
    ],
    "run": ["Stages"],
}


class Page(HTMLParser):
    """Sections (by id), their headings, images and table captions."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.current: str | None = None
        self.external: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "section":
            self.current = attributes["id"]
            self.sections[self.current] = {"title": "", "images": [], "text": ""}
        elif tag == "img":
            self.sections[self.current]["images"].append(attributes)
        elif tag in ("h2", "caption", "p", "td"):
            self._in = tag
        if tag in ("script", "link") or (
            tag == "img" and not attributes.get("src", "").startswith("data:")
        ):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.current = None
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self.current is None or self._in is None:
            return
        if self._in == "h2":
            self.sections[self.current]["title"] += data
        else:
            self.sections[self.current]["text"] += data + " "


@pytest.fixture(scope="module")
def activated(ingested, settings, warehouse):
    """The ingested scores' audiences, built and activated."""
    from ml.core.warehouse import connect

    with connect(warehouse) as conn:  # a clean ledger for this module
        conn.execute("drop schema if exists audiences cascade")
    built = builds.build(settings)
    deliveries = activate.activate(settings)
    return built, deliveries


def test_the_report_has_every_section_and_picture(activated, ingested, settings):
    built, deliveries = activated
    clock = StageClock()
    with clock.stage("data") as stage:
        stage.items, stage.unit = 1_000, "events"
    path = report.write_report(settings, clock.as_dict(), name="run-test")
    report.write_run_record(settings, "run-test", clock.as_dict())

    assert path.parent == settings.home / "reports"
    assert (path.parent / "latest.html").read_text() == path.read_text()
    record = json.loads((path.parent / "run-test.json").read_text())
    assert [stage["name"] for stage in record["stages"]] == ["data"]
    page = Page()
    page.feed(path.read_text())
    assert page.external == [], "the report must not need the network"
    assert list(page.sections) == ["data", "model", "scores", "audiences", "run"]
    for key, titles in EXPECTED.items():
        images = page.sections[key]["images"]
        assert [image["alt"] for image in images] == titles, key
        for image in images:
            prefix = "data:image/png;base64,"
            assert image["src"].startswith(prefix)
            png = base64.b64decode(image["src"][len(prefix) :])
            assert png.startswith(PNG_SIGNATURE)
            assert len(png) > 5_000, f"{image['alt']} looks empty"
    # The figures beside the pictures are this warehouse's.
    text = {key: section["text"] for key, section in page.sections.items()}
    assert f"v{ingested.model_version}" in text["model"]
    assert f"{ingested.rows:,} profiles scored" in text["scores"]
    for row in built.audiences:
        assert row["audience_id"] in text["audiences"]
    for delivery in deliveries:
        assert delivery.status == "delivered"
    assert "delivered" in text["audiences"]


def test_quarantined_records_are_counted_by_reason(activated, settings):
    from ml.core.warehouse import connect

    with connect(settings) as conn:  # rolled back: the data stays as it was
        clean = report.data_section(conn)
        [batch_id] = conn.execute(
            "select batch_id from raw.batches where status = 'success' limit 1"
        ).fetchone()
        conn.execute(
            "insert into raw.quarantine "
            "(batch_id, dataset, record_number, reason, detail, raw_text) "
            "select %s, 'experience_events', n, reason, 'test', '{' "
            "from unnest(array['invalid_json', 'invalid_json', 'missing_identity']) "
            "with ordinality as refused (reason, n)",
            [batch_id],
        )
        dirty = report.data_section(conn)
        conn.rollback()
        left = conn.execute(
            "select count(*) from raw.quarantine where detail = 'test'"
        ).fetchone()[0]
    assert left == 0
    assert "Quarantine by reason" not in [plot.title for plot in clean.plots]
    assert "No record was quarantined in the loaded batches." in clean.items
    assert dirty.plots[-1].title == "Quarantine by reason"
    assert dirty.plots[-1].png.startswith(PNG_SIGNATURE)
