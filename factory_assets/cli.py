"""``factory``: the command line of the line (land data, run jobs, roll a champion back)."""

import argparse
import datetime as dt
import getpass
import shutil
import sys
import time

import dagster as dg

from factory_assets import training_set
from factory_assets.execution import step_server_for_this_env
from factory_assets.settings import PROJECT_ROOT, dagster_home, settings
from factory_assets.specs import shipped_datasets

# The example datasets' upstreams: each lays its files out as its upstream would drop them.
EXAMPLES = {
    "nycflights": "factory_assets.examples.nycflights:lay_out_landing",
    "chicago": "factory_assets.examples.chicago:lay_out_chicago",
    "screenings": "factory_assets.examples.screenings:lay_out_screenings",  # batches, no dates
}


def _dataset(name: str, batched: bool = False):  # noqa: ANN202 (a Dataset)
    """The shipped dataset ``name``: with a calendar (or, ``batched``, with batches)."""
    known = {n: d for n, d in shipped_datasets().items() if d.calendar or (batched and d.batched)}
    if name not in known:
        raise SystemExit(f"no dataset {name!r} to replay; known: {', '.join(sorted(known))}")
    return known[name]


def job(name: str) -> dg.JobDefinition:
    """A job of the code location, rebuilt in each process that runs a step."""
    from factory_assets.definitions import defs

    return defs().resolve_job_def(name)


def run_job(
    name: str,
    instance: dg.DagsterInstance,
    start: str | None = None,
    end: str | None = None,
    run_config: dict | None = None,
) -> dg.JobExecutionResult:
    """Run a job on ``instance`` (multiprocess executor), over days [start, end] if given."""
    step_server_for_this_env()
    recon = dg.build_reconstructable_job("factory_assets.cli", "job", reconstructable_args=(name,))
    tags = {}
    if start and end:
        tags = {
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end,
        }
    # Step events stay in the instance (and the UI); the console shows INFO and above.
    config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}, **(run_config or {})}
    return dg.execute_job(
        recon, instance=instance, tags=tags, run_config=config, raise_on_error=False
    )


def run_line(
    start: str, end: str, instance: dg.DagsterInstance, dataset: str
) -> dg.JobExecutionResult:
    """Run a dataset's line for periods [start, end] as one run."""
    return run_job(f"{dataset}_line", instance, start, end)


def _report(result: dg.JobExecutionResult, label: str, started: float) -> bool:
    print(
        f"{label}: run {result.run_id} {'SUCCESS' if result.success else 'FAILURE'} "
        f"in {time.perf_counter() - started:.1f} s"
    )
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            if not check.passed:
                print(f"  check {check.asset_check_key.to_user_string()}: {check.severity.value}")
        elif event.is_step_failure:
            print(f"  step {event.step_key} failed: {event.message}")
    return result.success


def _champion_summary(models: list[str] | None = None) -> None:
    """Print the champion (holdout metrics, data, code) of each of ``models``, or of all."""
    from factory_assets.defs.resources import resources
    from factory_assets.lib.tasks import HIGHER_IS_BETTER, metric_label

    registry = resources().resources["tracking"].process_config_and_initialize().registry()
    registered, token = {}, None
    while True:  # the registry answers in pages
        page = registry.client.search_registered_models(page_token=token)
        registered |= {m.name: m for m in page}
        token = page.token
        if not token:
            break
    for name in sorted(registered) if models is None else models:
        champion = registry.version(name, "champion")
        if champion is None:
            fallback = getattr(registered.get(name), "tags", {}).get("fallback")
            print(f"{name}: no champion" + (f" (served by {fallback})" if fallback else ""))
            continue
        tags = champion.tags
        found = [m for m in HIGHER_IS_BETTER if f"holdout_{m}" in tags]  # any task's metrics
        holdout = ", ".join(f"{metric_label(m)} {tags[f'holdout_{m}']}" for m in found)
        print(
            f"{name} champion: version {champion.version}; holdout {holdout or '(no metrics)'}; "
            f"data {tags.get('data_version')}; code {tags.get('code_version')}"
        )
    if models is None and not registered:
        print("no registered model")


