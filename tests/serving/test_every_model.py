"""Every flights-dataset model with no Python served online: cancellations and delay_class.

One module line: the built warehouse's copy, both models trained on four days, the test day
scored by the batch line, and both online snapshots made by their assets; then the service (in
process) must answer each row of the day as the batch did, and name the field of bad input.
"""

import json
import shutil

import dagster as dg
import pytest

from factory_assets.lib.online.lookup_online import LookupOnline
from factory_assets.lib.online.request import InputError
from factory_assets.lib.online.snapshot import current_snapshot
from tests.conftest import own_stores, run_assets
from tests.serving.online_check import (
    assert_online_equals_batch,
    batch_rows,
    contract,
    in_process,
    unknown_key,
)

MODELS = ("cancellations", "delay_class")
DAY, NEXT = "2013-01-07", "2013-01-08"
TRAIN = {"train_start": "2013-01-01", "train_end": "2013-01-04", "val_days": 2, "max_epochs": 1}
HOLDOUT = {"holdout_start": "2013-01-05", "holdout_end": "2013-01-06", "importance_rows": 0}
FLOORS = {"cancellations": {"auc": 0.0, "brier": 1.0}, "delay_class": {"log_loss": 100.0}}


def _job(defs: dg.Definitions, keys: list[str]) -> dg.JobDefinition:
    return defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in keys}
    )


@pytest.fixture(scope="module")
def line(built, landing_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """Both models' champions, the day's batch predictions and both online snapshots."""
    root = tmp_path_factory.mktemp("every_model")
    with pytest.MonkeyPatch.context() as mp:
        own_stores(mp, root, built[0], landing_root)
        mp.setenv("FACTORY_ONLINE_DIR", str(root / "online"))
        from factory_assets.definitions import defs as load

        defs = load()
        assert run_assets(defs, ["ml_cancellation_features", "ml_delay_class_features"]).success
        ops = {}
        for m in MODELS:
            ops[f"{m}_model"] = {"config": TRAIN}
            ops[f"{m}_evaluation"] = {"config": HOLDOUT}
            ops[f"{m}_package"] = {"config": {**HOLDOUT, "floors": FLOORS[m]}}
        chain = [f"{m}_{s}" for m in MODELS for s in ("model", "evaluation", "package")]
        assert _job(defs, chain).execute_in_process(run_config={"ops": ops}).success
        scoring = [f"{m}_{s}" for m in MODELS for s in ("predictions", "online_snapshot")]
        assert _job(defs, scoring).execute_in_process(partition_key=DAY).success
        yield defs, root


def _stores(mp: pytest.MonkeyPatch, root, online=None) -> None:  # noqa: ANN001
    """The line's stores (as ``own_stores`` set them), for the service."""
    mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.duckdb"))
    mp.setenv("FACTORY_MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.setenv("FACTORY_MLFLOW_ARTIFACTS", (root / "artifacts").as_uri())
    mp.setenv("FACTORY_ONLINE_DIR", str(online or root / "online"))


@pytest.fixture
def client(line, monkeypatch):  # noqa: ANN001, ANN201
    _stores(monkeypatch, line[1])
    with in_process(list(MODELS)) as client:
        yield client


def test_online_predictions_equal_the_batch_of_a_whole_day(line, client) -> None:  # noqa: ANN001
    _, root = line
    health = client.get("/healthz").json()
    assert health["status"] == "ok", health
    for model in MODELS:
        n = assert_online_equals_batch(
            client, root / "warehouse.duckdb", model, f"p._partition_date = '{DAY}'"
        )
        assert n > 500 and contract(model).name == model


def test_the_request_schema_comes_from_the_spec_and_is_documented(client) -> None:  # noqa: ANN001
    openapi = client.get("/openapi.json").json()
    schemas = openapi["components"]["schemas"]
    assert set(schemas["CancellationsRow"]["properties"]) == {"flight_id", "distance_mi"}
    assert set(schemas["DelayClassRow"]["properties"]) == {"flight_id"}
    for model, body in (
        ("cancellations", "CancellationsRequest"),
        ("delay_class", "DelayClassRequest"),
    ):
        route = openapi["paths"][f"/v1/models/{model}/predict"]["post"]
        assert route["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{body}"
        }
    assert client.get("/docs").status_code == 200


def test_bad_input_gets_a_422_naming_the_field(line, client) -> None:  # noqa: ANN001
    _, root = line
    (row,) = [
        {"flight_id": r["flight_id"], "distance_mi": r["distance_mi"]}
        for r in batch_rows(root / "warehouse.duckdb", "cancellations", "true")[:1]
    ]
    unknown_key(client, "cancellations", row)
    url = "/v1/models/cancellations/predict"
    far = client.post(url, json={"rows": [{**row, "distance_mi": 1e7}]})
    assert far.status_code == 422, far.text
    (error,) = far.json()["detail"]
    assert error["loc"] == ["body", "rows", 0, "distance_mi"]
    assert "outside the range seen in training" in error["msg"]
    typed = client.post(url, json={"rows": [{**row, "distance_mi": "far"}]})
    assert typed.status_code == 422 and typed.json()["detail"][0]["loc"][-1] == "distance_mi"
    extra = client.post(url, json={"rows": [{**row, "carrier": "UA"}]})
    assert extra.status_code == 422 and "carrier" in extra.text  # not a request input
    missing = client.post("/v1/models/delay_class/predict", json={"rows": [{}]})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "flight_id"


def test_a_category_outside_the_vocabulary_is_named(line, client, tmp_path) -> None:  # noqa: ANN001
    """A spec that takes a category with the request: checked against the champion's vocabulary."""
    _, root = line
    source = current_snapshot(root / "online" / "models" / "cancellations")
    copy = tmp_path / "snapshot"
    shutil.copytree(source, copy)
    terms = json.loads((copy / "contract.json").read_text())
    terms["request"] = ["carrier", "distance_mi"]
    (copy / "contract.json").write_text(json.dumps(terms))
    online = LookupOnline(copy)
    row = batch_rows(root / "warehouse.duckdb", "cancellations", "true")[0]
    body = online.request_model.model_validate(
        {"rows": [{"flight_id": row["flight_id"], "carrier": "ZZ", "distance_mi": 100.0}]}
    )
    state = client.app.app.app.state.serving  # Guard -> FastLane -> FastAPI
    served = {"cancellations": state.champions["cancellations"]}
    with pytest.raises(InputError) as error:
        online.answer(body, served)
    (detail,) = error.value.errors
    assert detail["loc"] == ["body", "rows", 0, "carrier"]
    assert "'ZZ' is not in the vocabulary of carrier" in detail["msg"]
    known = served["cancellations"].vocab("carrier")[0]
    good = body.model_copy(update={"rows": [body.rows[0].model_copy(update={"carrier": known})]})
    assert online.answer(good, served).predictions[0]["flight_id"] == row["flight_id"]


def test_a_model_without_a_snapshot_says_what_makes_it(line, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    _, root = line
    _stores(monkeypatch, root, tmp_path / "empty")
    with in_process(["cancellations"]) as empty:
        response = empty.post("/v1/models/cancellations/predict", json={"rows": [{}]})
        assert response.status_code == 503
        assert "materialize the asset cancellations_online_snapshot" in response.text
        assert "make demo" in response.text
        health = empty.get("/healthz")
        assert health.status_code == 503 and "cancellations" in health.json()["missing"]
        assert empty.post("/v1/models/nope/predict", json={}).status_code == 404
