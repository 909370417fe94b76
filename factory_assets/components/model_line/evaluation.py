"""<model>_evaluation: each trained model on the fixed holdout, overall and per segment."""

import tempfile
import time
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.common import by_segment, output, segments_of, station
from factory_assets.components.model_line.training import (
    TRAINED,
    fallback_result,
    read_labelled,
)
from factory_assets.defs.resources import TrackingStore
from factory_assets.lib.model_line import ModelLine


def torch_predict(net, preprocessor, frame: pl.DataFrame) -> np.ndarray:  # noqa: ANN001
    """Probabilities from the trained torch net (before any packaging)."""
    import torch

    cat, num = preprocessor.transform(frame)
    with torch.no_grad():
        return torch.sigmoid(net(torch.from_numpy(cat), torch.from_numpy(num))).numpy()


def load_run_model(tracking: TrackingStore, run_id: str) -> tuple[object, object]:
    """The net and preprocessor logged by the model station under the run's ``training/``.

    A model station of this process leaves a copy in TRAINED (in-process executor): no download.
    """
    from mlflow.artifacts import download_artifacts

    from factory_assets.lib.training.artifacts import load_trained

    cached = TRAINED.get(run_id)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(
            run_id=run_id,
            artifact_path="training",
            dst_path=tmp,
            tracking_uri=tracking.tracking_uri,
        )
        return load_trained(Path(local))


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
    return ev.markdown_table(table.head(15))


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
        "calibration": ev.markdown_table(ev.calibration_table(y, p)),
        **{f"by_{by}": ev.markdown_table(table) for by, table in segments.items()},
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


def _metadata(results: dict) -> dict:
    if list(results) == [None]:
        r = results[None]
        return {
            **{f"holdout_{k}": float(v) for k, v in r["metrics"].items()},
            **{f"worst_{by}": str(v) for by, v in r["worst_segment"].items()},
            **{name: dg.MetadataValue.md(table) for name, table in r["tables"].items()},
            "holdout_window": " … ".join(r["holdout"]),
        }
    lines = ["| segment | holdout rows | AUC | Brier |", "|---|---|---|---|"]
    for segment, r in results.items():
        if "metrics" not in r:
            lines.append(f"| {segment} | | fallback: {r['fallback']} | |")
            continue
        m = r["metrics"]
        lines.append(f"| {segment} | {r['rows']} | {m['auc']:.4f} | {m['brier']:.4f} |")
    return {"segments": dg.MetadataValue.md("\n".join(lines))}


def build_evaluation(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_evaluation`` asset of ``line``."""
    model_key = line.asset("model")
    report = list(spec.evaluation.report_segments)

    @dg.asset(
        name=line.asset("evaluation"),
        ins={"trained": dg.AssetIn(model_key)},
        description=(
            f"{line.name} judged on the fixed holdout: AUC, log loss, Brier, calibration, the "
            f"same per {', '.join(report) or 'segment'} (the worst named), and permutation "
            "feature importance."
        ),
        **station(spec, line, "models", {"pytorch", "mlflow"}),
    )
    def _evaluation(
        context: dg.AssetExecutionContext,
        config: config_cls,
        trained: dict,
        duckdb: DuckDBResource,
        tracking: TrackingStore,
    ) -> dg.Output:
        segments, trained = segments_of(context, line), by_segment(trained, line)
        window = (config.holdout_start, config.holdout_end)
        holdouts = read_labelled(duckdb, line, window, segments)
        client, results = tracking.registry().client, {}
        for segment in segments:
            model = trained[segment]
            if "run_id" not in model:
                results[segment] = model  # a fallback segment: nothing of its own to judge
                continue
            reason = line.segments and holdout_fallback(holdouts[segment], line.columns.label)
            if reason:  # one degenerate segment must not fail the others' run
                results[segment] = {
                    **fallback_result(line, reason),
                    "rows": holdouts[segment].height,
                }
                context.log.warning(f"{segment}: {reason}: fallback")
                continue
            net, pre = load_run_model(tracking, model["run_id"])
            results[segment] = evaluate(net, pre, holdouts[segment], line, config, report)
            log_holdout(client, model["run_id"], results[segment]["metrics"])
        return dg.Output(output(results, line), metadata=_metadata(results))

    return _evaluation
