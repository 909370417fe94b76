"""``factory``: the command line of the line (land data, run jobs, roll a champion back)."""

import argparse
import datetime as dt
import getpass
import sys
import time

import dagster as dg

from factory_assets.defs.resources import data_dir
from factory_assets.lib.landing import FIRST_DAY, LAST_DAY, lay_out_landing

LINE_JOB = "factory_line"
REPLAY_FIRST = dt.date(2013, 5, 1)  # the first champion learns January to April


def job(name: str = LINE_JOB) -> dg.JobDefinition:
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


def run_line(start: str, end: str, instance: dg.DagsterInstance) -> dg.JobExecutionResult:
    """Run the main line for days [start, end] as one run."""
    return run_job(LINE_JOB, instance, start, end)


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
    """Print the champion of each of ``models``, or of every model in the registry."""
    from factory_assets.defs.resources import resources

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
        print(
            f"{name} champion: version {champion.version}; holdout AUC "
            f"{tags.get('holdout_auc')}, Brier {tags.get('holdout_brier')}; "
            f"data {tags.get('data_version')}; code {tags.get('code_version')}"
        )
    if models is None and not registered:
        print("no registered model")


def _landing(args: argparse.Namespace) -> int:
    root = data_dir() / "landing"
    counts = lay_out_landing(root, args.first, args.last)
    print(f"landing zone {root}: " + ", ".join(f"{k} {v} file(s)" for k, v in counts.items()))
    return 0


def _run(args: argparse.Namespace) -> int:
    with dg.DagsterInstance.get() as instance:
        started = time.perf_counter()
        ok = _report(
            run_line(args.start.isoformat(), args.end.isoformat(), instance),
            f"line {args.start} … {args.end}",
            started,
        )
        if ok and args.score_days:
            first = dt.date.fromisoformat(args.score_from)
            last = first + dt.timedelta(days=args.score_days - 1)
            started = time.perf_counter()
            ok = _report(
                run_job("score_flights", instance, first.isoformat(), last.isoformat()),
                f"scoring {first} … {last}",
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
    with dg.DagsterInstance.get() as instance:
        ok = _report(
            run_job("rollback_champion", instance, run_config=config),
            f"rollback {args.model}",
            time.perf_counter(),
        )
    _champion_summary([args.model])
    return 0 if ok else 1


def _replay(args: argparse.Namespace) -> int:
    from factory_assets.definitions import defs
    from factory_assets.replay import Replay, initial_line, replay_days, summarise

    last = args.last
    if args.days:
        last = min(last, args.first + dt.timedelta(days=args.days - 1))
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        replay = Replay(instance, defs(), html=args.html)
        replay.start_cursors()
        if not args.no_initial:
            initial_line(replay, args.first - dt.timedelta(days=1))
        replay_days(replay, args.first, last, args.batch_days)
        print(summarise(replay))
    total = time.perf_counter() - started
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in replay.seconds.items())
    print(f"replay {args.first} … {last}: {total:.0f} s ({total / 60:.1f} min); {stages}")
    for failed in replay.failed_runs:
        print(f"  failed run: {failed}")
    _champion_summary()
    return 0 if not replay.failed_runs else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``factory`` command."""
    parser = argparse.ArgumentParser(prog="factory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    landing = sub.add_parser("landing", help="lay out NYC flights 2013 as daily landing files")
    landing.add_argument("--first", type=dt.date.fromisoformat, default=FIRST_DAY)
    landing.add_argument("--last", type=dt.date.fromisoformat, default=LAST_DAY)
    landing.set_defaults(handler=_landing)
    run = sub.add_parser("run", help="run the line over a range of days, then score some days")
    run.add_argument("--start", type=dt.date.fromisoformat, default=FIRST_DAY)
    run.add_argument("--end", type=dt.date.fromisoformat, default=LAST_DAY)
    run.add_argument("--score-from", default="2013-05-01", help="first day to score")
    run.add_argument("--score-days", type=int, default=7, help="days to score (0: none)")
    run.set_defaults(handler=_run)
    rep = sub.add_parser(
        "replay", help="replay days of 2013: each day lands, the line and the sensors run"
    )
    rep.add_argument("--first", type=dt.date.fromisoformat, default=REPLAY_FIRST)
    rep.add_argument("--last", type=dt.date.fromisoformat, default=LAST_DAY)
    rep.add_argument("--days", type=int, default=0, help="replay only this many days")
    rep.add_argument(
        "--batch-days", type=int, default=1, help="days per ingest-to-scoring run (default 1)"
    )
    rep.add_argument(
        "--html",
        choices=["always", "drifted", "never"],
        default="never",
        help="Evidently HTML report per day (verdicts never depend on it; ~4 MB and ~1 s each)",
    )
    rep.add_argument("--no-initial", action="store_true", help="skip the first training")
    rep.set_defaults(handler=_replay)
    rollback = sub.add_parser("rollback", help="move a model's champion back one version")
    rollback.add_argument("--model", default="flights")
    rollback.add_argument("--reason", required=True)
    rollback.add_argument("--who", default=getpass.getuser())
    rollback.set_defaults(handler=_rollback)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
