"""A trained model packaged: ONNX + preprocessor + model card, registered, through the gate."""

import tempfile
from pathlib import Path

import polars as pl

from factory_assets.lib.lake_snapshots import EVALUATION_TAG, TRAINING_TAG
from factory_assets.lib.live_gate import live_tags
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registry import CHAMPION, GateConfig
from factory_assets.lib.training.export_cache import OnnxExports
from factory_assets.lib.training.segment import load_run_model

TASK_TABLES = ("calibration", "residuals", "confusion")  # lib/task_tables.py holdout_tables


def champion_metrics(
    registry, name: str, holdout: pl.DataFrame, line: ModelLine, tracking=None
) -> tuple:  # noqa: ANN001
    """The current champion of ``name`` scored on the same holdout rows, with its version.

    Its metrics are the line's task's (``Task.metrics`` of the package's predictions). A champion
    that serves a refit is met through the model its own gate judged (with ``tracking``:
    lib/training/refit.py ``gated_model``), trained on a training window only as the challenger.
    """
    from factory_assets.lib.scoring import load_alias
    from factory_assets.lib.training.refit import gated_model

    champion = registry.version(name, CHAMPION)
    if champion is None:
        return None, None
    y = line.task.encode(holdout[line.columns.label])
    gated = gated_model(tracking, champion) if tracking is not None else None
    if gated is not None:
        from factory_assets.lib.holdout import torch_predict

        return line.task.metrics(y, torch_predict(*gated, holdout)), champion.version
    _, model = load_alias(registry, name, CHAMPION)
    return line.task.metrics(y, model.predict(holdout)), champion.version


def holdout_tags(line: ModelLine, metrics: dict) -> dict[str, str]:
    """``holdout_<metric>`` version tags of the task's metrics (binary: auc, brier, log_loss)."""
    return {f"holdout_{m}": f"{metrics[m]:.4f}" for m in line.task.metric_names}


def baseline_reason(challenger: dict, baseline: dict | None, metric: str) -> str | None:
    """Why ``challenger`` loses to the gradient-boosted baseline on ``metric`` (None: it does not).

    Both are metrics on the same holdout rows; a tie passes. No baseline (a run trained before
    baselines): None.
    """
    from factory_assets.lib.tasks import HIGHER_IS_BETTER, metric_label

    if not baseline or metric not in baseline:
        return None
    value, floor = challenger[metric], baseline[metric]
    if value >= floor if HIGHER_IS_BETTER[metric] else value <= floor:
        return None
    return (
        f"holdout {metric_label(metric)} {value:.4f} is worse than the gradient-boosted "
        f"baseline's {floor:.4f} on the same holdout (gate.beat_baseline)"
    )


def gate_decision(  # noqa: ANN201
    challenger: dict,
    champion: dict | None,
    config,  # noqa: ANN001
    evaluation: dict,
    champion_version: str | None = None,
):
    """The gate (lib/registry.py ``decide``), refusing first a model whose evaluation names a leak.

    ``config`` is the packaging station's: ``metric``, ``floors``, ``margin``, and
    ``leakage_allow`` (inputs a run config allows besides the spec's). Past the floors, an
    existing champion is compared on the evaluation's live holdout too (lib/live_gate.py).
    """
    from factory_assets.lib import registry as reg
    from factory_assets.lib.leakage import leak_reason
    from factory_assets.lib.live_gate import decide_with_live

    leak = leak_reason(evaluation.get("leakage"), list(config.leakage_allow))
    if leak:
        return reg.GateDecision(False, leak)
    behind = getattr(config, "beat_baseline", True) and baseline_reason(
        challenger, evaluation.get("baseline_metrics"), config.metric
    )
    if behind:
        return reg.GateDecision(False, behind)
    gate = GateConfig(config.metric, dict(config.floors), config.margin)
    floors = reg.decide(challenger, None, gate)
    if champion is None or not floors.promote:
        return floors
    fixed = reg.decide(challenger, champion, gate)
    live = evaluation.get("live")
    return decide_with_live(fixed, challenger, champion, live, config, champion_version)


