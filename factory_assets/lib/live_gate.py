"""Champion and challenger on the live holdout, and the gate's rule with it.

The rule (``decide_with_live``), after the leakage guard and the floors on the fixed holdout:

1. No champion: the first model is promoted (as before).
2. A live holdout of at least ``evaluation.min_rows`` labelled rows that can judge a model
   (lib/live_holdout.py) decides when it is decisive, as the newer evidence: the challenger is
   promoted when it beats the champion there by the margin (whatever the fixed holdout says),
   and rejected when it is worse there by more than the margin.
3. Otherwise (a tie on the live holdout within the margin, or no live holdout) the fixed
   holdout decides as before: promoted only when the challenger beats the champion there by
   the margin.

A champion that serves a refit (lib/training/refit.py) is met through its gated model: like
for like with the un-refit challenger. Meeting it through the weaker of its refit and its gated
model instead (what is served, when the refit went wrong) was tried over a replayed year and
did not pay: one model served the same stream, another lost 0.010 AUC pooled through one
promotion won against a weak refit (benchmarks/results/retrain_policy_value_weaker_champion.md).

Each reason names both comparisons, their figures and the challenger's paired gain with its
98 % interval (lib/uncertainty.py ``paired_gain``: for AUC, DeLong's paired form). The interval
informs; it does not decide: requiring it to clear 0 kept fresher challengers out and served
worse over the same year (the lift over the frozen champion fell from +0.0040 AUC pooled /
+0.0077 per day to −0.0009 / −0.0028; benchmarks/results/retrain_policy_value_paired_gate.md).
"""

import math

from factory_assets.lib import live_holdout as lh
from factory_assets.lib import uncertainty
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registry import CHAMPION, GateDecision
from factory_assets.lib.tasks import HIGHER_IS_BETTER, metric_label


def _excluded(model: dict, champion) -> list:  # noqa: ANN001 (an mlflow ModelVersion)
    """Training and validation windows of the challenger, and the champion's training window."""
    windows = [(model["train_window"][0], (model.get("val_window") or model["train_window"])[1])]
    tags = champion.tags if champion is not None else {}
    if tags.get("train_start") and tags.get("train_end"):
        windows.append((tags["train_start"], tags["train_end"]))
    return windows


def judge_live(  # noqa: PLR0913
    conn,  # noqa: ANN001 (a DuckDB connection)
    line: ModelLine,
    segment: str | None,
    config,  # noqa: ANN001 (the Holdout config: live_periods, min_rows)
    model: dict,
    predict,  # noqa: ANN001 (feature rows -> the challenger's predictions)
    registry,  # noqa: ANN001 (a Registry)
    tracking=None,  # noqa: ANN001 (a TrackingStore: a refitted champion's gated model)
) -> dict:
    """The live holdout of one segment's challenger ``model`` and the segment's champion.

    Returns ``window`` (first, last, periods, rows; ``why_none`` when it cannot judge) and,
    when it can, ``champion_version`` and the task's metrics of ``challenger``, ``champion``
    (its registered package re-scored; a refitted champion's gated model with ``tracking``,
    lib/training/refit.py ``gated_model``: like for like with the un-refit challenger) and
    ``served`` (what the predictions table holds).
    """
    from factory_assets.lib.holdout import torch_predict
    from factory_assets.lib.scoring import load_alias
    from factory_assets.lib.training.refit import gated_model

    loaded = load_alias(registry, line.registry_name(segment), CHAMPION)
    if loaded is None:
        return {"window": {**lh.described(lh.LiveRows(None, [])), "why_none": "no champion"}}
    version, package = loaded
    live = lh.live_rows(conn, line, segment, config.live_periods, _excluded(model, version))
    window = lh.described(live)
    if not live.periods:
        return {"window": window}
    y = line.task.encode(live.rows[line.columns.label])
    reason = line.task.why_cannot_judge(y, config.min_rows)
    if reason:
        return {"window": {**window, "why_none": reason}}
    gated = gated_model(tracking, version) if tracking is not None else None
    champion = package.predict(live.rows) if gated is None else torch_predict(*gated, live.rows)
    judged = {"champion_model": "gated (it serves a refit)"} if gated is not None else {}
    challenger = predict(live.rows)
    metrics = {
        "challenger": line.task.metrics(y, challenger),
        "champion": line.task.metrics(y, champion),
        "served": line.task.metrics(y, lh.served_predictions(live.rows, line)),
    }
    clean = {k: {m: float(v) for m, v in ms.items()} for k, ms in metrics.items()}
    gains = {m: uncertainty.paired_gain(m, y, challenger, champion, line.task)
             for m in line.task.metric_names}  # fmt: skip
    clean["gain"] = {m: {"gain": float(g), "se": float(se)} for m, (g, se) in gains.items()}
    return {"window": window, "champion_version": str(version.version), **judged, **clean}


