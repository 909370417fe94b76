"""The flights line with training.refit_on_all (the spec's default): the gate judges the model
trained on the training window, the package serves its refit on training + validation + holdout.

A real dbt build, a real MLflow store and the in-process line: train on Jan 1–4, validate on
Jan 5–6, hold out Jan 7; then the same training again, gated against the first as champion.
"""

import tempfile
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from factory_assets.lib import lake
from factory_assets.lib.lake import copy_lake
from factory_assets.lib.registry import CHAMPION, Registry
from factory_assets.lib.scoring import load_alias
from factory_assets.lib.tasks import Task
from factory_assets.lib.training import models

MODEL = ["flights_model", "flights_evaluation", "flights_package"]
HOLDOUT = {"holdout_start": "2013-01-07", "holdout_end": "2013-01-07"}
EVALUATION = {**HOLDOUT, "importance_rows": 200, "min_segment_rows": 50}
TRAIN = {"train_start": "2013-01-01", "train_end": "2013-01-04", "val_days": 2, "max_epochs": 2}
LABELLED = (
    "select {what} from flight_features f join fct_flights t using (flight_id) "
    "where f.flight_date between ? and ? and t.is_late is not null"
)


def _metadata(result, asset: str) -> dict:  # noqa: ANN001
    event = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == asset
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _run_model(uri: str, run_id: str, folder: str) -> tuple:
    """The model and preprocessor the model station logged under ``folder``, from MLflow."""
    from mlflow.artifacts import download_artifacts

    with tempfile.TemporaryDirectory() as tmp:
        local = download_artifacts(
            run_id=run_id, artifact_path=folder, dst_path=tmp, tracking_uri=uri
        )
        return models.load(Path(local))


@pytest.fixture(scope="module")
def refitted(built, defs, tmp_path_factory):  # noqa: ANN001, ANN201
    """The line trained, judged and packaged once in fresh stores (its first champion)."""
    root = tmp_path_factory.mktemp("refit")
    copy_lake(built[0], root / "warehouse.sqlite")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    config = {
        "ops": {
            "flights_model": {"config": TRAIN},
            "flights_evaluation": {"config": EVALUATION},
            "flights_package": {"config": {**EVALUATION, "floors": {"auc": 0.5, "brier": 0.25}}},
        }
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.sqlite"))
        mp.setenv("FACTORY_MLFLOW_TRACKING_URI", uri)
        mp.setenv("FACTORY_MLFLOW_ARTIFACTS", (root / "artifacts").as_uri())
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={dg.AssetKey(k) for k in MODEL}
        )
        result = job.execute_in_process(run_config=config, raise_on_error=False)
        again = job.execute_in_process(run_config=config, raise_on_error=False)  # a retrain
        yield root / "warehouse.sqlite", uri, result, again


def test_the_served_version_is_trained_on_train_validation_and_holdout_rows(refitted) -> None:  # noqa: ANN001
    warehouse, uri, result, _ = refitted
    assert result.success
    trained = _metadata(result, "flights_model")
    assert trained["served_model"].startswith("refit on 2013-01-01 … 2013-01-07")
    with lake.connect(warehouse, read_only=True) as conn:
        (everything,) = conn.execute(
            LABELLED.format(what="count(*)"), ["2013-01-01", "2013-01-07"]
        ).fetchone()
    assert trained["refit_rows"] == everything > trained["train_rows"]
    run = Registry(uri).client.get_run(trained["mlflow_run_id"])
    assert run.data.metrics["refit/rows"] == everything
    assert run.data.params["refit_window"] == "2013-01-01 … 2013-01-07"
    champion = Registry(uri).version("flights", CHAMPION)
    assert champion.tags["train_start"] == "2013-01-01"
    assert champion.tags["train_end"] == "2013-01-07"  # drift's reference: what it learnt from
    assert champion.tags["gated_train_end"] == "2013-01-04"
    assert champion.tags["refit"] == "train+validation+holdout"


def test_the_gate_judged_the_unrefit_model_and_the_package_serves_the_refit(refitted) -> None:  # noqa: ANN001
    warehouse, uri, result, _ = refitted
    run_id = _metadata(result, "flights_model")["mlflow_run_id"]
    evaluated, packaged = (
        _metadata(result, "flights_evaluation"),
        _metadata(result, "flights_package"),
    )
    with lake.connect(warehouse, read_only=True) as conn:
        holdout = conn.execute(LABELLED.format(what="f.*, t.is_late"), ["2013-01-07"] * 2).pl()
    y = Task().encode(holdout["is_late"])
    gated = models.predict_frame(*_run_model(uri, run_id, "training"), holdout)
    refit = models.predict_frame(*_run_model(uri, run_id, "refit"), holdout)
    # the evaluation's (and the gate's) holdout AUC is the un-refit model's, and it says so
    assert evaluated["judged_model"].endswith("refit on 2013-01-01 … 2013-01-07")
    assert evaluated["holdout_auc"] == pytest.approx(Task().metrics(y, gated)["auc"])
    assert packaged["holdout_auc"] == pytest.approx(evaluated["holdout_auc"])
    _, package = load_alias(Registry(uri), "flights", CHAMPION)
    served = np.asarray(package.predict(holdout)).reshape(-1)
    assert np.allclose(served, refit, atol=1e-4)  # the package is the refit ...
    assert not np.allclose(served, gated, atol=1e-4)  # ... not the model the gate judged
    card = packaged["model_card"]
    assert "served (refit)" in card and "2013-01-01 … 2013-01-07" in card
    assert packaged["served_window"] == "2013-01-01 … 2013-01-07"


def test_the_gate_scores_a_refitted_champions_gated_model_not_its_refit(refitted) -> None:  # noqa: ANN001
    warehouse, uri, first, again = refitted
    assert again.success
    run_id = _metadata(first, "flights_model")["mlflow_run_id"]
    packaged = _metadata(again, "flights_package")
    assert str(packaged["champion_before"]) == "1"
    with lake.connect(warehouse, read_only=True) as conn:
        holdout = conn.execute(LABELLED.format(what="f.*, t.is_late"), ["2013-01-07"] * 2).pl()
    y = Task().encode(holdout["is_late"])
    gated = Task().metrics(y, models.predict_frame(*_run_model(uri, run_id, "training"), holdout))
    refit = Task().metrics(y, models.predict_frame(*_run_model(uri, run_id, "refit"), holdout))
    assert refit["auc"] > gated["auc"] + 0.01  # the refit learnt the holdout's day
    # the champion (v1, serving its refit) was judged by the model its gate judged
    assert packaged["champion_auc"] == round(gated["auc"], 4)
    # the same training again: a tie with it, within the margin: not promoted
    assert packaged["promoted"] is False
    assert str(Registry(uri).version("flights", CHAMPION).version) == "1"
