"""A trained model judged on the fixed holdout, and its training rows by the leakage guard."""

from collections.abc import Callable

import numpy as np
import polars as pl

from factory_assets.lib.markdown import frame_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.training.segment import fallback_result, load_run_model

Predict = Callable[[pl.DataFrame], np.ndarray]  # feature rows -> the task's predictions


def torch_predict(net, preprocessor, frame: pl.DataFrame) -> np.ndarray:  # noqa: ANN001
    """Predictions of a trained model (net or trees) as its package serves them.

    [n] probabilities or values, or [n, classes] probabilities (lib/training/models.py).
    """
    from factory_assets.lib.training.models import predict_frame

    return predict_frame(net, preprocessor, frame)


def holdout_fallback(holdout: pl.DataFrame, line: ModelLine, min_rows: int = 1) -> str | None:
    """Why a segment's holdout cannot judge its model (None: it can): no rows, one class, ...

    ``Task.why_cannot_judge`` of the holdout's labels (encoded as the line's task does).
    """
    label = line.columns.label
    reason = line.task.why_cannot_judge(line.task.encode(holdout[label]), min_rows)
    return reason and f"the holdout window's column {label!r} cannot judge: {reason}"


def importance(predict: Predict, holdout: pl.DataFrame, line: ModelLine, config) -> str:  # noqa: ANN001
    """Permutation importance of ``predict`` on ``config.importance_rows`` holdout rows (markdown).

    ``importance_rows`` 0 skips it. A sample that cannot judge the model (one class) from a
    holdout that can is noted, not an error; a holdout that cannot raises ValueError naming
    the window, the label column and why.
    """
    from factory_assets.lib import evaluation as ev

    task, label, rows = line.task, line.columns.label, config.importance_rows
    if rows <= 0:
        return "_Not computed: `importance_rows` is 0._"
    reason = task.why_cannot_judge(task.encode(holdout[label]))
    if reason:
        window = f"{config.holdout_start} to {config.holdout_end}"
        raise ValueError(
            f"permutation importance: the holdout window {window} cannot judge the model on "
            f"column {label!r}: {reason}"
        )
    sample = holdout.sample(min(rows, holdout.height), seed=0)
    y = task.encode(sample[label])
    reason = task.why_cannot_judge(y)
    if reason:
        return f"_Not computed: the sample of holdout rows cannot judge the model: {reason}._"
    table = ev.permutation_importance(
        predict,
        sample,
        y,
        line.columns.inputs,
        repeats=2,
        task=task,
    )
    return frame_table(table.head(15))


def _scored(holdout: pl.DataFrame, y: np.ndarray, pred: np.ndarray) -> pl.DataFrame:
    """The holdout with ``y`` and ``p`` (multiclass: an Array column of probabilities)."""
    return holdout.with_columns(pl.Series("y", y), pl.Series("p", pred))


def evaluate(net, pre, holdout: pl.DataFrame, line: ModelLine, config, report: list) -> dict:  # noqa: ANN001
    """``judge`` of the trained model's predictions (a net or trees)."""
    return judge(lambda frame: torch_predict(net, pre, frame), holdout, line, config, report)


def judge(predict: Predict, holdout: pl.DataFrame, line: ModelLine, config, report: list) -> dict:  # noqa: ANN001
    """The task's metrics and tables, per-segment tables and permutation importance on ``holdout``.

    ``predict`` maps feature rows to the task's predictions (lib/tasks.py shapes).

    Tables: calibration (binary), residuals by decile (regression) or the confusion matrix
    (multiclass); ``by_<column>`` per report segment, the worst named by the task's primary
    metric; importance.
    """
    from factory_assets.lib import evaluation as ev
    from factory_assets.lib.task_tables import holdout_tables

    task = line.task
    y = task.encode(holdout[line.columns.label])
    pred = predict(holdout)
    metrics = task.metrics(y, pred)
    scored = _scored(holdout, y, pred)
    segments = {
        by: ev.segment_metrics(scored, by, min_rows=config.min_segment_rows, task=task)
        for by in report
    }
    worst = {by: ev.worst_segment(table, task.primary) for by, table in segments.items()}
    tables = {
        **{name: frame_table(table) for name, table in holdout_tables(task, y, pred).items()},
        **{f"by_{by}": frame_table(table) for by, table in segments.items()},
        "importance": importance(predict, holdout, line, config),
    }
    worst_text = {
        by: (w["segment"], round(w[task.primary], 4)) if w else None for by, w in worst.items()
    }
    return {
        "metrics": metrics,
        "tables": tables,
        "worst_segment": worst_text,
        "holdout": [config.holdout_start, config.holdout_end],
        "rows": holdout.height,
    }


def log_holdout(client, run_id: str, metrics: dict, prefix: str = "holdout") -> None:  # noqa: ANN001
    """``<prefix>/<metric>`` on the model's run, in one write (SQLite: 10-20 ms a write)."""
    from factory_assets.lib.training.candidates import log_metrics

    log_metrics(client, run_id, {f"{prefix}/{k}": v for k, v in metrics.items()})


