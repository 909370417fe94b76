"""Drift report, delayed-label performance and the sensors that retrain, on a real line."""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from sklearn.metrics import roc_auc_score

from factory_assets.components.model_line.automation import RETRAIN_TAG, TRIGGER_DAY_TAG
from factory_assets.lib import drift_reference, lake
from factory_assets.lib.lake import copy_lake
from factory_assets.private_api import check_records
from factory_assets.resources import RetrainPolicy
from factory_assets.specs import shipped_datasets
from tests.assets.test_models import MODEL, _config
from tests.conftest import own_stores

DAY = dt.date(2013, 1, 8)  # scored, drift-checked; its outcomes land on the 9th (not landed)
DRIFT = dg.AssetCheckKey(dg.AssetKey("flights_drift_report"), "drift_within_threshold")
PERFORMANCE = dg.AssetCheckKey(
    dg.AssetKey("flights_prediction_performance"), "performance_above_floor"
)
NYCFLIGHTS = shipped_datasets()["nycflights"]


def _period(day: dt.date):  # noqa: ANN202
    return NYCFLIGHTS.calendar.period_of(day)


def _run(defs, keys, instance, partition=None, run_config=None, tags=None):  # noqa: ANN001, ANN202
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(k) for k in keys}
    )
    return job.execute_in_process(
        instance=instance,
        partition_key=partition,
        run_config=run_config or {},
        tags=tags,
        raise_on_error=False,
    )


def _drift_config(**settings) -> dict:  # noqa: ANN003
    return {"ops": {"flights_drift_report": {"config": settings}}}


def _check(result, key: dg.AssetCheckKey):  # noqa: ANN001, ANN202
    return next(e for e in result.get_asset_check_evaluations() if e.asset_check_key == key)


@pytest.fixture(scope="module")
def monitored(built, defs, landing_root, tmp_path_factory):  # noqa: ANN001, ANN201
    """A champion trained on 01-01…01-04 that scored the 7th and the 8th, on its own stores."""
    root = tmp_path_factory.mktemp("monitoring")
    with pytest.MonkeyPatch.context() as mp:
        own_stores(mp, root, built[0], landing_root)
        home = root / "dagster_home"
        home.mkdir()
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert _run(
                defs, MODEL, instance, run_config=_config(floors={"auc": 0.5, "brier": 0.25})
            ).success
            for day in (DAY - dt.timedelta(days=1), DAY):
                assert _run(defs, ["flight_predictions"], instance, day.isoformat()).success
            yield root, instance


def test_drift_report_scores_every_input_and_links_the_html(defs, monitored) -> None:  # noqa: ANN001
    root, instance = monitored
    result = _run(defs, ["flights_drift_report"], instance, DAY.isoformat())
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    report = Path(metadata["report"].value)
    assert report.is_file() and report.stat().st_size > 100_000
    assert "temperature_f" in report.read_text()  # a column of the DataDriftPreset
    with lake.connect(root / "warehouse.sqlite", read_only=True) as conn:
        rows = conn.sql("select column_name, method, score, drifted from flights_drift").fetchall()
    columns = {r[0] for r in rows}
    assert {"carrier", "route", "temperature_f", "prediction"} <= columns
    assert "sched_month" not in columns  # calendar inputs drift by construction
    assert all(np.isfinite(r[2]) and r[1] in {"wasserstein", "jensenshannon"} for r in rows)
    share = sum(r[3] for r in rows) / len(rows)
    assert metadata["drifted_share"].value == pytest.approx(share)


def test_a_champions_reference_is_kept_for_the_steps_of_later_runs(defs, monitored) -> None:  # noqa: ANN001
    root, instance = monitored
    config = _drift_config(html_report="never")
    reports = Path(defs.resources["reports"].root) / "flights"  # the session's report store
    for kept in reports.glob("drift_reference_v*.parquet"):  # earlier tests' champions
        kept.unlink()
    drift_reference._REFERENCES.clear()
    first = _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config)
    (saved,) = reports.glob("drift_reference_v*.parquet")
    frame = pl.read_parquet(saved)
    assert frame.height > 1000 and frame["prediction"].is_between(0, 1).all()
    written = saved.stat()
    drift_reference._REFERENCES.clear()  # a new step process: nothing cached in memory
    again = _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config)
    assert saved.stat().st_ino == written.st_ino  # read, not scored and written again
    verdicts = [_check(r, DRIFT).metadata["drift_statistic"].value for r in (first, again)]
    assert verdicts[0] == verdicts[1]
    null = json.loads(next(reports.glob("drift_null_v*.json")).read_text())
    assert null["relations"] is None  # the models are in the champion's relations file
    (relations,) = reports.glob("drift_relations_v*.npz")
    with np.load(relations) as saved:
        models = json.loads(str(saved["relations"]))["models"]
    [(_, cache)] = drift_reference._REFERENCES.values()  # the second run's, read from files
    [null] = [v for k, v in cache.items() if k[0] == "calibration"]
    assert models and null.relations.models == {k: tuple(v) for k, v in models.items()}


