"""<model>_evaluation: each trained model on the fixed holdout, overall and per segment."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.common import by_segment, output, segments_of, station
from factory_assets.components.model_line.training import read_labelled
from factory_assets.lib.holdout import evaluate_segment
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.model_line import ModelLine
from factory_assets.resources import TrackingStore


def _metadata(results: dict) -> dict:
    if list(results) == [None]:
        r = results[None]
        return {
            **{f"holdout_{k}": float(v) for k, v in r["metrics"].items()},
            **{f"worst_{by}": str(v) for by, v in r["worst_segment"].items()},
            **{name: dg.MetadataValue.md(table) for name, table in r["tables"].items()},
            "holdout_window": " … ".join(r["holdout"]),
        }
    rows = []
    for segment, r in results.items():
        if "metrics" not in r:
            rows.append((segment, "", f"fallback: {r['fallback']}", ""))
            continue
        m = r["metrics"]
        rows.append((segment, r["rows"], f"{m['auc']:.4f}", f"{m['brier']:.4f}"))
    header = ["segment", "holdout rows", "AUC", "Brier"]
    return {"segments": dg.MetadataValue.md(markdown_table(header, rows))}


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
        results = {}
        for segment in segments:
            holdout = holdouts[segment]
            results[segment] = evaluate_segment(
                trained[segment], holdout, line, config, report, tracking
            )
            if "fallback" in results[segment] and "run_id" in trained[segment]:
                context.log.warning(f"{segment}: {results[segment]['reason']}: fallback")
        return dg.Output(output(results, line), metadata=_metadata(results))

    return _evaluation
