"""The command line answers fast and imports nothing heavy to do so."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ENRICH = Path(sys.executable).parent / "enrich"


def test_help_answers_well_under_two_seconds():
    started = time.perf_counter()
    result = subprocess.run(
        [str(ENRICH), "--help"], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - started
    assert "generate" in result.stdout and "load" in result.stdout
    assert elapsed < 2.0, elapsed


def test_cli_module_imports_no_heavy_library():
    code = (
        "import sys, enrich.cli; "
        "heavy = {'numpy', 'pyarrow', 'psycopg', 'pandas', 'pydantic', 'dbt', "
        "'prefect'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_user_errors_print_without_traceback(tmp_path):
    result = subprocess.run(
        [str(ENRICH), "load", str(tmp_path / "missing.jsonl")],
        capture_output=True,
        text=True,
        env={"ENRICH_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_score_and_featurize_take_their_options():
    from enrich.cli import COMMANDS, build_parser, resolve
    from enrich.cli.runs import featurize as cmd_featurize
    from enrich.cli.runs import score as cmd_score
    from enrich.cli.scores import ingest as cmd_ingest

    def handler(args):
        return resolve(COMMANDS[args.command_name].function)

    parser = build_parser()
    args = parser.parse_args(["score", "--model-version", "3", "--as-of", "2026-11-01"])
    assert handler(args) is cmd_score
    assert args.model_version == 3 and args.as_of.isoformat() == "2026-11-01"
    assert handler(parser.parse_args(["ingest"])) is cmd_ingest
    args = parser.parse_args(["featurize", "--as-of", "2026-10-15"])
    assert handler(args) is cmd_featurize and str(args.as_of) == "2026-10-15"


def test_a_bad_date_is_refused_by_the_parser(capsys):
    from enrich.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["score", "--as-of", "yesterday"])
    assert "'yesterday' is not a date" in capsys.readouterr().err


def test_suppression_files_give_their_first_column(tmp_path):
    from enrich.cli.audiences import identities_in as _identities_in

    listed = tmp_path / "suppress.csv"
    listed.write_text("profile_id,reason\n123,complaint\n\n456,bounce\n")
    assert _identities_in(listed) == ["123", "456"]
    plain = tmp_path / "ids.txt"
    plain.write_text("789\n012\n")
    assert _identities_in(plain) == ["789", "012"]


@pytest.mark.parametrize(
    ("argv", "configured", "source"),
    [
        (["run"], "generate", "generate"),
        (["run"], "loaded", "loaded"),
        (["run", "--no-generate"], "generate", "loaded"),
        (["run", "--generate"], "loaded", "generate"),
        (["run", "--load", "a.jsonl", "b.jsonl"], "generate", "loaded"),
        (["run", "--profiles", "500"], "generate", "generate"),
    ],
)
def test_run_takes_its_data_source_from_options_else_enrich_yml(
    argv, configured, source, monkeypatch
):
    from enrich.cli import build_parser
    from enrich.cli.runs import run_source

    monkeypatch.setenv("ENRICH_RUN__SOURCE", configured)
    assert run_source(build_parser().parse_args(argv)) == source


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--no-generate", "--profiles", "500"], "--profiles: generator"),
        (["run", "--load", "a.jsonl", "--seed", "3"], "--seed: generator"),
        (["run", "--load", "a.jsonl", "--generate"], "drop --generate"),
        (["run", "--identity-field", "_acme.userid"], "add --load"),
    ],
)
def test_run_refuses_options_that_contradict_its_source(argv, message):
    from enrich.cli import build_parser
    from enrich.cli.common import UsageError
    from enrich.cli.runs import run_source

    with pytest.raises(UsageError, match=message):
        run_source(build_parser().parse_args(argv))
