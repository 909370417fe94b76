"""The live holdout: champion and challenger judged on the newest labelled served days too.

A champion (v1) learns 01-01…01-02 and serves 01-05…01-08. Then the world turns: from 01-05
on, the morning's flights are late, not the evening's (the labels are rewritten in the
warehouse). The fixed holdout (01-04) still speaks for v1; the newest served days do not.
"""

import datetime as dt
import re

import pytest

from factory_assets.components.model_spec import MANIFEST
from factory_assets.lib import lake
from factory_assets.lib import live_holdout as lh
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.registration import gate_decision
from factory_assets.lib.registry import CHAMPION, GateDecision, Registry
from factory_assets.specs import shipped_datasets
from tests.assets.test_models import _materialize, _metadata
from tests.conftest import ROOT, own_stores, run_assets

MODEL = ["flights_model", "flights_evaluation", "flights_package"]
LOOSE = {"floors": {"auc": 0.0, "brier": 1.0}}  # a model of the turned world may pass the floors
TURN = dt.date(2013, 1, 5)
# from TURN on, the morning's flights are late (one in ten the other way): the opposite of before
TURNED = """
update fct_flights t set is_late = (f.sched_hour < 13) != (hash(t.flight_id) % 10 = 0)
from flight_features f where f.flight_id = t.flight_id and t.flight_date >= ?
"""


def _config(train: tuple[str, str], **package: object) -> dict:
    holdout = {"holdout_start": "2013-01-04", "holdout_end": "2013-01-04", "importance_rows": 0}
    window = {"train_start": train[0], "train_end": train[1], "val_days": 1, "max_epochs": 6}
    # served as gated: the champion met on the live rows is its package (a refitted champion is
    # met through its gated model: tests/assets/test_refit_line.py)
    window["refit_on_all"] = False
    return {
        "ops": {
            "flights_model": {"config": window},
            "flights_evaluation": {"config": holdout},
            "flights_package": {"config": {**holdout, **package}},
        }
    }


def _evaluation(result) -> dict:  # noqa: ANN001
    event = next(
        e
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "flights_evaluation"
    )
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _line():  # noqa: ANN202
    import yaml

    from factory_assets.components.model_spec import ModelSpec

    path = ROOT / "factory_assets/defs/models/flights/defs.yaml"
    spec = ModelSpec.model_validate(yaml.safe_load(path.read_text())["attributes"])
    return spec.line(path, warehouse_tables(MANIFEST), shipped_datasets())


