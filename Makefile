# The two commands of the README, and the few a contributor needs.
# Everything bootstraps itself: a private uv in .tools/, the locked env in .venv/.

SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv/.synced

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export UV_COMPILE_BYTECODE := 1

.PHONY: demo test lint bench bench-data bench-dbt bench-train bench-score bench-audiences bench-pipeline bench-engines bench-ceiling clean

## demo: start the embedded warehouse and run the pipeline on the embedded defaults
demo: $(VENV)
	.venv/bin/enrich run

## test: lint, then the unit and integration tests (Spark's need Java 17)
test: $(VENV) lint
	$(UV) sync --locked --inexact --extra duckdb --extra spark --quiet
	.venv/bin/python -m pytest

## lint: style, the house's layers and types, the YAML and the SQL
lint: $(VENV)
	.venv/bin/ruff format --check ml flows enrich tests bench tools
	.venv/bin/ruff check ml flows enrich tests bench tools
	.venv/bin/python tools/check_structure.py
	.venv/bin/lint-imports --no-cache
	.venv/bin/mypy
	ENRICH_HOME=$(CURDIR)/.enrich/lint .venv/bin/python tools/lint_sql.py
	.venv/bin/yamllint -s enrich.yml audiences.yml predictions.yml dbt_project.yml profiles.yml selectors.yml prefect.yaml .yamllint models seeds macros tests/dbt

## bench: every benchmark (an hour or more; results in bench/results/)
bench: bench-data bench-dbt bench-train bench-score bench-audiences bench-pipeline bench-engines bench-ceiling

## bench-data: generation and loading at 100k and 1M profiles
bench-data: $(VENV)
	.venv/bin/python bench/bench_data.py

## bench-dbt: feature and label models vs one grouped scan at 100k profiles
bench-dbt: $(VENV)
	.venv/bin/python bench/bench_dbt.py

## bench-train: training at 100k and 1M rows, with the reference random forest
bench-train: $(VENV)
	.venv/bin/python bench/bench_train.py

## bench-ceiling: how close to the oracle AUC any model can get on the synthetic data
bench-ceiling: $(VENV)
	.venv/bin/python bench/bench_ceiling.py

## bench-score: scoring and ingest throughput at 1M profiles
bench-score: $(VENV)
	.venv/bin/python bench/bench_score.py

## bench-audiences: build and activate three audiences at 1M profiles
bench-audiences: $(VENV)
	.venv/bin/python bench/bench_audiences.py

## bench-engines: featurization on PostgreSQL, DuckDB and Spark at 100k and 1M
bench-engines: $(VENV)
	$(UV) sync --locked --inexact --extra duckdb --extra spark --quiet
	.venv/bin/python bench/bench_engines.py

## bench-pipeline: the whole pipeline (enrich run) at 100k and 1M profiles
bench-pipeline: $(VENV)
	.venv/bin/python bench/bench_pipeline.py

$(UV):
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The DuckDB engine is small, so it is always there; Spark (hundreds of MB)
# only for `make test` or `uv sync --extra spark`.
# --inexact: a later sync keeps an extra installed before.
$(VENV): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked --inexact --extra duckdb --compile-bytecode --quiet
	touch $@

clean:
	rm -rf .venv .tools target logs
