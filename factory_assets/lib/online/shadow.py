"""Shadow scoring: the challenger scores the champion's requests; both go to an append-only log.

The service appends JSON lines (one per flight) under ``<online dir>/shadow/<model>/``, one file
per day and process, from one writer thread, so requests never wait for the challenger. The
``shadow_agreement`` asset reads the files back and compares the two models, and once labels
have landed, their AUC and Brier score on the same flights.
"""

import datetime as dt
import json
import logging
import os
import queue
import threading
from pathlib import Path

import numpy as np
import polars as pl

log = logging.getLogger("factory.serving.shadow")
LOG_SCHEMA = {
    "logged_at": pl.String,
    "request_id": pl.String,
    "model": pl.String,
    "flight_id": pl.String,
    "flight_date": pl.String,
    "champion_version": pl.String,
    "champion_probability": pl.Float64,
    "challenger_version": pl.String,
    "challenger_probability": pl.Float64,
}


class ShadowLog:
    """A bounded queue of shadow jobs and the thread that scores and writes them."""

    def __init__(self, root: Path, capacity: int = 1000) -> None:
        self.root = Path(root)
        self.jobs: queue.Queue = queue.Queue(maxsize=capacity)
        self.written = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="shadow-log", daemon=True)
        self._thread.start()

    def submit(self, request_id: str, champion, challenger, features, probabilities) -> None:  # noqa: ANN001
        """Queue one request for the challenger; drops it (counted) when the queue is full."""
        try:
            self.jobs.put_nowait((request_id, champion, challenger, features, probabilities))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            try:
                self._write(*job)
            except Exception:
                log.exception("shadow scoring failed for request %s", job[0])
            finally:
                self.jobs.task_done()

    def _write(self, request_id: str, champion, challenger, features, probabilities) -> None:  # noqa: ANN001
        shadow = challenger.scorer.predict(features)  # features: a FeatureBlock
        now = dt.datetime.now(dt.UTC)
        stamp = now.isoformat(timespec="milliseconds")
        lines = [
            json.dumps(
                {
                    "logged_at": stamp,
                    "request_id": request_id,
                    "model": champion.name,
                    "flight_id": flight_id,
                    "flight_date": str(day),
                    "champion_version": champion.version,
                    "champion_probability": float(p),
                    "challenger_version": challenger.version,
                    "challenger_probability": float(q),
                }
            )
            for flight_id, day, p, q in zip(
                features.flight_id, features.flight_date, probabilities, shadow, strict=True
            )
        ]
        folder = self.root / champion.name
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{now:%Y-%m-%d}-{os.getpid()}.jsonl", "a") as out:
            out.write("\n".join(lines) + "\n")
        self.written += len(lines)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        self.jobs.put(None)
        self._thread.join(timeout=timeout)


def read_shadow_log(root: Path) -> pl.DataFrame:
    """Every line of every shadow file under ``root``, typed; empty when there are none."""
    files = sorted(Path(root).glob("*/*.jsonl"))
    if not files:
        return pl.DataFrame(schema=LOG_SCHEMA)
    return pl.concat([pl.read_ndjson(f, schema=LOG_SCHEMA) for f in files])


def shadow_summary(log_rows: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Agreement of champion and challenger per (model, champion, challenger) version pair.

    Args:
        log_rows: shadow log rows (LOG_SCHEMA).
        labels: ``flight_id`` and ``is_late`` of flights whose outcome is known.

    Returns:
        One row per pair: flights, agreement (same side of 0.5), mean and max absolute
        difference, then over the labelled flights their count and each model's AUC and Brier.
    """
    from factory_assets.lib.evaluation import binary_metrics

    keys = ["model", "champion_version", "challenger_version"]
    rows = []
    labelled = log_rows.join(labels.drop_nulls("is_late"), on="flight_id", how="left")
    for key, part in labelled.group_by(keys, maintain_order=True):
        p, q = part["champion_probability"].to_numpy(), part["challenger_probability"].to_numpy()
        known = part.filter(pl.col("is_late").is_not_null())
        y = known["is_late"].cast(pl.Int8).to_numpy()
        mine = binary_metrics(y, known["champion_probability"].to_numpy())
        theirs = binary_metrics(y, known["challenger_probability"].to_numpy())
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "flights": part.height,
                "agreement": float(np.mean((p >= 0.5) == (q >= 0.5))),
                "mean_abs_diff": float(np.mean(np.abs(p - q))),
                "max_abs_diff": float(np.max(np.abs(p - q))),
                "labelled": known.height,
                "champion_auc": mine["auc"],
                "challenger_auc": theirs["auc"],
                "champion_brier": mine["brier"],
                "challenger_brier": theirs["brier"],
            }
        )
    schema = {**{k: pl.String for k in keys}, "flights": pl.Int64, "agreement": pl.Float64}
    schema |= {"mean_abs_diff": pl.Float64, "max_abs_diff": pl.Float64, "labelled": pl.Int64}
    schema |= {f"{m}_{s}": pl.Float64 for m in ("champion", "challenger") for s in ("auc", "brier")}
    return pl.DataFrame(rows, schema=schema).fill_nan(None)
