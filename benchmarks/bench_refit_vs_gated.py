"""Whether serving a refit pays: each version's refit against its own gated model, out of sample.

A retrain's package serves a refit on training + validation + holdout (``training.refit_on_all``),
while the gate judged the model trained on the training window alone. This reads replays that
``bench_retrain_policy_value`` left (``<state>/<dataset>/<policy>``; nothing is replayed) and
scores, for every labelled served row, the version that served it twice: its package (what was
served) and its gated model. Per model and policy: the served stream and the gated stream
(pooled per month, and the mean of its periods, as ``retrain_policy_value`` measures), the first
champion's gated model alone (frozen without the refit), per version the metric of both on
the rows it served, and ``probation``: what a refit probation would have served (``probation``
below: after a version's first ``--probation`` labelled periods, its gated model serves from
then on when the refit's paired gain over it lies wholly below 0 at 98 %). Promotions depend
on gated models only, so under a calendar policy the gated stream is what
``refit_on_all: false`` would have served; under signal-driven policies the signals would have
differed a little. Results: ``results/refit_vs_gated.json`` and ``.md``.

    python -m benchmarks.bench_refit_vs_gated [--dataset nycflights] [--policies monthly,current]
        [--state .factory/retrain_policy] [--probation 7]
"""

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

from benchmarks import bench_model_quality as bmq
from benchmarks import retrain_policy as rp
from benchmarks.common import machine, store_record
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.tasks import HIGHER_IS_BETTER


def probation(task, y, served, gated, versions, periods, days: int) -> tuple[np.ndarray, list]:  # noqa: ANN001, PLR0913
    """The stream a refit probation serves, and the versions it moved to their gated model.

    For each version, the rows of its first ``days`` served periods (their labels land one
    period after the last of them) judge its refit against its gated model, paired
    (``uncertainty.paired_gain``); when the gain's 98 % interval lies wholly below 0, the
    gated model serves the version's later periods. The first ``days + 1`` periods keep the
    refit (the lag of one period: a label lag of 1, as the shipped daily lines).
    """
    from factory_assets.lib.uncertainty import bounds, paired_gain

    out, moved, metric = np.array(served, copy=True), [], task.primary
    for version in sorted(set(versions.tolist()), key=int):
        mask = versions == version
        own = sorted(set(periods[mask].tolist()))
        if len(own) <= days + 1:
            continue
        trial = mask & np.isin(periods, own[:days])
        if task.why_cannot_judge(y[trial], 100) is not None:
            continue
        gain, se = paired_gain(metric, y[trial], served[trial], gated[trial], task)
        if np.isfinite(gain) and bounds(gain, se)[1] < 0:
            later = mask & np.isin(periods, own[days + 1 :])
            out[later] = gated[later]
            moved.append({"version": version, "gain": round(gain, 4), "se": round(se, 4)})
    return out, moved


def _streams(state: Path, line, days: int) -> dict | None:  # noqa: ANN001
    """The served, gated and first-gated streams of one model, and its versions' pairs."""
    from factory_assets.lib import lake
    from factory_assets.lib import live_holdout as lh
    from factory_assets.lib.holdout import torch_predict
    from factory_assets.lib.training.refit import gated_model

    if line.segments:  # one registered model per segment: not judged here
        return None
    tracking, client = bmq.replay_stores(state)
    with lake.connect(state / "warehouse.sqlite", read_only=True) as conn:
        rows = bmq.served_rows(conn, line)
    if rows.is_empty():
        return None
    y, task, metric = line.task.encode(rows[line.columns.label]), line.task, line.task.primary
    served = lh.served_predictions(rows, line)
    versions = rows[f"{lh.SERVED_PREFIX}model_version"].cast(str).to_numpy()
    gated, pairs = np.array(served, copy=True), []
    for version in sorted(set(versions.tolist()), key=int):
        model = gated_model(tracking, client.get_model_version(line.name, version))
        mask = versions == version
        if model is None:  # served as gated
            continue
        gated[mask] = torch_predict(*model, rows.filter(mask))
        if task.why_cannot_judge(y[mask], 100) is None:
            pairs.append({
                "version": version,
                "rows": int(mask.sum()),
                "first_period": min(rows.filter(mask)["_period"].to_list()),
                "refit": task.metrics(y[mask], served[mask])[metric],
                "gated": task.metrics(y[mask], gated[mask])[metric],
            })  # fmt: skip
    first = gated_model(tracking, client.get_model_version(line.name, "1"))
    frozen = served if first is None else torch_predict(*first, rows)
    periods, months = rows["_period"].to_numpy(), rows["_month"].to_numpy()
    tried, moved = probation(task, y, served, gated, versions, periods, days)
    named = (("refit", served), ("gated", gated), ("v1_gated", frozen), ("probation", tried))
    streams = {name: rp.served_record(task, y, pred, periods, months) for name, pred in named}
    return {"metric": metric, "streams": streams, "versions": pairs, "probation_moved": moved}


