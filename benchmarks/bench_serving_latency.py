"""Online scoring latency per served model: the service against its own code in process.

Runs over the project's state after ``make demo`` (every model's champion in the registry and
its online snapshot under ``$FACTORY_ONLINE_DIR``): the real service (``python -m
factory_assets.serving_app``) on a free loopback port. Per model, with its own request rows
(drawn from its snapshot: the lookup path, or flights' feature function on the warehouse's
scheduled flights):

- 1-row requests on an open-loop schedule at RATE req/s; latency counts from the *scheduled*
  send time, so a stalled server cannot hide queueing (no coordinated omission);
- 100-row batches closed-loop on 2 connections: rows per second (best of PASSES passes);
- the floor: the same 100-row bodies through the service's own code in this process
  (validation from the JSON bytes, lookups, routing, onnxruntime; no HTTP), best of PASSES.

The record holds the server's CPU time per 1-row request and the load average before and after
each run: latency depends on the machine. (The hand-written ASGI lane that once routed
``predict`` past FastAPI was measured against this plain route and removed: README, Benchmarks.)
``BENCH_SERVE_MODELS`` (comma-separated) and ``BENCH_SERVE_REQUESTS`` narrow a quick run.
"""

import asyncio
import os
import socket
import subprocess
import sys
import time

import numpy as np
import orjson

from benchmarks.common import RESULTS_DIR, machine
from benchmarks.load_generator import cpu_seconds, fixed_rate, throughput

NAME = "serving_latency"
RATE, MAX_SECONDS = 500, 60
REQUESTS = int(os.environ.get("BENCH_SERVE_REQUESTS", "2500"))  # 5 s at RATE per model
BATCH, BATCHES, PASSES, BATCH_SECONDS = 100, 40, 3, 30
GOAL_P99_MS, GOAL_RATIO = 5.0, 3.0


def _rows(state, name: str) -> list[dict]:  # noqa: ANN001 (ServingState)
    """Request rows of ``name``: its snapshot's keys and sent inputs, or flights' raw rows."""
    online = state.online[name]
    if online.items == "flights":
        sql = (
            "select flight_date, scheduled_departure_hour * 100 + minute(scheduled_departure_at) "
            "as sched_dep_time, carrier_code as carrier, flight_number as flight, tailnum, "
            "origin, dest, cast(distance_mi as double) as distance from fct_flights "
            "where flight_date = ? order by flight_id"
        )
        with state.settings.lake().connect(read_only=True) as conn:
            rows = conn.sql(sql, params=[online.as_of]).pl().to_dicts()
        return [{**r, "flight_date": r["flight_date"].isoformat()} for r in rows]
    c = online.contract
    columns = list(dict.fromkeys([*c.entity, *c.request]))
    return orjson.loads(orjson.dumps(online.rows.select(columns).to_dicts()))


def _bodies(state, name: str) -> tuple[list[bytes], list[bytes]]:  # noqa: ANN001
    items, rows = state.online[name].items, _rows(state, name)
    singles = [orjson.dumps({items: [rows[i % len(rows)]]}) for i in range(REQUESTS)]
    batches = [
        orjson.dumps({items: [rows[(i * BATCH + j) % len(rows)] for j in range(BATCH)]})
        for i in range(BATCHES)
    ]
    return singles, batches


def _floor(state, name: str, batches: list[bytes]) -> float:  # noqa: ANN001
    """Rows per second of the service's own code in this process: the best of PASSES."""
    online = state.online[name]
    served = {r: state.champions[r] for r in online.contract.registered if r in state.champions}

    def run(body: bytes) -> None:
        online.answer(online.request_model.model_validate_json(body), served)

    run(batches[0])
    best = float("inf")
    for _ in range(PASSES):
        start = time.perf_counter()
        for body in batches:
            run(body)
        best = min(best, time.perf_counter() - start)
    return len(batches) * BATCH / best