@pytest.fixture(scope="module")
def served(built, defs, landing_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """v1 champion; v2 trained before anything was served; 01-05…01-08 served, then turned."""
    root = tmp_path_factory.mktemp("live")
    with pytest.MonkeyPatch.context() as mp:
        uri = own_stores(mp, root, built[0], landing_root)
        first = _materialize(defs, MODEL, _config(("2013-01-01", "2013-01-02"), **LOOSE))
        unserved = _materialize(defs, MODEL, _config(("2013-01-01", "2013-01-02"), margin=-1.0))
        scored = run_assets(defs, ["flight_predictions"], first=TURN, last=dt.date(2013, 1, 8))
        assert first.success and unserved.success and scored.success
        with lake.connect(root / "warehouse.sqlite") as conn:
            conn.execute(TURNED, [TURN])
        yield root / "warehouse.sqlite", Registry(uri), unserved, defs


def test_no_served_rows_leave_the_gate_as_before(served) -> None:  # noqa: ANN001
    _, registry, unserved, _ = served
    metadata = _metadata(unserved)
    assert metadata["promoted"] is True  # margin -1: the fixed holdout alone lets it through
    assert "beats the champion's" in metadata["gate_reason"]
    assert "no live holdout (flight_predictions does not exist" in metadata["gate_reason"]
    tags = registry.client.get_model_version("flights", metadata["model_version"]).tags
    assert tags["live_holdout"].startswith("none: flight_predictions does not exist")


def test_the_live_window_leaves_out_training_validation_and_unlanded_days(served) -> None:  # noqa: ANN001
    warehouse, _, _, _ = served
    line = _line()
    with lake.connect(warehouse, read_only=True) as conn:
        # served 01-05…01-08; 01-08's labels land on 01-09 (label_lag 1): never read early
        everything = lh.live_rows(conn, line, None, 14, [])
        after = lh.live_rows(conn, line, None, 14, [("2013-01-05", "2013-01-06")])
        around = lh.live_rows(conn, line, None, 14, [("2013-01-06", "2013-01-06")])
        newest = lh.live_rows(conn, line, None, 1, [])
        off = lh.live_rows(conn, line, None, 0, [])
    assert everything.periods == ["2013-01-05", "2013-01-06", "2013-01-07"]
    assert after.periods == ["2013-01-07"] and newest.periods == ["2013-01-07"]
    assert around.periods == ["2013-01-05", "2013-01-07"]
    days = set(around.rows["flight_date"].cast(str).to_list())
    assert days == {"2013-01-05", "2013-01-07"}
    assert (
        after.rows.height
        == everything.rows.filter(everything.rows["flight_date"].cast(str) == "2013-01-07").height
        > 500
    )
    assert off.periods == [] and "off" in off.why_none


def test_a_champion_worse_on_the_newest_served_days_is_replaced(served) -> None:  # noqa: ANN001
    _, registry, _, defs = served
    before = str(registry.version("flights", CHAMPION).version)
    # the challenger learns the turned world on 01-05 (validated on 01-06): the fixed holdout
    # 01-04 (the old world) prefers the champion, the newest served day 01-07 the challenger
    result = _materialize(defs, MODEL, _config(("2013-01-05", "2013-01-05"), **LOOSE))
    metadata, evaluation = _metadata(result), _evaluation(result)
    assert evaluation["live_window"] == "2013-01-07 … 2013-01-07"
    assert evaluation["live_challenger_auc"] > evaluation["live_champion_auc"] + 0.002
    # the paired gain the gate reads: the two AUCs' difference, beyond its 98 % interval's noise
    gain = evaluation["live_challenger_auc"] - evaluation["live_champion_auc"]
    assert evaluation["live_gain_auc"] == pytest.approx(gain, abs=1e-9)
    assert 0 < evaluation["live_gain_auc_se"] < gain / 2.33
    assert "gain (98% interval)" in _metadata(result, "flights_evaluation")["live_holdout"]
    # the champion re-scored from its package is what it served on those rows
    assert abs(evaluation["live_served_auc"] - evaluation["live_champion_auc"]) < 1e-3
    reason = metadata["gate_reason"]
    fixed = re.search(r"fixed holdout AUC ([\d.]+) vs the champion's ([\d.]+)", reason)
    assert float(fixed[1]) < float(fixed[2]) - 0.002, reason  # the old holdout prefers v1
    assert metadata["promoted"] is True, reason
    assert "live holdout 2013-01-07 … 2013-01-07" in reason and "the live holdout decides" in reason
    assert "fixed holdout AUC" in reason  # both comparisons, with their figures
    assert "98% interval +0." in reason  # the paired gain's interval, beside the figures
    assert str(registry.version("flights", CHAMPION).version) == metadata["model_version"]
    tags = registry.client.get_model_version("flights", metadata["model_version"]).tags
    assert tags["live_holdout"] == "2013-01-07 … 2013-01-07"
    assert tags["live_champion_version"] == before
    assert float(tags["live_challenger_auc"]) > float(tags["live_champion_auc"])
    assert float(tags["live_gain_auc"]) == pytest.approx(gain, abs=1e-4)
    assert float(tags["live_gain_auc_se"]) > 0
    run = registry.client.get_run(registry.client.get_model_version("flights",
                                  metadata["model_version"]).run_id)  # fmt: skip
    assert run.data.tags["live_rows"] == str(evaluation["live_rows"])


def test_a_challenger_worse_on_the_live_holdout_is_refused_whatever_the_fixed_one_says() -> None:
    class Config:
        metric, margin = "auc", 0.002

    window = {"first": "2013-05-01", "last": "2013-05-14", "periods": 14, "rows": 9000}
    live = {
        "window": window,
        "champion_version": "3",
        "challenger": {"auc": 0.61},
        "champion": {"auc": 0.66},
        "served": {"auc": 0.66},
        "gain": {"auc": {"gain": -0.05, "se": 0.004}},
    }
    fixed = GateDecision(True, "AUC 0.7000 beats the champion's 0.6500 by at least 0.002")
    from factory_assets.lib.live_gate import decide_with_live

    refused = decide_with_live(fixed, {"auc": 0.70}, {"auc": 0.65}, live, Config, "3")
    assert not refused.promote and "worse by more than 0.002" in refused.reason
    # the paired gain and its interval are in the reason: they inform, the margin decides
    assert "gain -0.0500 (98% interval -0.0593 … -0.0407)" in refused.reason
    tie = {**live, "challenger": {"auc": 0.661}, "gain": {"auc": {"gain": 0.001, "se": 0.004}}}
    kept = decide_with_live(fixed, {"auc": 0.70}, {"auc": 0.65}, tie, Config, "3")
    assert kept.promote and "within 0.002, the fixed holdout decides" in kept.reason
    stale = decide_with_live(fixed, {"auc": 0.70}, {"auc": 0.65}, live, Config, "4")
    assert stale.promote and "judged version 3, not the champion" in stale.reason
    refit = {**live, "champion_model": "gated (it serves a refit)"}
    named = decide_with_live(fixed, {"auc": 0.70}, {"auc": 0.65}, refit, Config, "3")
    assert "vs the champion's (gated (it serves a refit)) 0.6600" in named.reason


def test_the_floors_come_before_the_live_holdout() -> None:
    class Config:
        metric, margin, floors, leakage_allow = "auc", 0.002, {"auc": 0.6}, []

    window = {"first": "a", "last": "b", "periods": 1, "rows": 99}
    live = {"window": window, "champion_version": "1", "challenger": {"auc": 0.9},
            "champion": {"auc": 0.5}}  # fmt: skip
    decision = gate_decision({"auc": 0.55}, {"auc": 0.5}, Config, {"live": live}, "1")
    assert not decision.promote and "below the floor" in decision.reason
