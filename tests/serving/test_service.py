"""The scoring service over HTTP: predictions, versions, hot swap, shadow, bad input, auth."""

import json
import threading
import time

import httpx
import numpy as np
import pytest

from factory_assets.lib.online.shadow import read_shadow_log
from factory_assets.lib.scoring import load_alias
from tests.serving.conftest import ServingLine, request_rows, running_service

PREDICT = "/v1/models/flights/predict"


def test_predict_gives_the_champions_version_and_the_batch_probabilities_of_a_whole_day(
    service: str, serving_line: ServingLine
) -> None:
    day = serving_line.query("select max(flight_date) as d from fct_flights")["d"][0]
    rows = request_rows(serving_line, day.isoformat(), limit=10_000)
    got = []
    for start in range(0, len(rows), 50):  # the service's batch limit here
        response = httpx.post(f"{service}{PREDICT}", json={"flights": rows[start : start + 50]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["model"], body["version"], body["snapshot_as_of"]) == (
            "flights", "1", str(day)
        )  # fmt: skip
        assert {(p["model"], p["version"]) for p in body["predictions"]} == {("flights", "1")}
        got += body["predictions"]
    assert [p["flight_id"] for p in got] == [r["flight_id"] for r in rows]
    batch = serving_line.query(
        "select * from flight_features where flight_date = ? order by flight_id", [day]
    )
    _, model = load_alias(serving_line.registry(), "flights", "champion")
    expected = model.predict(batch)
    assert len(got) == batch.height > 500
    np.testing.assert_allclose([p["probability"] for p in got], expected, atol=1e-6)


def test_health_models_and_docs(service: str) -> None:
    health = httpx.get(f"{service}/healthz").json()
    assert health["status"] == "ok" and health["missing"] == {}
    assert health["models"]["flights"]["versions"] == {"flights": "1"}
    models = httpx.get(f"{service}/v1/models").json()
    assert models[0]["name"] == "flights" and models[0]["version"] == "1"
    assert httpx.get(f"{service}/docs").status_code == 200
    openapi = httpx.get(f"{service}/openapi.json").json()
    route = openapi["paths"][PREDICT]["post"]  # each model's own path, with its own body
    body = route["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PredictRequest"}  # validated in the endpoint
    assert {"PredictRequest", "Flight", "PredictResponse"} <= set(openapi["components"]["schemas"])
    assert "carrier" in openapi["components"]["schemas"]["Flight"]["properties"]


def _row(serving_line: ServingLine) -> dict:
    return request_rows(serving_line, "2013-01-07", limit=1)[0]


BAD = {
    "missing field": (lambda r: {k: v for k, v in r.items() if k != "origin"}, 422, "origin"),
    "wrong type": (lambda r: {**r, "distance": "far"}, 422, "valid number"),
    "string flight number": (lambda r: {**r, "flight": "1545"}, 422, "valid integer"),
    "unknown carrier": (lambda r: {**r, "carrier": "ZZ"}, 422, "unknown carrier 'ZZ'"),
    "unknown origin": (lambda r: {**r, "origin": "BOS"}, 422, "unknown origin 'BOS'"),
    "bad time": (lambda r: {**r, "sched_dep_time": 1275}, 422, "minutes above 59"),
    "bad date": (lambda r: {**r, "flight_date": "2013-02-30"}, 422, "flight_date"),
    "outside snapshot": (lambda r: {**r, "flight_date": "2013-06-01"}, 422, "outside the snapshot"),
    "negative distance": (lambda r: {**r, "distance": -5.0}, 422, "greater than 0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_rows_get_a_422_naming_the_problem(service: str, serving_line, case: str) -> None:  # noqa: ANN001
    change, status, words = BAD[case]
    response = httpx.post(f"{service}{PREDICT}", json={"flights": [change(_row(serving_line))]})
    assert response.status_code == status, response.text
    assert words in response.text
    assert all(d["loc"][:3] == ["body", "flights", 0] for d in response.json()["detail"])


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_get_a_422(service: str, serving_line, literal: str) -> None:  # noqa: ANN001
    text = json.dumps({"flights": [{**_row(serving_line), "distance": 1.5}]})
    response = httpx.post(
        f"{service}{PREDICT}",
        content=text.replace("1.5", literal),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "finite number" in response.text


def test_malformed_bodies_oversized_batches_and_huge_bodies_get_4xx(
    service: str, serving_line
) -> None:  # noqa: ANN001
    url, row = f"{service}{PREDICT}", _row(serving_line)
    headers = {"content-type": "application/json"}
    cases = {
        "not json": (httpx.post(url, content=b"{flights: [", headers=headers), 422),
        "empty batch": (httpx.post(url, json={"flights": []}), 422),
        "list body": (httpx.post(url, json=[row]), 422),
        "no body": (httpx.post(url), 422),
        "51 rows > 50": (httpx.post(url, json={"flights": [row] * 51}), 413),
        "huge body": (httpx.post(url, content=b"x" * 70_000, headers=headers), 413),
        "unknown model": (
            httpx.post(f"{service}/v1/models/nope/predict", json={"flights": [row]}),
            404,
        ),
    }
    for name, (response, status) in cases.items():
        assert response.status_code == status, (name, response.text)
        assert response.json()["detail"], name
    assert "exceeds the limit of 50" in cases["51 rows > 50"][0].text

    def chunks():  # no content-length: the limit holds while the body streams in
        for _ in range(20):
            yield b" " * 5000

    streamed = httpx.post(url, content=chunks(), headers=headers)
    assert streamed.status_code == 413, streamed.text
    assert httpx.get(f"{service}/healthz").status_code == 200  # still up


def _wait_for(condition, what: str, seconds: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_champion_moves_are_picked_up_without_dropping_requests(
    service: str, serving_line: ServingLine
) -> None:
    registry, row = serving_line.registry(), _row(serving_line)
    seen, failures, stop = [], [], threading.Event()

    def load() -> None:
        with httpx.Client(base_url=service) as client:
            while not stop.is_set():
                response = client.post(PREDICT, json={"flights": [row]})
                if response.status_code == 200:
                    seen.append(response.json()["version"])
                else:
                    failures.append(response.text)

    one = registry.version("flights", "champion")
    copy = registry.client.create_model_version("flights", one.source, run_id=one.run_id)
    version = str(copy.version)
    worker = threading.Thread(target=load)
    worker.start()
    try:
        _wait_for(lambda: len(seen) > 20, "requests on version 1")
        registry.promote("flights", version, "hot-swap test")
        _wait_for(lambda: seen[-1] == version, f"version {version} served")
        registry.rollback("flights", "tests", "hot-swap test")
        _wait_for(lambda: seen[-1] == "1", "rollback to version 1 served")
    finally:
        stop.set()
        worker.join(timeout=30)
    assert failures == []
    changes = [v for i, v in enumerate(seen) if i == 0 or v != seen[i - 1]]
    assert changes == ["1", version, "1"]


def test_shadow_challenger_is_logged_and_summarised(service, serving_line, defs) -> None:  # noqa: ANN001
    registry = serving_line.registry()
    one = registry.version("flights", "champion")
    created = registry.client.create_model_version("flights", one.source, run_id=one.run_id)
    version = str(created.version)
    registry.keep_as_challenger("flights", version, "shadow test")
    _wait_for(
        lambda: httpx.get(f"{service}/v1/models").json()[0]["challenger_version"] == version,
        "the challenger to load",
    )
    rows = request_rows(serving_line, "2013-01-07", limit=40)
    response = httpx.post(f"{service}{PREDICT}", json={"flights": rows})
    assert response.status_code == 200
    assert set(response.json()) == {
        "model", "version", "versions", "snapshot_as_of", "predictions"
    }  # fmt: skip
    logged = lambda: read_shadow_log(serving_line.online / "shadow")  # noqa: E731
    _wait_for(lambda: logged().filter(challenger_version=version).height >= 40, "log")
    result = serving_line.materialize(defs, ["shadow_agreement"])
    assert result.success
    summary = serving_line.query(
        "select * from shadow_agreement where challenger_version = ?", [version]
    )
    assert summary["rows"][0] >= 40 and summary["agreement"][0] == 1.0  # same weights
    assert summary["labelled"][0] >= 30 and summary["metric"][0] == "auc"  # the spec's task
    assert 0.0 <= summary["champion_score"][0] <= 1.0
    assert summary["champion_score"][0] == pytest.approx(summary["challenger_score"][0])


def test_bearer_token_when_set(serving_line: ServingLine) -> None:
    row = _row(serving_line)
    with running_service(serving_line, FACTORY_SERVE_TOKEN="s3cret") as url:
        assert httpx.get(f"{url}/healthz").status_code == 200  # probes need no token
        assert httpx.post(f"{url}{PREDICT}", json={"flights": [row]}).status_code == 401
        wrong = {"authorization": "Bearer nope"}
        assert (
            httpx.post(f"{url}{PREDICT}", json={"flights": [row]}, headers=wrong).status_code == 401
        )
        assert httpx.get(f"{url}/v1/models").status_code == 401
        right = {"authorization": "Bearer s3cret"}
        ok = httpx.post(f"{url}{PREDICT}", json={"flights": [row]}, headers=right)
        assert ok.status_code == 200 and ok.json()["version"]
