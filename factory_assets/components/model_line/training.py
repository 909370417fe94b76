"""<model>_model: trained with Lightning (one run per segment), tracked in MLflow."""

import dagster as dg
import polars as pl

from factory_assets.components.model_line.common import output, segments_of, station
from factory_assets.lib import lake_snapshots
from factory_assets.lib.lake_snapshots import TRAINING_TAG
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.tasks import metric_label
from factory_assets.lib.training.segment import (
    fallback_result,
    segment_fallback,
    train_config,
    train_segment,
)
from factory_assets.lib.training.train import val_metric
from factory_assets.resources import TrackingStore, Warehouse


def read_labelled(
    duckdb: Warehouse, line: ModelLine, window: tuple, segments: list, snapshot: int | None = None
) -> dict:
    """Labelled rows of ``window`` for each segment (None: all rows), at ``snapshot`` or newest."""
    return lake_snapshots.read_labelled(duckdb.lake(), line, window, segments, snapshot)[0]


def holdout_of_run(context: dg.AssetExecutionContext, line: ModelLine, config) -> tuple:  # noqa: ANN001
    """The holdout window and ``min_rows`` this run's evaluation will use.

    The run config of the evaluation (or package) station when the run sets it, else the
    model station's own (the spec's): the check judges the window the model will be judged on.
    """
    ops = (context.run.run_config or {}).get("ops", {})
    for station_name in ("evaluation", "package"):
        given = (ops.get(line.asset(station_name)) or {}).get("config") or {}
        if "holdout_start" in given:
            window = (given["holdout_start"], given.get("holdout_end", config.holdout_end))
            return window, given.get("min_rows", config.min_rows)
    return (config.holdout_start, config.holdout_end), config.min_rows


def judge_before_training(
    context: dg.AssetExecutionContext,
    duckdb: Warehouse,
    line: ModelLine,
    config,  # noqa: ANN001 (the station's Training config)
    frame: pl.DataFrame,
) -> None:
    """Fail (ThinDataError, LabelError) unless validation and holdout can judge the model.

    For a single model only: a segmented line's thin segment falls back to its fallback model.
    """
    from factory_assets.lib.training.judging import judge_windows

    cfg = train_config(config)
    date = pl.col(line.columns.date)
    windows = {"validation": (cfg.val_window, frame.filter(date.is_between(*cfg.val_window)))}
    holdout, min_rows = holdout_of_run(context, line, config)
    if holdout[0] and holdout[1]:
        windows["holdout"] = (holdout, read_labelled(duckdb, line, holdout, [None])[None])
    judge_windows(line, windows, min_rows)


def _metadata(results: dict, config, line: ModelLine) -> dict:  # noqa: ANN001
    trained = {s: r for s, r in results.items() if "run_id" in r}
    if list(results) == [None]:
        r = results[None]
        metadata = {
            "mlflow_run_id": r["run_id"],
            "data_version": r["data_version"],
            "code_version": r["code_version"],
            **_val_metric(r["metrics"], line),
            "val_loss": r["metrics"].get("val/loss"),
            "train_rows": r["train_rows"],
            "accelerator": r["accelerator"],
            "precision": r["precision"],
            "train_seconds": r["train_seconds"],
            "shuffle_labels": config.shuffle_labels,
            **_architecture(r, line),
            **_refit(r),
        }
        if r["search"]:
            metadata["trials"] = dg.MetadataValue.md(r["search"])
        return metadata
    rows = []
    for segment, r in results.items():
        model = r.get("architecture", "trained") if "run_id" in r else (
            f"fallback: {r['fallback']} ({r.get('reason')})")  # fmt: skip
        value = next(iter(_val_metric(r.get("metrics", {}), line).values()))
        baseline = (r.get("baseline") or {}).get("metrics", {})
        base = next(iter(_val_metric(baseline, line).values()))
        rows.append((segment, model, r["train_rows"], "" if value is None else f"{value:.4f}",
                     "" if base is None else f"{base:.4f}"))  # fmt: skip
    primary = metric_label(line.task.primary)
    header = ["segment", "model", "train rows", f"val {primary}", f"baseline val {primary}"]
    return {
        "segments": dg.MetadataValue.md(markdown_table(header, rows)),
        "trained_segments": len(trained),
        "fallback_segments": ", ".join(str(s) for s in results if s not in trained) or "(none)",
        "train_seconds": round(sum(r["train_seconds"] for r in trained.values()), 3),
    }