def _landing(args: argparse.Namespace) -> int:
    import importlib

    if args.dataset not in EXAMPLES:
        raise SystemExit(f"no example upstream for {args.dataset!r}; known: {', '.join(EXAMPLES)}")
    module, function = EXAMPLES[args.dataset].split(":")
    lay_out = getattr(importlib.import_module(module), function)
    root = settings().data_dir / "landing"
    if shipped_datasets()[args.dataset].batched:  # no time axis: every batch it has
        counts = lay_out(root)
        print(f"landing zone {root}: " + ", ".join(f"{k} {v} file(s)" for k, v in counts.items()))
        return 0
    calendar = _dataset(args.dataset).calendar
    first = args.first or calendar.first.first_day
    last = args.last or (calendar.last or calendar.first).first_day
    counts = lay_out(root, first, last)
    print(f"landing zone {root}: " + ", ".join(f"{k} {v} file(s)" for k, v in counts.items()))
    return 0


def _instance() -> dg.DagsterInstance:
    """DAGSTER_HOME's instance, else the project's own (``.factory/dagster_home``, as make's).

    A home without a ``dagster.yaml`` gets the project's (pools, queue), as ``make`` does.
    """
    home = dagster_home()
    if not (home / "dagster.yaml").exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def _run(args: argparse.Namespace) -> int:
    with _instance() as instance:
        started = time.perf_counter()
        calendar = _dataset(args.dataset).calendar
        start = calendar.period(args.start) if args.start else calendar.first
        end = calendar.period(args.end) if args.end else (calendar.last or calendar.first)
        ok = _report(
            run_line(start.key, end.key, instance, args.dataset),
            f"line {start.key} … {end.key}",
            started,
        )
        if ok and args.score_days and args.score_from:
            first = calendar.period(args.score_from)
            last = calendar.shift(first, args.score_days - 1)
            started = time.perf_counter()
            ok = _report(
                run_job(f"score_{args.dataset}", instance, first.key, last.key),
                f"scoring {first.key} … {last.key}",
                started,
            )
    _champion_summary()
    return 0 if ok else 1


def _rollback(args: argparse.Namespace) -> int:
    config = {
        "ops": {
            "move_champion_back": {
                "config": {"model": args.model, "reason": args.reason, "who": args.who}
            }
        }
    }
    with _instance() as instance:
        ok = _report(
            run_job("rollback_champion", instance, run_config=config),
            f"rollback {args.model}",
            time.perf_counter(),
        )
    _champion_summary([args.model])
    return 0 if ok else 1


def _replay(args: argparse.Namespace) -> int:
    import contextlib

    from factory_assets.console import ReplayProgress, console_for
    from factory_assets.definitions import defs
    from factory_assets.replay import Replay, initial_line, replay_periods, summarise
    from factory_assets.replay_batches import batch_window, replay_batches

    dataset = _dataset(args.dataset, batched=True)
    calendar, landing = dataset.calendar, settings().data_dir / "landing"
    started = time.perf_counter()
    log = settings().state_dir / "logs" / f"replay-{dt.datetime.now():%Y%m%d-%H%M%S}.log"
    with console_for(log, args.verbose) as console, _instance() as instance:
        replay = Replay(instance, defs(), dataset, html=args.html)
        if dataset.batched:  # no calendar: the first batches train, each later one is served
            initial, later = batch_window(dataset, landing, args.days)
            span, periods = f"{later[0]} … {later[-1]}" if later else "(none)", len(later)
        else:
            first = calendar.period_of(args.first) if args.first else replay.first_unseen()
            last = calendar.period_of(args.last) if args.last else calendar.last
            last = last or dataset.newest_period(landing) or first
            if args.days:
                last = min(last, calendar.shift(first, args.days - 1))
            span, periods = f"{first.key} … {last.key}", len(calendar.between(first, last))
        unit = ("batch", "batches") if dataset.batched else ("period", "periods")
        console.print(f"replay {dataset.name} {span}: {periods} {unit[periods != 1]}")
        with ReplayProgress(console, calendar, periods) as replay.progress:
            replay.start_cursors()
            if dataset.batched:
                replay_batches(replay, [] if args.no_initial else initial, later)
            else:
                if not args.no_initial:
                    initial_line(replay, calendar.shift(first, -1), dataset.oldest_period(landing))
                replay_periods(replay, first, last, args.batch_days)
            summary = summarise(replay)
        console.print(summary, markup=False)
        total = time.perf_counter() - started
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in replay.seconds.items())
        console.print(
            f"replay {span}: {total:.0f} s ({total / 60:.1f} min); {stages}",
            markup=False,
        )
        for failed in replay.failed_runs:
            console.print(f"  failed run: {failed} (log: {log})", markup=False)
        with contextlib.redirect_stdout(console.file):  # the summary's lines, not MLflow's logs
            _champion_summary()
    return 0 if not replay.failed_runs else 1


