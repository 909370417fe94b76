"""Whether averaging served models pays: blends of what replays served, scored out of sample.

Reads replays that ``bench_retrain_policy_value`` left (nothing is replayed) and scores every
labelled served row of a model (pooled per month, and the mean of its periods, as
``retrain_policy_value`` measures) under:

- ``<replay>``: what the replay served;
- ``<replay>+previous``: each version averaged with the champion it replaced (that champion's
  served model, the refit where it served one), the first version alone: a blend across time;
- ``<a>+<b>``: the row-wise mean of two replays' served predictions (``--pair a,b``: the net
  alone and the trees, say).

Averages are of probabilities (binary, multiclass) or values (regression). Nothing here is
served by the line: it measures what a blend would have served. Results:
``results/blend_streams.json`` and ``.md``.

    python -m benchmarks.bench_blend_streams --replay NAME=STATE [NAME=STATE ...] \\
        [--pair A,B ...] [--dataset nycflights] [--model flights]
"""

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks import bench_model_quality as bmq
from benchmarks import retrain_policy as rp
from benchmarks.common import machine, store_record
from factory_assets.lib.markdown import markdown_table


def served_model(tracking, version) -> tuple:  # noqa: ANN001 (TrackingStore, ModelVersion)
    """The model and preprocessor a version's package serves: its refit where it has one."""
    from factory_assets.lib.training.refit import FOLDERS, judged_folder
    from factory_assets.lib.training.segment import load_run_model

    folder = judged_folder(version)
    folder = FOLDERS[folder] if version.tags.get("refit") else folder
    return load_run_model(tracking, version.run_id, folder)


def with_previous(versions: np.ndarray, served: np.ndarray, previous_of) -> np.ndarray:  # noqa: ANN001
    """Each version's rows averaged with its predecessor's predictions (``previous_of``).

    Versions follow each other in the order they first served (``versions`` in row order of
    time); ``previous_of(version, mask)`` scores the rows of ``mask`` with the champion that
    ``version`` replaced. The first version serves alone.
    """
    out, order = np.array(served, dtype=float, copy=True), list(dict.fromkeys(versions.tolist()))
    for before, version in zip(order, order[1:], strict=False):
        mask = versions == version
        out[mask] = (served[mask] + previous_of(before, mask)) / 2.0
    return out


def _replay(state: Path, line) -> pl.DataFrame | None:  # noqa: ANN001
    """A replay's labelled served rows: key, period, month, label, served and blended-in-time."""
    from factory_assets.lib import lake
    from factory_assets.lib import live_holdout as lh
    from factory_assets.lib.holdout import torch_predict

    tracking, client = bmq.replay_stores(state)
    with lake.connect(state / "warehouse.sqlite", read_only=True) as conn:
        rows = bmq.served_rows(conn, line)
    if rows.is_empty():
        return None
    rows = rows.sort("_period", line.columns.key)
    served = np.asarray(lh.served_predictions(rows, line), dtype=float)
    versions = rows[f"{lh.SERVED_PREFIX}model_version"].cast(str).to_numpy()

    def previous_of(version: str, mask: np.ndarray) -> np.ndarray:
        model = served_model(tracking, client.get_model_version(line.name, version))
        return np.asarray(torch_predict(*model, rows.filter(mask)), dtype=float)

    blended = with_previous(versions, served, previous_of)
    kept = rows.select(line.columns.key, "_period", "_month", line.columns.label)
    return kept.with_columns(
        pl.Series("served", list(served)), pl.Series("previous", list(blended))
    )


def streams(states: dict[str, Path], pairs: list[tuple[str, str]], line) -> dict | None:  # noqa: ANN001
    """One model's streams: each replay that served it, each with its predecessors, each pair."""
    found = {name: _replay(state, line) for name, state in states.items()}
    found = {name: frame for name, frame in found.items() if frame is not None}
    if not found:  # no replay served this model
        return None
    key, names = line.columns.key, list(found)
    rows = found[names[0]].select(key, "_period", "_month", line.columns.label)
    for name, frame in found.items():
        rows = rows.join(
            frame.select(
                key, pl.col("served").alias(name), pl.col("previous").alias(f"{name}+previous")
            ),
            on=key,
        )
    preds = {c: np.asarray(rows[c].to_list(), dtype=float) for c in rows.columns[4:]}
    for a, b in pairs:
        if a in preds and b in preds:  # both replays served this model
            preds[f"{a}+{b}"] = (preds[a] + preds[b]) / 2.0
    y = line.task.encode(rows[line.columns.label])
    periods, months = rows["_period"].to_numpy(), rows["_month"].to_numpy()
    records = {n: rp.served_record(line.task, y, p, periods, months) for n, p in preds.items()}
    return {"metric": line.task.primary, "rows": rows.height, "streams": records}


def markdown(record: dict) -> str:
    """Each model's streams: both year means."""
    rows = [(model, found["metric"], name, f"{s['pooled_mean']:.4f}", f"{s['per_period_mean']:.4f}")
            for model, found in record["models"].items()
            for name, s in found["streams"].items()]  # fmt: skip
    return "\n".join([
        "# blend_streams: what averaging served models would have served", "",
        record["what"], "", f"Replays: {json.dumps(record['replays'])}", "",
        markdown_table(["model", "metric", "stream", "pooled per month", "mean per period"], rows),
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    """Score the streams of ``--replay`` states for each model of ``--dataset``; write them."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_blend_streams")
    parser.add_argument("--replay", nargs="+", required=True, help="NAME=STATE (a replay's state)")
    parser.add_argument("--pair", nargs="*", default=[], help="A,B: the mean of two replays")
    parser.add_argument("--dataset", default="nycflights", choices=bmq.DATASETS)
    parser.add_argument("--model", nargs="*", help="only these models (default: every one)")
    args = parser.parse_args(argv or [])
    states = {n: Path(s) for n, s in (r.split("=", 1) for r in args.replay)}
    pairs = [tuple(p.split(",", 1)) for p in args.pair]
    record = {"models": {}}
    for _, line in bmq.lines(args.dataset):
        if line.segments or (args.model and line.name not in args.model):
            continue
        found = streams(states, pairs, line)
        if found is not None:
            record["models"][line.name] = found
    record |= {
        "name": "blend_streams",
        "what": "<replay>: what it served; <replay>+previous: each version averaged with the "
        "champion it replaced (the first alone); <a>+<b>: the mean of two replays' predictions. "
        "Same labelled rows in every stream.",
        "replays": {name: "/".join(state.parts[-3:]) for name, state in states.items()},
        "machine": machine(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    text = markdown(record)
    store_record("blend_streams", record, text)
    print(text)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
