"""``factory``: the command line of the line (lay out landing data, run the line)."""

import argparse
import datetime as dt
import sys
import time

import dagster as dg

from factory_assets.defs.resources import data_dir
from factory_assets.lib.landing import FIRST_DAY, LAST_DAY, lay_out_landing

LINE_JOB = "factory_line"


def line_job() -> dg.JobDefinition:
    """The main job, rebuilt from the definitions in each process that runs a step."""
    from factory_assets.definitions import defs

    return defs().resolve_job_def(LINE_JOB)


def run_line(start: str, end: str, instance: dg.DagsterInstance) -> dg.JobExecutionResult:
    """Run the line for days [start, end] as one run (multiprocess executor) on ``instance``."""
    job = dg.build_reconstructable_job("factory_assets.cli", "line_job")
    tags = {
        "dagster/asset_partition_range_start": start,
        "dagster/asset_partition_range_end": end,
    }
    # Step events stay in the instance (and the UI); the console shows INFO and above.
    run_config = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    return dg.execute_job(
        job, instance=instance, tags=tags, run_config=run_config, raise_on_error=False
    )


def _landing(args: argparse.Namespace) -> int:
    root = data_dir() / "landing"
    counts = lay_out_landing(root, args.first, args.last)
    print(f"landing zone {root}: " + ", ".join(f"{k} {v} file(s)" for k, v in counts.items()))
    return 0


def _run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        result = run_line(args.start.isoformat(), args.end.isoformat(), instance)
        print(f"run {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'} "
              f"in {time.perf_counter() - started:.1f} s ({args.start} … {args.end})")  # fmt: skip
        for event in result.all_events:
            if event.event_type_value == "ASSET_CHECK_EVALUATION":
                check = event.event_specific_data
                if not check.passed:
                    print(f"  check {check.asset_check_key.to_user_string()}: "
                          f"{check.severity.value}")  # fmt: skip
            elif event.is_step_failure:
                print(f"  step {event.step_key} failed: {event.message}")
    return 0 if result.success else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``factory`` command."""
    parser = argparse.ArgumentParser(prog="factory", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    landing = sub.add_parser("landing", help="lay out NYC flights 2013 as daily landing files")
    landing.add_argument("--first", type=dt.date.fromisoformat, default=FIRST_DAY)
    landing.add_argument("--last", type=dt.date.fromisoformat, default=LAST_DAY)
    landing.set_defaults(handler=_landing)
    run = sub.add_parser("run", help="run the line over a range of days")
    run.add_argument("--start", type=dt.date.fromisoformat, default=FIRST_DAY)
    run.add_argument("--end", type=dt.date.fromisoformat, default=LAST_DAY)
    run.set_defaults(handler=_run)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
