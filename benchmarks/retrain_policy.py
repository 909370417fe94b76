"""Pure parts of the retrain_policy_value benchmark: the policies, the served record, the lift.

A policy is a set of ``FACTORY_RETRAIN_*`` variables (``settings.py``) that every model of a
replay reads instead of its spec's ``monitoring.retrain``: the replay itself is unchanged.
"""

import json

import numpy as np

from benchmarks import model_quality as mq
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.tasks import HIGHER_IS_BETTER, Task

MONTH_DAYS, MONTH_BATCHES = 30, 4  # a "month" of a dated line; of a batched one (model_quality)
SIGNALS_OFF = {"ON_DRIFT": "false", "ON_PERFORMANCE": "false", "ON_ESTIMATE": "false"}
POLICIES = {
    "frozen": "the first champion, never retrained: every signal off, no schedule",
    "monthly": f"a retrain every {MONTH_DAYS} data days ({MONTH_BATCHES} batches), signals off",
    "current": "each spec's monitoring.retrain as shipped (calibrated drift, performance "
    "intervals and the sequential test, cool-down)",
    "performance_only": "as current, but a failed drift check does not retrain",
}
OVERRIDES = ("COOLDOWN_DAYS", "TRAIN_DAYS", "VAL_DAYS", "HOLDOUT_DAYS", "EVERY_DAYS",
             "ON_DRIFT", "ON_PERFORMANCE", "ON_ESTIMATE")  # fmt: skip
# (c) "the factory's policy before issue 19" cannot be expressed any more (per-day drifted
# share > 0.65 alone, a floor on the point value): its figures are the issue's own, flights only
PREVIOUS_RECORDED = {
    "flights": {
        "source": "issue 19, measured on the replayed year May-December before the change",
        "per_period": {"previous_mean": 0.646, "frozen_mean": 0.636, "vs_frozen": 0.010},
        "pooled": {"previous_mean": 0.653, "frozen_mean": 0.671, "vs_frozen": -0.018},
    }
}


def policy_env(policy: str, batched: bool) -> dict[str, str]:
    """Every ``FACTORY_RETRAIN_*`` variable of ``policy`` ("" = unset: the spec's own value).

    Raises:
        ValueError: an unknown policy (the known ones are named).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; known: {', '.join(POLICIES)}")
    chosen = {
        "frozen": {**SIGNALS_OFF, "EVERY_DAYS": "0"},
        "monthly": {**SIGNALS_OFF, "EVERY_DAYS": str(MONTH_BATCHES if batched else MONTH_DAYS)},
        "current": {},
        "performance_only": {"ON_DRIFT": "false"},
    }[policy]
    return {f"FACTORY_RETRAIN_{k}": chosen.get(k, "") for k in OVERRIDES}


def served_record(
    task: Task, y: np.ndarray, pred: np.ndarray, periods: np.ndarray, months: np.ndarray
) -> dict:
    """What one policy served: the metric by month (pooled, and the mean of its periods).

    ``pooled_mean`` averages the months' pooled metrics; ``per_period_mean`` the periods'.
    """
    monthly = mq.by_group(task, y, pred, months)
    daily = mq.by_group(task, y, pred, periods)
    by_month = [
        {
            "month": month,
            "rows": int((months == month).sum()),
            "pooled": value,
            "per_period": mq.mean([daily[p] for p in np.unique(periods[months == month])]),
        }
        for month, value in monthly.items()
    ]
    return {
        "pooled_mean": mq.mean(list(monthly.values())),
        "per_period_mean": mq.mean(list(daily.values())),
        "periods": len(daily),
        "rows": int(y.size),
        "by_month": by_month,
    }


def lift(metric: str, current: dict | None, other: dict | None) -> dict[str, float | None]:
    """current − other per measure, in ``metric``'s better direction (positive: current better)."""
    sign = 1.0 if HIGHER_IS_BETTER[metric] else -1.0
    out = {}
    for measure in ("pooled", "per_period"):
        a, b = ((r or {}).get(f"{measure}_mean") for r in (current, other))
        out[measure] = None if a is None or b is None else sign * (a - b)
    return out


def _f(value: float | None) -> str:
    return "" if value is None else f"{value + 0.0:.4f}"  # + 0.0: no "-0.0000"


def markdown(record: dict) -> str:
    """Per model and policy: both year means, retrains, promotions, seconds; lifts; months."""
    span = "the year" if not record["days"] else f"{record['days']} periods"
    out = [f"# retrain_policy_value: {span} replayed, a week at a time", "",
           "Policies: " + "; ".join(f"**{k}**: {v}" for k, v in record["policies"].items()) + ".",
           f"Goal: {record['goal']}.", ""]  # fmt: skip
    header = ["model", "metric", "policy", "pooled per month", "mean per period", "retrains",
              "promotions by retrain", "retrain s", "rescore s"]  # fmt: skip
    rows = [(name, m["metric"], policy, _f(r["pooled_mean"]), _f(r["per_period_mean"]),
             r["retrains"], r["retrain_promotions"], r["retrain_seconds"], r["rescore_seconds"])
            for name, m in record["models"].items()
            for policy, r in m["policies"].items()]  # fmt: skip
    out += [markdown_table(header, rows), ""]
    header = ["model", "lift pooled", "lift per period", "current − monthly pooled",
              "current − monthly per period"]  # fmt: skip
    rows = [(name, _f(m["lift"]["pooled"]), _f(m["lift"]["per_period"]),
             _f(m["current_vs_monthly"]["pooled"]), _f(m["current_vs_monthly"]["per_period"]))
            for name, m in record["models"].items()]  # fmt: skip
    out += ["lift = current − frozen, in the metric's better direction:", "",
            markdown_table(header, rows), ""]  # fmt: skip
    for model, recorded in record["previous_policy_recorded"].items():
        out += [f"Policy before issue 19 ({model}, recorded, not replayed: {recorded['source']}): "
                f"per period {recorded['per_period']['vs_frozen']:+.3f} vs frozen, pooled "
                f"{recorded['pooled']['vs_frozen']:+.3f}.", ""]  # fmt: skip
    for name, m in record["models"].items():
        policies = list(m["policies"])
        months = sorted({b["month"] for r in m["policies"].values() for b in r["by_month"]})
        cells = {(p, b["month"]): b for p, r in m["policies"].items() for b in r["by_month"]}
        header = [
            "month",
            *(f"{p} pooled" for p in policies),
            *(f"{p} per period" for p in policies),
        ]
        rows = [(month, *(_f(cells.get((p, month), {}).get("pooled")) for p in policies),
                 *(_f(cells.get((p, month), {}).get("per_period")) for p in policies))
                for month in months]  # fmt: skip
        out += [f"## {name} ({m['task']}, {m['metric']})", "", markdown_table(header, rows), ""]
    out += [f"Replays: {json.dumps(record['replays'])}", ""]
    return "\n".join(out)
