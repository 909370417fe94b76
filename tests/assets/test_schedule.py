"""A dataset's schedule asks for the newest period all its sources landed, once."""

from pathlib import Path

import dagster as dg

from factory_assets.resources import LandingZone

SCHEDULE = "nycflights_daily_line_schedule"


def test_the_schedule_runs_the_line_for_the_newest_landed_day(
    defs: dg.Definitions, landing_root: Path
) -> None:
    context = dg.build_schedule_context(resources={"landing": LandingZone(root=str(landing_root))})
    request = defs.get_schedule_def(SCHEDULE)(context)
    assert isinstance(request, dg.RunRequest)
    assert request.partition_key == "2013-01-08"  # the landing zone holds 01-01 … 01-08
    assert request.run_key == "nycflights-2013-01-08"  # the same day is never run twice


def test_the_schedule_waits_for_every_source_of_the_dataset(
    defs: dg.Definitions, own_landing: Path
) -> None:
    """The newest day whose weather has not landed yet is not run."""
    (own_landing / "landing" / "weather" / "2013" / "01" / "weather_2013-01-08.csv").unlink()
    context = dg.build_schedule_context(resources={"landing": LandingZone(root=str(own_landing))})
    assert defs.get_schedule_def(SCHEDULE)(context).partition_key == "2013-01-07"


def test_the_schedule_skips_an_empty_landing_zone(defs: dg.Definitions, tmp_path: Path) -> None:
    context = dg.build_schedule_context(resources={"landing": LandingZone(root=str(tmp_path))})
    assert isinstance(defs.get_schedule_def(SCHEDULE)(context), dg.SkipReason)


def test_the_daily_line_ends_in_monitoring(defs: dg.Definitions) -> None:
    job = defs.resolve_job_def("nycflights_daily_line")
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"raw_flights", "raw_outcomes", "fct_flights", "flight_predictions"} <= keys
    assert {"flights_drift_report", "flights_prediction_performance"} <= keys
    assert defs.resolve_job_def("retrain_flights") is not None
    sensors = {s.name for s in defs.sensors}
    assert {"flights_retrain_sensor", "flights_promotion_sensor"} <= sensors
