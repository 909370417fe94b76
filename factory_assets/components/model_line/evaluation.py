"""<model>_evaluation: each trained model on the fixed holdout, overall and per segment."""

import datetime as dt

import dagster as dg

from factory_assets.components.model_line.common import by_segment, output, segments_of, station
from factory_assets.components.model_line.live import judge_live_segments, live_metadata
from factory_assets.components.model_line.training import read_labelled
from factory_assets.lib import lake_snapshots
from factory_assets.lib.holdout import evaluate_segment
from factory_assets.lib.lake_snapshots import EVALUATION_TAG, TRAINING_TAG, recorded_snapshot
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import metric_label
from factory_assets.resources import TrackingStore, Warehouse

TABLES = {
    "binary": "calibration",
    "regression": "residuals by decile of the prediction",
    "multiclass": "the confusion matrix and recall per class",
}


def _leakage(results: dict) -> dict:
    """The leakage guard's metadata: the best inputs' scores and the leaks, by segment."""
    found = {s: r["leakage"] for s, r in results.items() if "leakage" in r}
    if not found:
        return {}
    rows = [
        (segment or "(all)", column, score, "leak" if column in g["leaks"] else
         "allowed" if column in g["allowed"] else "")
        for segment, g in found.items()
        for column, score in g["scores"].items()
    ]  # fmt: skip
    metric = metric_label(next(iter(found.values()))["metric"])
    leaks = sorted({c for g in found.values() for c in g["leaks"]})
    header = ["segment", "input", f"{metric} alone (training window)", "verdict"]
    return {
        "leakage": dg.MetadataValue.md(markdown_table(header, rows)),
        "leaks": ", ".join(leaks) or "(none)",
    }


def _metadata(results: dict, line: ModelLine) -> dict:
    if list(results) == [None]:
        r = results[None]
        return {
            **{f"holdout_{k}": float(v) for k, v in r["metrics"].items()},
            **{f"baseline_holdout_{k}": float(v) for k, v in r.get("baseline_metrics", {}).items()},
            **({"stand_in": r["stand_in"]} if r.get("stand_in") else {}),
            **{f"worst_{by}": str(v) for by, v in r["worst_segment"].items()},
            **{name: dg.MetadataValue.md(table) for name, table in r["tables"].items()},
            "holdout_window": " … ".join(r["holdout"]),
            **_leakage(results),
        }
    names = line.task.metric_names
    rows = []
    for segment, r in results.items():
        if "metrics" not in r:
            rows.append((segment, "", f"fallback: {r['fallback']}", *[""] * (len(names) - 1)))
            continue
        rows.append((segment, r["rows"], *(f"{r['metrics'][m]:.4f}" for m in names)))
    header = ["segment", "holdout rows", *(metric_label(m) for m in names)]
    return {"segments": dg.MetadataValue.md(markdown_table(header, rows)), **_leakage(results)}


def _training_rows(duckdb: Warehouse, line: ModelLine, trained: dict, segments: list) -> dict:
    """The labelled rows of the trained models' training window (the leakage guard's), by segment.

    Read as training read them (``read_labelled``, at its lake snapshot); segments that fell
    back get none.
    """
    windows = {tuple(r["train_window"]) for r in trained.values() if "run_id" in r}
    if not windows:
        return {}
    start, end = (dt.date.fromisoformat(day) for day in max(windows))  # one window per run
    own = [s for s in segments if "run_id" in trained[s]]
    snapshot = recorded_snapshot({s: trained[s] for s in own}, TRAINING_TAG)
    return read_labelled(duckdb, line, (start, end), own, snapshot)


def build_evaluation(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_evaluation`` asset of ``line``."""
    model_key = line.asset("model")
    report = list(spec.evaluation.report_segments)
    metrics = ", ".join(metric_label(m) for m in line.task.metric_names)
    tables = TABLES[line.task.kind]

    @dg.asset(
        name=line.asset("evaluation"),
        ins={"trained": dg.AssetIn(model_key)},
        description=(
            f"{line.name} judged on the fixed holdout: {metrics}, {tables}, the same per "
            f"{', '.join(report) or 'segment'} (the worst named), permutation feature "
            "importance, and the leakage guard (each input alone on the training window)."
        ),
        **station(spec, line, "models", {"pytorch", "mlflow"}),
    )
    def _evaluation(
        context: dg.AssetExecutionContext,
        config: config_cls,
        trained: dict,
        duckdb: Warehouse,
        tracking: TrackingStore,
    ) -> dg.Output:
        segments, trained = segments_of(context, line), by_segment(trained, line)
        window = (config.holdout_start, config.holdout_end)
        holdouts, snapshot = lake_snapshots.read_labelled(duckdb.lake(), line, window, segments)
        trains = _training_rows(duckdb, line, trained, segments)
        results = {}
        for segment in segments:
            results[segment] = evaluate_segment(
                trained[segment], holdouts[segment], line, config, report, tracking,
                trains.get(segment),
            )  # fmt: skip
            results[segment][EVALUATION_TAG] = str(snapshot)
            if "fallback" in results[segment] and "run_id" in trained[segment]:
                context.log.warning(f"{segment}: {results[segment]['reason']}: fallback")
        judge_live_segments(duckdb, line, config, trained, results, tracking)
        metadata = {**_metadata(results, line), **live_metadata(results, line)}
        metadata[EVALUATION_TAG] = snapshot
        refit = (trained.get(None) or {}).get("refit") if not line.segments else None
        if refit:  # the figures above are the gated model's; the package serves its refit
            metadata["judged_model"] = (
                f"the gated model (trained on its training window); the package serves its "
                f"refit on {' … '.join(refit['window'])}"
            )
        return dg.Output(output(results, line), metadata=metadata)

    return _evaluation