def test_the_drift_check_fails_only_above_its_threshold(defs, monitored) -> None:  # noqa: ANN001
    _, instance = monitored
    config = _drift_config(max_drifted_share=0.0, html_report="never")
    strict = _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config)
    share = strict.get_asset_materialization_events()[0].materialization.metadata
    assert share["drifted_share"].value > 0.0  # a week of January already moves the weather
    assert not _check(strict, DRIFT).passed  # the optional bound on the share still holds
    calibrated = _run(
        defs,
        ["flights_drift_report"],
        instance,
        DAY.isoformat(),
        _drift_config(html_report="never"),
    )
    verdict = _check(calibrated, DRIFT)
    statistic, threshold = (
        verdict.metadata[k].value for k in ("drift_statistic", "drift_threshold")
    )
    # the window (the 7th and 8th: all that was scored) against the reference's own 2-day windows
    assert verdict.metadata["window_periods"].value == 7
    assert verdict.metadata["calibrated_on"].value == "reference windows of 2 period(s)"
    assert threshold == pytest.approx(verdict.metadata["null_q99"].value, rel=0.2)
    assert verdict.passed == (statistic <= threshold)
    # the calibration is cached per champion version: a second run reads the same threshold
    again = _check(
        _run(
            defs,
            ["flights_drift_report"],
            instance,
            DAY.isoformat(),
            _drift_config(html_report="never"),
        ),
        DRIFT,
    )
    assert again.metadata["drift_threshold"].value == threshold
    # the estimate before labels is recorded beside the verdict
    assert 0.0 < verdict.metadata["estimated_auc"].value < 1.0


def test_performance_waits_for_the_labels_of_the_day_before(defs, monitored) -> None:  # noqa: ANN001
    root, instance = monitored
    # partition 01-08 judges the predictions served for 01-07, whose outcomes landed on 01-08
    lenient = {
        "ops": {
            "flights_prediction_performance": {"config": {"floors": {"auc": 0.0, "brier": 1.0}}}
        }
    }
    result = _run(defs, ["flights_prediction_performance"], instance, DAY.isoformat(), lenient)
    assert result.success and _check(result, PERFORMANCE).passed
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["flight_date"].value == "2013-01-07"
    with lake.connect(root / "warehouse.sqlite", read_only=True) as conn:
        y, p = zip(
            *conn.sql(
                "select t.is_late, p.probability from flight_predictions p join fct_flights t "
                "using (flight_id) where p.flight_date = '2013-01-07' and t.is_late is not null"
            ).fetchall(),
            strict=True,
        )
        unlabelled = conn.sql(
            "select count(*) from fct_flights where flight_date = ? and is_late is not null",
            params=[DAY],
        ).fetchall()[0][0]
    assert metadata["labelled_rows"].value == len(y) > 100
    assert metadata["auc"].value == pytest.approx(roc_auc_score(y, p))
    # the verdict's interval (DeLong) holds the metric; the estimate before labels is beside it
    assert metadata["auc_low"].value < metadata["auc"].value < metadata["auc_high"].value
    assert metadata["brier_low"].value < metadata["brier"].value < metadata["brier_high"].value
    assert 0.0 < metadata["estimated_auc"].value < 1.0
    assert unlabelled == 0  # the 8th's own predictions cannot be judged yet
    floor = {
        "ops": {
            "flights_prediction_performance": {"config": {"floors": {"auc": 0.99, "brier": 0.25}}}
        }
    }
    strict = _run(defs, ["flights_prediction_performance"], instance, DAY.isoformat(), floor)
    verdict = _check(strict, PERFORMANCE)
    assert not verdict.passed and verdict.metadata["failed_by"].value == "interval"


def _sensor(defs, instance, cursor=None, cooldown=14):  # noqa: ANN001, ANN202
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"retrain_policy": RetrainPolicy(cooldown_days=cooldown)},
    )
    return defs.get_sensor_def("flights_retrain_sensor")(context), context


