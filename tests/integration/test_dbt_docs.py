"""The dbt project's documentation matches what it builds, column for column."""

from __future__ import annotations

import json

import pytest

from ml.features import featurize

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def manifest(built, settings) -> dict:
    """dbt's manifest of the project as it is now: the columns of every node,
    their doc() blocks resolved."""
    featurize.run_dbt(settings, ["parse"])
    target = featurize.state_dir(settings) / "target"
    return json.loads((target / "manifest.json").read_text())


def test_every_model_documents_exactly_the_columns_it_builds(manifest, sql):
    documented = {
        (node["schema"], node["alias"]): {name.lower() for name in node["columns"]}
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
        and node["package_name"] == "enrich"
        # An ephemeral model is a CTE of its readers, never a relation.
        and node["config"]["materialized"] != "ephemeral"
    }
    assert len(documented) > 20
    rows = sql(
        "select table_schema, table_name, column_name "
        "from information_schema.columns "
        "where (table_schema, table_name) in "
        "(select * from unnest(%s::text[], %s::text[]))",
        [[schema for schema, _ in documented], [name for _, name in documented]],
    )
    built_columns: dict[tuple[str, str], set[str]] = {key: set() for key in documented}
    for schema, name, column in rows:
        built_columns[(schema, name)].add(column)
    problems = [
        f"{schema}.{name}: built but not documented {sorted(columns - docs)}, "
        f"documented but not built {sorted(docs - columns)}"
        for (schema, name), docs in sorted(documented.items())
        if (columns := built_columns[(schema, name)]) != docs
    ]
    assert problems == []


def test_shared_descriptions_resolve_to_their_doc_blocks(manifest):
    nodes = manifest["nodes"]
    text = "advertising.impressions events in the 7 days before the cutoff."
    for model in ("ml_features", "ml_training_set", "ml_scoring_set"):
        columns = nodes[f"model.enrich.{model}"]["columns"]
        assert columns["count_ad_impressions_7d"]["description"].strip() == text
    descriptions = [
        column["description"]
        for node in [*nodes.values(), *manifest["sources"].values()]
        for column in node.get("columns", {}).values()
    ]
    assert len(descriptions) > 300
    assert [text for text in descriptions if "doc(" in text or not text] == []
