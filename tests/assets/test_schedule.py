"""The daily schedule asks for the newest landed day, once."""

from pathlib import Path

import dagster as dg

from factory_assets.defs.jobs import daily_line_schedule
from factory_assets.defs.resources import LandingZone


def test_the_schedule_runs_the_line_for_the_newest_landed_day(landing_root: Path) -> None:
    context = dg.build_schedule_context(resources={"landing": LandingZone(root=str(landing_root))})
    request = daily_line_schedule(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2013-01-08"  # the landing zone holds 01-01 … 01-08
    assert request.run_key == "daily-2013-01-08"  # the same day is never run twice


def test_the_schedule_skips_an_empty_landing_zone(tmp_path: Path) -> None:
    context = dg.build_schedule_context(resources={"landing": LandingZone(root=str(tmp_path))})
    assert isinstance(daily_line_schedule(context), dg.SkipReason)


def test_the_daily_line_ends_in_monitoring(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def("daily_line")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"raw_flights", "raw_outcomes", "fct_flights", "flight_predictions"} <= keys
    assert {"flights_drift_report", "flights_prediction_performance"} <= keys
    assert defs.resolve_job_def("retrain_flights") is not None
    sensors = {s.name for s in defs.sensors}
    assert {"flights_retrain_sensor", "flights_promotion_sensor"} <= sensors
