"""Every flights-dataset model with no Python served online: cancellations and delay_class.

One module line: the built warehouse's copy, both models trained on four days, the test day
scored by the batch line, and both online snapshots made by their assets; then the service (in
process) must answer each row of the day as the batch did, and name the field of bad input.
"""

import json
import shutil
import time

import dagster as dg
import pytest

from factory_assets.lib.lake import connect
from factory_assets.lib.online.lookup_online import LookupOnline
from factory_assets.lib.online.request import InputError
from factory_assets.lib.online.shadow import read_shadow_log
from factory_assets.lib.online.snapshot import current_snapshot
from factory_assets.lib.registry import Registry
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
    mp.setenv("FACTORY_WAREHOUSE", str(root / "warehouse.sqlite"))
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
            client, root / "warehouse.sqlite", model, f"p._partition_date = '{DAY}'"
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
        for r in batch_rows(root / "warehouse.sqlite", "cancellations", "true")[:1]
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
    row = batch_rows(root / "warehouse.sqlite", "cancellations", "true")[0]
    body = online.request_model.model_validate(
        {"rows": [{"flight_id": row["flight_id"], "carrier": "ZZ", "distance_mi": 100.0}]}
    )
    state = client.app.app.state.serving  # Guard -> FastAPI
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


def _copy_version(registry: Registry, name: str) -> str:
    """A new registered version of ``name`` with the champion's package (same weights)."""
    one = registry.version(name, "champion")
    return str(registry.client.create_model_version(name, one.source, run_id=one.run_id).version)


def _wait_for(condition, what: str, seconds: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_hot_swap_and_shadow_for_a_multiclass_model(line, monkeypatch) -> None:  # noqa: ANN001
    """delay_class: a promotion is served without a restart; its challenger is shadow-scored
    and summarised by shadow_agreement with the spec's label and the task's metric."""
    defs, root = line
    _stores(monkeypatch, root)
    registry = Registry(f"sqlite:///{root / 'mlflow.db'}")
    rows = batch_rows(root / "warehouse.sqlite", "delay_class", f"p._partition_date = '{DAY}'")
    body = {"rows": [{"flight_id": r["flight_id"]} for r in rows[:60]]}
    url = "/v1/models/delay_class/predict"
    env = {"FACTORY_SERVE_POLL_SECONDS": "0.2", "FACTORY_SERVE_SHADOW": "true"}
    with in_process(["delay_class"], **env) as client:
        before = client.post(url, json=body).json()["version"]
        new = _copy_version(registry, "delay_class")
        registry.promote("delay_class", new, "hot-swap test")
        _wait_for(lambda: client.post(url, json=body).json()["version"] == new, "the swap")
        challenger = _copy_version(registry, "delay_class")
        registry.keep_as_challenger("delay_class", challenger, "shadow test")
        models = lambda: client.get("/v1/models").json()[0]  # noqa: E731
        _wait_for(lambda: models()["challenger_version"] == challenger, "the challenger")
        answer = client.post(url, json=body).json()
        assert answer["version"] == new != before
        assert all(p["version"] == new for p in answer["predictions"])
        logged = lambda: read_shadow_log(root / "online" / "shadow")  # noqa: E731
        _wait_for(lambda: logged().filter(challenger_version=challenger).height >= 60, "log")
    assert _job(defs, ["shadow_agreement"]).execute_in_process().success
    with connect(root / "warehouse.sqlite", read_only=True) as conn:
        summary = conn.sql(
            "select * from shadow_agreement where challenger_version = ?", params=[challenger]
        ).pl()
    assert summary["model"][0] == "delay_class" and summary["rows"][0] >= 60
    assert summary["agreement"][0] == 1.0 and summary["metric"][0] == "log_loss"
    assert summary["labelled"][0] > 0  # the day's classes have landed (delay_class, the spec's)
    assert summary["champion_score"][0] == pytest.approx(summary["challenger_score"][0])


def test_token_and_limits_for_a_lookup_model(line, monkeypatch) -> None:  # noqa: ANN001
    _stores(monkeypatch, line[1])
    rows = batch_rows(line[1] / "warehouse.sqlite", "cancellations", "true")[:6]
    body = {"rows": [{"flight_id": r["flight_id"], "distance_mi": r["distance_mi"]} for r in rows]}
    url = "/v1/models/cancellations/predict"
    env = {"FACTORY_SERVE_TOKEN": "s3cret", "FACTORY_SERVE_MAX_ROWS": "5"}
    with in_process(["cancellations"], FACTORY_SERVE_MAX_BODY_BYTES="2000", **env) as client:
        assert client.post(url, json=body).status_code == 401
        assert (
            client.post(url, json=body, headers={"authorization": "Bearer no"}).status_code == 401
        )
        auth = {"authorization": "Bearer s3cret"}
        too_many = client.post(url, json=body, headers=auth)
        assert too_many.status_code == 413 and "limit of 5" in too_many.text
        huge = client.post(url, json={"rows": body["rows"] * 40}, headers=auth)
        assert huge.status_code == 413 and "2000 bytes" in huge.text
        ok = client.post(url, json={"rows": body["rows"][:5]}, headers=auth)
        assert ok.status_code == 200 and ok.json()["version"] == "1"
        assert client.get("/healthz").status_code == 200  # probes need no token
