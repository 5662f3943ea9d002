"""The ``enrich`` command line.

Imports stay inside the command functions so ``enrich --help`` answers at
once: the heavy libraries load only for the command that needs them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger("enrich")

DESCRIPTION = """\
enrich: raw XDM profiles and events in; dbt features, a CatBoost propensity
model, scores written back onto the profiles, and audiences out.

Local state (embedded PostgreSQL, lake, reports) lives in ENRICH_HOME
(default .enrich/); settings come from enrich.yml and ENRICH_* variables.
"""


def _settings() -> Any:
    from ml.core.config import load_settings

    return load_settings()


def _echo(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _prefect() -> None:
    """Prefect's environment for enrich, set before Prefect is first imported."""
    from flows.runtime import prepare_environment

    prepare_environment(_settings())


def _flow(name: str) -> Any:
    """A Prefect flow of ``flows/``, with Prefect's environment prepared first.

    Without ``PREFECT_API_URL`` Prefect starts a temporary server for the
    run (tens of seconds here); with it, the flow runs against that server.
    """
    _prefect()
    from flows.pipeline import FLOWS
    from flows.runtime import quiet_expected_tracebacks

    quiet_expected_tracebacks()
    return FLOWS[name]


# -- db -----------------------------------------------------------------------


def cmd_db_start(args: argparse.Namespace) -> int:
    """Start the embedded PostgreSQL and tell dbt users what to export."""
    from ml.core import warehouse

    settings = _settings()
    if settings.database_url is not None:
        _echo("ENRICH_DATABASE_URL is set: enrich uses that server, nothing to start.")
        return 0
    status = warehouse.start_embedded(settings)
    _echo(
        f"embedded PostgreSQL running (pid {status.pid}), socket in {status.socket_dir}"
    )
    default_socket = settings.project_dir / ".enrich" / "pgdata"
    if status.socket_dir != default_socket:
        _echo("for dbt in this shell, run:")
        print(f"export ENRICH_PGHOST={status.socket_dir}")
    else:
        _echo("dbt debug / dbt run in the project folder need no further set-up.")
    return 0


def cmd_db_stop(args: argparse.Namespace) -> int:
    """Stop the embedded PostgreSQL."""
    from ml.core import warehouse

    stopped = warehouse.stop_embedded(_settings())
    _echo(
        "embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL not running"
    )
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    """Say whether the warehouse runs; exit 1 when it does not."""
    from ml.core import warehouse

    settings = _settings()
    if settings.database_url is not None:
        url = warehouse.redact_url(settings.database_url.get_secret_value())
        print(f"external PostgreSQL: {url}")
        return 0
    status = warehouse.embedded_status(settings)
    if status.running:
        print(
            f"running: pid {status.pid}, data {status.pgdata}, "
            f"socket {status.socket_dir}"
        )
        return 0
    print(f"stopped: data {status.pgdata}")
    return 1


def cmd_db_url(args: argparse.Namespace) -> int:
    """Print the connection URL (password masked unless --show-password)."""
    from ml.core import warehouse

    settings = _settings()
    url = warehouse.database_url(settings)
    print(url if args.show_password else warehouse.redact_url(url))
    return 0


def cmd_db_psql(args: argparse.Namespace) -> int:
    """Open psql on the warehouse (the bundled client when none is installed)."""
    import importlib.util
    import shutil
    from pathlib import Path

    from ml.core import warehouse

    url = warehouse.database_url(_settings())
    psql = shutil.which("psql")
    if psql is None:
        spec = importlib.util.find_spec("pgserver")
        locations = spec.submodule_search_locations if spec else None
        if locations:
            psql = str(Path(locations[0]) / "pginstall" / "bin" / "psql")
    if psql is None or not Path(psql).exists():
        from ml.core.errors import WarehouseError

        raise WarehouseError("No psql client found: install postgresql-client.")
    os.execv(psql, [psql, url, *args.psql_args])  # noqa: S606 - replaces this process
    return 0  # pragma: no cover


# -- data ---------------------------------------------------------------------


