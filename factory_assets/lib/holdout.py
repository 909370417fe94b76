"""A trained model judged on the fixed holdout: metrics, calibration, segments, importance."""

import time

import numpy as np
import polars as pl

from factory_assets.lib.markdown import frame_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.training.segment import fallback_result, load_run_model


def torch_predict(net, preprocessor, frame: pl.DataFrame) -> np.ndarray:  # noqa: ANN001
    """Predictions of the trained torch net with its task's head (before any packaging).

    As the package serves them: [n] probabilities or values, or [n, classes] probabilities.
    """
    import torch

    from factory_assets.lib.training.heads import serving_net

    cat, num = preprocessor.transform(frame)
    with torch.no_grad():
        return serving_net(net, preprocessor)(torch.from_numpy(cat), torch.from_numpy(num)).numpy()


def holdout_fallback(holdout: pl.DataFrame, label: str) -> str | None:
    """Why a segment's holdout cannot judge its model (None: it can): no rows, or one class."""
    if holdout.height == 0:
        return "no labelled rows in the holdout window"
    if holdout[label].n_unique() < 2:
        return f"the holdout's {holdout.height} labelled rows are all of one class"
    return None


def importance(net, pre, holdout: pl.DataFrame, line: ModelLine, rows: int) -> str:  # noqa: ANN001
    """Permutation importance on a sample of ``rows`` holdout rows, as a markdown table.

    ``rows`` 0 skips it. A sample of one class from a holdout of both is noted, not an error;
    a holdout of one class raises (ValueError) as before.
    """
    from factory_assets.lib import evaluation as ev

    label = line.columns.label
    if rows <= 0:
        return "_Not computed: `importance_rows` is 0._"
    sample = holdout.sample(min(rows, holdout.height), seed=0)
    if sample[label].n_unique() < 2 and holdout[label].n_unique() == 2:
        return f"_Not computed: the sample of {sample.height} holdout rows has one class._"
    table = ev.permutation_importance(
        lambda frame: torch_predict(net, pre, frame),
        sample,
        sample[label].cast(pl.Int8).to_numpy(),
        line.columns.inputs,
        repeats=2,
    )
    return frame_table(table.head(15))


def evaluate(net, pre, holdout: pl.DataFrame, line: ModelLine, config, report: list) -> dict:  # noqa: ANN001
    """Metrics, calibration, per-segment tables and permutation importance on ``holdout``."""
    from factory_assets.lib import evaluation as ev

    label = line.columns.label
    y = holdout[label].cast(pl.Int8).to_numpy()
    p = torch_predict(net, pre, holdout)
    metrics = ev.binary_metrics(y, p)
    scored = holdout.with_columns(pl.Series("y", y), pl.Series("p", p))
    segments = {
        by: ev.segment_metrics(scored, by, min_rows=config.min_segment_rows) for by in report
    }
    worst = {by: ev.worst_segment(table) for by, table in segments.items()}
    tables = {
        "calibration": frame_table(ev.calibration_table(y, p)),
        **{f"by_{by}": frame_table(table) for by, table in segments.items()},
        "importance": importance(net, pre, holdout, line, config.importance_rows),
    }
    worst_text = {by: (w["segment"], round(w["auc"], 4)) if w else None for by, w in worst.items()}
    return {
        "metrics": metrics,
        "tables": tables,
        "worst_segment": worst_text,
        "holdout": [config.holdout_start, config.holdout_end],
        "rows": holdout.height,
    }


def log_holdout(client, run_id: str, metrics: dict) -> None:  # noqa: ANN001 (MlflowClient)
    """``holdout/<metric>`` on the model's run, in one write (SQLite: 10-20 ms a write)."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    batch = [Metric(f"holdout/{k}", float(v), now, 0) for k, v in metrics.items()]
    client.log_batch(run_id, metrics=batch)


def evaluate_segment(  # noqa: PLR0913
    model: dict,
    holdout: pl.DataFrame,
    line: ModelLine,
    config,  # noqa: ANN001 (the station's config: holdout window, min_segment_rows, ...)
    report: list[str],
    tracking,  # noqa: ANN001 (a TrackingStore)
) -> dict:
    """The evaluation station's result for one segment's ``model`` (its training result).

    A model that fell back is passed on; a segment whose holdout cannot judge its model falls
    back (its result has ``fallback`` and ``reason``). Otherwise the metrics are logged as
    ``holdout/<metric>`` on the model's MLflow run.
    """
    if "run_id" not in model:
        return model  # a fallback segment: nothing of its own to judge
    reason = line.segments and holdout_fallback(holdout, line.columns.label)
    if reason:  # one degenerate segment must not fail the others' run
        return {**fallback_result(line, reason), "rows": holdout.height}
    net, pre = load_run_model(tracking, model["run_id"])
    result = evaluate(net, pre, holdout, line, config, report)
    log_holdout(tracking.registry().client, model["run_id"], result["metrics"])
    return result
