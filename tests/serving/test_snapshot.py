"""The online snapshot asset and the online features it gives, equal to the batch features."""

import datetime as dt

from polars.testing import assert_frame_equal

from factory_assets.lib.online.features import OnlineFeatures, ScheduledFlight
from factory_assets.lib.online.snapshot import current_snapshot, read_snapshot
from tests.serving.conftest import ServingLine, request_rows


def test_the_snapshot_is_current_whole_and_as_of_the_latest_day(serving_line, defs) -> None:  # noqa: ANN001
    first = current_snapshot(serving_line.online / "snapshots")
    manifest, frames = read_snapshot(first)
    latest = serving_line.query("select max(flight_date) as d from fct_flights")["d"][0]
    assert manifest.as_of == latest.isoformat()
    assert manifest.last_day == (latest + dt.timedelta(days=1)).isoformat()
    assert set(manifest.origins) == {"EWR", "JFK", "LGA"}
    assert "UA" in manifest.carriers and manifest.rows["history"] == frames["history"].height
    assert frames["history"]["flight_date"].max() == latest
    # a second materialization swaps CURRENT to a new directory; the old one stays readable
    assert serving_line.materialize(defs, ["online_feature_snapshot"]).success
    second = current_snapshot(serving_line.online / "snapshots")
    assert second != first and first.exists()
    assert not list((serving_line.online / "snapshots").glob(".*partial"))


def test_online_features_equal_the_batch_features(serving_line: ServingLine) -> None:
    features = OnlineFeatures(current_snapshot(serving_line.online / "snapshots"))
    day = features.manifest.as_of
    rows = request_rows(serving_line, day, limit=10_000)
    flights = [
        ScheduledFlight(
            dt.date.fromisoformat(r["flight_date"]),
            r["sched_dep_time"],
            r["carrier"],
            r["flight"],
            r["origin"],
            r["dest"],
            r["distance"],
            r["tailnum"],
        )  # fmt: skip
        for r in rows
    ]
    online = features.features(features.schedule(flights))
    batch = serving_line.query(
        "select * from flight_features where flight_date = ? order by flight_id", [day]
    )
    assert online.height == batch.height > 500
    assert_frame_equal(online, batch.select(online.columns), check_dtypes=False)
    assert online["weather_age_hours"].null_count() < online.height  # weather was found
    assert (online["route_flights_28d"] > 0).any()