def test_the_sensor_fires_once_then_debounces_and_cools_down(defs, monitored) -> None:  # noqa: ANN001
    _, instance = monitored
    config = _drift_config(max_drifted_share=0.0, html_report="never")
    assert not _check(
        _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config), DRIFT
    ).passed

    result, _ = _sensor(defs, instance)
    (request,) = result.run_requests
    assert request.tags[TRIGGER_DAY_TAG] == "2013-01-08"
    assert request.tags["factory/trigger"] == "drift_within_threshold"
    train = request.run_config["ops"]["flights_model"]["config"]
    holdout = request.run_config["ops"]["flights_package"]["config"]
    assert holdout == {"holdout_start": "2012-12-25", "holdout_end": "2013-01-07"}
    assert train["train_end"] < holdout["holdout_start"]

    # nothing new since the cursor: no second request for the same failure
    again, _ = _sensor(defs, instance, cursor=result.cursor)
    assert not again.run_requests

    # a retrain in flight debounces a new failure
    job = defs.resolve_job_def("retrain_flights")
    queued = instance.create_run_for_job(
        job,
        tags={RETRAIN_TAG: "flights", TRIGGER_DAY_TAG: "2013-01-08"},
        status=dg.DagsterRunStatus.STARTED,
    )
    _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config)
    busy, _ = _sensor(defs, instance, cursor=result.cursor)
    assert not busy.run_requests and "in flight" in busy.skip_reason.skip_message

    # once it finished, the cool-down (data days) still holds the same day back…
    instance.report_run_failed(instance.get_run_by_id(queued.run_id))
    _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config)
    cooling, _ = _sensor(defs, instance, cursor=busy.cursor)
    assert not cooling.run_requests and "cool-down" in cooling.skip_reason.skip_message
    # …unless the cool-down is zero
    _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config)
    free, _ = _sensor(defs, instance, cursor=cooling.cursor, cooldown=0)
    assert len(free.run_requests) == 1


def test_a_promotion_rescores_the_day_that_triggered_it(defs, monitored) -> None:  # noqa: ANN001
    _, instance = monitored
    tags = {RETRAIN_TAG: "flights", TRIGGER_DAY_TAG: DAY.isoformat()}
    retrain = _run(
        defs,
        MODEL,
        instance,
        run_config=_config(floors={"auc": 0.5, "brier": 0.25}, margin=-1.0),
        tags=tags,
    )
    assert retrain.success
    context = dg.build_sensor_context(instance=instance)
    (run_request,) = list(defs.get_sensor_def("flights_promotion_sensor")(context))
    assert isinstance(run_request, dg.RunRequest)
    assert run_request.partition_key == DAY.isoformat()
    assert run_request.job_name in (None, "rescore_flights")


# before the replays below: a replay's retrain (3 training days) may become the champion, and
# its reference is then too small for a drift verdict
def test_one_run_over_days_judges_each_day_on_its_own(defs, monitored) -> None:  # noqa: ANN001
    _, instance = monitored
    first = DAY - dt.timedelta(days=1)
    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": DAY.isoformat(),
    }
    config = {
        **_drift_config(max_drifted_share=0.0, html_report="never"),
        "flights_prediction_performance": {"config": {"floors": {"auc": 0.0, "brier": 1.0}}},
    }
    config = {"ops": {**config["ops"], **{k: v for k, v in config.items() if k != "ops"}}}
    keys = ["flights_drift_report", "flights_prediction_performance"]
    result = _run(defs, keys, instance, run_config=config, tags=tags)
    assert result.success
    days = {first.isoformat(), DAY.isoformat()}
    materialized = {
        (e.asset_key.to_user_string(), e.partition)
        for e in result.get_asset_materialization_events()
    }
    assert materialized == {(k, d) for k in keys for d in days}
    verdicts = {(e.asset_check_key, e.partition): e for e in result.get_asset_check_evaluations()}
    assert set(verdicts) == {(c, d) for c in (DRIFT, PERFORMANCE) for d in days}
    assert not verdicts[DRIFT, DAY.isoformat()].passed
    assert verdicts[PERFORMANCE, DAY.isoformat()].passed
    # each day's verdict names its own day, and each day keeps its own check record
    assert {verdicts[DRIFT, d].metadata["day"].value for d in days} == days
    history = check_records(instance, DRIFT, newest=2)
    assert {r.partition for r in history} == days
    # the sensor reads the failures of both days and retrains from the newest
    result, _ = _sensor(defs, instance, cursor=str(min(r.id for r in history) - 1), cooldown=0)
    (request,) = result.run_requests
    assert request.tags[TRIGGER_DAY_TAG] == DAY.isoformat()


