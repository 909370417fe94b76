"""Whether retraining pays: each shipped model's served year under several retrain policies.

For each dataset and policy it runs ``factory replay --dataset <d> --days <N> --batch-days 7``
(as ``make year``) in its own state directory, ``<state>/<dataset>/<policy>``, with the
policy's ``FACTORY_RETRAIN_*`` variables (``benchmarks/retrain_policy.py``): same data, same
seeds, only the retrain decisions differ. Then, per model, what was served: the metric by month
(pooled per month, and the mean of its periods), both year means, retrains, promotions by a
retrain, the seconds retrains and re-scores took. ``lift`` = current − frozen per model and
measure, in the metric's better direction. Results merge into ``results/retrain_policy_value
[_<days>d].json`` and ``.md`` (a run of one dataset or policy keeps the others' records).

    python -m benchmarks.bench_retrain_policy_value [--dataset nycflights] \\
        [--policies frozen,monthly,current] [--days 35] [--reuse] [--jobs 3]
"""

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path

from benchmarks import bench_model_quality as bmq
from benchmarks import retrain_policy as rp
from benchmarks.common import RESULTS_DIR, machine, store_record
from factory_assets.lib.packaging import code_version

DEFAULT_POLICIES = ("frozen", "monthly", "current")


def run_costs(state: Path, line) -> dict:  # noqa: ANN001
    """Retrains, promotions by a retrain (each re-scores its day) and their run seconds."""
    import dagster as dg

    from factory_assets.components.model_line.automation import RETRAIN_TAG, registry_segments

    names = [line.registry_name(s) for s in registry_segments(line)]
    instance = dg.DagsterInstance.from_config(str(state / "dagster_home"))
    try:
        retrains = instance.get_run_records(dg.RunsFilter(tags={RETRAIN_TAG: names}))
        rescores = instance.get_run_records(dg.RunsFilter(tags={"factory/rescore": line.name}))
    finally:
        instance.dispose()

    def seconds(records: list) -> float:
        return round(sum((r.end_time or 0) - (r.start_time or 0) for r in records), 1)

    return {
        "retrains": len(retrains),
        "retrain_promotions": len(rescores),
        "retrain_seconds": seconds(retrains),
        "rescore_seconds": seconds(rescores),
    }


def judge(conn, line, state: Path, batch_group: int) -> dict | None:  # noqa: ANN001
    """One model's record under one policy (None: nothing labelled was served)."""
    from factory_assets.lib import live_holdout as lh

    rows = bmq.served_rows(conn, line)
    if rows.is_empty():
        return None
    if line.batches:
        rows = bmq.batch_groups(rows, batch_group)
    y = line.task.encode(rows[line.columns.label])
    pred = lh.served_predictions(rows, line)
    periods, months = rows["_period"].to_numpy(), rows["_month"].to_numpy()
    served = rp.served_record(line.task, y, pred, periods, months)
    return {**served, **run_costs(state, line), **bmq.registry_counts(state, line)}


def summarise(record: dict) -> None:
    """Each model's lift (current − frozen) and the current policy against the monthly one."""
    for model in record["models"].values():
        metric, runs = model["metric"], model["policies"]
        model["lift"] = rp.lift(metric, runs.get("current"), runs.get("frozen"))
        model["current_vs_monthly"] = rp.lift(metric, runs.get("current"), runs.get("monthly"))


def replay_all(pairs: list[tuple[str, str]], batched: dict, args: argparse.Namespace) -> dict:
    """Replay each (dataset, policy) afresh, ``args.jobs`` at a time; their seconds by pair.

    Each replay is its own ``factory`` process with its own state and landing zone, so running
    them side by side changes their seconds (shared cores), never what they serve.
    """
    from concurrent.futures import ThreadPoolExecutor

    def one(pair: tuple[str, str]) -> float:
        dataset, policy = pair
        state = args.state / dataset / policy
        shutil.rmtree(state, ignore_errors=True)
        variables = rp.policy_env(policy, batched[dataset])
        return round(bmq.replay(dataset, args.days, state, variables), 1)

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        return dict(zip(pairs, pool.map(one, pairs), strict=True))


