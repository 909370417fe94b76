"""Online scoring latency and throughput: the running service against onnxruntime in-process.

Self-contained: the full 2013 inputs, a net trained one epoch on January and packaged (ONNX +
preprocessor) into a temporary MLflow store as ``champion``, an online snapshot as of
SNAPSHOT_DAY, and the real service (``python -m factory_assets.serving_app``) on a free loopback
port. The load generator (asyncio, raw HTTP/1.1 keep-alive) is bounded in count and time:

- 1-row requests on an open-loop schedule at RATE req/s; latency counts from the *scheduled*
  send time, so a stalled server cannot hide queueing (no coordinated omission);
- 100-row batches closed-loop on 2 connections: the service's rows per second (best of 5
  passes of 80 batches, as the floor is the best of 5 passes; every pass is recorded);
- the floor: the same batches through the service's own feature path (``OnlineFeatures.rows``)
  and ``OnlineScorer`` (onnxruntime) in one fresh process (best of 5 passes); the Polars path's
  rate (``features(schedule(...))``, ``PackagedModel.predict``) is kept for reference.

The record also holds the service's CPU time per 1-row request (from /proc) and the load average
before and after the fixed-rate run: the machine is shared, and latency depends on it.
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.common import RESULTS_DIR, machine
from benchmarks.load_generator import cpu_seconds, fixed_rate, throughput

NAME = "serving_latency"
RATE, REQUESTS, MAX_SECONDS = 500, 5000, 60  # 10 s of load at the fixed rate
BATCH, BATCH_REQUESTS, BATCH_SECONDS = 100, 400, 30
SNAPSHOT_DAY = "2013-06-30"
WORKERS = int(os.environ.get("BENCH_SERVE_WORKERS", "1"))
LOW_RATE = 100  # also recorded: latency at a rate this machine sustains
FLOOR_REPEATS = THROUGHPUT_PASSES = 5  # best pass of each: the machine is shared


def _line(root: Path) -> tuple[str, Path, list[dict]]:
    """A champion in a temporary MLflow store, a snapshot, and request rows of the next day."""
    import datetime as dt

    from benchmarks.bench_features_vs_pandas import build_inputs
    from factory_assets.lib.features.flights import CATEGORICAL, NUMERIC, flight_features
    from factory_assets.lib.online.snapshot import build_snapshot, write_snapshot
    from factory_assets.lib.packaging import export_onnx
    from factory_assets.lib.registry import Registry
    from factory_assets.lib.scoring import MODEL_FILE, PREPROCESSOR_FILE
    from factory_assets.lib.training.dataset import ModelColumns
    from factory_assets.lib.training.train import TrainConfig, train_model

    flights, weather, planes = build_inputs()
    features = flight_features(flights, flights, weather, planes)
    labelled = features.join(flights.select("flight_id", "is_late"), on="flight_id")
    config = TrainConfig("2013-01-01", "2013-01-31", val_days=7, max_epochs=1)
    columns = ModelColumns(
        "flight_id", "flight_date", "is_late", tuple(CATEGORICAL), tuple(NUMERIC)
    )
    outcome = train_model(labelled.filter(pl.col("is_late").is_not_null()), config, columns=columns)
    package = root / "package"
    package.mkdir()
    pre = outcome.preprocessor
    export_onnx(outcome.net, len(pre.categorical), pre.n_numeric, package / MODEL_FILE)
    (package / PREPROCESSOR_FILE).write_text(pre.to_json())
    uri = f"sqlite:///{root / 'mlflow.db'}"
    registry = Registry(uri)
    experiment = registry.experiment("bench", (root / "artifacts").as_uri())
    run = registry.client.create_run(experiment).info.run_id
    version = registry.register("flights", run, package, {})
    registry.promote("flights", version.version, "benchmark")
    day = dt.date.fromisoformat(SNAPSHOT_DAY)
    airports = pl.DataFrame({"airport_code": ["EWR", "JFK", "LGA"]}).with_columns(
        time_zone=pl.lit("America/New_York")
    )
    manifest, frames = build_snapshot(
        flights.filter(pl.col("flight_date") <= day),
        weather,
        planes,
        airports,
        flights.select("carrier_code").unique(),
    )
    write_snapshot(root / "online" / "snapshots", manifest, frames)
    nxt = flights.filter(pl.col("flight_date") == day + dt.timedelta(days=1))
    rows = nxt.select(
        pl.col("flight_date").cast(pl.String),
        (
            pl.col("scheduled_departure_at").dt.hour().cast(pl.Int64) * 100
            + pl.col("scheduled_departure_at").dt.minute()
        ).alias("sched_dep_time"),  # fmt: skip
        pl.col("carrier_code").alias("carrier"),
        pl.col("flight_number").alias("flight"),
        "tailnum",
        "origin",
        "dest",
        pl.col("distance_mi").cast(pl.Float64).alias("distance"),
    ).to_dicts()
    return uri, root / "online", rows


def _floor(online: Path, batches: list[list[dict]], uri: str) -> tuple[float, float]:
    """Rows per second in this process, on the same batches: the service's path, and Polars.

    The floor is what the service runs per request without HTTP: ``OnlineFeatures.rows`` (table
    lookups) and ``OnlineScorer`` (numpy preprocessing, onnxruntime). The second figure is the
    Polars path (``features(schedule(...))`` and ``PackagedModel.predict``), for reference.
    """

    from factory_assets.lib.online.features import OnlineFeatures
    from factory_assets.lib.online.request import ScheduledFlight
    from factory_assets.lib.online.scorer import OnlineScorer
    from factory_assets.lib.online.snapshot import current_snapshot
    from factory_assets.lib.registry import Registry
    from factory_assets.lib.scoring import MODEL_FILE, PackagedModel

    registry = Registry(uri)
    package = Path(registry.download(registry.version("flights", "champion")))
    model = PackagedModel(package)
    scorer = OnlineScorer(model, (package / MODEL_FILE).read_bytes())  # as the service loads it
    features = OnlineFeatures(current_snapshot(online / "snapshots"))

    def flights(batch: list[dict]) -> list[ScheduledFlight]:
        return [ScheduledFlight.from_row(r) for r in batch]

    def fast(batch: list[dict]) -> np.ndarray:
        return scorer.predict(features.rows(flights(batch)))

    def polars(batch: list[dict]) -> np.ndarray:
        return model.predict(features.features(features.schedule(flights(batch))))

    rows, rates = sum(len(b) for b in batches), []
    for score, repeats in ((fast, FLOOR_REPEATS), (polars, 1)):
        score(batches[0])
        best = float("inf")
        for _ in range(repeats):  # the best pass: a floor, on a machine others share
            start = time.perf_counter()
            for batch in batches:
                score(batch)
            best = min(best, time.perf_counter() - start)
        rates.append(rows / best)
    return rates[0], rates[1]


def _floor_in_fresh_process(online: Path, batches: list[list[dict]], uri: str) -> tuple:
    """``_floor`` in a new Python process, as the service runs: this one has trained a net.

    (Measured in this process after training, the same loop ran about half as fast.)
    """
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        json.dump({"online": str(online), "batches": batches, "uri": uri}, out)
    try:
        code = (
            "import json, sys; from benchmarks.bench_serving_latency import _floor; "
            "a = json.load(open(sys.argv[1])); from pathlib import Path; "
            "print(json.dumps(_floor(Path(a['online']), a['batches'], a['uri'])))"
        )
        env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
        done = subprocess.run(
            [sys.executable, "-c", code, out.name], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"the floor process failed:\n{done.stderr[-2000:]}")
        return tuple(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        os.unlink(out.name)


def _serve(uri: str, online: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "FACTORY_MLFLOW_TRACKING_URI": uri, "FACTORY_ONLINE_DIR": str(online)}
    env |= {"FACTORY_SERVE_MAX_ROWS": str(BATCH), "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [sys.executable, "-m", "factory_assets.serving_app", "--port", str(port)]
    command += ["--workers", str(WORKERS), "--log-level", "warning"]
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("the service did not become healthy in 120 s")


def main() -> dict:
    """Run the three measurements and write results/serving_latency.json."""
    with socket.socket() as sock:  # a free loopback port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        uri, online, rows = _line(Path(tmp))
        singles = [json.dumps({"flights": [rows[i % len(rows)]]}).encode() for i in range(REQUESTS)]
        batches = [[rows[(i * BATCH + j) % len(rows)] for j in range(BATCH)] for i in range(50)]
        batch_bodies = [json.dumps({"flights": b}).encode() for b in batches]
        floor, floor_polars = _floor_in_fresh_process(online, batches, uri)
        process = _serve(uri, online, port)
        try:
            asyncio.run(fixed_rate(port, singles[:500], RATE, MAX_SECONDS))  # warm-up, not recorded
            load_before, cpu = os.getloadavg(), cpu_seconds(process.pid)
            latencies, errors = asyncio.run(fixed_rate(port, singles, RATE, MAX_SECONDS))
            cpu_ms = (cpu_seconds(process.pid) - cpu) * 1000 / len(latencies)
            load_after = os.getloadavg()
            # as the floor, the best of THROUGHPUT_PASSES passes (the overall rate is kept too)
            bodies = (batch_bodies * 10)[:BATCH_REQUESTS]
            step = len(bodies) // THROUGHPUT_PASSES
            passes = [
                asyncio.run(throughput(port, bodies[i : i + step], BATCH, BATCH_SECONDS))
                for i in range(0, step * THROUGHPUT_PASSES, step)
            ]
            service, batch_errors = max(r for r, _ in passes), sum(e for _, e in passes)
            overall = len(passes) * step * BATCH / sum(step * BATCH / r for r, _ in passes)
            single_rps, _ = asyncio.run(throughput(port, singles[:2000], 1, BATCH_SECONDS))
            low, low_errors = asyncio.run(fixed_rate(port, singles[:1000], LOW_RATE, MAX_SECONDS))
        finally:
            process.terminate()
            process.wait(timeout=15)
    ms = np.array(latencies) * 1000
    record = {
        "name": NAME,
        "rate_rps": RATE,
        "requests": len(latencies),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "mean_ms": float(statistics.fmean(ms)),
        "errors": errors + batch_errors + low_errors,
        "single_row_max_rps": single_rps,
        "low_rate_rps": LOW_RATE,
        "low_rate_p50_ms": float(np.percentile(np.array(low) * 1000, 50)),
        "low_rate_p99_ms": float(np.percentile(np.array(low) * 1000, 99)),
        "batch_rows": BATCH,
        "workers": WORKERS,
        "batch_rows_s": service,
        "batch_rows_s_passes": [r for r, _ in passes],
        "batch_rows_s_overall": overall,
        "floor_rows_s": floor,
        "ratio": floor / service,
        "floor_polars_path_rows_s": floor_polars,
        "server_cpu_ms_per_request": cpu_ms,
        "load_average_1_5_15": {"before": list(load_before), "after": list(load_after)},
        "goal": "p99_ms < 5 at 500 req/s (1 row); ratio <= 3",
        "goal_met": bool(np.percentile(ms, 99) < 5 and floor / service <= 3),
        "machine": machine(),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{NAME}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"{NAME}: {RATE} req/s x1 row: p50 {record['p50_ms']:.2f} ms, p99 {record['p99_ms']:.2f} "
        f"ms, errors {record['errors']}, server CPU {cpu_ms:.3f} ms/request, load "
        f"{load_before[0]:.2f}/{load_after[0]:.2f}; {BATCH}-row batches {service:,.0f} rows/s vs "
        f"floor {floor:,.0f} rows/s: ratio {record['ratio']:.2f}; 1-row max {single_rps:.0f} "
        f"req/s; "
        f"{LOW_RATE} req/s: p50 {record['low_rate_p50_ms']:.2f} ms, "
        f"p99 {record['low_rate_p99_ms']:.2f} ms"
    )
    return record
