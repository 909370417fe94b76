"""flights_evaluation: the trained model on a fixed holdout, overall and per segment."""

import tempfile
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.defs.resources import TrackingStore
from factory_assets.execution import warehouse_step
from factory_assets.lib.training.artifacts import LABELLED_FEATURES_SQL, load_trained


class FlightsHoldout(dg.Config):
    """The fixed holdout every model (challenger and champion) is judged on."""

    holdout_start: str = "2013-04-15"
    holdout_end: str = "2013-04-30"
    importance_rows: int = 4000
    min_segment_rows: int = 200


def torch_predict(net, preprocessor, frame: pl.DataFrame) -> np.ndarray:  # noqa: ANN001
    """Probabilities from the trained torch net (before any packaging)."""
    import torch

    cat, num = preprocessor.transform(frame)
    with torch.no_grad():
        return torch.sigmoid(net(torch.from_numpy(cat), torch.from_numpy(num))).numpy()


def load_run_model(tracking: TrackingStore, run_id: str) -> tuple[object, object]:
    """The net and preprocessor logged by flights_model under the run's ``training/``."""
    from mlflow.artifacts import download_artifacts

    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(
            run_id=run_id,
            artifact_path="training",
            dst_path=tmp,
            tracking_uri=tracking.tracking_uri,
        )
        return load_trained(Path(local))


def read_holdout(duckdb: DuckDBResource, config: FlightsHoldout) -> pl.DataFrame:
    """Labelled holdout rows (features + is_late)."""
    with duckdb.get_connection() as conn:
        frame = conn.sql(
            LABELLED_FEATURES_SQL, params=[config.holdout_start, config.holdout_end]
        ).pl()
    return frame.filter(pl.col("is_late").is_not_null())


@dg.asset(
    group_name="models",
    kinds={"pytorch", "mlflow"},
    owners=["team:ml-platform"],
    **warehouse_step(),
)
def flights_evaluation(
    config: FlightsHoldout,
    flights_model: dict,
    duckdb: DuckDBResource,
    tracking: TrackingStore,
) -> dg.Output[dict]:
    """The freshly trained model judged on the fixed holdout.

    AUC, log loss, Brier, a calibration table, the same per carrier and per origin (the worst
    segment named), and permutation feature importance.
    """
    from factory_assets.lib import evaluation as ev
    from factory_assets.lib.training.dataset import CATEGORICAL, NUMERIC

    net, pre = load_run_model(tracking, flights_model["run_id"])
    holdout = read_holdout(duckdb, config)
    y = holdout["is_late"].cast(pl.Int8).to_numpy()
    p = torch_predict(net, pre, holdout)
    metrics = ev.binary_metrics(y, p)
    scored = holdout.with_columns(pl.Series("y", y), pl.Series("p", p))
    segments = {
        by: ev.segment_metrics(scored, by, min_rows=config.min_segment_rows)
        for by in ("carrier", "origin")
    }
    worst = {by: ev.worst_segment(table) for by, table in segments.items()}
    sample = holdout.sample(min(config.importance_rows, holdout.height), seed=0)
    importance = ev.permutation_importance(
        lambda frame: torch_predict(net, pre, frame),
        sample,
        sample["is_late"].cast(pl.Int8).to_numpy(),
        CATEGORICAL + NUMERIC,
        repeats=2,
    )
    client = tracking.registry().client
    for key, value in metrics.items():
        client.log_metric(flights_model["run_id"], f"holdout/{key}", float(value))
    tables = {
        "calibration": ev.markdown_table(ev.calibration_table(y, p)),
        **{f"by_{by}": ev.markdown_table(table) for by, table in segments.items()},
        "importance": ev.markdown_table(importance.head(15)),
    }
    worst_text = {by: (w["segment"], round(w["auc"], 4)) if w else None for by, w in worst.items()}
    result = {
        "metrics": metrics,
        "tables": tables,
        "worst_segment": worst_text,
        "holdout": [config.holdout_start, config.holdout_end],
        "rows": holdout.height,
    }
    return dg.Output(
        result,
        metadata={
            **{f"holdout_{k}": float(v) for k, v in metrics.items()},
            **{f"worst_{by}": str(v) for by, v in worst_text.items()},
            **{name: dg.MetadataValue.md(table) for name, table in tables.items()},
            "holdout_window": f"{config.holdout_start} … {config.holdout_end}",
        },
    )
