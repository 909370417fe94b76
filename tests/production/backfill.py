"""A backfill of the flights line as several runs at once, and a reader querying meanwhile.

``python -m tests.production.backfill runs FIRST LAST N OUT`` runs, on the instance of
$DAGSTER_HOME and the warehouse of the settings: once, the reference snapshots (planes, airports,
airlines); then N runs at once, each a range of the days FIRST … LAST, of ingest -> dbt ->
features (``LINE``, with dbt's tests, without the GX suites), each run a process with the
project's multiprocess executor (what a queued run's worker does). Writes a JSON summary to OUT.

``python -m tests.production.backfill read WAREHOUSE OUT STOP [MODE]`` queries ``fct_flights`` in a
loop until the file STOP exists (MODE: see ``read_loop``); writes one JSON line per read to OUT
(latency, per-day counts or one day's count, or the error). A ``.duckdb`` WAREHOUSE is opened as the
DuckDB file it is (read-only), anything else as a lake (``lib/lake.py``).

Only the project's own modules are imported, so the same file runs in an older checkout (the
benchmark copies it into one).
"""

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

MODULE = "tests.production.backfill"  # step subprocesses rebuild the job from it by name
REFERENCE = ["raw_planes", "raw_airports", "raw_airlines"]  # snapshots, loaded once first
LINE = ["raw_flights", "raw_outcomes", "raw_weather", "stg_nycflights__flights",
        "stg_nycflights__outcomes", "stg_nycflights__weather", "stg_nycflights__planes",
        "stg_nycflights__airports", "stg_nycflights__airlines", "fct_flights",
        "fct_weather_hourly", "dim_planes", "dim_airports", "dim_carriers",
        "flight_features"]  # fmt: skip
PER_DAY = "select flight_date::varchar, count(*) from fct_flights group by 1"
RAW_PER_DAY = "select _partition_date::varchar, count(*) from raw_flights group by 1"
SMALL = "select count(*) from fct_flights where flight_date = date '2013-01-02'"
ROOT = Path(__file__).resolve().parents[2]  # this checkout


def job(keys: str) -> dg.JobDefinition:
    """A job of the code location's assets ``keys`` with their dbt tests (no GX suites)."""
    from factory_assets.definitions import defs

    selection = dg.AssetSelection.assets(*keys.split(","))
    suites = dg.AssetSelection.checks(
        *[c for c in defs().resolve_asset_graph().asset_check_keys if c.name.endswith("_suite")]
    )
    selected = dg.define_asset_job("backfill_range", selection=selection - suites)
    return dg.Definitions.merge(defs(), dg.Definitions(jobs=[selected])).resolve_job_def(
        "backfill_range"
    )


def ranges(first: dt.date, last: dt.date, runs: int) -> list[tuple[str, str]]:
    """The days first … last in ``runs`` contiguous ranges, as long as can be equal.

    Fewer days than runs: one range a day (no run gets an empty range).
    """
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    runs = min(runs, len(days))
    size, extra = divmod(len(days), runs)
    out, start = [], 0
    for i in range(runs):
        end = start + size + (i < extra)
        out.append((days[start].isoformat(), days[end - 1].isoformat()))
        start = end
    return out


def _run(keys: list[str], days: tuple[str, str]) -> str:
    """One run of ``keys`` over ``days`` in this process (its steps in subprocesses); its id."""
    tags = {"dagster/asset_partition_range_start": days[0],
            "dagster/asset_partition_range_end": days[1]}  # fmt: skip
    recon = dg.build_reconstructable_job(MODULE, "job", reconstructable_args=(",".join(keys),))
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(recon, instance=instance, tags=tags, raise_on_error=False)
    return result.run_id


def concurrent_runs(first: dt.date, last: dt.date, runs: int) -> dict:
    """Reference tables once, then ``runs`` runs of LINE at once; what they did."""
    with dg.DagsterInstance.get() as instance:  # in this process: not what is measured
        assert job(",".join(REFERENCE)).execute_in_process(instance=instance).success
    started, parts = time.monotonic(), ranges(first, last, runs)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", MODULE, "one", a, b],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for a, b in parts
    ]
    outputs = [p.communicate()[0] for p in procs]
    wall = time.monotonic() - started
    run_ids = [line.split()[1] for out in outputs for line in out.splitlines()
               if line.startswith("RUN ")]  # fmt: skip
    assert len(run_ids) == len(parts), "\n".join(o[-3000:] for o in outputs)
    return {"wall_s": round(wall, 1), **summary(run_ids)}


def summary(run_ids: list[str]) -> dict:
    """Statuses, failed and retried steps of the runs, and the most steps running at once."""
    with dg.DagsterInstance.get() as instance:
        events = [e.dagster_event for r in run_ids for e in instance.all_logs(r) if e.dagster_event]
        stats = [s for r in run_ids for s in instance.get_run_step_stats(r)]
        statuses = [instance.get_run_by_id(r).status.value for r in run_ids]
    kinds = [e.event_type_value for e in events]
    dbt = [s for s in stats if s.step_key == "warehouse_dbt_build"]
    return {
        "run_ids": run_ids,
        "statuses": statuses,
        "steps": len(stats),
        "step_failures": kinds.count("STEP_FAILURE"),
        "step_retries": kinds.count("STEP_UP_FOR_RETRY"),
        "retry_errors": sorted(
            {
                str(e.event_specific_data.error.message).splitlines()[0][:160]
                for e in events
                if e.event_type_value == "STEP_UP_FOR_RETRY" and e.event_specific_data.error
            }  # fmt: skip
        ),
        "most_steps_at_once": _most_at_once(stats),
        "most_dbt_builds_at_once": _most_at_once(dbt),
    }