def _serve(port: int, names: list[str]) -> subprocess.Popen:
    import httpx

    env = {**os.environ}
    env["FACTORY_SERVE_MODELS"] = ",".join(names)  # those with a snapshot: healthy once loaded
    env |= {"FACTORY_SERVE_MAX_ROWS": str(BATCH), "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [sys.executable, "-m", "factory_assets.serving_app", "--port", str(port)]
    process = subprocess.Popen([*command, "--log-level", "warning"], env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("the service did not become healthy in 180 s (run `make demo` first)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _measure(port: int, pid: int, name: str, singles: list[bytes], batches: list[bytes]) -> dict:
    path = f"/v1/models/{name}/predict"
    asyncio.run(fixed_rate(port, singles[:300], RATE, MAX_SECONDS, path))  # warm-up
    before, cpu = os.getloadavg(), cpu_seconds(pid)
    latencies, errors = asyncio.run(fixed_rate(port, singles, RATE, MAX_SECONDS, path))
    cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / len(latencies)  # robust to others' load
    after = os.getloadavg()
    passes = [asyncio.run(throughput(port, batches, BATCH, BATCH_SECONDS, path))
              for _ in range(PASSES)]  # fmt: skip
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "server_cpu_ms_per_request": cpu_ms,
        "errors": errors + sum(e for _, e in passes),
        "batch_rows_s": max(r for r, _ in passes),
        "load_average_1m": {"before": before[0], "after": after[0]},
    }


def main() -> dict:
    """Measure every served model; write results/serving_latency.json."""
    from factory_assets.serving_app.state import ServingState
    from factory_assets.settings import settings

    state = ServingState(settings())
    state.refresh()
    wanted = [m for m in os.environ.get("BENCH_SERVE_MODELS", "").split(",") if m]
    names = [m for m in (wanted or state.models()) if m in state.online]
    skipped = sorted(set(wanted or state.models()) - set(names))
    bodies = {name: _bodies(state, name) for name in names}
    floors = {name: _floor(state, name, bodies[name][1]) for name in names}
    port = _free_port()
    process = _serve(port, names)
    try:
        # the service's first seconds are slow whatever it serves (the first model measured
        # had p99 ~95 ms, the same model measured second ~2 ms): every model warms up first
        for name in names:  # 3 s of fixed-rate traffic each
            warm = bodies[name][0][: 3 * RATE]
            asyncio.run(fixed_rate(port, warm, RATE, MAX_SECONDS, f"/v1/models/{name}/predict"))
        runs = {name: _measure(port, process.pid, name, *bodies[name]) for name in names}
    finally:
        process.terminate()
        process.wait(timeout=15)
    models = {}
    for name in names:
        run = runs[name]
        models[name] = {
            **run,
            "floor_rows_s": floors[name],
            "ratio": floors[name] / run["batch_rows_s"],
            "goal_met": run["p99_ms"] < GOAL_P99_MS
            and floors[name] / run["batch_rows_s"] <= GOAL_RATIO,
        }
    record = {
        "name": NAME,
        "rate_rps": RATE,
        "batch_rows": BATCH,
        "models": models,
        "skipped": {m: "no online snapshot (run `make demo`)" for m in skipped},
        "goal": f"1-row p99 < {GOAL_P99_MS} ms at {RATE} req/s; floor/service <= {GOAL_RATIO}",
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{NAME}.json").write_text(
        orjson.dumps(record, option=orjson.OPT_INDENT_2).decode() + "\n"
    )
    for name, m in models.items():
        print(
            f"{NAME} {name}: {RATE} req/s x1 row p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} "
            f"ms, server CPU {m['server_cpu_ms_per_request']:.3f} ms per request; {BATCH}-row "
            f"{m['batch_rows_s']:,.0f} rows/s vs floor {m['floor_rows_s']:,.0f}: ratio "
            f"{m['ratio']:.2f}; errors {m['errors']}; load {m['load_average_1m']['before']:.2f}"
        )
    return record