def live_tags(live: dict | None, metric: str) -> dict[str, str]:
    """MLflow tags of a live holdout: its window, the three models' ``metric``, the paired gain."""
    if not live:
        return {}
    w, gain = live["window"], live.get("gain", {}).get(metric, {})
    if not w.get("rows") or "challenger" not in live:
        return {"live_holdout": f"none: {w.get('why_none')}"[:250]}
    return {
        "live_holdout": f"{w['first']} … {w['last']}",
        "live_periods": str(w["periods"]),
        "live_rows": str(w["rows"]),
        "live_champion_version": live["champion_version"],
        **{f"live_{who}_{metric}": f"{live[who][metric]:.4f}" for who in
           ("challenger", "champion", "served")},
        **{f"live_gain_{metric}{part}": f"{value:.4f}" for part, value in
           (("", gain.get("gain")), ("_se", gain.get("se"))) if value is not None},
    }  # fmt: skip


def _usable(live: dict | None, champion_version: str | None, metric: str) -> str | None:
    """Why ``live`` cannot decide (None: it can)."""
    if not live:
        return "no live holdout"
    if "challenger" not in live:
        return f"no live holdout ({live['window'].get('why_none')})"
    if champion_version is not None and live["champion_version"] != str(champion_version):
        return f"the live holdout judged version {live['champion_version']}, not the champion"
    if any(math.isnan(live[w][metric]) for w in ("challenger", "champion")):
        return f"no live holdout ({metric_label(metric)} undefined on its rows)"
    return None


def decide_with_live(  # noqa: PLR0913
    fixed: GateDecision,
    challenger: dict,
    champion: dict,
    live: dict | None,
    config,  # noqa: ANN001 (the Packaging config: metric, margin)
    champion_version: str | None = None,
) -> GateDecision:
    """The gate's verdict of a challenger that passed the floors against an existing champion.

    ``fixed`` is the verdict of the fixed holdout alone (lib/registry.py ``decide``);
    ``challenger`` and ``champion`` their fixed-holdout metrics; ``live`` the evaluation's
    ``judge_live`` result. The rule is this module's docstring.
    """
    metric, margin = config.metric, config.margin
    name, higher = metric_label(metric), HIGHER_IS_BETTER[metric]
    on_fixed = (
        f"fixed holdout {name} {challenger[metric]:.4f} vs the champion's {champion[metric]:.4f}"
    )
    why = _usable(live, champion_version, metric)
    if why:
        return GateDecision(fixed.promote, f"{fixed.reason}; {why}: the fixed holdout decides")
    w, mine, theirs = live["window"], live["challenger"][metric], live["champion"][metric]
    gain = mine - theirs if higher else theirs - mine
    low, high = uncertainty.bounds(gain, live.get("gain", {}).get(metric, {}).get("se", math.nan))
    whom = "the champion's" + (f" ({live['champion_model']})" if live.get("champion_model") else "")
    on_live = (
        f"live holdout {w['first']} … {w['last']} ({w['rows']} rows, {w['periods']} periods) "
        f"{name} {mine:.4f} vs {whom} {theirs:.4f}, gain {gain:+.4f} "
        f"({uncertainty.LEVEL:.0%} interval {low:+.4f} … {high:+.4f})"
    )
    if gain >= margin:
        return GateDecision(True, f"{on_live}: beats it by at least {margin} on the newest "
                            f"served periods (the live holdout decides); {on_fixed}")  # fmt: skip
    if gain < -margin:
        return GateDecision(False, f"{on_live}: worse by more than {margin} on the newest "
                            f"served periods (the live holdout decides); {on_fixed}")  # fmt: skip
    return GateDecision(
        fixed.promote, f"{fixed.reason}; {on_live}: within {margin}, the fixed holdout decides"
    )