def _generator_params(args: argparse.Namespace, settings: Any) -> Any:
    from ml.synthetic import GeneratorParams

    defaults = settings.generate
    return GeneratorParams(
        profiles=args.profiles or defaults.profiles,
        seed=defaults.seed if args.seed is None else args.seed,
        as_of=args.as_of or defaults.resolved_as_of(),
        weeks=args.weeks or defaults.weeks,
        horizon_days=args.horizon_days or defaults.horizon_days,
        chunk_profiles=defaults.chunk_profiles,
    )


def _print_results(results: list[Any]) -> None:
    print(
        f"{'batch':<40} {'dataset':<17} {'status':<8} {'loaded':>10} "
        f"{'quarantined':>11} {'flagged':>8}"
    )
    for result in results:
        print(
            f"{result.batch_id:<40} {result.dataset:<17} {result.status:<8} "
            f"{result.records_loaded:>10,} {result.records_quarantined:>11,} "
            f"{result.records_flagged:>8,}"
        )
        for reason, count in sorted(result.reasons.items()):
            print(f"{'':<40}   quarantined as {reason}: {count:,}")


def cmd_generate(args: argparse.Namespace) -> int:
    """Generate synthetic XDM data and load it into the warehouse (flow ``load``)."""
    params = _generator_params(args, _settings())
    _echo(
        f"generating {params.profiles:,} profiles, seed {params.seed}, "
        f"as_of {params.as_of}, {params.weeks} weeks, {params.n_chunks} chunk(s)"
    )
    loaded = _flow("load")(
        profiles=params.profiles,
        seed=params.seed,
        as_of=params.as_of,
        weeks=params.weeks,
        horizon_days=params.horizon_days,
        replace=args.replace,
    )
    _print_results(loaded["batches"])
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    """Load XDM files (JSON Lines, .gz, Parquet; local or s3://) (flow ``load``)."""
    from ml.core.storage import local_files

    for path in args.paths:  # a typo fails here, before any server starts
        if not str(path).startswith("s3://"):
            next(local_files(str(path), ("",)))
    loaded = _flow("load")(
        paths=[str(path) for path in args.paths],
        dataset=args.dataset,
        identity_field=args.identity_field,
    )
    _print_results(loaded["batches"])
    return 0


