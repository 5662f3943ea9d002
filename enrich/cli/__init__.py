"""The ``enrich`` command line: the argument parser and the dispatcher.

This module imports no command module, so ``enrich --help`` answers at once.
Each command names its function as ``"enrich.cli.<module>:<function>"`` in
:data:`COMMANDS`; :func:`main` imports that module when the command runs (the
command modules import ``ml`` and ``flows`` at their top). Commands that run
a flow first set Prefect's environment (:mod:`enrich.cli.environment`),
which Prefect reads when it is first imported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, cast

from ml.core.errors import EnrichError

DESCRIPTION = """\
enrich: raw XDM profiles and events in; dbt features, a CatBoost propensity
model, scores written back onto the profiles, and audiences out.

Local state (embedded PostgreSQL, lake, reports) lives in ENRICH_HOME
(default .enrich/); settings come from enrich.yml and ENRICH_* variables.
"""

PREFECT = "enrich.cli.environment:prepare"

if TYPE_CHECKING:  # argparse's subparsers are generic in the stubs only
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


@dataclass(frozen=True)
class Command:
    """Where a command's function lives, and what to prepare before importing it.

    Attributes:
        function: ``"enrich.cli.<module>:<function>"``.
        prepare: A function to run before the module is imported (Prefect's
            environment, for modules that import ``flows``), or None.
    """

    function: str
    prepare: str | None = PREFECT


COMMANDS: dict[str, Command] = {
    "db start": Command("enrich.cli.db:start", prepare=None),
    "db stop": Command("enrich.cli.db:stop", prepare=None),
    "db status": Command("enrich.cli.db:status", prepare=None),
    "db url": Command("enrich.cli.db:url", prepare=None),
    "db psql": Command("enrich.cli.db:psql", prepare=None),
    "generate": Command("enrich.cli.runs:generate"),
    "load": Command("enrich.cli.runs:load"),
    "featurize": Command("enrich.cli.runs:featurize"),
    "export": Command("enrich.cli.features:export", prepare=None),
    "train": Command("enrich.cli.runs:train"),
    "model": Command("enrich.cli.model:model", prepare=None),
    "score": Command("enrich.cli.runs:score"),
    "ingest": Command("enrich.cli.scores:ingest", prepare=None),
    "predictions validate": Command("enrich.cli.predictions:validate", prepare=None),
    "predictions sync": Command("enrich.cli.predictions:sync", prepare=None),
    "audiences validate": Command("enrich.cli.audiences:validate", prepare=None),
    "audiences build": Command("enrich.cli.audiences:build", prepare=None),
    "audiences activate": Command("enrich.cli.audiences:activate", prepare=None),
    "audiences suppress": Command("enrich.cli.audiences:suppress", prepare=None),
    "audiences size": Command("enrich.cli.audiences:size", prepare=None),
    "activate": Command("enrich.cli.runs:activate"),
    "run": Command("enrich.cli.runs:run"),
    "serve": Command(
        "enrich.cli.serve:serve", prepare="enrich.cli.environment:prepare_serving"
    ),
    "report": Command("enrich.cli.report:report", prepare=None),
}
"""Every command, by its words on the command line, and its function."""


def resolve(path: str) -> Callable[..., object]:
    """The function named ``"package.module:function"``, its module imported."""
    module, _, name = path.partition(":")
    function: Callable[..., object] = getattr(importlib.import_module(module), name)
    return function


# -- parser -------------------------------------------------------------------


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD)"
        ) from None


def _add_generator_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profiles", type=int, help="number of profiles")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same data)")
    parser.add_argument("--as-of", type=_date, help="UTC date the history ends")
    parser.add_argument("--weeks", type=int, help="weeks of history before as_of")
    parser.add_argument("--horizon-days", type=int, help="label window in days")


def _add_target_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--target", choices=["warehouse", "duckdb", "spark"], help=help_text
    )


def _add_prediction_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--prediction", metavar="NAME", help=help_text)


def _add_db_commands(commands: Subcommands) -> None:
    db = commands.add_parser("db", help="the embedded PostgreSQL warehouse")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions = [
        ("start", "start it (data under ENRICH_HOME, unix socket only)"),
        ("stop", "stop it"),
        ("status", "say whether it runs"),
        ("url", "print the connection URL"),
        ("psql", "open psql on it"),
    ]
    for name, help_text in actions:
        sub = db_commands.add_parser(name, help=help_text)
        sub.set_defaults(command_name=f"db {name}")
        if name == "url":
            sub.add_argument("--show-password", action="store_true")
        if name == "psql":
            sub.usage = "enrich db psql [psql options]"


def _add_data_commands(commands: Subcommands) -> None:
    generate = commands.add_parser(
        "generate", help="generate synthetic XDM data and load it"
    )
    _add_generator_options(generate)
    generate.add_argument(
        "--replace",
        action="store_true",
        help="drop a synthetic dataset generated with other parameters",
    )
    generate.set_defaults(command_name="generate")

    load = commands.add_parser(
        "load", help="load XDM files (JSON Lines, .gz, Parquet; local or s3://)"
    )
    load.add_argument(
        "paths", nargs="+", metavar="PATH", help="file, folder or s3:// URL"
    )
    load.add_argument(
        "--identity-field",
        help="dot path to the identity, e.g. identityMap.ECID[0].id or _acme.userid",
    )
    load.add_argument(
        "--dataset",
        choices=["events", "profiles"],
        default="events",
        help="what the files hold (default: events)",
    )
    load.set_defaults(command_name="load")


def _add_feature_commands(commands: Subcommands) -> None:
    featurize = commands.add_parser(
        "featurize", help="dbt build: staging, EDA marts, features and labels"
    )
    featurize.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models"
    )
    featurize.add_argument("--select", nargs="+", help="dbt node selection")
    featurize.add_argument(
        "--as-of", type=_date, help="prediction date (dbt var as_of; default: data end)"
    )
    _add_target_option(featurize, "the engine (default: featurize.target)")
    featurize.set_defaults(command_name="featurize")

    export = commands.add_parser(
        "export", help="export the training and scoring sets to the lake (Parquet)"
    )
    export.add_argument(
        "--dataset", choices=["training", "scoring", "all"], default="all"
    )
    _add_prediction_option(
        export, "export this prediction's sets (default: the default prediction's)"
    )
    _add_target_option(export, "read from (default: the engine that built each set)")
    export.set_defaults(command_name="export")


def _add_model_commands(commands: Subcommands) -> None:
    train = commands.add_parser(
        "train", help="dbt, export, train, register, apply the promotion gate (flow)"
    )
    train.add_argument(
        "--skip-dbt", action="store_true", help="the ML marts are fresh: no dbt build"
    )
    _add_prediction_option(
        train, "train only this prediction (default: every one of predictions.yml)"
    )
    train.set_defaults(command_name="train")

    model = commands.add_parser("model", help="the model registry")
    model.set_defaults(command_name="model")
    model_commands = model.add_subparsers(
        dest="model_command", metavar="ACTION", required=True
    )
    listing = model_commands.add_parser("list", help="every version")
    show = model_commands.add_parser("show", help="a version (default: production)")
    show.add_argument("version", type=int, nargs="?")
    show.add_argument("--json", action="store_true", help="print the metadata as JSON")
    promote = model_commands.add_parser("promote", help="promote a version (gated)")
    promote.add_argument("version", type=int)
    rollback = model_commands.add_parser(
        "rollback", help="restore the previous production version"
    )
    for action in (listing, show, promote, rollback):
        _add_prediction_option(
            action, "the prediction whose model (default: the default prediction)"
        )


def _add_score_commands(commands: Subcommands) -> None:
    score = commands.add_parser(
        "score", help="score every eligible profile, ingest, enrich profiles (flow)"
    )
    score.add_argument(
        "--skip-dbt",
        action="store_true",
        help="the scoring set is built and exported: no dbt build, no export",
    )
    score.add_argument(
        "--model-version", type=int, help="registered version (default: production)"
    )
    score.add_argument(
        "--as-of", type=_date, help="score the export of this date (default: latest)"
    )
    score.set_defaults(command_name="score")

    commands.add_parser(
        "ingest", help="load the latest scores into the profile store (atomic swap)"
    ).set_defaults(command_name="ingest")


def _add_prediction_commands(commands: Subcommands) -> None:
    predictions = commands.add_parser(
        "predictions", help="predictions in code (predictions.yml): validate, sync"
    )
    actions = predictions.add_subparsers(
        dest="predictions_command", metavar="ACTION", required=True
    )
    actions.add_parser(
        "validate", help="check every prediction; say if dbt_project.yml is stale"
    ).set_defaults(command_name="predictions validate")
    actions.add_parser(
        "sync", help="write the compiled spec into dbt_project.yml's vars"
    ).set_defaults(command_name="predictions sync")


def _add_audience_commands(commands: Subcommands) -> None:
    audiences = commands.add_parser(
        "audiences", help="audiences in code: validate, size"
    )
    actions = audiences.add_subparsers(
        dest="audiences_command", metavar="ACTION", required=True
    )
    actions.add_parser(
        "validate", help="check every audience and destination"
    ).set_defaults(command_name="audiences validate")
    actions.add_parser(
        "build", help="materialize every audience: members, holdout, delta"
    ).set_defaults(command_name="audiences build")
    activator = actions.add_parser(
        "activate", help="deliver the latest build's changes to the destinations"
    )
    activator.add_argument("ids", nargs="*", help="audience ids (default: all)")
    activator.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; send nothing"
    )
    activator.set_defaults(command_name="audiences activate")
    suppressor = actions.add_parser("suppress", help="never activate these identities")
    suppressor.add_argument("profile_ids", nargs="*", metavar="PROFILE_ID")
    suppressor.add_argument(
        "--file", type=Path, help="one identity per line (or a CSV's first column)"
    )
    suppressor.add_argument("--reason", default="requested", help="why (recorded)")
    suppressor.set_defaults(command_name="audiences suppress")
    sizer = actions.add_parser(
        "size", help="propensity-reach of an audience, all of them, or --rule"
    )
    sizer.add_argument("id", nargs="?", help="audience id (default: all, briefly)")
    sizer.add_argument("--rule", help="size an ad-hoc rule instead")
    sizer.set_defaults(command_name="audiences size")

    shortcut = commands.add_parser(
        "activate", help="build the audiences and deliver their changes (flow)"
    )
    shortcut.add_argument("ids", nargs="*", help="audience ids (default: all)")
    shortcut.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; send nothing"
    )
    shortcut.set_defaults(command_name="activate")


def _add_run_commands(commands: Subcommands) -> None:
    run = commands.add_parser(
        "run",
        help="the whole pipeline on generated or loaded data (flow `pipeline`)",
    )
    _add_generator_options(run)
    _add_target_option(run, "featurize on (default: featurize.target)")
    run.add_argument(
        "--generate",
        action=argparse.BooleanOptionalAction,
        help="generate synthetic data first; --no-generate runs on what is "
        "loaded (default: run.source)",
    )
    run.add_argument(
        "--load",
        nargs="+",
        metavar="PATH",
        help="load these XDM event files first, then run on what is loaded",
    )
    run.add_argument(
        "--identity-field", help="where the identity sits in the --load files"
    )
    run.set_defaults(command_name="run")

    commands.add_parser(
        "serve", help="serve the scheduled deployments of enrich.yml (Prefect)"
    ).set_defaults(command_name="serve")

    report = commands.add_parser(
        "report", help="write the run report (HTML with plots) of the current state"
    )
    report.add_argument(
        "--open", action="store_true", help="open it in the default browser"
    )
    report.set_defaults(command_name="report")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``enrich`` command.

    Each command sets ``command_name``, its key in :data:`COMMANDS`.
    """
    parser = argparse.ArgumentParser(
        prog="enrich",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_db_commands(commands)
    _add_data_commands(commands)
    _add_prediction_commands(commands)
    _add_feature_commands(commands)
    _add_score_commands(commands)
    _add_audience_commands(commands)
    _add_model_commands(commands)
    _add_run_commands(commands)
    return parser


# -- main ---------------------------------------------------------------------


def _configure_logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # pgserver narrates every command it runs; its warnings are enough.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Prefect's API calls


def _run(command: Command, args: argparse.Namespace) -> int:
    """Prepare, import and run a command's function."""
    if command.prepare is not None:
        resolve(command.prepare)()
    # Every command function takes the parsed arguments and returns the exit
    # status; the name in COMMANDS is where that type is lost.
    handler = cast(Callable[[argparse.Namespace], int], resolve(command.function))
    return handler(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``enrich`` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command_name == "db psql":
        args.psql_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "dataset", None) == "events":
        args.dataset = "experience_events"
    _configure_logging(args.quiet)
    try:
        return _run(COMMANDS[args.command_name], args)
    except EnrichError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