def _architecture(r: dict, line: ModelLine) -> dict:
    """The chosen architecture, auto's candidates table and the baseline's validation metric."""
    out = {"architecture": r.get("architecture", "mlp")}
    if r.get("candidates"):
        out["candidates"] = dg.MetadataValue.md(r["candidates"])
    baseline = r.get("baseline")
    if baseline:
        out.update({f"baseline_{k}": v for k, v in _val_metric(baseline["metrics"], line).items()})
        out["baseline_seconds"] = baseline["train_seconds"]
    return out


def _refit(r: dict) -> dict:
    """The served refit's window and rows (the figures above are the gated, un-refit model's)."""
    refit = r.get("refit")
    if not refit:
        return {"served_model": "the gated model (training.refit_on_all off, or no holdout)"}
    return {
        "served_model": (
            f"refit on {' … '.join(refit['window'])} (train + validation + holdout, "
            f"{refit['rows']} rows); validation and holdout figures are the gated model's"
        ),
        "refit_rows": refit["rows"],
    }


def _val_metric(metrics: dict, line: ModelLine) -> dict:
    """The validation metric by its metadata name: val_auroc, val_rmse, val_log_loss."""
    key = val_metric(line.task.primary)
    return {key.replace("/", "_"): metrics.get(key)}


def build_model(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_model`` asset of ``line``."""
    deps = [line.features, *([line.labels_from] if line.labels_from else [])]

    @dg.asset(
        name=line.asset("model"),
        deps=deps,
        description=(
            f"{spec.description}\n\nA model of architecture {spec.training.architecture} "
            "(mlp: embeddings + MLP; gbdt: LightGBM trees; auto: the best of "
            f"{', '.join(spec.training.candidates)} on validation) trained on the training "
            f"window of {line.features} and validated on the days after it, beside a "
            "gradient-boosted baseline; metrics go to MLflow with the data and code versions "
            "(Optuna trials and auto's candidates as child runs). With training.refit_on_all "
            "the chosen model and the baseline are also refitted on training + validation + "
            "holdout: the refit is what the package serves, the gate judges the un-refit one."
        ),
        **station(spec, line, "models", {"pytorch", "mlflow"}, "gpu"),
    )
    def _model(
        context: dg.AssetExecutionContext,
        config: config_cls,
        duckdb: Warehouse,
        tracking: TrackingStore,
    ) -> dg.Output:
        from factory_assets.lib.packaging import code_version
        from factory_assets.lib.training.refit import refit_window

        segments, code, cfg = segments_of(context, line), code_version(), train_config(config)
        holdout = holdout_of_run(context, line, config)[0]
        refit = refit_window(cfg, holdout, line, config.refit_on_all)
        # through the holdout's end when the served model is refitted on it
        window = refit or (cfg.train_window[0], cfg.val_window[1])
        frames, snapshot = lake_snapshots.read_labelled(
            duckdb.lake(), line, window, segments, config.lake_snapshot
        )
        if not line.segments:  # before any training time is spent
            judge_before_training(context, duckdb, line, config, frames[None])
        results = {}
        for segment in segments:
            frame = frames[segment]
            rows, reason = segment_fallback(frame, cfg, line) if line.segments else (0, "")
            if reason:
                results[segment] = {**fallback_result(line, reason), "train_rows": rows}
                context.log.info(f"{segment}: {reason}: fallback")
                continue
            space = spec.search.space if spec.search else None
            results[segment] = train_segment(
                context.run_id, line, config, cfg, frame, segment, tracking, code, space,
                refit and (refit, holdout), snapshot,
            )  # fmt: skip
        metadata = {**_metadata(results, config, line), TRAINING_TAG: snapshot}
        return dg.Output(output(results, line), metadata=metadata)

    return _model
