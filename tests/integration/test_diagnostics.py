"""Training's diagnostics on a real build: a prediction whose condition
matches nothing, and too few positives, stop with what the data holds."""

from __future__ import annotations

import pytest

from ml.core import engines, predictions
from ml.features import featurize
from ml.model import diagnostics, train
from ml.model.frames import TrainError

pytestmark = pytest.mark.integration

SELECT = ["+ml_prediction_cutoffs", "+eda_event_field_values", "+eda_dataset_summary"]

# Appended to the shipped predictions.yml (its per-prediction marts need
# every shipped prediction).
NEVER = """
  - name: never
    kind: first
    target:
      event_type: web.formFilledOut
      where: page_name = 'noSuchPage' or link_name = 'noSuchLink'
"""


@pytest.fixture
def never(built, settings, tmp_path, keep_builds):
    """The marts built with one more prediction, whose where matches nothing;
    the shipped spec's marts are rebuilt afterwards (other tests read them)."""
    path = tmp_path / "predictions.yml"
    path.write_text(settings.predictions_file.read_text() + NEVER)
    spec = predictions.read_predictions(path)
    run = featurize.featurize(
        settings,
        full_refresh=True,
        select=SELECT,
        dbt_vars={"predictions": predictions.compiled(spec)},
    )
    assert {node.status for node in run.nodes} <= {"success", "pass", "no-op"}
    yield spec.get("never")
    featurize.featurize(settings, full_refresh=True, select=SELECT)


def test_a_condition_that_matches_nothing_says_what_the_data_holds(
    never, settings, sql
):
    with (
        engines.open_reader(settings, "warehouse") as reader,
        pytest.raises(TrainError) as caught,
    ):
        diagnostics.diagnose(reader, never, settings.train)
    message = str(caught.value)
    [(forms,)] = sql(
        "select count(*) from staging.stg_xdm__experience_events "
        "where event_type = 'web.formFilledOut'"
    )
    assert message.startswith("never (first: web.formFilledOut where page_name")
    assert "0 positives at the training cutoffs" in message
    assert f"0 of {forms:,} web.formFilledOut events have page_name" in message
    top = sql(
        "select page_name, count(*) from staging.stg_xdm__experience_events "
        "where event_type = 'web.formFilledOut' and page_name is not null "
        "group by page_name order by count(*) desc, page_name limit 3"
    )
    listed = ", ".join(f"'{value}' ({count:,})" for value, count in top)
    assert f"the page names most seen are {listed}" in message
    assert "change target.where in predictions.yml" in message


def test_too_few_positives_stop_training_before_it_fits(built, settings, quick, sql):
    [(earlier, holdout)] = sql(
        "select sum(count_positives) filter (where cutoff_number > 1), "
        "sum(count_positives) filter (where cutoff_number = 1) "
        "from ml.ml_prediction_cutoffs where prediction_name = 'subscription'"
    )
    assert earlier >= 50  # the shipped spec passes the default minimums
    strict = quick(settings, min_positives=earlier + 1)
    with pytest.raises(TrainError) as caught:
        train.train(strict)
    message = str(caught.value)
    assert message.startswith("subscription (first: web.formFilledOut where ")
    assert f"{earlier:,} positives at the training cutoffs" in message
    assert f"and {holdout:,} at the holdout cutoff" in message
    assert "the page names most seen are 'subscriptionForm'" in message
    assert diagnostics.check(settings).positives() == (earlier, holdout)
