"""Online equals batch, for any model: its service in process against its predictions table.

Used by the line tests of every shipped model (tests/serving/test_every_model.py and the
Chicago and screenings line tests): after the line has scored a day (a batch) and made the
model's online snapshot, every row of it is sent to ``POST /v1/models/<name>/predict`` with its
entity keys and request inputs, and the answers must equal the batch's, model and version too.
"""

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from factory_assets.lib.lake import connect
from factory_assets.lib.online.contract import Contract, model_root
from factory_assets.lib.online.snapshot import current_snapshot
from factory_assets.serving_app.app import create_app
from factory_assets.settings import settings

OUTPUT = {"binary": "probability", "regression": "prediction", "multiclass": "probabilities"}


@contextlib.contextmanager
def in_process(models: list[str], **env: str) -> Iterator[TestClient]:
    """The service of ``models`` over the stores of the environment, lifespan and all."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_SERVE_MODELS", ",".join(models))
        for name, value in env.items():
            mp.setenv(name, value)
        with TestClient(create_app(settings())) as client:
            yield client


def contract(model: str) -> Contract:
    """The model's contract, from its current snapshot."""
    return Contract.read(current_snapshot(model_root(settings().online_dir, model)))


def _json(value: object) -> object:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def batch_rows(warehouse: Path, model: str, where: str) -> list[dict]:
    """The model's predictions table joined with its feature rows (``where`` on ``p``)."""
    c = contract(model)
    sent = ", ".join(
        f"f.{k}" for k in dict.fromkeys([*c.entity, *c.request]) if k not in (c.key, c.date)
    )
    sql = (
        f"select p.*{', ' + sent if sent else ''} from {model}_predictions p "  # noqa: S608
        f"join {c.features} f using ({c.key}) where {where} order by p.{c.key}"
    )
    with connect(warehouse, read_only=True) as conn:
        return conn.sql(sql).pl().to_dicts()


def assert_online_equals_batch(client: TestClient, warehouse: Path, model: str, where: str) -> int:
    """Every batch row of ``where`` scored online equals the batch, to 1e-6; returns the count."""
    c, rows = contract(model), batch_rows(warehouse, model, where)
    assert rows, f"no {model} predictions where {where}"
    got = []
    for start in range(0, len(rows), 200):
        part = rows[start : start + 200]
        body = {"rows": [{k: _json(r[k]) for k in [*c.entity, *c.request]} for r in part]}
        response = client.post(f"/v1/models/{model}/predict", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["versions"]  # the version rides with every answer
        got += response.json()["predictions"]
    assert [p[c.key] for p in got] == [r[c.key] for r in rows]
    assert [(p["model"], p["version"]) for p in got] == [
        (r["model_name"], r["model_version"]) for r in rows
    ]  # the same segment's model (or the fallback) as the batch
    out = OUTPUT[c.task]
    np.testing.assert_allclose(
        np.array([p[out] for p in got], dtype=np.float64),
        np.array([r[out] for r in rows], dtype=np.float64),
        atol=1e-6,
        rtol=1e-6 if c.task == "regression" else 0,
    )
    if c.task == "multiclass":
        assert [p["prediction"] for p in got] == [r["prediction"] for r in rows]
    return len(rows)


def unknown_key(client: TestClient, model: str, row: dict) -> dict:
    """The 422 of a row whose first entity key is in no snapshot row."""
    c = contract(model)
    first = c.entity[0]
    value = row[first]
    bad = {**row, first: f"{value}-nope" if isinstance(value, str) else -1}
    response = client.post(f"/v1/models/{model}/predict", json={"rows": [bad]})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "rows", 0, first] and "online snapshot" in error["msg"]
    return error
