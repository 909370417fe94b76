"""<model>_package: ONNX + preprocessing + model card, registered in MLflow, through the gate."""

import tempfile
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.common import by_segment, output, segments_of, station
from factory_assets.components.model_line.evaluation import load_run_model
from factory_assets.components.model_line.training import read_labelled
from factory_assets.defs.resources import TrackingStore
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.registry import CHAMPION, GateConfig
from factory_assets.lib.training.export_cache import OnnxExports


def champion_metrics(registry, name: str, holdout: pl.DataFrame, label: str) -> tuple:  # noqa: ANN001
    """The current champion of ``name`` scored on the same holdout rows, with its version."""
    from factory_assets.lib.evaluation import binary_metrics
    from factory_assets.lib.scoring import load_alias

    loaded = load_alias(registry, name, CHAMPION)
    if loaded is None:
        return None, None
    champion, model = loaded
    y = holdout[label].cast(pl.Int8).to_numpy()
    return binary_metrics(y, model.predict(holdout)), champion.version


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
        },
        params=model["config"],
        metrics=evaluation["metrics"],
        segment_tables={k: v for k, v in evaluation["tables"].items() if k.startswith("by_")},
        importance_table=evaluation["tables"].get("importance"),
        gate=gate,
    )


def package_segment(context, line, config, model, evaluation, holdout, segment, tracking,  # noqa: ANN001, PLR0913
                    exports=None) -> dict:  # fmt: skip
    """Export, check, register and gate one trained model; returns what happened.

    ``exports`` (an OnnxExports) reuses the ONNX graph of an earlier net of the same shape,
    packaged by this step or an earlier one in the process.
    """
    from factory_assets.lib import packaging
    from factory_assets.lib import registry as reg
    from factory_assets.lib.scoring import CARD_FILE, MODEL_FILE, PREPROCESSOR_FILE

    registry, name = tracking.registry(), line.registry_name(segment)
    net, pre = load_run_model(tracking, model["run_id"])
    challenger = evaluation["metrics"]
    champion, champion_version = champion_metrics(registry, name, holdout, line.columns.label)
    gate_config = GateConfig(config.min_auc, config.max_brier, config.margin)
    decision = reg.decide(challenger, champion, gate_config)
    gate = {
        "promoted": decision.promote,
        "reason": decision.reason,
        "champion_version": champion_version,
        "champion_auc": None if champion is None else round(champion["auc"], 4),
    }
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "package"
        package.mkdir()
        export = exports.export if exports else packaging.export_onnx
        export(net, len(pre.categorical), pre.n_numeric, package / MODEL_FILE)
        cat, num = pre.transform(holdout.head(config.parity_rows))
        diff = packaging.check_parity(net, package / MODEL_FILE, cat, num, config.parity_atol)
        (package / PREPROCESSOR_FILE).write_text(pre.to_json())
        card = _card(name, line, model, evaluation, gate)
        (package / CARD_FILE).write_text(card)
        tags = {
            "data_version": model["data_version"],
            "code_version": model["code_version"],
            "train_start": model["train_window"][0],
            "train_end": model["train_window"][1],
            "holdout_auc": f"{challenger['auc']:.4f}",
            "holdout_brier": f"{challenger['brier']:.4f}",
            "onnx_parity_max_abs_diff": f"{diff:.2e}",
            "dagster_run_id": context.run_id,
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
        "onnx_parity_max_abs_diff": diff,
        "holdout_auc": challenger["auc"],
        "model_card": card,
    }


def mark_fallback(tracking: TrackingStore, line: ModelLine, segment: str, why: str) -> dict:
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


def _metadata(results: dict) -> dict:
    if list(results) == [None]:
        r = dict(results[None])
        return {**r, "model_card": dg.MetadataValue.md(r.pop("model_card"))}
    lines = ["| segment | registered model | version | decision |", "|---|---|---|---|"]
    for segment, r in results.items():
        version = r.get("model_version", "")
        decision = "promoted" if r.get("promoted") else r["gate_reason"]
        lines.append(f"| {segment} | {r['model_name']} | {version} | {decision} |")
    return {
        "segments": dg.MetadataValue.md("\n".join(lines)),
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
            "wins the gate. One ONNX file (checked against torch), the preprocessor JSON and "
            "the model card, registered as a new version with its data and code versions."
        ),
        **station(spec, line, "packaging", {"onnx", "mlflow"}),
    )
    def _package(
        context: dg.AssetExecutionContext,
        config: config_cls,
        trained: dict,
        evaluation: dict,
        duckdb: DuckDBResource,
        tracking: TrackingStore,
    ) -> dg.Output:
        segments = segments_of(context, line)
        trained, evaluation = by_segment(trained, line), by_segment(evaluation, line)
        holdouts = read_labelled(duckdb, line, (config.holdout_start, config.holdout_end), segments)
        results, exports = {}, OnnxExports()
        for segment in segments:
            reason = line.segments and fallback_reason(line, trained[segment], evaluation[segment])
            if reason:
                results[segment] = mark_fallback(tracking, line, segment, reason)
                continue
            results[segment] = package_segment(
                context, line, config, trained[segment], evaluation[segment],
                holdouts[segment], segment, tracking, exports,
            )  # fmt: skip
        stored = {s: {k: v for k, v in r.items() if k != "model_card"} for s, r in results.items()}
        # this step's files: traced by the exporter, or written into a graph the process holds
        onnx = {"onnx_exported": exports.exported, "onnx_reused": exports.reused}
        return dg.Output(output(stored, line), metadata={**_metadata(results), **onnx})

    return _package
