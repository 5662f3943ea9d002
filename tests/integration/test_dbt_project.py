"""The dbt project on the real embedded warehouse: build, tests, incremental."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from ml import synthetic
from ml.core.predictions import load_predictions
from ml.core.warehouse import dbt_environment
from ml.data import generated
from ml.features import featurize
from tests.integration.conftest import load_late_clicks
from tools import lint_sql

pytestmark = pytest.mark.integration

TODAY = dt.datetime.now(dt.UTC).date()


def snapshot(sql, table: str) -> set[tuple]:
    return set(sql(f"select * from {table}"))  # noqa: S608 - test-owned names


def test_build_passes_every_test_and_freshness(built, settings):
    _, run = built
    run = run or featurize.featurize(settings, full_refresh=True)
    statuses = {node.status for node in run.nodes}
    assert statuses <= {"success", "pass", "no-op"}, statuses
    tests = [n for n in run.nodes if n.unique_id.startswith(("test.", "unit_test."))]
    assert len(tests) > 50
    # A user's build leaves dbt's unit tests out (see test_unit_tests_pass...).
    assert not any(n.unique_id.startswith("unit_test.") for n in tests)
    # The scores source is fresh once scores are ingested (see test_ingest).
    freshness = featurize.run_dbt(
        settings, ["source", "freshness", "--select", "source:xdm"]
    )
    assert freshness.success
    docs = featurize.run_dbt(settings, ["docs", "generate"])
    assert docs.success
    catalog = json.loads(
        (settings.home / "dbt" / "target" / "catalog.json").read_text()
    )
    assert "model.enrich.ml_training_set" in catalog["nodes"]


def test_unit_tests_pass_on_the_shipped_spec(built, settings):
    """The project's checks of model logic on fixed fixtures, run explicitly."""
    run = featurize.run_dbt(settings, ["test", "--select", "test_type:unit"])
    units = [n for n in run.nodes if n.unique_id.startswith("unit_test.")]
    assert len(units) >= 5
    assert {n.status for n in units} == {"pass"}


def test_training_and_scoring_sets_share_their_feature_columns(built, sql):
    def columns(table: str) -> list[str]:
        return [
            row[0]
            for row in sql(
                "select column_name from information_schema.columns "
                "where table_schema = 'ml' and table_name = %s "
                "order by ordinal_position",
                [table],
            )
        ]

    training, scoring = columns("ml_training_set"), columns("ml_scoring_set")
    assert training[:2] == ["profile_id", "cutoff_at"] == scoring[:2]
    assert training[-1] == "label"
    assert training[:-1] == scoring
    assert len(scoring) > 60


def test_labels_match_the_generators_truth(built, sql):
    rows = sql(
        "select avg(labels.label::int), avg(truth.p_true), count(*) "
        "from ml.ml_labels as labels "
        "inner join synthetic.truth as truth "
        "on truth.profile_id = labels.profile_id "
        "and truth.window_start = labels.label_window_start_at "
        "where labels.prediction_name = 'subscription'"
    )
    observed, oracle, matched = rows[0]
    total = sql(
        "select count(*) from ml.ml_labels where prediction_name = 'subscription'"
    )[0][0]
    assert matched == total > 1000
    assert abs(float(observed) - float(oracle)) < 0.02


def test_label_correlation_is_point_in_time_per_prediction(built, sql):
    rank = dict(
        sql(
            "select event_type, correlation_rank from eda.eda_label_correlation "
            "where prediction_name = 'subscription' and feature_window = 'total'"
        )
    )
    responses = ["directMarketing.emailClicked", "decisioning.propositionInteract"]
    exposures = ["advertising.impressions", "directMarketing.emailSent"]
    assert max(rank[t] for t in responses) < min(rank[t] for t in exposures)
    # Each prediction's rows are its own training rows (ml_labels).
    counted = sql(
        "select prediction_name, max(count_rows), max(count_positives) "
        "from eda.eda_label_correlation group by prediction_name order by 1"
    )
    labels = sql(
        "select prediction_name, count(*), sum(case when label then 1 else 0 end) "
        "from ml.ml_labels group by prediction_name order by 1"
    )
    assert [(n, r, p) for n, r, p in counted] == [(n, r, p) for n, r, p in labels]
    assert {row[0] for row in counted} == {"subscription", "purchase"}


def test_prediction_cutoffs_count_the_marts_rows(built, settings, sql):
    spec = load_predictions(settings).items
    cutoffs = sql(
        "select prediction_name, cutoff_at, is_scoring_cutoff, "
        "count_eligible_profiles, count_positives, count_event_type_events, "
        "count_target_events from ml.ml_prediction_cutoffs"
    )
    eligible = dict(
        ((n, c), k)
        for n, c, k in sql(
            "select prediction_name, cutoff_at, count(*) "
            "from intermediate.int_profile_cutoffs_eligible group by 1, 2"
        )
    )
    positives = dict(
        ((n, c), k)
        for n, c, k in sql(
            "select prediction_name, cutoff_at, "
            "sum(case when label then 1 else 0 end) from ml.ml_labels group by 1, 2"
        )
    )
    assert len(cutoffs) == sum(item.training_cutoffs + 1 for item in spec)
    for name, cutoff, scoring, count, positive, typed, matching in cutoffs:
        assert count == eligible[(name, cutoff)]
        assert positive == (None if scoring else positives[(name, cutoff)])
        assert 0 <= matching <= typed
    [(forms, subscriptions)] = sql(
        "select count(*), count(*) filter (where page_name = 'subscriptionForm') "
        "from staging.stg_xdm__experience_events "
        "where event_type = 'web.formFilledOut'"
    )
    assert (
        [(t, m) for n, _, s, _, _, t, m in cutoffs if s and n == "subscription"]
    ) == [(forms, subscriptions)]


