"""The live holdout meets a refitted champion through its gated model, like for like.

A champion learns Jan 1–2 (validated Jan 3, held out Jan 4) and serves its refit on Jan 1–4; it
then serves Jan 5–7, which neither of its models saw. On those rows a challenger (un-refit) is
compared with the champion's gated model, not with the refit that served them; the served
column is still what was served, and the paired gain is against the gated model.
"""

import datetime as dt

import pytest
from sklearn.metrics import roc_auc_score

from factory_assets.lib import lake
from factory_assets.lib import live_holdout as lh
from factory_assets.lib.holdout import torch_predict
from factory_assets.lib.live_gate import judge_live
from factory_assets.lib.registry import CHAMPION, Registry
from factory_assets.lib.scoring import load_alias
from factory_assets.lib.training.refit import gated_model
from factory_assets.resources import TrackingStore
from tests.assets.test_live_holdout import MODEL, _line
from tests.assets.test_models import _materialize, _metadata
from tests.conftest import own_stores, run_assets

WINDOW = {"train_start": "2013-01-01", "train_end": "2013-01-02", "val_days": 1, "max_epochs": 4}
HOLDOUT = {"holdout_start": "2013-01-04", "holdout_end": "2013-01-04", "importance_rows": 0}
FLOORS = {"floors": {"auc": 0.0, "brier": 1.0}}


class Live:
    """The evaluation's live holdout settings."""

    live_periods, min_rows = 14, 30


def test_a_refitted_champion_is_met_through_its_gated_model_on_the_served_days(
    built,
    defs,
    landing_root,
    tmp_path,  # noqa: ANN001
) -> None:
    with pytest.MonkeyPatch.context() as mp:
        uri = own_stores(mp, tmp_path, built[0], landing_root)
        config = {
            "ops": {
                "flights_model": {"config": {**WINDOW, "refit_on_all": True}},
                "flights_evaluation": {"config": HOLDOUT},
                "flights_package": {"config": {**HOLDOUT, **FLOORS}},
            }
        }
        first = _materialize(defs, MODEL, config)
        assert first.success and _metadata(first)["promoted"] is True
        served = run_assets(defs, ["flight_predictions"], first=dt.date(2013, 1, 5),
                            last=dt.date(2013, 1, 7))  # fmt: skip
        assert served.success
        registry = Registry(uri)
        tracking = TrackingStore(tracking_uri=uri, artifact_location=(tmp_path / "a").as_uri())
        version, package = load_alias(registry, "flights", CHAMPION)
        assert version.tags["refit"] and version.tags["train_end"] == "2013-01-04"
        gated = gated_model(tracking, version)
        line = _line()
        # a challenger trained on the same window (its own gated model stands in for one)
        model = {"train_window": ("2013-01-01", "2013-01-02"),
                 "val_window": ("2013-01-03", "2013-01-03")}  # fmt: skip
        with lake.connect(tmp_path / "warehouse.sqlite", read_only=True) as conn:
            live = judge_live(conn, line, None, Live, model, lambda f: torch_predict(*gated, f),
                              registry, tracking)  # fmt: skip
            rows = lh.live_rows(conn, line, None, 14, [("2013-01-01", "2013-01-04")]).rows
    assert live["window"]["first"] == "2013-01-05" and live["window"]["rows"] == rows.height
    y = line.task.encode(rows["is_late"])
    by_refit = roc_auc_score(y, package.predict(rows))
    by_gated = roc_auc_score(y, torch_predict(*gated, rows))
    assert abs(by_refit - by_gated) > 1e-4  # two different models
    assert live["champion"]["auc"] == pytest.approx(by_gated, abs=1e-6)
    assert live["served"]["auc"] == pytest.approx(by_refit, abs=1e-6)  # what was served
    assert live["champion_model"] == "gated (it serves a refit)"
    # the challenger here is the champion's own gated model: no gain against it
    gain = live["gain"]["auc"]
    assert gain["gain"] == pytest.approx(0.0, abs=1e-9) and gain["se"] == pytest.approx(0.0)