def cmd_featurize(args: argparse.Namespace) -> int:
    """Build and test the dbt project: staging, EDA marts, features, labels."""
    built = _flow("featurize")(
        full_refresh=args.full_refresh,
        select=args.select,
        as_of=args.as_of,
        target=args.target,
    )
    _echo(f"dbt build on {built['target']}: {built['dbt']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export the training and scoring sets to the lake."""
    from ml.features import export

    names = {
        "training": ["ml_training_set"],
        "scoring": ["ml_scoring_set"],
        "all": list(export.DATASETS),
    }[args.dataset]
    for exported in export.export(_settings(), names, args.target):
        print(f"{exported.dataset}: {exported.rows:,} rows -> {exported.folder}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Build the ML marts, export, train, register, gate (flow ``train``)."""
    trained = _flow("train")(build_features=not args.skip_dbt)
    print(f"v{trained['version']} ({trained['status']}): {trained['decision']}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    """The model registry: list, show, promote, rollback."""
    import json

    from ml.model import registry

    settings = _settings()
    if args.model_command == "list":
        print(f"{'version':>7} {'status':<10} {'roc_auc':>7} {'created':<20} decision")
        for item in registry.versions(settings):
            print(
                f"{item.version:>7} {item.status:<10} "
                f"{item.metrics['roc_auc']:>7.3f} "
                f"{str(item.created_at)[:19]:<20} {item.decision or ''}"
            )
    elif args.model_command == "show":
        item = registry.get(settings, args.version)
        if args.json:
            print(json.dumps(item.as_dict(), indent=2, default=str))
        else:
            print(
                f"{item.model_name} v{item.version} ({item.status}): holdout ROC AUC "
                f"{item.metrics['roc_auc']:.3f}; artifacts {item.artifact_uri}"
            )
    elif args.model_command == "promote":
        item, decision = registry.promote(settings, args.version)
        print(f"{item.model_name} v{item.version}: {decision}")
        return 0 if item.status == "production" else 1
    else:
        item, decision = registry.rollback(settings)
        print(f"{item.model_name}: {decision}")
    return 0


def _print_backtest(settings: Any, result: Any) -> None:
    from ml.scores import score

    _print_backtest_table(
        score.backtest(settings, result.model_name, result.model_version, result.as_of)
    )


def _print_backtest_table(table: list[dict[str, Any]] | None) -> None:
    if table is None:
        return
    _echo("back-test against the generator's simulated future (as_of + horizon):")
    _echo(f"{'decile':>6} {'profiles':>9} {'mean score':>10} {'converted':>9}")
    for row in reversed(table):
        _echo(
            f"{row['decile']:>6} {row['profiles']:>9,} "
            f"{row['mean_propensity']:>10.4f} {row['realised_rate']:>9.4f}"
        )


def _print_ingest(result: Any) -> None:
    if result.status == "skipped":
        print(
            f"{result.source} was already ingested ({result.batch_id}): nothing to do"
        )
        return
    replaced = f", replacing {', '.join(result.replaced)}" if result.replaced else ""
    print(
        f"ingested {result.rows:,} scores of {result.model_name} "
        f"v{result.model_version} as of {result.as_of.date()} "
        f"({result.batch_id}{replaced})"
    )


def cmd_score(args: argparse.Namespace) -> int:
    """Score, ingest, rebuild the enriched profiles (flow ``score``)."""
    scored = _flow("score")(
        model_version=args.model_version,
        as_of=args.as_of,
        build_features=not args.skip_dbt,
    )
    print(
        f"{scored['profiles']:,} profiles scored; ingest {scored['ingest']} "
        f"({scored['batch_id']}); profiles.profiles_enriched rebuilt"
    )
    _print_backtest_table(scored["backtest"])
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest the latest complete scores dataset into the profile store."""
    from ml.scores import writeback

    settings = _settings()
    result = writeback.ingest(settings)
    _print_ingest(result)
    _print_backtest(settings, result)
    return 0


def _print_sizing(sizing: Any, full: bool) -> None:
    share = sizing.matching / sizing.profiles if sizing.profiles else 0.0
    print(
        f"{sizing.matching:,} of {sizing.profiles:,} profiles ({share:.1%}; "
        f"{sizing.scored:,} scored), {sizing.expected_conversions:,.1f} expected "
        "conversions, before consent and suppression"
    )
    if not full:
        return
    economics = sizing.cost_per_contact is not None
    header = (
        f"{'propensity >=':>13} {'reach':>10} {'to next':>9} {'share':>7} "
        f"{'exp. conv.':>10} {'exp. rate':>9}"
    )
    print(header + (f" {'exp. profit':>12}" if economics else ""))
    for row in sizing.table():
        line = (
            f"{row['threshold']:>13.3f} {row['reach']:>10,} {row['band_reach']:>9,} "
            f"{row['share_of_profiles']:>7.1%} {row['expected_conversions']:>10,.1f} "
            f"{row['expected_rate']:>9.4f}"
        )
        print(line + (f" {row['expected_profit']:>12,.2f}" if economics else ""))
    best = sizing.suggestion()
    if best is not None:
        print(
            f"suggested threshold: propensity >= {best['threshold']:.3f} "
            f"(reach {best['reach']:,}, {best['expected_conversions']:,.1f} expected "
            f"conversions, expected profit {best['expected_profit']:,.2f} at "
            f"{sizing.cost_per_contact} per contact and "
            f"{sizing.value_per_conversion} per conversion)"
        )


def _print_build(built: Any) -> None:
    if built.status == "skipped":
        print(
            f"{built.batch_id} already holds these scores and definitions: "
            "nothing to do"
        )
    else:
        print(f"{built.batch_id}: audiences of scoring run {built.scoring_run_id}")
    print(
        f"{'audience':<26} {'members':>9} {'holdout':>8} {'entered':>8} "
        f"{'exited':>8} {'stayed':>8} {'exp. conv.':>10} {'realised':>8} {'base':>6}"
    )
    for row in built.audiences:
        realised = row["realised_rate"]
        base = row["base_rate"]
        print(
            f"{row['audience_id']:<26} {row['count_members']:>9,} "
            f"{row['count_holdout']:>8,} {row['count_entered']:>8,} "
            f"{row['count_exited']:>8,} {row['count_stayed']:>8,} "
            f"{row['expected_conversions']:>10,.1f} "
            + (f"{realised:>8.4f} " if realised is not None else f"{'n/a':>8} ")
            + (f"{base:>6.4f}" if base is not None else f"{'n/a':>6}")
        )


def _identities_in(path: Path) -> list[str]:
    """Identities from a text or CSV file: the first column, header skipped."""
    import csv

    from ml.core.errors import EnrichError

    try:
        with path.open(newline="") as handle:
            rows = [row[0].strip() for row in csv.reader(handle) if row and row[0]]
    except OSError as exc:
        raise EnrichError(f"Cannot read {path}: {exc.strerror}.") from None
    return [value for value in rows if value and value != "profile_id"]


def _print_deliveries(deliveries: list[Any]) -> None:
    print(
        f"{'audience':<26} {'destination':<14} {'status':<9} {'enter':>8} "
        f"{'exit':>8} {'no consent':>10} {'suppressed':>10} {'holdout':>8}"
    )
    for item in deliveries:
        print(
            f"{item.audience_id:<26} {item.destination:<14} {item.status:<9} "
            f"{item.entered:>8,} {item.exited:>8,} {item.withheld_consent:>10,} "
            f"{item.withheld_suppressed:>10,} {item.holdout:>8,}"
            + (f"  -> {item.location}" if item.location else "")
        )
    if any(item.status == "planned" for item in deliveries):
        print("dry run: nothing was sent or recorded")


def cmd_activate(args: argparse.Namespace) -> int:
    """Build the audiences, then deliver their changes (flow ``activate``)."""
    activated = _flow("activate")(audience_ids=args.ids or None, dry_run=args.dry_run)
    _print_build(activated["build"])
    _print_deliveries(activated["deliveries"])
    return 0


def cmd_audiences(args: argparse.Namespace) -> int:
    """Audiences: validate the definitions, size them or an ad-hoc rule."""
    from ml.activation import builds, definitions, sizing

    settings = _settings()
    if args.audiences_command == "activate":
        from ml.activation import activate
        from ml.activation.errors import ActivationError

        try:
            deliveries = activate.activate(
                settings, dry_run=args.dry_run, audience_ids=args.ids
            )
        except ActivationError as exc:
            _print_deliveries(exc.deliveries)  # what did go out, then the error
            raise
        _print_deliveries(deliveries)
        return 0
    if args.audiences_command == "suppress":
        from ml.activation import ledger

        identities = list(args.profile_ids)
        if args.file is not None:
            identities += _identities_in(args.file)
        if not identities:
            from ml.core.errors import EnrichError

            raise EnrichError("Give PROFILE_ID arguments, or --file FILE.")
        added = ledger.suppress(settings, identities, args.reason)
        print(f"{added} new identities on the suppression list")
        return 0
    if args.audiences_command == "build":
        _print_build(builds.build(settings))
        return 0
    if args.audiences_command == "validate":
        found = definitions.load_definitions(settings)
        print(
            f"{found.path}: {len(found.audiences)} audience(s) and "
            f"{len(found.destinations)} destination(s) are valid"
        )
        for audience in found.audiences:
            print(f"  {audience.id}: {audience.rule}")
        return 0
    if args.rule is not None:
        _print_sizing(sizing.size(settings, args.rule), full=True)
        return 0
    found = definitions.load_definitions(settings)
    chosen = [found.get(args.id)] if args.id else found.audiences
    for audience in chosen:
        print(f"{audience.id} ({audience.name}): {audience.rule}")
        _print_sizing(sizing.size(settings, audience.rule), full=bool(args.id))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Register the scheduled deployments of enrich.yml and serve their runs."""
    settings = _settings()
    if not os.environ.get("PREFECT_API_URL"):
        from ml.core.errors import EnrichError

        raise EnrichError(
            "PREFECT_API_URL is not set: deployments need a long-lived Prefect "
            "server. Start one (`.venv/bin/prefect server start`) and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api."
        )
    _prefect()
    from flows import deployments

    for name, spec in settings.orchestration.deployments.items():
        _echo(f"{name}: flow {spec.flow}, cron {spec.cron!r} ({spec.timezone})")
    deployments.serve(settings)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the run report (HTML with plots) of what the warehouse holds now."""
    from ml import report

    path = report.write_report(_settings())
    print(path)
    if args.open:
        import webbrowser

        webbrowser.open(path.as_uri())
    return 0


def _add_target_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument(
        "--target", choices=["warehouse", "duckdb", "spark"], help=help_text
    )


def cmd_run(args: argparse.Namespace) -> int:
    """The pipeline on the embedded defaults, as one Prefect flow (``pipeline``)."""
    params = _generator_params(args, _settings())
    _echo(
        f"pipeline: {params.profiles:,} profiles as of {params.as_of}: load, "
        "featurize, train, score, activate, report"
    )
    ran = _flow("pipeline")(
        profiles=params.profiles,
        seed=params.seed,
        as_of=params.as_of,
        weeks=params.weeks,
        horizon_days=params.horizon_days,
        featurize_target=args.target,
    )
    _print_results(ran["loaded"]["batches"])
    trained = ran["trained"]
    print(f"model v{trained['version']} ({trained['status']}): {trained['decision']}")
    _print_backtest_table(ran["scored"]["backtest"])
    _print_build(ran["activated"]["build"])
    _print_deliveries(ran["activated"]["deliveries"])
    _echo("stages:")
    for stage in ran["stages"]["stages"]:
        _echo(
            f"  {stage['name']:<10} {stage['seconds']:>7.1f} s  "
            f"peak {stage['peak_rss_bytes'] / 2**20:>6,.0f} MiB"
        )
    _echo(f"\nthe run report: {ran['report']}")
    _echo(
        "features in schema ml, exploration marts in eda, the model in the "
        "registry, scores on every profile in profiles.profiles_enriched, "
        "audiences in schema audiences and their files in the lake's "
        "activation folder. Look at them:\n"
        "  .venv/bin/enrich model show --json\n"
        "  .venv/bin/enrich db psql -c 'select decile, count(*), avg(propensity) "
        "from profiles.profiles_enriched group by 1 order by 1'\n"
        "  .venv/bin/enrich audiences size likely_subscribers\n"
        "  .venv/bin/dbt docs generate && .venv/bin/dbt docs serve"
    )
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``enrich`` command."""
    parser = argparse.ArgumentParser(
        prog="enrich",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    db = commands.add_parser("db", help="the embedded PostgreSQL warehouse")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    handlers: list[tuple[str, str, Callable[[argparse.Namespace], int]]] = [
        ("start", "start it (data under ENRICH_HOME, unix socket only)", cmd_db_start),
        ("stop", "stop it", cmd_db_stop),
        ("status", "say whether it runs", cmd_db_status),
        ("url", "print the connection URL", cmd_db_url),
        ("psql", "open psql on it", cmd_db_psql),
    ]
    for name, help_text, handler in handlers:
        sub = db_commands.add_parser(name, help=help_text)
        sub.set_defaults(handler=handler)
        if name == "url":
            sub.add_argument("--show-password", action="store_true")
        if name == "psql":
            sub.usage = "enrich db psql [psql options]"

    generate = commands.add_parser(
        "generate", help="generate synthetic XDM data and load it"
    )
    _add_generator_options(generate)
    generate.add_argument(
        "--replace",
        action="store_true",
        help="drop a synthetic dataset generated with other parameters",
    )
    generate.set_defaults(handler=cmd_generate)

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
    load.set_defaults(handler=cmd_load)

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
    featurize.set_defaults(handler=cmd_featurize)

    export = commands.add_parser(
        "export", help="export the training and scoring sets to the lake (Parquet)"
    )
    export.add_argument(
        "--dataset", choices=["training", "scoring", "all"], default="all"
    )
    _add_target_option(export, "read from (default: the engine that built each set)")
    export.set_defaults(handler=cmd_export)

    train = commands.add_parser(
        "train", help="dbt, export, train, register, apply the promotion gate (flow)"
    )
    train.add_argument(
        "--skip-dbt", action="store_true", help="the ML marts are fresh: no dbt build"
    )
    train.set_defaults(handler=cmd_train)

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
    score.set_defaults(handler=cmd_score)

    commands.add_parser(
        "ingest", help="load the latest scores into the profile store (atomic swap)"
    ).set_defaults(handler=cmd_ingest)

    audiences = commands.add_parser(
        "audiences", help="audiences in code: validate, size"
    )
    audience_commands = audiences.add_subparsers(
        dest="audiences_command", metavar="ACTION", required=True
    )
    audience_commands.add_parser(
        "validate", help="check every audience and destination"
    ).set_defaults(handler=cmd_audiences)
    audience_commands.add_parser(
        "build", help="materialize every audience: members, holdout, delta"
    ).set_defaults(handler=cmd_audiences)
    activator = audience_commands.add_parser(
        "activate", help="deliver the latest build's changes to the destinations"
    )
    activator.add_argument("ids", nargs="*", help="audience ids (default: all)")
    activator.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; send nothing"
    )
    activator.set_defaults(handler=cmd_audiences)
    suppressor = audience_commands.add_parser(
        "suppress", help="never activate these identities"
    )
    suppressor.add_argument("profile_ids", nargs="*", metavar="PROFILE_ID")
    suppressor.add_argument(
        "--file", type=Path, help="one identity per line (or a CSV's first column)"
    )
    suppressor.add_argument("--reason", default="requested", help="why (recorded)")
    suppressor.set_defaults(handler=cmd_audiences)
    sizer = audience_commands.add_parser(
        "size", help="propensity-reach of an audience, all of them, or --rule"
    )
    sizer.add_argument("id", nargs="?", help="audience id (default: all, briefly)")
    sizer.add_argument("--rule", help="size an ad-hoc rule instead")
    sizer.set_defaults(handler=cmd_audiences)

    shortcut = commands.add_parser(
        "activate", help="build the audiences and deliver their changes (flow)"
    )
    shortcut.add_argument("ids", nargs="*", help="audience ids (default: all)")
    shortcut.add_argument(
        "--dry-run", action="store_true", help="show what would be sent; send nothing"
    )
    shortcut.set_defaults(handler=cmd_activate)

    model = commands.add_parser("model", help="the model registry")
    model_commands = model.add_subparsers(
        dest="model_command", metavar="ACTION", required=True
    )
    model_commands.add_parser("list", help="every version").set_defaults(
        handler=cmd_model
    )
    show = model_commands.add_parser("show", help="a version (default: production)")
    show.add_argument("version", type=int, nargs="?")
    show.add_argument("--json", action="store_true", help="print the metadata as JSON")
    show.set_defaults(handler=cmd_model)
    promote = model_commands.add_parser("promote", help="promote a version (gated)")
    promote.add_argument("version", type=int)
    promote.set_defaults(handler=cmd_model)
    model_commands.add_parser(
        "rollback", help="restore the previous production version"
    ).set_defaults(handler=cmd_model)

    run = commands.add_parser(
        "run", help="run the pipeline on the embedded defaults (flow `pipeline`)"
    )
    _add_generator_options(run)
    _add_target_option(run, "featurize on (default: featurize.target)")
    run.set_defaults(handler=cmd_run)

    commands.add_parser(
        "serve", help="serve the scheduled deployments of enrich.yml (Prefect)"
    ).set_defaults(handler=cmd_serve)

    report = commands.add_parser(
        "report", help="write the run report (HTML with plots) of the current state"
    )
    report.add_argument(
        "--open", action="store_true", help="open it in the default browser"
    )
    report.set_defaults(handler=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``enrich`` console script."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.handler is cmd_db_psql:
        args.psql_args = extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "dataset", None) == "events":
        args.dataset = "experience_events"
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # pgserver narrates every command it runs; its warnings are enough.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Prefect's API calls
    from ml.core.errors import EnrichError

    try:
        return args.handler(args)
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
