"""<model>_package: ONNX + preprocessing + model card, registered in MLflow, through the gate."""

import dagster as dg

from factory_assets.components.model_line.common import by_segment, output, segments_of, station
from factory_assets.components.model_line.training import read_labelled
from factory_assets.lib.lake_snapshots import EVALUATION_TAG, recorded_snapshot
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registration import fallback_reason, mark_fallback, package_segment
from factory_assets.lib.training.export_cache import OnnxExports
from factory_assets.resources import TrackingStore, Warehouse


def _metadata(results: dict) -> dict:
    if list(results) == [None]:
        r = dict(results[None])
        return {**r, "model_card": dg.MetadataValue.md(r.pop("model_card"))}
    rows = [
        (
            segment,
            r["model_name"],
            r.get("model_version", ""),
            "promoted" if r.get("promoted") else r["gate_reason"],
        )
        for segment, r in results.items()
    ]
    header = ["segment", "registered model", "version", "decision"]
    return {
        "segments": dg.MetadataValue.md(markdown_table(header, rows)),
        "promoted": sum(bool(r.get("promoted")) for r in results.values()),
        "fallback_segments": ", ".join(s for s, r in results.items() if "fallback" in r)
        or "(none)",
    }


def build_package(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_package`` asset of ``line``."""

    @dg.asset(
        name=line.asset("package"),
        ins={
            "trained": dg.AssetIn(line.asset("model")),
            "evaluation": dg.AssetIn(line.asset("evaluation")),
        },
        description=(
            f"{line.name} as a deployable package, registered; `champion` moves only if it "
            "wins the gate (and, with gate.beat_baseline, is no worse than the gradient-boosted "
            "baseline). One ONNX file (checked against torch or LightGBM), the preprocessor "
            "JSON and the model card, registered as a new version with its data and code "
            "versions."
        ),
        **station(spec, line, "packaging", {"onnx", "mlflow"}),
    )
    def _package(
        context: dg.AssetExecutionContext,
        config: config_cls,
        trained: dict,
        evaluation: dict,
        duckdb: Warehouse,
        tracking: TrackingStore,
    ) -> dg.Output:
        segments = segments_of(context, line)
        trained, evaluation = by_segment(trained, line), by_segment(evaluation, line)
        window = (config.holdout_start, config.holdout_end)
        judged = recorded_snapshot(evaluation, EVALUATION_TAG)  # the rows evaluation judged
        holdouts = read_labelled(duckdb, line, window, segments, judged)
        results, exports = {}, OnnxExports()
        for segment in segments:
            reason = line.segments and fallback_reason(line, trained[segment], evaluation[segment])
            if reason:
                results[segment] = mark_fallback(tracking, line, segment, reason)
                continue
            results[segment] = package_segment(
                context.run_id, line, config, trained[segment], evaluation[segment],
                holdouts[segment], segment, tracking, exports,
            )  # fmt: skip
        stored = {s: {k: v for k, v in r.items() if k != "model_card"} for s, r in results.items()}
        # this step's files: traced by the exporter, or written into a graph the process holds
        onnx = {"onnx_exported": exports.exported, "onnx_reused": exports.reused}
        return dg.Output(output(stored, line), metadata={**_metadata(results), **onnx})

    return _package
