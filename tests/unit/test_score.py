"""Scoring without a database: SHAP by table lookup, reasons, ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import explain, score


@pytest.fixture(scope="module")
def model_and_rows():
    """A small CatBoost model with numeric and categorical features."""
    from catboost import CatBoostClassifier, Pool

    rng = np.random.default_rng(11)
    n = 4_000
    frame = pd.DataFrame(
        {
            "clicks": rng.poisson(2, n).astype(float),
            "recency": np.where(rng.random(n) < 0.2, np.nan, rng.exponential(9, n)),
            "country": rng.choice(["US", "CA", "DE", "FR"], n),
            "device": rng.choice(["mobile", "desktop", "tablet"], n),
        }
    )
    logit = (
        -2.0
        + 0.5 * frame["clicks"]
        - 0.05 * frame["recency"].fillna(30)
        + np.where(frame["country"] == "US", 0.8, 0.0)
        + np.where((frame["country"] == "DE") & (frame["device"] == "mobile"), 1, 0)
    )
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    categorical = ["country", "device"]
    model = CatBoostClassifier(
        iterations=40,
        depth=4,
        random_seed=3,
        verbose=False,
        thread_count=1,
        allow_writing_files=False,
    )
    model.fit(Pool(frame[:3_000], label[:3_000], cat_features=categorical))
    return model, frame, categorical


def test_table_lookup_equals_catboost_shap_also_for_leaves_seen_later(
    model_and_rows,
):
    from catboost import Pool

    model, frame, categorical = model_and_rows
    explainer = explain.Explainer(model, frame.shape[1])
    for rows in (frame[:200], frame[3_000:]):  # the second chunk reaches new leaves
        pool = Pool(rows, cat_features=categorical)
        mine = explainer.contributions(pool, model.calc_leaf_indexes(pool))
        theirs = model.get_feature_importance(pool, type="ShapValues")[:, :-1]
        np.testing.assert_allclose(mine.T, theirs, rtol=0, atol=1e-9)
    assert all(known.any() for known in explainer._known)


def test_shap_values_add_up_to_the_models_raw_score(model_and_rows):
    from catboost import Pool

    model, frame, categorical = model_and_rows
    explainer = explain.Explainer(model, frame.shape[1])
    pool = Pool(frame[3_000:], cat_features=categorical)
    contributions = explainer.contributions(pool, model.calc_leaf_indexes(pool))
    raw = explainer.raw_scores(contributions)
    expected = model.predict(pool, prediction_type="RawFormulaVal")
    np.testing.assert_allclose(raw, expected, rtol=0, atol=1e-9)
    probability = model.predict_proba(pool)[:, 1]
    np.testing.assert_allclose(1 / (1 + np.exp(-raw)), probability, atol=1e-12)


def test_stored_tables_explain_like_fresh_ones_and_learn_what_they_lack(
    model_and_rows, tmp_path
):
    from catboost import Pool

    model, frame, categorical = model_and_rows
    trained = explain.Explainer(model, frame.shape[1])
    trained.learn(Pool(frame[:300], cat_features=categorical))
    trained.save(tmp_path / explain.TABLES_FILE)
    loaded = explain.Explainer.load(
        model, frame.shape[1], tmp_path / explain.TABLES_FILE
    )
    learned = [known.sum() for known in loaded._known]
    assert learned == [known.sum() for known in trained._known]
    assert sum(learned) < sum(known.size for known in loaded._known)
    pool = Pool(frame[3_000:], cat_features=categorical)
    mine = loaded.contributions(pool, model.calc_leaf_indexes(pool))
    theirs = model.get_feature_importance(pool, type="ShapValues")
    np.testing.assert_allclose(mine.T, theirs[:, :-1], rtol=0, atol=1e-9)
    assert loaded.expected_value == pytest.approx(theirs[0, -1], abs=1e-12)
    # Leaves no stored row reached were explained as scoring reached them.
    assert sum(known.sum() for known in loaded._known) > sum(learned)


def test_tables_of_another_model_are_refused(model_and_rows, tmp_path):
    from catboost import Pool

    model, frame, categorical = model_and_rows
    other = model.copy()
    other.shrink(ntree_end=10)
    explainer = explain.Explainer(other, frame.shape[1])
    explainer.learn(Pool(frame[:50], cat_features=categorical))
    explainer.save(tmp_path / "other.npz")
    with pytest.raises(ValueError, match="does not match"):
        explain.Explainer.load(model, frame.shape[1], tmp_path / "other.npz")


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
