"""Scoring a real scoring export with a registered model, local lake and S3."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.core.lake import open_lake
from ml.features import export
from ml.model import frames, registry
from ml.scores import score, writeback
from tests.integration.conftest import s3_lake_settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def scored(production, settings):
    return score.score(settings)


def read(settings, scored_set):
    """A scores dataset as a DataFrame, read straight from the lake."""
    lake = open_lake(settings)
    parts = [
        pq.read_table(
            pa.BufferReader(lake.get_bytes(f"{scored_set.folder}/{p['file']}"))
        )
        for p in scored_set.manifest["parts"]
    ]
    return pa.concat_tables(parts).to_pandas()


def test_every_eligible_profile_gets_one_score_with_its_reasons(
    scored, production, settings, sql
):
    frame = read(settings, scored)
    eligible = {row[0] for row in sql("select profile_id from ml.ml_scoring_set")}
    assert len(frame) == scored.rows == len(eligible)
    assert frame["profile_id"].is_unique and set(frame["profile_id"]) == eligible
    assert frame["propensity"].between(0, 1).all()
    # Ranks follow the score: deciles of about a tenth, 10 at the top.
    ordered = frame.sort_values("propensity")
    assert (np.diff(ordered["decile"].to_numpy()) >= 0).all()
    assert (np.diff(ordered["percentile"].to_numpy()) >= 0).all()
    assert ordered["decile"].iloc[-1] == 10 and ordered["percentile"].max() == 100
    sizes = frame["decile"].value_counts()
    assert set(sizes.index) == set(range(1, 11))
    assert sizes.max() - sizes.min() <= 0.05 * len(frame)
    # Reasons: the model's features, by decreasing |SHAP|.
    features = set(score.load_model(settings).features)
    assert set(frame["reason_1"]) <= features
    magnitudes = frame[["reason_1_shap", "reason_2_shap", "reason_3_shap"]].abs()
    assert (magnitudes["reason_1_shap"] >= magnitudes["reason_2_shap"]).all()
    assert (
        magnitudes["reason_2_shap"].fillna(0) >= magnitudes["reason_3_shap"].fillna(0)
    ).all()
    assert (frame["model_version"] == production.version).all()
    manifest = scored.manifest
    assert (
        manifest["as_of"]
        == export.latest_export(settings, "ml_scoring_set").manifest["as_of"]
    )
    assert (frame["run_id"] == manifest["run_id"]).all()
    assert all(len(p["sha256"]) == 64 for p in manifest["parts"])


def test_reasons_match_catboost_shap_for_each_profile(scored, settings):
    from catboost import Pool

    loaded = score.load_model(settings)
    frame = read(settings, scored).set_index("profile_id")
    exported = export.latest_export(settings, "ml_scoring_set")
    rows = (
        export.read_export(settings, exported).to_pandas().sample(300, random_state=1)
    )
    prepared = frames.prepare(rows, loaded.features, loaded.categorical)
    shap = loaded.model.get_feature_importance(
        Pool(prepared[loaded.features], cat_features=loaded.categorical),
        type="ShapValues",
    )[:, :-1]
    best = np.abs(shap).argmax(axis=1)
    expected = [loaded.features[i] for i in best]
    got = frame.loc[rows["profile_id"], "reason_1"].tolist()
    assert got == expected
    np.testing.assert_allclose(
        frame.loc[rows["profile_id"], "reason_1_shap"].to_numpy(),
        shap[np.arange(len(best)), best],
        atol=1e-9,
    )


def test_scoring_again_gives_the_same_scores(scored, settings):
    again = score.score(settings)
    assert again.folder != scored.folder
    first = read(settings, scored).set_index("profile_id").sort_index()
    second = read(settings, again).set_index("profile_id").sort_index()
    columns = ["propensity", "percentile", "decile", "reason_1", "reason_1_shap"]
    assert first[columns].equals(second[columns])


def test_missing_versions_and_dates_are_refused_clearly(production, settings):
    with pytest.raises(registry.RegistryError, match="no version 999"):
        score.score(settings, model_version=999)
    with pytest.raises(score.ScoreError, match="No scoring export as of 2001-01-01"):
        score.score(settings, as_of=dt.date(2001, 1, 1))
    today = dt.date.fromisoformat(
        export.latest_export(settings, "ml_scoring_set").manifest["as_of"][:10]
    )
    pinned = score.score(settings, model_version=production.version, as_of=today)
    assert pinned.manifest["model_version"] == production.version


def test_scores_round_trip_through_s3(production, settings, s3_endpoint):
    """Export, score and ingest on an S3 lake; the model stays where it was trained."""
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").create_bucket(
        Bucket="scores"
    )
    s3 = s3_lake_settings(settings, s3_endpoint, "s3://scores/lake")
    export.export(s3, ["ml_scoring_set"])
    on_s3 = score.score(s3)
    assert open_lake(s3).exists(f"{on_s3.folder}/_manifest.json")
    result = writeback.ingest(s3)
    assert result.status == "success" and result.rows == on_s3.rows
    assert result.source.startswith("s3://scores/lake/ingress/")