def baseline_metrics(tracking, model: dict, holdout: pl.DataFrame, line: ModelLine) -> dict:  # noqa: ANN001
    """The task's metrics of the run's gradient-boosted baseline on ``holdout``.

    Logged as ``baseline/holdout/<metric>`` on the model's run; {} for a run trained before
    baselines (its training result has none).
    """
    if not model.get("baseline"):
        return {}
    from factory_assets.lib.training.candidates import BASELINE

    trees, pre = load_run_model(tracking, model["run_id"], BASELINE)
    y = line.task.encode(holdout[line.columns.label])
    metrics = line.task.metrics(y, torch_predict(trees, pre, holdout))
    log_holdout(tracking.registry().client, model["run_id"], metrics, f"{BASELINE}/holdout")
    return metrics


def baseline_stand_in(  # noqa: PLR0913
    model: dict,
    result: dict,
    holdout: pl.DataFrame,
    line: ModelLine,
    config,  # noqa: ANN001 (the Holdout config)
    report: list[str],
    tracking,  # noqa: ANN001 (a TrackingStore)
) -> dict:
    """``auto``'s choice confirmed on the holdout: the baseline stands in for a loser to it.

    ``auto`` picks its candidate on validation. When that candidate is not the baseline's trees
    and loses to them on the holdout by the task's primary metric, the baseline (trees of the
    default recipe, one of auto's candidates) is what goes to the gate: otherwise
    ``gate.beat_baseline`` would refuse the line its only model. The result then judges the
    baseline and says why (``stand_in``); ``model_folder`` names the run's folder to package.
    A spec that names one architecture gets no stand-in: the gate judges what it asked for.
    """
    from factory_assets.lib.registration import baseline_reason
    from factory_assets.lib.training.candidates import BASELINE

    # "reused": the baseline is auto's gbdt candidate (not fitted twice); chosen, it is the model
    reused = (model.get("baseline") or {}).get("reused")
    is_baseline = model.get("architecture") == "gbdt" and reused
    chose = model.get("candidates") and model.get("asked", "auto") == "auto"
    if not chose or is_baseline or not result["baseline_metrics"]:
        return result
    why = baseline_reason(result["metrics"], result["baseline_metrics"], line.task.primary)
    if why is None:
        return result
    trees, pre = load_run_model(tracking, model["run_id"], BASELINE)
    stand_in = evaluate(trees, pre, holdout, line, config, report)
    log_holdout(tracking.registry().client, model["run_id"], stand_in["metrics"], "stand_in")
    chosen = model.get("architecture", "the chosen candidate")
    return {
        **stand_in,
        "baseline_metrics": result["baseline_metrics"],
        "model_folder": BASELINE,
        "stand_in": f"auto chose {chosen} on validation, but its {why}: the baseline stands in",
        "chosen_metrics": result["metrics"],
    }


def evaluate_segment(  # noqa: PLR0913
    model: dict,
    holdout: pl.DataFrame,
    line: ModelLine,
    config,  # noqa: ANN001 (the station's config: holdout window, min_segment_rows, ...)
    report: list[str],
    tracking,  # noqa: ANN001 (a TrackingStore)
    train: pl.DataFrame | None = None,
) -> dict:
    """The evaluation station's result for one segment's ``model`` (its training result).

    A model that fell back is passed on; a segment whose holdout cannot judge its model falls
    back (its result has ``fallback`` and ``reason``), a model of no segment fails (ValueError
    naming the window, the label column and the counts). Otherwise the metrics are logged as
    ``holdout/<metric>`` on the model's MLflow run, and with ``train`` (the labelled rows of
    its training window) the result has the leakage guard's verdict, ``leakage``.
    """
    if "run_id" not in model:
        return model  # a fallback segment: nothing of its own to judge
    reason = holdout_fallback(holdout, line)
    if reason and line.segments:  # one degenerate segment must not fail the others' run
        return {**fallback_result(line, reason), "rows": holdout.height}
    if reason:
        window = f"{config.holdout_start} to {config.holdout_end}"
        raise ValueError(f"{reason} (holdout window {window})")
    net, pre = load_run_model(tracking, model["run_id"])
    result = evaluate(net, pre, holdout, line, config, report)
    log_holdout(tracking.registry().client, model["run_id"], result["metrics"])
    result["baseline_metrics"] = baseline_metrics(tracking, model, holdout, line)
    result = baseline_stand_in(model, result, holdout, line, config, report, tracking)
    if train is not None:
        result["leakage"] = guard(train, line, config)
    return result


def guard(train: pl.DataFrame, line: ModelLine, config) -> dict:  # noqa: ANN001 (Holdout config)
    """The leakage guard (lib/leakage.py) on a model's training rows, with the config's bounds."""
    from factory_assets.lib.leakage import leakage

    c = line.columns
    allow = list(config.leakage_allow)
    return leakage(
        train, c.label, line.task, list(c.categorical), list(c.numeric),
        config.leakage_max_score, allow,
    )  # fmt: skip
