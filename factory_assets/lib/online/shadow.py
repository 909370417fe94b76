"""Shadow scoring: the challenger scores the champion's requests; both go to an append-only log.

The service appends JSON lines (one per scored row) under ``<online dir>/shadow/<model>/``, one
file per day and process, from one writer thread, so requests never wait for the challenger. The
``shadow_agreement`` asset reads the files back and compares the two models, for any task, and
once labels have landed (the spec's label, joined on its key), each one's primary metric.
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

from factory_assets.lib.tasks import Task

log = logging.getLogger("factory.serving.shadow")
LOG_SCHEMA = {
    "logged_at": pl.String,
    "request_id": pl.String,
    "model": pl.String,  # the served model (the spec's name)
    "registered": pl.String,  # the registered model that scored the row (a segment's)
    "key": pl.String,  # the row's key (the spec's data.key), as text
    "date": pl.String,
    "champion_version": pl.String,
    "champion": pl.List(pl.Float64),  # the prediction: [probability], [value], or per class
    "challenger_version": pl.String,
    "challenger": pl.List(pl.Float64),
}


def _key(keys: dict, key: str) -> str:
    return str(keys[key]) if key in keys else "|".join(map(str, keys.values()))


class ShadowLog:
    """A bounded queue of shadow jobs and the thread that scores and writes them."""

    def __init__(self, root: Path, capacity: int = 1000) -> None:
        self.root = Path(root)
        self.jobs: queue.Queue = queue.Queue(maxsize=capacity)
        self.written = self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="shadow-log", daemon=True)
        self._thread.start()

    def submit(self, request_id: str, model: str, key: str, champion, challenger, part) -> None:  # noqa: ANN001, PLR0913
        """Queue rows of one request for the challenger; drops them (counted) if the queue is full.

        ``part`` is an ``Answer.shadow`` entry: (registered, inputs, predictions, keys, dates);
        ``key`` the spec's key column, the one a row's label is joined on.
        """
        try:
            self.jobs.put_nowait((request_id, model, key, champion, challenger, part))
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

    def _write(self, request_id: str, model: str, key: str, champion, challenger, part) -> None:  # noqa: ANN001, PLR0913
        _, inputs, predictions, keys, dates = part
        shadow = challenger.predict(inputs)
        now = dt.datetime.now(dt.UTC)
        stamp = now.isoformat(timespec="milliseconds")
        mine = np.asarray(predictions, dtype=np.float64).reshape(len(keys), -1).tolist()
        theirs = np.asarray(shadow, dtype=np.float64).reshape(len(keys), -1).tolist()
        lines = [
            json.dumps(
                {
                    "logged_at": stamp,
                    "request_id": request_id,
                    "model": model,
                    "registered": champion.name,
                    "key": _key(k, key),
                    "date": "" if day is None else str(day),
                    "champion_version": champion.version,
                    "champion": p,
                    "challenger_version": challenger.version,
                    "challenger": q,
                }
            )
            for k, day, p, q in zip(keys, dates, mine, theirs, strict=True)
        ]
        folder = self.root / model
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


SUMMARY_SCHEMA = {
    "model": pl.String,
    "registered": pl.String,
    "champion_version": pl.String,
    "challenger_version": pl.String,
    "rows": pl.Int64,
    "agreement": pl.Float64,
    "mean_abs_diff": pl.Float64,
    "max_abs_diff": pl.Float64,
    "labelled": pl.Int64,
    "metric": pl.String,
    "champion_score": pl.Float64,
    "challenger_score": pl.Float64,
}
REGRESSION_AGREEMENT = 0.05  # a regression's two values agree within 5 % of the larger


def agreement(task: Task, p: np.ndarray, q: np.ndarray) -> float:
    """Share of rows where champion and challenger agree, by the task's served decision.

    binary: the same side of 0.5; multiclass: the same class; regression: values within 5 %.
    """
    if task.kind == "binary":
        return float(np.mean((p[:, 0] >= 0.5) == (q[:, 0] >= 0.5)))  # noqa: PLR2004
    if task.kind == "multiclass":
        return float(np.mean(p.argmax(axis=1) == q.argmax(axis=1)))
    scale = np.maximum(np.maximum(np.abs(p[:, 0]), np.abs(q[:, 0])), 1e-12)
    return float(np.mean(np.abs(p[:, 0] - q[:, 0]) <= REGRESSION_AGREEMENT * scale))


def shadow_summary(log_rows: pl.DataFrame, labels: pl.DataFrame, task: Task) -> pl.DataFrame:
    """Agreement of champion and challenger per (model, registered, versions), for any task.

    Args:
        log_rows: one model's shadow log rows (LOG_SCHEMA).
        labels: ``key`` (text) and ``label`` of the rows whose outcome has landed.
        task: the model's Task.

    Returns:
        One row per version pair: rows, agreement (``agreement``), mean and max absolute
        difference, then over the labelled rows their count and each model's primary metric.
    """
    keys = ["model", "registered", "champion_version", "challenger_version"]
    rows = []
    labelled = log_rows.join(labels.drop_nulls("label"), on="key", how="left")
    for group, part in labelled.group_by(keys, maintain_order=True):
        p, q = (np.array(part[c].to_list(), dtype=np.float64) for c in ("champion", "challenger"))
        known = part.filter(pl.col("label").is_not_null())
        y = task.encode(known["label"]) if known.height else np.empty(0)
        judged = known.height and task.why_cannot_judge(y) is None
        score = {}
        for side in ("champion", "challenger"):
            pred = np.array(known[side].to_list(), dtype=np.float64)
            pred = pred if task.kind == "multiclass" else pred.reshape(-1)
            score[side] = task.metrics(y, pred)[task.primary] if judged else None
        rows.append(
            {
                **dict(zip(keys, group, strict=True)),
                "rows": part.height,
                "agreement": agreement(task, p, q),
                "mean_abs_diff": float(np.mean(np.abs(p - q))),
                "max_abs_diff": float(np.max(np.abs(p - q))),
                "labelled": known.height,
                "metric": task.primary,
                "champion_score": score["champion"],
                "challenger_score": score["challenger"],
            }
        )
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA).fill_nan(None)