def served_window(model: dict) -> dict[str, str]:
    """The served model's training window as version tags, and its refit's when refitted.

    ``train_start``/``train_end`` bound what the served model learnt from (drift's reference,
    the live holdout's exclusion); a refit also tags ``refit`` and the gated model's
    ``gated_train_end`` (the holdout figures are that model's).
    """
    refit = model.get("refit")
    if not refit:
        return {"train_start": model["train_window"][0], "train_end": model["train_window"][1]}
    return {
        "train_start": refit["window"][0],
        "train_end": refit["window"][1],
        "refit": "train+validation+holdout",
        "gated_train_end": model["train_window"][1],
    }


def _card(name: str, line: ModelLine, model: dict, evaluation: dict, gate: dict) -> str:
    from factory_assets.lib.model_card import model_card

    return model_card(
        name=name,
        version=None,
        description=line.description,
        label=line.columns.label,
        features=line.features,
        label_table=line.label_table,
        inputs=line.columns.inputs,
        data_version=model["data_version"],
        code_version=model["code_version"],
        window=line.split.described()
        if line.split
        else {
            "train": model["train_window"],
            "validation": model["val_window"],
            "holdout": evaluation["holdout"],
            **_refit_window(model),
        },
        params=model["config"],
        metrics=evaluation["metrics"],
        baseline=evaluation.get("baseline_metrics"),
        task=line.task,
        task_tables={k: v for k, v in evaluation["tables"].items() if k in TASK_TABLES},
        leakage=evaluation.get("leakage"),
        segment_tables={k: v for k, v in evaluation["tables"].items() if k.startswith("by_")},
        importance_table=evaluation["tables"].get("importance"),
        gate=gate,
        snapshots=_snapshots(model, evaluation),
    )


def _snapshots(model: dict, evaluation: dict) -> dict[str, str]:
    """The lake snapshot ids of the training and holdout rows (runs before them had none)."""
    found = {"training": model.get(TRAINING_TAG), "evaluation": evaluation.get(EVALUATION_TAG)}
    return {k: v for k, v in found.items() if v is not None}


def snapshot_tags(model: dict, evaluation: dict) -> dict[str, str]:
    """Version tags naming the lake snapshots and windows of the rows (lib/lake_snapshots.py).

    ``factory training-set`` reads the rows back from them; the lake's maintenance keeps every
    snapshot a registered version names.
    """
    found = _snapshots(model, evaluation)
    tags = {TRAINING_TAG: found.get("training"), EVALUATION_TAG: found.get("evaluation")}
    if "training" in found:
        tags["val_end"] = model["val_window"][1]
    if "evaluation" in found and evaluation.get("holdout"):
        tags["holdout_start"], tags["holdout_end"] = evaluation["holdout"]
    return {k: str(v) for k, v in tags.items() if v is not None}


def _refit_window(model: dict) -> dict:
    """The card's line for a served refit (lib/training/refit.py), none without one."""
    refit = model.get("refit")
    if not refit:
        return {}
    return {
        "served (refit)": (
            f"{refit['window'][0]} … {refit['window'][1]}: the same model refitted on train + "
            f"validation + holdout ({refit['rows']} rows); the holdout metrics and the gate "
            "judged the model trained on the train window"
        )
    }


