"""The online snapshot asset and the online features it gives, equal to the batch features.

The service's fast path (table lookups) equals the Polars path, and both equal the batch rows.
"""

import dataclasses
import datetime as dt
import random

import numpy as np
import pytest
from polars.testing import assert_frame_equal

from factory_assets.lib.online.contract import Contract
from factory_assets.lib.online.features import OnlineFeatures
from factory_assets.lib.online.request import InputError, ScheduledFlight
from factory_assets.lib.online.scorer import OnlineScorer
from factory_assets.lib.online.snapshot import current_snapshot, read_snapshot
from factory_assets.lib.scoring import load_alias
from tests.serving.conftest import DAY, SNAPSHOT, ServingLine, request_rows


def test_the_snapshot_is_current_whole_and_as_of_the_latest_day(serving_line, defs) -> None:  # noqa: ANN001
    first = current_snapshot(serving_line.snapshots)
    manifest, frames = read_snapshot(first)
    latest = serving_line.query("select max(flight_date) as d from fct_flights")["d"][0]
    assert manifest.as_of == latest.isoformat()
    assert manifest.last_day == (latest + dt.timedelta(days=1)).isoformat()
    assert set(manifest.origins) == {"EWR", "JFK", "LGA"}
    assert "UA" in manifest.carriers and manifest.rows["history"] == frames["history"].height
    assert frames["history"]["flight_date"].max() == latest
    # a second materialization swaps CURRENT to a new directory; the old one stays readable
    assert serving_line.materialize(defs, [SNAPSHOT], partition=DAY).success
    second = current_snapshot(serving_line.snapshots)
    assert second != first and first.exists()
    assert not list(serving_line.snapshots.glob(".*partial"))
    assert Contract.read(second).function == "flights"  # the spec's online block rides along


def test_online_features_equal_the_batch_features(serving_line: ServingLine) -> None:
    features = OnlineFeatures(current_snapshot(serving_line.snapshots))
    day = features.manifest.as_of
    rows = request_rows(serving_line, day, limit=10_000)
    flights = [ScheduledFlight.from_row(r) for r in rows]
    online = features.features(features.schedule(flights))
    batch = serving_line.query(
        "select * from flight_features where flight_date = ? order by flight_id", [day]
    )
    assert online.height == batch.height > 500
    assert_frame_equal(online, batch.select(online.columns), check_dtypes=False)
    fast = features.rows(flights).frame()  # the service's path: lookups, no Polars query
    assert_frame_equal(fast, batch.select(fast.columns), check_dtypes=False)
    assert online["weather_age_hours"].null_count() < online.height  # weather was found
    assert (online["route_flights_28d"] > 0).any()


def _random_flights(features: OnlineFeatures, n: int, seed: int) -> list[ScheduledFlight]:
    """Valid requests over every key the tables hold, and some they do not."""
    rng = random.Random(seed)
    dests = sorted({d for (_, d, _) in features.route[0]}) + ["ZZZ"]
    tails = [*features.plane_index, "NOPLANE", None]
    return [
        ScheduledFlight(
            rng.choice(features.days),
            rng.randrange(24) * 100 + rng.randrange(60),
            rng.choice(features.manifest.carriers),
            rng.randrange(1, 99_999),
            rng.choice(list(features.manifest.origins)),
            rng.choice(dests),
            rng.uniform(1.0, 5000.0),
            rng.choice(tails),
        )
        for _ in range(n)
    ]


def test_fast_path_equals_the_polars_path(serving_line: ServingLine) -> None:
    features = OnlineFeatures(current_snapshot(serving_line.snapshots))
    _, model = load_alias(serving_line.registry(), "flights", "champion")
    scorer = OnlineScorer(model)
    for seed, n in [(0, 1), (1, 2), (2, 100), (3, 3000)]:
        flights = _random_flights(features, n, seed)
        polars = features.features(features.schedule(flights))
        block = features.rows(flights)
        assert_frame_equal(block.frame(), polars)  # values, nulls and dtypes
        cat, num = model.preprocessor.transform(polars)
        fast_cat, fast_num = scorer.inputs(block)
        np.testing.assert_array_equal(fast_cat, cat)
        np.testing.assert_array_equal(fast_num, num)
        assert fast_num.dtype == num.dtype and fast_cat.dtype == cat.dtype
        np.testing.assert_array_equal(scorer.predict(block), model.predict(polars))
    assert block.frame()["plane_seats"].null_count() > 0  # unknown planes were drawn
    assert block.frame()["route_late_rate_28d"].null_count() > 0  # and unknown routes


def test_fast_path_rejects_what_the_polars_path_rejects(serving_line: ServingLine) -> None:
    features = OnlineFeatures(current_snapshot(serving_line.snapshots))
    good = _random_flights(features, 3, 7)
    late = dt.date.fromisoformat(features.manifest.last_day) + dt.timedelta(days=1)
    bad = [
        good[0],
        dataclasses.replace(good[1], carrier="ZZ", origin="BOS"),
        dataclasses.replace(good[2], flight_date=late),
    ]
    with pytest.raises(InputError) as fast:
        features.rows(bad)
    with pytest.raises(InputError) as polars:
        features.schedule(bad)
    assert fast.value.errors == polars.value.errors
    assert [e["loc"] for e in fast.value.errors] == [
        ["body", "flights", 1, "carrier"],
        ["body", "flights", 1, "origin"],
        ["body", "flights", 2, "flight_date"],
    ]
