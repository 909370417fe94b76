"""flights_package: ONNX + preprocessing + model card, registered in MLflow, through the gate."""

import tempfile
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.defs.models.flights_evaluation import (
    FlightsHoldout,
    load_run_model,
    read_holdout,
)
from factory_assets.defs.resources import TrackingStore
from factory_assets.execution import warehouse_step
from factory_assets.lib.registry import CHAMPION, GateConfig

MODEL_NAME = "flights"


class FlightsPackaging(FlightsHoldout):
    """Gate floors and margin, and the ONNX parity tolerance."""

    min_auc: float = 0.60
    max_brier: float = 0.25  # a constant 0.5 scores 0.25: anything worse is no model
    margin: float = 0.002
    parity_atol: float = 1e-5
    parity_rows: int = 2000


def _champion_metrics(registry, holdout: pl.DataFrame) -> tuple[dict | None, str | None]:  # noqa: ANN001
    """The current champion scored on the same holdout rows, with its version."""
    from factory_assets.lib.evaluation import binary_metrics
    from factory_assets.lib.scoring import load_alias

    loaded = load_alias(registry, MODEL_NAME, CHAMPION)
    if loaded is None:
        return None, None
    champion, model = loaded
    y = holdout["is_late"].cast(pl.Int8).to_numpy()
    return binary_metrics(y, model.predict(holdout)), champion.version


@dg.asset(
    group_name="packaging",
    kinds={"onnx", "mlflow"},
    owners=["team:ml-platform"],
    **warehouse_step(),
)
def flights_package(
    context: dg.AssetExecutionContext,
    config: FlightsPackaging,
    flights_model: dict,
    flights_evaluation: dict,
    duckdb: DuckDBResource,
    tracking: TrackingStore,
) -> dg.MaterializeResult:
    """The model as a deployable package, registered; ``champion`` moves only if it wins.

    One ONNX file (checked against torch), the preprocessor JSON and the model card, logged
    to the training run and registered as a new version with its data and code versions.
    """
    from factory_assets.lib import packaging
    from factory_assets.lib import registry as reg
    from factory_assets.lib.model_card import model_card
    from factory_assets.lib.scoring import CARD_FILE, MODEL_FILE, PREPROCESSOR_FILE

    registry = tracking.registry()
    net, pre = load_run_model(tracking, flights_model["run_id"])
    holdout = read_holdout(duckdb, config)
    challenger = flights_evaluation["metrics"]
    champion, champion_version = _champion_metrics(registry, holdout)
    decision = reg.decide(
        challenger, champion, GateConfig(config.min_auc, config.max_brier, config.margin)
    )
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "package"
        package.mkdir()
        packaging.export_onnx(net, len(pre.categorical), pre.n_numeric, package / MODEL_FILE)
        cat, num = pre.transform(holdout.head(config.parity_rows))
        diff = packaging.check_parity(net, package / MODEL_FILE, cat, num, config.parity_atol)
        (package / PREPROCESSOR_FILE).write_text(pre.to_json())
        gate = {
            "promoted": decision.promote,
            "reason": decision.reason,
            "champion_version": champion_version,
            "champion_auc": None if champion is None else round(champion["auc"], 4),
        }
        card = model_card(
            name=MODEL_NAME,
            version=None,
            data_version=flights_model["data_version"],
            code_version=flights_model["code_version"],
            window={
                "train": flights_model["train_window"],
                "validation": flights_model["val_window"],
                "holdout": flights_evaluation["holdout"],
            },
            params=flights_model["config"],
            metrics=challenger,
            segment_tables={
                k: v for k, v in flights_evaluation["tables"].items() if k.startswith("by_")
            },
            importance_table=flights_evaluation["tables"]["importance"],
            gate=gate,
        )
        (package / CARD_FILE).write_text(card)
        tags = {
            "data_version": flights_model["data_version"],
            "code_version": flights_model["code_version"],
            "train_start": flights_model["train_window"][0],
            "train_end": flights_model["train_window"][1],
            "holdout_auc": f"{challenger['auc']:.4f}",
            "holdout_brier": f"{challenger['brier']:.4f}",
            "onnx_parity_max_abs_diff": f"{diff:.2e}",
            "dagster_run_id": context.run_id,
            "gate_decision": "promoted" if decision.promote else "rejected",
        }
        version = registry.register(MODEL_NAME, flights_model["run_id"], package, tags)
    if decision.promote:
        registry.promote(MODEL_NAME, version.version, decision.reason)
    else:
        registry.keep_as_challenger(MODEL_NAME, version.version, decision.reason)
    return dg.MaterializeResult(
        metadata={
            "model_version": str(version.version),
            "promoted": decision.promote,
            "gate_reason": decision.reason,
            "champion_before": champion_version or "none",
            "onnx_parity_max_abs_diff": diff,
            "model_card": dg.MetadataValue.md(card),
            "holdout_auc": challenger["auc"],
        }
    )