def _migrate(args: argparse.Namespace) -> int:
    from factory_assets.lib.warehouse_migration import migrate_command

    return migrate_command(args.source, settings().lake(), replace=args.replace)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``factory`` command."""
    parser = argparse.ArgumentParser(prog="factory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    landing = sub.add_parser(
        "landing", help="lay an example dataset out as its upstream drops its landing files"
    )
    landing.add_argument("--dataset", required=True, choices=sorted(EXAMPLES))
    landing.add_argument("--first", type=dt.date.fromisoformat, help="default: its first period")
    landing.add_argument("--last", type=dt.date.fromisoformat, help="default: its last period")
    landing.set_defaults(handler=_landing)
    run = sub.add_parser(
        "run", help="run a dataset's line over a range of periods, then score some periods"
    )
    run.add_argument("--dataset", required=True, help="a dataset of the source specs")
    run.add_argument("--start", help="first period's key (default: the calendar's first)")
    run.add_argument("--end", help="last period's key (default: the calendar's last)")
    run.add_argument("--score-from", help="first period to score (with --score-days)")
    run.add_argument("--score-days", type=int, default=0, help="periods to score (default none)")
    run.set_defaults(handler=_run)
    rep = sub.add_parser(
        "replay", help="replay a dataset's periods: each lands, the line and the sensors run"
    )
    rep.add_argument("--dataset", required=True, help="a dataset of the source specs")
    rep.add_argument(
        "--first",
        type=dt.date.fromisoformat,
        help="default: the period after the newest holdout of the dataset's models",
    )
    rep.add_argument(
        "--last",
        type=dt.date.fromisoformat,
        help="default: the calendar's last period (open-ended: the newest landed one)",
    )
    rep.add_argument("--days", type=int, default=0, help="replay only this many periods")
    rep.add_argument(
        "--batch-days", type=int, default=1, help="periods per ingest-to-scoring run (default 1)"
    )
    rep.add_argument(
        "--html",
        choices=["always", "drifted", "never"],
        default="never",
        help="Evidently HTML report per day (verdicts never depend on it; ~4 MB and ~1 s each)",
    )
    rep.add_argument("--no-initial", action="store_true", help="skip the first training")
    rep.add_argument(
        "--verbose",
        action="store_true",
        help="Dagster's events, dbt's log and MLflow's on the console, not in the log file",
    )
    rep.set_defaults(handler=_replay)
    migrate = sub.add_parser(
        "migrate-warehouse", help="copy an old DuckDB-file warehouse's tables into the lake"
    )
    migrate.add_argument("source", help="a .duckdb file or an EXPORT DATABASE folder")
    migrate.add_argument("--replace", action="store_true", help="overwrite lake tables with rows")
    migrate.set_defaults(handler=_migrate)
    rollback = sub.add_parser("rollback", help="move a model's champion back one version")
    rollback.add_argument("--model", required=True, help="the registered model, e.g. flights")
    rollback.add_argument("--reason", required=True)
    rollback.add_argument("--who", default=getpass.getuser())
    rollback.set_defaults(handler=_rollback)
    training_set.add_parser(sub)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
