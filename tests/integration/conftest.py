"""Real services for integration tests: embedded PostgreSQL, an S3 server."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from collections.abc import Iterator

import pytest

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def empty_raw(warehouse) -> None:
    """Start a test with no raw datasets at all."""
    from ml.core.warehouse import connect

    with connect(warehouse) as conn:
        conn.execute("drop schema if exists raw cascade")
        conn.execute("drop schema if exists synthetic cascade")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1: a real HTTP endpoint, fake credentials."""
    from moto.server import ThreadedMotoServer

    saved = {
        key: os.environ.get(key)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",  # noqa: S106 - moto's fake credentials
        AWS_DEFAULT_REGION="us-east-1",
    )
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def built(settings, warehouse):
    """Demo data (1,500 profiles, history ending today) and a dbt build.

    Module-scoped: other modules empty the raw schema. Loading is idempotent,
    so the data is generated again only when it is gone, and dbt rebuilds
    only then (or when the ML marts are missing).
    """
    from ml import synthetic
    from ml.core.warehouse import connect
    from ml.data import generated
    from ml.features import featurize

    params = synthetic.GeneratorParams(profiles=1_500, seed=3, as_of=TODAY)
    with connect(settings) as conn:
        exists = conn.execute("select to_regclass('raw.batches')").fetchone()[0]
        files = (
            exists
            and conn.execute(
                "select exists (select 1 from raw.batches where source <> 'synthetic')"
            ).fetchone()[0]
        )
        if files:  # batches other tests loaded from files: start clean
            conn.execute("drop schema raw cascade")
            conn.execute("drop schema if exists synthetic cascade")
    results = generated.load_generated(settings, params, replace=True)
    with connect(settings) as conn:
        marts = conn.execute("select to_regclass('ml.ml_training_set')").fetchone()[0]
    reloaded = any(result.status == "success" for result in results)
    run = (
        featurize.featurize(settings, full_refresh=True)
        if reloaded or not marts
        else None
    )
    return params, run


def _quick(settings, **train_overrides):
    """Small, fast training parameters (each set is its own fingerprint)."""
    fast = {"iterations": 60, "baseline_trees": 20, "shap_sample_rows": 200}
    return settings.model_copy(
        update={
            "train": settings.train.model_copy(update={**fast, **train_overrides}),
            "registry": settings.registry.model_copy(
                update={"min_auc": 0.3, "max_auc_drop": 0.0}
            ),
        }
    )


@pytest.fixture(scope="session")
def quick():
    """Settings with small training parameters: ``quick(settings, **overrides)``."""
    return _quick


@pytest.fixture(scope="module")
def production(built, settings, warehouse):
    """A fresh registry whose production model was trained on a new export."""
    from ml.core.warehouse import connect
    from ml.features import export
    from ml.model import registry, train

    with connect(settings) as conn:
        conn.execute("drop schema if exists registry cascade")
    exported = export.export(settings)
    fast = _quick(settings, iterations=80)
    version, _ = registry.register(fast, train.train(fast, exported[0]))
    version, decision = registry.promote(fast, version.version)
    assert version.status == "production", decision
    return version


@pytest.fixture(scope="module")
def ingested(production, settings):
    """The production model's scores, ingested, and the enriched profiles built."""
    from ml.features import featurize
    from ml.scores import score, writeback

    result = writeback.ingest(settings, score.score(settings))
    featurize.featurize(settings, select=["source:scores+"])
    return result


def s3_lake_settings(settings, endpoint: str, lake: str):
    """``settings`` with the lake at ``lake`` (an s3:// URL) on ``endpoint``."""
    return settings.model_copy(
        update={
            "storage": settings.storage.model_copy(
                update={"s3_endpoint_url": endpoint, "lake": lake}
            )
        }
    )


def load_late_clicks(settings, folder, profile: str, prefix: str, count: int = 3):
    """Load ``count`` email clicks of ``profile`` dated 20+ days before today,
    as a new file batch: old timestamps arriving late change past cutoffs."""
    from ml.data import files

    midnight = dt.datetime.combine(dt.datetime.now(dt.UTC).date(), dt.time(), dt.UTC)
    late = [
        {
            "_id": f"{prefix}-{n}",
            "timestamp": (midnight - dt.timedelta(days=20 + n)).isoformat(),
            "eventType": "directMarketing.emailClicked",
            "identityMap": {"ECID": [{"id": profile}]},
        }
        for n in range(count)
    ]
    path = folder / f"{prefix}.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(map(json.dumps, late)).encode()))
    [batch] = files.load_files(settings, [str(path)])
    assert batch.records_loaded == count
    return batch
