"""Training's diagnostics: the per-cutoff table and the errors that say what
the data holds (no database: the marts are small tables in a fake reader)."""

from __future__ import annotations

import datetime as dt

import pytest

from ml.core import relations
from ml.core.config import TrainSettings
from ml.core.engines import Reader
from ml.core.predictions import Prediction
from ml.model import diagnostics
from ml.model.frames import TrainError

AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


class FakeReader(Reader):
    """The marts as lists of rows, in the column order the module reads."""

    def __init__(self, tables: dict[tuple[str, str], list[tuple]]) -> None:
        self.tables = tables

    def exists(self, relation):
        return relation in self.tables

    def rows(self, query, relation):
        return self.tables[relation]


def cutoff_rows(name, positives, event_type_events=494, target_events=None):
    """One scoring cutoff and len(positives) training cutoffs, 14 days apart."""
    target = event_type_events if target_events is None else target_events
    rows = [(name, AS_OF, 0, True, AS_OF, AS_OF, event_type_events, target, 900, None)]
    for number, count in enumerate(positives, start=1):
        at = AS_OF - dt.timedelta(days=14 * number)
        rows.append((name, at, number, False, at, at, 400, target, 800, count))
    return rows


FIELD_VALUES = [
    ("web.formFilledOut", "page_name", "contact", 220),
    ("web.formFilledOut", "page_name", "newsletter", 180),
    ("web.formFilledOut", "page_name", "quote", 94),
    ("web.webpagedetails.pageViews", "page_name", "home", 5000),
]
SUMMARY = [("web.webpagedetails.pageViews", 5000), ("commerce.purchases", 300)]


def reader(cutoffs):
    return FakeReader(
        {
            relations.ML_PREDICTION_CUTOFFS: cutoffs,
            relations.EDA_EVENT_FIELD_VALUES: FIELD_VALUES,
            relations.EDA_DATASET_SUMMARY: SUMMARY,
        }
    )


def prediction(where="page_name = 'subscriptionForm'", event_type="web.formFilledOut"):
    return Prediction.model_validate(
        {
            "name": "subscription",
            "kind": "first",
            "target": {"event_type": event_type, "where": where},
        }
    )


SETTINGS = TrainSettings()


def test_zero_positives_name_the_condition_and_the_values_seen():
    rows = cutoff_rows("subscription", [0, 0, 0, 0], target_events=0)
    with pytest.raises(TrainError) as caught:
        diagnostics.diagnose(reader(rows), prediction(), SETTINGS)
    message = str(caught.value)
    assert message.startswith("subscription (first: web.formFilledOut where ")
    assert "0 positives at the training cutoffs (train.min_positives = 50)" in message
    assert (
        "0 of 494 web.formFilledOut events have page_name = 'subscriptionForm'"
        in message
    )
    assert (
        "the page names most seen are 'contact' (220), 'newsletter' (180), "
        "'quote' (94)" in message
    )
    assert "'home'" not in message  # another event type's value
    assert "change target.where in predictions.yml" in message


def test_too_few_positives_at_the_holdout_alone_stop_training():
    rows = cutoff_rows("subscription", [9, 40, 40, 40], target_events=12)
    with pytest.raises(TrainError, match=r"120 positives .* and 9 at the holdout"):
        diagnostics.diagnose(reader(rows), prediction(), SETTINGS)
    enough = cutoff_rows("subscription", [10, 20, 20, 10], target_events=12)
    diagnosis = diagnostics.diagnose(reader(enough), prediction(), SETTINGS)
    assert diagnosis.positives() == (50, 10)


def test_a_target_event_type_absent_from_the_data_lists_those_present():
    rows = cutoff_rows("subscription", [0, 0], event_type_events=0)
    with pytest.raises(TrainError) as caught:
        diagnostics.diagnose(reader(rows), prediction(), SETTINGS)
    message = str(caught.value)
    assert "the data holds no web.formFilledOut events" in message
    assert (
        "the event types it holds are 'web.webpagedetails.pageViews' (5,000), "
        "'commerce.purchases' (300)" in message
    )
    assert "change target.event_type" in message


def test_the_table_and_the_record_of_a_passing_prediction():
    rows = cutoff_rows("subscription", [30, 30, 30], target_events=100)
    rows += cutoff_rows("purchase", [0, 0])  # another prediction: not read
    diagnosis = diagnostics.diagnose(reader(rows), prediction(), SETTINGS)
    record = diagnosis.record()
    assert [c["cutoff_number"] for c in record["cutoffs"]] == [0, 1, 2, 3]
    table = diagnostics.table_rows(record)
    assert table[0][0] == "scoring 2026-11-01" and table[0][-1] == "-"
    assert table[1] == ["2026-10-18", "2026-10-18 to 2026-10-18", 400, 100, 800, 30]
    assert diagnostics.window_text(record) == (
        "4 training cutoffs 14 days apart; label window of 14 days starting "
        "0 days after each cutoff"
    )


def test_a_missing_mart_or_prediction_says_to_featurize():
    with pytest.raises(TrainError, match=r"ml\.ml_prediction_cutoffs does not exist"):
        diagnostics.diagnose(FakeReader({}), prediction(), SETTINGS)
    other = cutoff_rows("purchase", [100, 100])
    with pytest.raises(TrainError, match=r"subscription: no row in .*featurize"):
        diagnostics.diagnose(reader(other), prediction(), SETTINGS)
