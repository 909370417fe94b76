"""The dbt step of one weekly batch: dbt in the step's process against dagster-dbt's subprocess.

A warehouse is built for 2013-01-01 … 2013-03-24 (ingest and dbt); then the week 2013-03-25 …
2013-03-31 is ingested, and the dbt models of the batch line (staging, fct_flights,
fct_weather_hourly, the model input views, with their dbt tests as checks) are built for that
week, once per side in alternation. Before each timed build the week is ingested again
(untimed), so fct_flights rebuilds the same seven days every time. Each timing is the whole
in-process Dagster run of the dbt step, as the replay runs it; both sides yield the same
materializations and check results (asserted before anything is written).
"""

import datetime as dt
import os
import tempfile
from pathlib import Path

from benchmarks.common import timed_pair, write_result

NAME = "dbt_step"
REPEATS = 5
GOAL = 2.0  # subprocess seconds / in-process seconds
FIRST, BUILT_TO = dt.date(2013, 1, 1), dt.date(2013, 3, 24)
WEEK = (dt.date(2013, 3, 25), dt.date(2013, 3, 31))
RAW = ["raw_flights", "raw_weather", "raw_outcomes"]


def _run(defs, keys: list[str], first: dt.date, last: dt.date, upstream: bool = False):  # noqa: ANN001, ANN202
    import dagster as dg

    selection = dg.AssetSelection.assets(*keys)
    selection = selection.upstream() if upstream else selection
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(selection.resolve(defs.resolve_asset_graph()))
    )
    result = job.execute_in_process(
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        raise_on_error=False,
    )
    if not result.success:
        raise RuntimeError(f"{keys[0]} … failed: see the run's log above")
    return result


def _outcome(result) -> tuple:  # noqa: ANN001
    rows = {
        e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
        for e in result.get_asset_materialization_events()
    }
    checks = {
        e.asset_check_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()
    }
    return rows, checks


def main() -> None:
    """Build, time both sides in alternation, check they agree, write results/dbt_step.json."""

    from factory_assets.defs.jobs import period_build
    from factory_assets.examples.nycflights import lay_out_landing
    from factory_assets.settings import env_name
    from factory_assets.specs import shipped_datasets

    with tempfile.TemporaryDirectory(prefix="dbt_step_") as tmp:
        root = Path(tmp)
        os.environ["FACTORY_DATA_DIR"] = str(root / "data")
        os.environ["FACTORY_WAREHOUSE"] = str(root / "warehouse.sqlite")
        os.environ["FACTORY_STATE_DIR"] = str(root / "state")
        lay_out_landing(root / "data" / "landing", FIRST, WEEK[1])
        from factory_assets.definitions import defs as load_defs

        defs = load_defs()
        graph = defs.resolve_asset_graph()
        dbt_keys = [
            k.to_user_string()
            for k in period_build(shipped_datasets()["nycflights"]).resolve(graph)
            if graph.get(k).assets_def.node_def.name == "warehouse_dbt_build"  # the dbt step's
        ]
        dims = ["dim_planes", "dim_airports", "dim_carriers"]
        _run(defs, [*dims, *dbt_keys], FIRST, BUILT_TO, upstream=True)

        def side(subprocess: bool):  # noqa: ANN202
            def build():  # noqa: ANN202
                _run(defs, RAW, *WEEK)  # the week lands again: fct_flights rebuilds its days
                if subprocess:
                    os.environ[env_name("dbt_subprocess")] = "1"
                try:
                    return _run(defs, dbt_keys, *WEEK)
                finally:
                    os.environ.pop(env_name("dbt_subprocess"), None)

            return build

        base, base_s, cand, cand_s = timed_pair(side(True), side(False), REPEATS)
        # the untimed ingest is inside each call: time it alone and take it out of both sides
        ingest = [_timed(lambda: _run(defs, RAW, *WEEK)) for _ in range(REPEATS)]
        ingest_s = sorted(ingest)[len(ingest) // 2]
        if _outcome(base) != _outcome(cand):
            raise AssertionError("in-process dbt and the subprocess disagree; nothing written")
        rows, checks = _outcome(cand)
        record = write_result(
            NAME,
            "dagster-dbt DbtCliResource.cli: dbt as a subprocess (FACTORY_DBT_SUBPROCESS=1)",
            "factory_assets/components/dbt_in_process.py: dbtRunner in the step's process",
            [s - ingest_s for s in base_s],
            [s - ingest_s for s in cand_s],
            GOAL,
            rows["fct_flights"],
            {
                "dbt_assets": sorted(rows),
                "dbt_checks": len(checks),
                "week": [d.isoformat() for d in WEEK],
                "ingest_s_subtracted": ingest_s,
                "load_average": os.getloadavg(),
                "goal_text": f"subprocess / in-process >= {GOAL} for one weekly batch's dbt step",
            },
        )
    print(
        f"{NAME}: subprocess {record['baseline_s']:.2f}s, in process {record['candidate_s']:.2f}s,"
        f" ratio {record['ratio']:.2f} (goal >= {GOAL}: "
        f"{'met' if record['goal_met'] else 'NOT met'}; load {os.getloadavg()[0]:.2f})"
    )


def _timed(fn) -> float:  # noqa: ANN001
    import time

    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
