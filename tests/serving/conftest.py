"""One trained champion, an online snapshot and a running scoring service, shared by the module.

The service is the real thing: ``python -m factory_assets.serving_app`` (uvicorn) in a
subprocess on a free loopback port, over a real MLflow store and the packaged ONNX model.
"""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import httpx
import polars as pl
import pytest

from factory_assets.lib.lake import connect, copy_lake
from factory_assets.lib.registry import Registry

MODEL = ["flights_model", "flights_evaluation", "flights_package"]
SNAPSHOT, DAY = "flights_online_snapshot", "2013-01-08"  # the line makes it with scoring
HOLDOUT = {"holdout_start": "2013-01-07", "holdout_end": "2013-01-07"}
TRAIN = {"train_start": "2013-01-01", "train_end": "2013-01-04", "val_days": 2, "max_epochs": 2}
CONFIG = {
    "ops": {
        "flights_model": {"config": TRAIN},
        "flights_evaluation": {"config": {**HOLDOUT, "importance_rows": 200}},
        "flights_package": {"config": {**HOLDOUT, "floors": {"auc": 0.0, "brier": 1.0}}},
    }
}


@dataclass
class ServingLine:
    """The stores of one line: warehouse copy (a lake's catalog), MLflow store, online directory."""

    root: Path
    warehouse: Path
    tracking_uri: str
    online: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "FACTORY_STATE_DIR": str(self.root),
            "FACTORY_WAREHOUSE": str(self.warehouse),
            "FACTORY_MLFLOW_TRACKING_URI": self.tracking_uri,
            "FACTORY_MLFLOW_ARTIFACTS": (self.root / "artifacts").as_uri(),
            "FACTORY_ONLINE_DIR": str(self.online),
        }

    def registry(self) -> Registry:
        return Registry(self.tracking_uri)

    def query(self, sql: str, params: list | None = None) -> pl.DataFrame:
        with connect(self.warehouse, read_only=True) as conn:
            return conn.sql(sql, params=params or None).pl()

    def materialize(  # noqa: ANN201
        self,
        defs: dg.Definitions,
        keys: list[str],
        config: dict | None = None,
        partition: str | None = None,
    ):
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={dg.AssetKey(k) for k in keys}
        )
        with pytest.MonkeyPatch.context() as mp:
            for name, value in self.env.items():
                mp.setenv(name, value)
            return job.execute_in_process(
                run_config=config or {}, partition_key=partition, raise_on_error=False
            )

    @property
    def snapshots(self) -> Path:
        """The flights model's snapshots (``CURRENT`` names the live one)."""
        return self.online / "models" / "flights"


@pytest.fixture(scope="session")
def serving_line(built, defs, tmp_path_factory) -> ServingLine:  # noqa: ANN001
    """A copy of the built warehouse, a champion (v1) and a current online snapshot."""
    root = tmp_path_factory.mktemp("serving")
    copy_lake(built[0], root / "warehouse.sqlite")
    line = ServingLine(
        root, root / "warehouse.sqlite", f"sqlite:///{root / 'mlflow.db'}", root / "online"
    )
    result = line.materialize(defs, MODEL, CONFIG)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert line.materialize(defs, [SNAPSHOT], partition=DAY).success
    return line


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_service(line: ServingLine, **settings: str) -> Iterator[str]:
    """``python -m factory_assets.serving_app`` on a free port until its /healthz says ok."""
    port = free_port()
    env = {**os.environ, **line.env, "FACTORY_SERVE_POLL_SECONDS": "0.5"}
    env |= {"FACTORY_SERVE_MODELS": "flights", **settings}
    command = [sys.executable, "-m", "factory_assets.serving_app", "--port", str(port)]
    log = (line.root / f"service-{port}.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (line.root / f"service-{port}.log").read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "service did not become healthy in 90 s"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def service(serving_line: ServingLine) -> Iterator[str]:
    """The service without a token, shadow scoring on, small limits to test them."""
    with running_service(
        serving_line,
        FACTORY_SERVE_SHADOW="true",
        FACTORY_SERVE_MAX_ROWS="50",
        FACTORY_SERVE_MAX_BODY_BYTES="65536",
    ) as url:
        yield url


def request_rows(line: ServingLine, day: str, limit: int = 20) -> list[dict]:
    """Flights of ``day`` from fct_flights, in the raw scheduled shape the API takes."""
    frame = line.query(
        "select flight_date, scheduled_departure_hour * 100 + minute(scheduled_departure_at) "
        "as sched_dep_time, carrier_code as carrier, flight_number as flight, tailnum, origin, "
        "dest, distance_mi as distance, flight_id from fct_flights where flight_date = ? "
        "order by flight_id limit ?",
        [day, limit],
    )
    rows = frame.with_columns(pl.col("flight_date").cast(pl.String)).to_dicts()
    for row in rows:
        row["distance"] = float(row["distance"])
    return rows