def markdown(record: dict) -> str:
    """The record as tables: each stream's year means, then each version's pair."""
    means = []
    versions = []
    for key, found in record["models"].items():
        for name, stream in found["streams"].items():
            means.append((key, found["metric"], name, f"{stream['pooled_mean']:.4f}",
                          f"{stream['per_period_mean']:.4f}"))  # fmt: skip
        for pair in found["versions"]:
            sign = 1.0 if HIGHER_IS_BETTER[found["metric"]] else -1.0
            gain = sign * (pair["refit"] - pair["gated"])
            figures = (f"{pair['refit']:.4f}", f"{pair['gated']:.4f}", f"{gain:+.4f}")
            versions.append((key, pair["version"], pair["first_period"], pair["rows"], *figures))
    return "\n".join([
        "# refit_vs_gated: each version's refit against its own gated model, out of sample",
        "",
        record["what"],
        "",
        markdown_table(["policy/model", "metric", "stream", "pooled per month",
                        "mean per period"], means),
        "",
        "Each version on the rows it served (refit − gated in the metric's better direction):",
        "",
        markdown_table(["policy/model", "version", "first period", "rows", "refit", "gated",
                        "refit gain"], versions),
        "",
        "Versions the probation moved to their gated model (the refit's paired gain on its trial):",
        "",
        *(f"- {key}: " + (", ".join(f"v{m['version']} ({m['gain']:+.4f} ± {m['se']:.4f})"
                                    for m in found.get("probation_moved", [])) or "none")
          for key, found in record["models"].items()),
        "",
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    """Judge each (dataset, policy) replay left in ``--state``; write the record."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_refit_vs_gated")
    parser.add_argument("--dataset", nargs="+", default=["nycflights"], choices=bmq.DATASETS)
    parser.add_argument("--policies", default="monthly,current")
    parser.add_argument("--state", type=Path, default=bmq.ROOT / ".factory" / "retrain_policy")
    parser.add_argument("--probation", type=int, default=7, help="periods a refit is on trial")
    args = parser.parse_args(argv or [])
    record = {"models": {}}
    for dataset in args.dataset:
        for policy in filter(None, (p.strip() for p in args.policies.split(","))):
            state = args.state / dataset / policy
            for _, line in bmq.lines(dataset):
                found = _streams(state, line, args.probation)
                if found is not None:
                    record["models"][f"{policy}/{line.name}"] = found
    record |= {
        "name": "refit_vs_gated",
        "what": "refit: what was served (each version's package); gated: the same versions at "
        "the same periods, each scoring with the model its gate judged; v1_gated: the first "
        "champion's gated model throughout (frozen, no refit); probation: the refit, but a "
        f"version's gated model after its first {args.probation} periods when the refit lost "
        "to it there (paired 98 % interval below 0).",
        "probation_periods": args.probation,
        # where the replays were read: relative to the checkout, or the folder's name
        "state": str(
            args.state.relative_to(bmq.ROOT)
            if args.state.is_relative_to(bmq.ROOT)
            else args.state.name
        ),
        "machine": machine(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    text = markdown(record)
    store_record("refit_vs_gated", record, text)
    print(text)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