def test_big_data_is_sampled_to_the_cap(built, settings, sql):
    [(events,)] = sql(
        "select sum(records_loaded) from raw.batches "
        "where dataset = 'experience_events' and status = 'success'"
    )
    assert featurize.sample_percent(settings) == 100.0  # under the default cap
    capped = settings.model_copy(
        update={
            "featurize": settings.featurize.model_copy(
                update={"sample_above_events": int(events) // 4}
            )
        }
    )
    assert featurize.sample_percent(capped) == pytest.approx(25.0, abs=0.1)
    unlimited = settings.model_copy(
        update={
            "featurize": settings.featurize.model_copy(
                update={"sample_above_events": None}
            )
        }
    )
    assert featurize.sample_percent(unlimited) == 100.0


def test_a_new_batch_builds_incrementally_to_the_full_refresh_result(
    built, settings, sql, tmp_path
):
    before = sql(
        "select batch_id, min(xmin::text::bigint) "
        "from staging.stg_xdm__experience_events group by 1"
    )
    profile = sql(
        "select profile_id from ml.ml_scoring_set order by profile_id limit 1"
    )[0][0]
    batch = load_late_clicks(settings, tmp_path, profile, "late")

    featurize.featurize(settings, dbt_vars={"incremental_lookback_minutes": 0})
    after = dict(
        sql(
            "select batch_id, min(xmin::text::bigint) "
            "from staging.stg_xdm__experience_events group by 1"
        )
    )
    # Only the new batch was processed: old rows were not rewritten.
    assert all(after[batch_id] == xmin for batch_id, xmin in before)
    assert batch.batch_id in after
    incremental = {
        table: snapshot(sql, table)
        for table in ("ml.ml_training_set", "ml.ml_scoring_set")
    }
    clicks = sql(
        "select count_email_clicked_total from ml.ml_scoring_set where profile_id = %s",
        [profile],
    )[0][0]
    assert clicks >= 3

    featurize.featurize(settings, full_refresh=True)
    for table, rows in incremental.items():
        assert snapshot(sql, table) == rows, table


def test_a_replaced_dataset_leaves_no_stale_staged_rows(built, settings, sql):
    other = synthetic.GeneratorParams(profiles=400, seed=11, as_of=TODAY)
    generated.load_generated(settings, other, replace=True)
    featurize.run_dbt(settings, ["run", "--select", "stg_xdm__experience_events"])
    staged = sql("select count(*) from staging.stg_xdm__experience_events")
    raw = sql("select count(*) from raw.experience_events")
    assert staged == raw
    params, _ = built
    generated.load_generated(settings, params, replace=True)
    featurize.featurize(settings)


def test_the_point_in_time_test_fails_on_a_model_that_peeks(built, settings, tmp_path):
    project = tmp_path / "project"
    for name in ("models", "macros", "seeds", "tests"):
        shutil.copytree(settings.project_dir / name, project / name)
    for name in ("dbt_project.yml", "profiles.yml", "predictions.yml"):
        shutil.copy(settings.project_dir / name, project / name)
    model = project / "models" / "marts" / "ml" / "ml_features.sql"
    honest = "profile_buckets.bucket_end_at <= spine.cutoff_at"
    assert honest in model.read_text()
    # The bucket that starts at the cutoff lies after it: counting it peeks.
    model.write_text(
        model.read_text().replace(
            honest, "profile_buckets.bucket_start_at <= spine.cutoff_at"
        )
    )
    peeking = settings.model_copy(update={"project_dir": project})
    pit_test = "assert_features_count_only_events_before_their_cutoff"
    # The unit test on hand-made buckets catches it before the model builds...
    with pytest.raises(featurize.FeaturizeError) as caught:
        featurize.run_dbt(peeking, ["build", "--select", "ml_features", pit_test])
    assert "features_sum_buckets_before_the_cutoff" in str(caught.value)
    # ... and on real data the point-in-time recount fails.
    command = ["build", "--select", "ml_features", pit_test]
    with pytest.raises(featurize.FeaturizeError) as caught:
        featurize.run_dbt(peeking, [*command, "--exclude", "test_type:unit"])
    assert f"{pit_test}: fail" in str(caught.value)
    # Checking a fifth of the profiles (as on big data) catches it too, and
    # reports fewer rows: the sample is real.
    failing = str(caught.value)
    sampled = [*command, "--exclude", "test_type:unit", "--vars"]
    with pytest.raises(featurize.FeaturizeError) as caught:
        featurize.run_dbt(peeking, [*sampled, '{"pit_test_sample_percent": 20}'])
    assert f"{pit_test}: fail" in str(caught.value)
    assert _failures(str(caught.value)) < _failures(failing) / 2
    # The honest model passes the same test again.
    run = featurize.run_dbt(settings, command)
    assert {node.status for node in run.nodes} <= {"success", "pass"}


def test_sql_is_lint_clean(built, settings):
    """sqlfluff with the dbt templater (it compiles against the warehouse).

    The same run as ``tools/lint_sql.py``: a file dbt cannot compile is a
    violation too, not a silently skipped file.
    """
    result = lint_sql.lint(
        settings.project_dir, dbt_environment(settings), lint_sql.LINTED_PATHS
    )
    assert len(result.files) > 15
    problems = [str(violation) for violation in result.violations]
    assert problems == []


def _failures(message: str) -> int:
    """The failing row count dbt reports for a test ("Got 123 results")."""
    import re

    return int(re.search(r"Got (\d+) results?", message).group(1))