def package_segment(  # noqa: PLR0913
    run_id: str,
    line: ModelLine,
    config,  # noqa: ANN001 (the station's config: gate, parity checks)
    model: dict,
    evaluation: dict,
    holdout: pl.DataFrame,
    segment: str | None,
    tracking,  # noqa: ANN001 (a TrackingStore)
    exports: OnnxExports | None = None,
) -> dict:
    """Export, check, register and gate one trained model; returns what happened.

    ``run_id`` is the Dagster run's (a tag of the version); ``model`` and ``evaluation`` are
    the segment's results of the model and evaluation stations. ``exports`` reuses the ONNX
    graph of an earlier net of the same shape, packaged by this step or an earlier one in the
    process.
    """
    from factory_assets.lib.scoring import CARD_FILE, MODEL_FILE, PREPROCESSOR_FILE
    from factory_assets.lib.training import models
    from factory_assets.lib.training.refit import served_folder

    registry, name = tracking.registry(), line.registry_name(segment)
    # the run's model, or the baseline standing in for it (lib/holdout.py baseline_stand_in);
    # its refit on train + validation + holdout when the model station made one
    folder = served_folder(model, evaluation.get("model_folder", "training"))
    net, pre = load_run_model(tracking, model["run_id"], folder)
    challenger = evaluation["metrics"]
    champion, champion_version = champion_metrics(registry, name, holdout, line, tracking)
    decision = gate_decision(challenger, champion, config, evaluation, champion_version)
    metric = config.metric
    gate = {
        "promoted": decision.promote,
        "reason": decision.reason,
        "champion_version": champion_version,
        f"champion_{metric}": None if champion is None else round(champion[metric], 4),
    }
    baseline = evaluation.get("baseline_metrics") or {}
    if metric in baseline:
        gate[f"baseline_{metric}"] = round(baseline[metric], 4)
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "package"
        package.mkdir()
        models.export(net, pre, package / MODEL_FILE, exports)  # the net's graph cache
        cat, num = pre.transform(holdout.head(config.parity_rows))
        diff = models.check_parity(net, pre, package / MODEL_FILE, cat, num, config.parity_atol)
        (package / PREPROCESSOR_FILE).write_text(pre.to_json())
        card = _card(name, line, model, evaluation, gate)
        (package / CARD_FILE).write_text(card)
        tags = {
            "data_version": model["data_version"],
            "code_version": model["code_version"],
            # the served model's training window: drift's reference, the live holdout's bound
            **served_window(model),
            **snapshot_tags(model, evaluation),
            **holdout_tags(line, challenger),
            **live_tags(evaluation.get("live"), config.metric),
            "onnx_parity_max_abs_diff": f"{diff:.2e}",
            "architecture": models.architecture(net),
            **({"stand_in": evaluation["stand_in"]} if evaluation.get("stand_in") else {}),
            "dagster_run_id": run_id,
            "gate_decision": "promoted" if decision.promote else "rejected",
            # with the version, not one write each after it (promote checks the champion again)
            "gate_reason": decision.reason,
            **(
                {"previous_champion": str(champion_version)}
                if decision.promote and champion
                else {}
            ),
            **({"segment_column": line.segments.column, "segment": segment} if segment else {}),
            # a batched model's reference (drift) is its training rows of the batches it saw
            **({"last_batch": model["last_batch"]} if model.get("last_batch") else {}),
        }
        version = registry.register(name, model["run_id"], package, tags)
    if decision.promote:
        registry.promote(name, version.version, decision.reason, has=version.tags)
    else:
        registry.keep_as_challenger(name, version.version, decision.reason, has=version.tags)
    return {
        "model_name": name,
        "model_version": str(version.version),
        "promoted": decision.promote,
        "gate_reason": decision.reason,
        "champion_before": champion_version or "none",
        f"champion_{metric}": gate[f"champion_{metric}"],  # on the holdout, as the gate scored it
        "onnx_parity_max_abs_diff": diff,
        f"holdout_{line.task.primary}": challenger[line.task.primary],
        "served_window": " … ".join(served_window(model)[k] for k in ("train_start", "train_end")),
        "model_card": card,
    }


def mark_fallback(tracking, line: ModelLine, segment: str, why: str) -> dict:  # noqa: ANN001
    """Record in the registry that ``segment`` is served by the fallback model, and ``why``."""
    from mlflow.exceptions import MlflowException

    client, name = tracking.registry().client, line.registry_name(segment)
    reason = f"{why}: served by {line.segments.fallback}"
    tags = {"fallback": line.segments.fallback, "fallback_reason": reason}
    try:
        client.create_registered_model(name, tags=tags)  # one write for a new name
    except MlflowException:  # already registered
        for key, value in tags.items():
            client.set_registered_model_tag(name, key, value)
    return {"model_name": name, "fallback": line.segments.fallback, "gate_reason": reason}


def fallback_reason(line: ModelLine, model: dict, evaluation: dict) -> str | None:
    """Why ``segment`` has no package of its own: the model or evaluation station fell back."""
    if "run_id" in model and "metrics" in evaluation:
        return None
    found = model if "run_id" not in model else evaluation
    # results written before stations recorded a reason were all too small to train
    return found.get("reason") or f"{model['train_rows']} training rows < {line.segments.min_rows}"