def test_a_replay_runs_each_day_then_the_sensors_and_summarises(defs, monitored) -> None:  # noqa: ANN001
    from factory_assets.replay import Replay, replay_periods, summarise

    _, instance = monitored
    policy = RetrainPolicy(cooldown_days=0, train_days=3, val_days=2, holdout_days=1)
    replay = Replay(instance, defs, NYCFLIGHTS, html="never", policy=policy)
    replay.start_cursors()
    replay_periods(replay, _period(DAY - dt.timedelta(days=1)), _period(DAY))
    text = summarise(replay)
    assert not replay.failed_runs
    assert set(replay.seconds) >= {"daily line", "summary"}
    assert "days monitored: 2 (drift)" in text
    assert Path(text.rsplit("plot: ", 1)[1]).stat().st_size > 10_000


def test_a_replay_in_batches_monitors_a_batch_in_one_run(defs, monitored, monkeypatch) -> None:  # noqa: ANN001
    from factory_assets import replay as replaying
    from factory_assets.replay import Replay, replay_periods

    root, instance = monitored
    monkeypatch.setattr(replaying, "MAINTAIN_EVERY", 2)  # the lake is kept after the batch
    policy = RetrainPolicy(cooldown_days=0, train_days=3, val_days=2, holdout_days=1)
    replay = Replay(instance, defs, NYCFLIGHTS, html="never", policy=policy)
    replay.start_cursors()
    with lake.connect(root / "warehouse.sqlite", read_only=True) as conn:
        before = conn.sql("select count(*) from flight_predictions").fetchall()
    replay_periods(replay, _period(DAY - dt.timedelta(days=1)), _period(DAY), batch=2)
    assert not replay.failed_runs
    assert set(replay.seconds) >= {"batch line", "monitoring", "lake maintenance"}
    with lake.connect(root / "warehouse.sqlite", read_only=True) as conn:
        assert conn.sql("select count(*) from flight_predictions").fetchall() == before
        snapshots = conn.sql("select count(*) from ducklake_snapshots('warehouse')").fetchall()
    assert snapshots[0][0] < 10  # expired at once but the newest and the registered ones
    # both days' drift verdicts come from one run, the newest of the instance's drift runs
    history = check_records(instance, DRIFT, newest=2)
    assert {r.partition for r in history} == {
        (DAY - dt.timedelta(days=1)).isoformat(),
        DAY.isoformat(),
    }
    assert len({r.run_id for r in history}) == 1


def _metadata(result, key: str) -> dict:  # noqa: ANN001
    (event,) = [
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key
    ]
    return event.materialization.metadata


@pytest.fixture
def own_warehouse(monitored, tmp_path, monkeypatch) -> Path:  # noqa: ANN001
    """A copy of the monitored warehouse that the test may change."""
    warehouse = tmp_path / "warehouse.sqlite"
    copy_lake(monitored[0] / "warehouse.sqlite", warehouse)
    monkeypatch.setenv("FACTORY_WAREHOUSE", str(warehouse))
    return warehouse


def test_a_first_day_summary_says_performance_is_not_judged_yet(  # noqa: ANN001
    defs, monitored, own_warehouse
) -> None:
    # `make demo DAYS=1`: one day drift-judged, its labels not landed: no performance table
    _, instance = monitored
    with lake.connect(own_warehouse) as conn:
        conn.sql("drop table if exists flights_performance")
    config = _drift_config(html_report="never")
    assert _run(defs, ["flights_drift_report"], instance, DAY.isoformat(), config).success
    result = _run(defs, ["flights_monitoring_summary"], instance)
    assert result.success
    metadata = _metadata(result, "flights_monitoring_summary")
    assert "not judged yet" in metadata["performance"].value
    assert metadata["days_monitored"].value >= 1


def test_drift_passes_a_period_with_nothing_scored_and_fails_one_never_scored(  # noqa: ANN001
    defs, monitored, own_warehouse
) -> None:
    _, instance = monitored
    empty = DAY + dt.timedelta(days=1)  # nothing landed: no rows to score
    never = DAY - dt.timedelta(days=3)  # rows landed, their predictions never materialized
    scored = _run(defs, ["flight_predictions"], instance, empty.isoformat())
    assert scored.success
    assert _metadata(scored, "flight_predictions")["rows_scored"].value == 0
    config = _drift_config(html_report="never")
    judged = _run(defs, ["flights_drift_report"], instance, empty.isoformat(), config)
    assert judged.success and _check(judged, DRIFT).passed
    assert "nothing to judge" in _metadata(judged, "flights_drift_report")["detail"].value
    missing = _run(defs, ["flights_drift_report"], instance, never.isoformat(), config)
    assert not missing.success
    (failure,) = [e for e in missing.all_events if e.is_step_failure]
    error = str(failure.step_failure_data.error)
    assert f"materialize flight_predictions of {never.isoformat()} first" in error
