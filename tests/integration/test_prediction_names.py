"""Predictions of new names on data of another shape: sync, then featurize.

A copy of the project gets a predictions.yml whose names are not the shipped
ones (``any_form_fill``, kind first, any web.formFilledOut; ``big_order``,
kind repeat, purchases over 50), ``enrich predictions sync`` writes their dbt
files into it, and ``enrich featurize`` builds them on an export in the
reference workflow's format (:mod:`tests.shapes`), with its own ENRICH_HOME.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ml.core import warehouse
from ml.core.config import load_settings
from ml.data import files
from ml.features import featurize
from tests import shapes

pytestmark = pytest.mark.integration

ENRICH = Path(sys.executable).parent / "enrich"
PROJECT = Path(__file__).resolve().parents[2]

NEW_NAMES = """\
predictions:
  - name: any_form_fill
    kind: first
    target:
      event_type: web.formFilledOut
  - name: big_order
    kind: repeat
    target:
      event_type: commerce.purchases
      where: order_total > 50
"""


@pytest.fixture(scope="module")
def project():
    """A copy of the project with the new predictions, synced, and its home."""
    home = Path(tempfile.mkdtemp(prefix="enrich-names-", dir="/tmp"))  # socket
    copy = home / "project"
    for name in ("models", "macros", "seeds"):
        shutil.copytree(PROJECT / name, copy / name)
    shutil.copytree(PROJECT / "tests" / "dbt", copy / "tests" / "dbt")
    for name in ("dbt_project.yml", "profiles.yml", "selectors.yml", "enrich.yml"):
        shutil.copy(PROJECT / name, copy / name)
    (copy / "predictions.yml").write_text(NEW_NAMES)
    env = {
        **os.environ,
        "ENRICH_CONFIG": str(copy / "enrich.yml"),
        "ENRICH_HOME": str(home),
    }
    env.pop("ENRICH_PREDICTIONS__FILE", None)
    synced = subprocess.run(
        [str(ENRICH), "predictions", "sync"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    settings = load_settings(project_dir=copy, home=home)
    yield settings, synced
    warehouse.stop_embedded(settings)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def featurized(project):
    settings, _ = project
    export = shapes.form_fill_export(settings.home / "events.jsonl.gz")
    files.load_files(settings, [str(export.path)], identity_field=shapes.IDENTITY_FIELD)
    return featurize.featurize(settings)


def rows(settings, query: str) -> list[tuple]:
    with warehouse.connect(settings) as conn:
        return conn.execute(query).fetchall()


def test_sync_replaces_the_shipped_models_by_the_new_ones(project):
    settings, synced = project
    folder = settings.project_dir / "models" / "marts" / "ml" / "predictions"
    assert sorted(path.name for path in folder.glob("*.sql")) == [
        "ml_any_form_fill__scoring_set.sql",
        "ml_any_form_fill__training_set.sql",
        "ml_big_order__scoring_set.sql",
        "ml_big_order__training_set.sql",
    ]
    assert "ml_subscription__training_set.sql: removed" in synced.stdout


def test_featurize_builds_every_set_of_the_new_predictions(project, featurized):
    settings, _ = project
    statuses = {node.status for node in featurized.nodes}
    assert statuses <= {"success", "pass", "no-op"}, statuses
    for name in ("any_form_fill", "big_order"):
        [(training, positives)] = rows(
            settings,
            f"select count(*), count(*) filter (where label) "  # noqa: S608 - test names
            f"from ml.ml_{name}__training_set",
        )
        assert 0 < positives < training, (name, positives, training)
        [(scoring,)] = rows(
            settings,
            f"select count(*) from ml.ml_{name}__scoring_set",  # noqa: S608
        )
        assert scoring > 0


def test_big_order_labels_count_only_purchases_over_50(project, featurized):
    """Recounted from the staged events: a purchase over 50 in the window."""
    settings, _ = project
    [(positives, recounted, any_purchase)] = rows(
        settings,
        """
        select
            count(*) filter (where t.label),
            count(*) filter (where exists (
                select 1 from staging.stg_xdm__experience_events e
                where e.profile_id = t.profile_id
                  and e.event_type = 'commerce.purchases' and e.order_total > 50
                  and e.event_at >= t.cutoff_at
                  and e.event_at < t.cutoff_at + interval '14 days')),
            count(*) filter (where exists (
                select 1 from staging.stg_xdm__experience_events e
                where e.profile_id = t.profile_id
                  and e.event_type = 'commerce.purchases'
                  and e.event_at >= t.cutoff_at
                  and e.event_at < t.cutoff_at + interval '14 days'))
        from ml.ml_big_order__training_set t
        """,
    )
    assert positives == recounted > 0
    assert any_purchase > positives  # the condition leaves some purchases out
