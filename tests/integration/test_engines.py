"""One dbt project, three engines: DuckDB and Spark build what PostgreSQL builds.

Each engine featurizes the same loaded data from the lake's raw copy; its
ML sets, read back through ``enrich export``, must equal the warehouse's row
for row. The Spark case needs the ``spark`` extra (``make test`` installs it)
and Java 17; ``pytest -m "not spark"`` leaves it out.
"""

from __future__ import annotations

import math

import pytest

from ml import report
from ml.core import engines, relations
from ml.core.warehouse import connect
from ml.features import builds, export, featurize
from tests.integration.conftest import load_late_clicks

pytestmark = pytest.mark.integration

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


def exported_rows(
    settings, target: str | None, engine: str
) -> dict[str, dict[tuple, dict]]:
    """Each ML set, exported (from ``target``, or where it was built), by key."""
    sets = {}
    for exported in export.export(settings, target=target):
        assert exported.manifest["engine"] == engine
        table = export.read_export(settings, exported)
        rows = {(r["profile_id"], r["cutoff_at"]): r for r in table.to_pylist()}
        assert len(rows) == table.num_rows  # the key is unique
        sets[exported.dataset] = rows
        sets[exported.dataset + ":columns"] = table.column_names
    return sets


def differences(expected: dict, actual: dict, limit: int = 5) -> list[str]:
    """Rows or values that differ (numbers within 1e-9 relative)."""
    found = []
    if expected.keys() != actual.keys():
        missing = sorted(expected.keys() - actual.keys())[:limit]
        extra = sorted(actual.keys() - expected.keys())[:limit]
        return [f"keys differ: missing {missing}, extra {extra}"]
    for key, row in expected.items():
        for column, value in row.items():
            other = actual[key][column]
            if isinstance(value, float) or isinstance(other, float):
                same = (value is None and other is None) or (
                    value is not None
                    and other is not None
                    and math.isclose(value, other, rel_tol=1e-9, abs_tol=1e-9)
                )
            else:
                same = value == other
            if not same:
                found.append(f"{key} {column}: {value!r} != {other!r}")
                if len(found) >= limit:
                    return found
    return found


@pytest.fixture(scope="module")
def warehouse_sets(built, settings):
    return exported_rows(settings, "warehouse", "warehouse")


@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_builds_the_warehouse_ml_sets_row_for_row(
    engine, built, settings, warehouse_sets, keep_builds, sql
):
    run = featurize.featurize(settings, full_refresh=True, target=engine)
    statuses = {node.status for node in run.nodes}
    assert statuses <= {"success", "pass", "no-op"}, statuses
    ran = {node.unique_id for node in run.nodes}
    assert "test.enrich.assert_features_count_only_events_before_their_cutoff" in ran
    assert not any(uid.startswith("unit_test.") for uid in ran)  # users' builds
    assert sum(uid.startswith("test.") for uid in ran) > 50
    # The project's own checks of the models' logic pass on this engine too
    # (the profile store stays in the warehouse: its unit test runs there).
    tested = featurize.run_dbt(
        settings,
        ["test", "--select", "test_type:unit", "--exclude", "profiles_enriched"],
        target=engine,
    ).nodes
    units = [node for node in tested if node.unique_id.startswith("unit_test.")]
    assert len(units) >= 4 and {node.status for node in units} == {"pass"}
    # The profile store stays in the warehouse.
    assert "model.enrich.profiles_enriched" not in ran
    assert builds.ml_set_build(settings, "ml_training_set").target == engine

    # Export reads from the engine that built the sets.
    built_here = exported_rows(settings, None, engine)
    for name in ("ml_training_set", "ml_scoring_set"):
        assert built_here[name + ":columns"] == warehouse_sets[name + ":columns"]
        assert len(built_here[name]) > 1_000
        assert differences(warehouse_sets[name], built_here[name]) == []
    labels = [row["label"] for row in built_here["ml_training_set"].values()]
    assert 0 < sum(labels) < len(labels)

    # The report reads the exploration marts from the engine that built them.
    with engines.open_reader(settings, engine) as marts:
        for relation, columns, order in [
            (relations.EDA_EMAIL_FUNNEL, "step_name, count_profiles", "step_number"),
            (relations.EDA_DATASET_SUMMARY, "event_type, count_events", "event_type"),
        ]:
            query = f"select {columns} from {{table}} order by {order}"  # noqa: S608
            assert marts.rows(query, relation) == sql(
                query.format(table=".".join(relation))
            )
        with connect(settings) as conn:
            section = report.data_section(conn, marts)
    plots = [item.title for item in section.items if isinstance(item, report.Plot)]
    assert {"Events per type", "Email funnel"} <= set(plots), plots
    assert f"built on {engine}" in " ".join(
        item for item in section.items if isinstance(item, str)
    )


def test_an_unknown_engine_or_a_missing_build_is_a_clear_error(settings, tmp_path):
    with pytest.raises(engines.EngineError, match="Unknown featurize target"):
        engines.check_installed("snowflake")
    elsewhere = settings.model_copy(update={"home": tmp_path})
    with pytest.raises(export.ExportError, match="enrich featurize --target duckdb"):
        export.export(elsewhere, ["ml_scoring_set"], target="duckdb")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_late_batch_builds_incrementally_to_the_full_refresh_result(
    engine, built, settings, tmp_path, keep_builds
):
    featurize.featurize(settings, full_refresh=True, target=engine)
    before = exported_rows(settings, None, engine)
    profile = min(key[0] for key in before["ml_scoring_set"])
    load_late_clicks(settings, tmp_path, profile, f"late-{engine}")

    featurize.featurize(
        settings, target=engine, dbt_vars={"incremental_lookback_minutes": 0}
    )
    incremental = exported_rows(settings, None, engine)
    [key] = [key for key in before["ml_scoring_set"] if key[0] == profile]
    clicks = "count_email_clicked_total"
    assert (
        incremental["ml_scoring_set"][key][clicks]
        == before["ml_scoring_set"][key][clicks] + 3
    )

    featurize.featurize(settings, full_refresh=True, target=engine)
    refreshed = exported_rows(settings, None, engine)
    for name in ("ml_training_set", "ml_scoring_set"):
        assert differences(refreshed[name], incremental[name]) == []
