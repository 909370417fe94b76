"""flights_model: the late-arrival model, trained with Lightning and tracked in MLflow."""

import datetime as dt
import tempfile
import time
from pathlib import Path

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.defs.resources import TrackingStore
from factory_assets.execution import warehouse_step
from factory_assets.lib.training.artifacts import LABELLED_FEATURES_SQL, save_trained
from factory_assets.lib.training.train import TrainConfig

EXPERIMENT = "flights"


class FlightsTraining(dg.Config):
    """Training window and hyper-parameters of the flights model."""

    train_start: str = "2013-01-01"
    train_end: str = "2013-03-31"
    val_days: int = 14
    max_epochs: int = 6
    batch_size: int = 1024
    lr: float = 2e-3
    seed: int = 13
    shuffle_labels: bool = False  # a sanity run: a model of noise must never reach champion


@dg.asset(
    deps=["flight_features", "fct_flights"],
    group_name="models",
    kinds={"pytorch", "mlflow"},
    owners=["team:ml-platform"],
    **warehouse_step("gpu"),
    tags={"factory/compute": "gpu"},
)
def flights_model(
    context: dg.AssetExecutionContext,
    config: FlightsTraining,
    duckdb: DuckDBResource,
    tracking: TrackingStore,
) -> dg.Output[dict]:
    """Embedding + MLP classifier of late arrivals.

    Trained on the training window and validated on the days after it; every epoch's metrics
    go to MLflow, with the data and code versions that made the model.
    """
    from lightning.pytorch.loggers import MLFlowLogger

    from factory_assets.lib.packaging import code_version, data_version
    from factory_assets.lib.training.train import train_flights

    cfg = TrainConfig(**{k: v for k, v in config.model_dump().items() if k != "shuffle_labels"})
    with duckdb.get_connection() as conn:
        frame = conn.sql(
            LABELLED_FEATURES_SQL, params=[cfg.train_window[0], cfg.val_window[1]]
        ).pl()
    if config.shuffle_labels:
        frame = frame.with_columns(pl.col("is_late").shuffle(seed=cfg.seed))
    registry = tracking.registry()
    experiment = registry.experiment(EXPERIMENT, tracking.artifact_location)
    versions = {
        "data_version": data_version(frame, (cfg.train_start, cfg.val_window[1].isoformat())),
        "code_version": code_version(),
    }
    run = registry.client.create_run(
        experiment,
        run_name=f"flights-{context.run_id[:8]}",
        tags={"dagster_run_id": context.run_id, **versions},
    )
    run_id = run.info.run_id
    for key, value in {**cfg.params(), "shuffle_labels": config.shuffle_labels}.items():
        registry.client.log_param(run_id, key, value)
    logger = MLFlowLogger(
        experiment_name=EXPERIMENT, tracking_uri=tracking.tracking_uri, run_id=run_id
    )
    started = time.perf_counter()
    outcome = train_flights(frame, cfg, logger=logger)
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        save_trained(outcome.net, outcome.preprocessor, cfg.hidden, cfg.dropout, Path(tmp))
        registry.client.log_artifacts(run_id, tmp, "training")
    registry.client.set_terminated(run_id)
    result = {
        "run_id": run_id,
        **versions,
        "config": cfg.params(),
        "metrics": outcome.metrics,
        "train_window": [cfg.train_start, cfg.train_end],
        "val_window": [d.isoformat() for d in cfg.val_window],
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    return dg.Output(
        result,
        metadata={
            "mlflow_run_id": run_id,
            **versions,
            "val_auroc": outcome.metrics.get("val/auroc"),
            "val_loss": outcome.metrics.get("val/loss"),
            "train_rows": outcome.train_rows,
            "accelerator": outcome.accelerator,
            "precision": outcome.precision,
            "train_seconds": round(seconds, 2),
            "shuffle_labels": config.shuffle_labels,
        },
    )