def _most_at_once(stats: list) -> int:
    """The most of these steps running at one moment (start to end, retries included)."""
    timed = [s for s in stats if s.start_time and s.end_time]
    edges = sorted([(s.start_time, 1) for s in timed] + [(s.end_time, -1) for s in timed])
    running, most = 0, 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def read_loop(warehouse: str, out: Path, stop: Path, mode: str = "days") -> None:
    """Query fct_flights until ``stop`` exists; one JSON line per read (see the module).

    ``mode``: ``days`` (rows per day, a new connection each read), ``small`` (one day's count, a
    new connection each read) or ``small-held`` (one day's count on one connection kept open).
    The small reads list the tables only until ``fct_flights`` is there: then each read is the
    one query.
    """
    held = _open(warehouse) if mode == "small-held" else None
    found = False
    with out.open("w") as file:
        while not stop.exists():
            started = time.perf_counter()
            record: dict = {"t": time.time()}
            try:
                conn = held or _open(warehouse)
                try:
                    record.update(_read(conn, mode, found))
                    found = found or "rows" in record
                finally:
                    if held is None:
                        conn.close()
            except Exception as err:  # noqa: BLE001 (what a reader meets is the measurement)
                record["error"] = str(err).splitlines()[0][:300]
            record["latency_s"] = time.perf_counter() - started
            file.write(json.dumps(record) + "\n")
            file.flush()
            time.sleep(0.1 if held else 0.5)  # a new connection costs ~0.2 s of a core


def _open(warehouse: str):  # noqa: ANN202
    """A read-only connection: to the DuckDB file a ``.duckdb`` path names, else to the lake."""
    import duckdb

    if warehouse.endswith(".duckdb"):
        return duckdb.connect(warehouse, read_only=True)
    from factory_assets.lib.lake import Lake, open_lake

    data = os.environ.get("FACTORY_WAREHOUSE_DATA") or None  # a Postgres catalog's files
    return open_lake(Lake.parse(warehouse, data), read_only=True)


def _read(conn, mode: str, found: bool = False) -> dict:  # noqa: ANN001
    """fct_flights' and raw_flights' rows per day, or one day's count; none before a table is.

    ``found``: fct_flights was there before (a small read then only counts).
    """
    if found and mode != "days":
        return {"rows": conn.execute(SMALL).fetchall()[0][0]}
    listed = "select table_name from information_schema.tables where table_schema = 'main'"
    tables = {name for (name,) in conn.execute(listed).fetchall()}
    if "fct_flights" not in tables and mode != "days":
        return {"no_table": True}
    if mode != "days":
        return {"rows": conn.execute(SMALL).fetchall()[0][0]}
    # raw_flights: the runs commit their loaded days one range at a time
    return {
        "days": dict(conn.execute(PER_DAY).fetchall()) if "fct_flights" in tables else {},
        "raw_days": dict(conn.execute(RAW_PER_DAY).fetchall()) if "raw_flights" in tables else {},
    }


def start_reader(env: dict[str, str], folder: Path, mode: str = "days") -> tuple:
    """A reader process of this checkout on ``env``'s warehouse: (process, reads file, stop)."""
    reads, stop = folder / f"reads-{mode}.jsonl", folder / f"stop-{mode}"
    args = ["read", env["FACTORY_WAREHOUSE"], str(reads), str(stop), mode]
    log = folder / f"reader-{mode}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", MODULE, *args], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    return proc, reads, stop


def stop_reader(reader: tuple) -> list[dict]:
    """Stop a reader of ``start_reader``; its reads."""
    proc, reads, stop = reader
    stop.touch()
    proc.wait(timeout=120)
    return [json.loads(line) for line in reads.read_text().splitlines()]


def run_backfill(
    env: dict[str, str], first: dt.date, last: dt.date, runs: int, folder: Path, tree: Path = ROOT
) -> dict:
    """The ``runs`` command in the checkout ``tree`` on ``env``: the runs' summary."""
    out = folder / "summary.json"
    args = ["runs", first.isoformat(), last.isoformat(), str(runs), str(out)]
    done = subprocess.run(
        [sys.executable, "-m", MODULE, *args], cwd=tree, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return json.loads(out.read_text())


def backfill_while_reading(
    env: dict[str, str], first: dt.date, last: dt.date, runs: int, folder: Path
) -> tuple[dict, list[dict]]:
    """``runs`` runs at once over first … last with a reader (``days``) querying meanwhile."""
    reader = start_reader(env, folder)
    try:
        summary = run_backfill(env, first, last, runs, folder)
    finally:
        reads = stop_reader(reader)
    return summary, reads


def main(argv: list[str]) -> int:
    """``runs FIRST LAST N OUT`` | ``one START END`` | ``read WAREHOUSE OUT STOP``."""
    if argv[0] == "one":
        print(f"RUN {_run(LINE, (argv[1], argv[2]))}", flush=True)
    elif argv[0] == "runs":
        first, last = dt.date.fromisoformat(argv[1]), dt.date.fromisoformat(argv[2])
        Path(argv[4]).write_text(json.dumps(concurrent_runs(first, last, int(argv[3]))))
    else:
        read_loop(argv[1], Path(argv[2]), Path(argv[3]), *argv[4:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
