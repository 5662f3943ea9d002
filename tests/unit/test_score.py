"""Scoring without a database: SHAP by table lookup, reasons, ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.model import explain
from ml.scores import score


@pytest.fixture(scope="module")
def model_and_rows():
    """A small CatBoost model with numeric, one-hot and counter splits."""
    from catboost import CatBoostClassifier, Pool

    rng = np.random.default_rng(11)
    n = 4_000
    frame = pd.DataFrame(
        {
            "clicks": rng.poisson(2, n).astype(float),
            "recency": np.where(rng.random(n) < 0.2, np.nan, rng.exponential(9, n)),
            "country": rng.choice(["US", "CA", "DE", "FR", "IT", "ES"], n),
            "device": rng.choice(["mobile", "desktop", "tablet"], n),
            "plan": rng.choice(["free", "pro", "team", "enterprise", "edu"], n),
        }
    )
    logit = (
        -2.0
        + 0.5 * frame["clicks"]
        - 0.05 * frame["recency"].fillna(30)
        + np.where(frame["country"] == "US", 0.8, 0.0)
        + np.where((frame["country"] == "DE") & (frame["plan"] == "pro"), 2, 0)
        + np.where((frame["country"] == "FR") & (frame["plan"] == "team"), -2, 0)
        + np.where(frame["device"] == "mobile", 0.5, 0.0)
    )
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    categorical = ["country", "device", "plan"]
    model = CatBoostClassifier(
        iterations=60,
        depth=5,
        one_hot_max_size=3,  # device one-hot, the others counters
        max_ctr_complexity=2,  # and counters over pairs of them
        auto_class_weights="Balanced",  # weighted leaves, as training does
        random_seed=3,
        verbose=False,
        thread_count=1,
        allow_writing_files=False,
    )
    model.fit(Pool(frame[:3_000], label[:3_000], cat_features=categorical))
    return model, frame, categorical


def test_the_fixture_has_every_kind_of_split_and_unreached_leaves(model_and_rows):
    model = model_and_rows[0]
    structure = explain._model_json(model)
    kinds = {
        split["split_type"]
        for tree in structure["oblivious_trees"]
        for split in tree["splits"] or []
    }
    assert kinds == {"FloatFeature", "OneHotFeature", "OnlineCtr"}
    players = {p for tree in explain._split_players(structure) for p in tree}
    assert (2, 4) in players  # a counter over country x plan
    assert any(len(set(tree)) < len(tree) for tree in explain._split_players(structure))
    assert (model.get_leaf_weights() == 0).any()


def test_tables_equal_catboost_shap_for_every_leaf_rows_reach(model_and_rows):
    from catboost import Pool

    model, frame, categorical = model_and_rows
    explainer = explain.Explainer(model, frame.shape[1])
    pool = Pool(frame, cat_features=categorical)
    leaves = model.calc_leaf_indexes(pool)
    mine = explainer.contributions(leaves)
    theirs = model.get_feature_importance(pool, type="ShapValues")
    np.testing.assert_allclose(mine.T, theirs[:, :-1], rtol=0, atol=1e-9)
    assert explainer.expected_value == pytest.approx(theirs[0, -1], abs=1e-12)
    # Rows the model never saw reach leaves no training row reached.
    bounds = np.cumsum(model.get_tree_leaf_counts())
    weights = np.split(model.get_leaf_weights(), bounds)
    assert any(
        (weights[tree][leaves[:, tree]] == 0).any() for tree in range(leaves.shape[1])
    )


def test_shap_values_add_up_to_the_models_raw_score(model_and_rows):
    from catboost import Pool

    model, frame, categorical = model_and_rows
    explainer = explain.Explainer(model, frame.shape[1])
    pool = Pool(frame[3_000:], cat_features=categorical)
    contributions = explainer.contributions(model.calc_leaf_indexes(pool))
    raw = explainer.raw_scores(contributions)
    expected = model.predict(pool, prediction_type="RawFormulaVal")
    np.testing.assert_allclose(raw, expected, rtol=0, atol=1e-9)
    probability = model.predict_proba(pool)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-raw)), probability, atol=1e-12)


def test_a_model_without_oblivious_trees_is_refused(model_and_rows):
    from catboost import CatBoostClassifier

    _, frame, _ = model_and_rows
    numeric = frame[["clicks", "recency"]][:500]
    model = CatBoostClassifier(
        iterations=5,
        depth=3,
        grow_policy="Depthwise",
        verbose=False,
        thread_count=1,
        allow_writing_files=False,
    )
    model.fit(numeric, (numeric["clicks"] > 2).astype(int))
    with pytest.raises(ValueError, match="oblivious trees"):
        explain.Explainer(model, numeric.shape[1])


def test_reasons_are_the_largest_contributions_in_order_with_their_sign():
    contributions = np.array(
        [
            [0.1, 0.0, -2.0],  # a
            [-0.5, 0.0, 0.3],  # b
            [0.2, 0.0, 0.0],  # c
            [0.05, 0.7, 0.0],  # d
        ]
    )
    (names1, values1), (names2, values2), (names3, values3) = score.top_reasons(
        contributions, ["a", "b", "c", "d"]
    )
    assert names1.to_pylist() == ["b", "d", "a"]
    assert values1.to_pylist() == [-0.5, 0.7, -2.0]
    assert names2.to_pylist() == ["c", None, "b"]
    assert values2.to_pylist() == [0.2, None, 0.3]
    assert names3.to_pylist() == ["a", None, None]
    assert values3.to_pylist()[0] == 0.1


def test_fewer_features_than_reasons_leave_the_rest_empty():
    reasons = score.top_reasons(np.array([[1.0, -1.0]]), ["only"])
    assert reasons[0][0].to_pylist() == ["only", "only"]
    assert reasons[1][0].null_count == 2 and reasons[2][1].null_count == 2


def test_ranks_put_the_highest_scores_in_decile_ten_and_ties_together():
    rng = np.random.default_rng(5)
    propensity = np.concatenate([rng.random(990), np.full(10, 0.5)])
    percentile, decile = score.rank(propensity, np.sort(propensity))
    assert percentile.max() == 100.0 and decile[propensity.argmax()] == 10
    assert decile[propensity.argmin()] == 1
    tied = propensity == 0.5
    assert len(set(percentile[tied])) == 1 and len(set(decile[tied])) == 1
    # Higher score, never a lower decile; deciles hold about a tenth each.
    order = np.argsort(propensity, kind="stable")
    assert (np.diff(decile[order]) >= 0).all()
    assert set(np.bincount(decile)[1:]) <= set(range(90, 111))