def main(argv: list[str] | None = None) -> dict:
    """Replay (or reuse) each dataset under each policy, judge every model, merge the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_retrain_policy_value")
    parser.add_argument("--dataset", nargs="+", default=list(bmq.DATASETS), choices=bmq.DATASETS)
    parser.add_argument("--policies", default=",".join(DEFAULT_POLICIES),
                        help=f"comma-separated, of: {', '.join(rp.POLICIES)}")  # fmt: skip
    parser.add_argument("--days", type=int, default=0, help="periods replayed (0: the year)")
    parser.add_argument("--state", type=Path, default=bmq.ROOT / ".factory" / "retrain_policy")
    parser.add_argument("--reuse", action="store_true", help="judge the replays left in --state")
    parser.add_argument("--jobs", type=int, default=1, help="replays side by side")
    parser.add_argument("--batch-group", type=int, default=4, help="batches per 'month'")
    args = parser.parse_args(argv or [])
    policies = [p.strip() for p in args.policies.split(",") if p.strip()]
    for policy in policies:
        rp.policy_env(policy, False)  # an unknown name fails before any replay
    from factory_assets.lib.lake import connect

    found = {dataset: bmq.lines(dataset) for dataset in args.dataset}
    batched = {d: any(line.batches for _, line in lines) for d, lines in found.items()}
    pairs = [(dataset, policy) for dataset in args.dataset for policy in policies]
    commit = code_version(bmq.ROOT)  # the replays run this checkout's code
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    seconds = {} if args.reuse else replay_all(pairs, batched, args)
    # read after the replays: a run of other datasets that finished meanwhile is kept
    name = "retrain_policy_value" + (f"_{args.days}d" if args.days else "")
    path = RESULTS_DIR / f"{name}.json"
    record = json.loads(path.read_text()) if path.exists() else {"models": {}, "replays": {}}
    for dataset, policy in pairs:
        state = args.state / dataset / policy
        started = time.perf_counter()
        with connect(state / "warehouse.sqlite", read_only=True) as conn:
            for _, line in found[dataset]:
                judged = judge(conn, line, state, args.batch_group)
                if judged is None:
                    continue
                model = record["models"].setdefault(line.name, {"policies": {}})
                model |= {"dataset": dataset, "task": line.task.kind,
                          "metric": line.task.primary}  # fmt: skip
                model["policies"][policy] = judged
        # a reused replay keeps the seconds (and the company) its own run recorded
        earlier = record["replays"].get(f"{dataset}/{policy}", {})
        ran = (dataset, policy) in seconds
        record["replays"][f"{dataset}/{policy}"] = {
            "replay_seconds": seconds[dataset, policy] if ran else earlier.get("replay_seconds"),
            "side_by_side": args.jobs if ran else earlier.get("side_by_side", 1),
            "judge_seconds": round(time.perf_counter() - started, 1),
            "variables": {k: v for k, v in rp.policy_env(policy, batched[dataset]).items() if v},
            # which code served: a record merges replays of different commits
            "commit": commit if ran else earlier.get("commit"),
            "replayed_at": now if ran else earlier.get("replayed_at"),
        }
    summarise(record)
    record |= {
        "name": "retrain_policy_value",
        "days": args.days,
        "batch_days": 7,
        "policies": rp.POLICIES,
        "previous_policy_recorded": rp.PREVIOUS_RECORDED,
        "goal": "flights: lift >= 0.01 on both measures; current no worse than monthly with "
        "fewer retrains",
        "machine": machine(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    text = rp.markdown(record)
    store_record(name, record, text)
    print(text)
    return record


if __name__ == "__main__":
    main(sys.argv[1:])
