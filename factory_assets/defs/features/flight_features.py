"""flight_features: pre-departure features for every flight, the input of the flights model."""

import dagster as dg

from factory_assets.execution import warehouse_step
from factory_assets.lib.features.flights import flight_features as build_flight_features
from factory_assets.lib.warehouse import swap_table, transaction
from factory_assets.metadata import table_metadata
from factory_assets.resources import Warehouse


@dg.asset(
    deps=["fct_flights", "fct_weather_hourly", "dim_planes"],
    group_name="features",
    kinds={"polars", "duckdb"},
    owners=["team:ml-platform"],
    **warehouse_step(),
)
def flight_features(duckdb: Warehouse) -> dg.MaterializeResult:
    """Pre-departure features per flight, point in time.

    Schedule, route, plane, origin weather at the scheduled hour, and 28-day route and carrier
    late-rates from earlier days only.

    Built by lib/features/flights.py, the same function batch and online scoring call. Read
    and swapped in one transaction: a run that rebuilt the table meanwhile (from newer days)
    makes this commit conflict, and the retry reads the newest rows.
    """
    with duckdb.get_connection() as conn:
        with transaction(conn):
            flights = conn.sql("select * from fct_flights").pl()
            weather = conn.sql("select * from fct_weather_hourly").pl()
            planes = conn.sql("select * from dim_planes").pl()
            features = build_flight_features(flights, flights, weather, planes)
            swap_table(conn, "flight_features", features)
        return dg.MaterializeResult(metadata=table_metadata(conn, "flight_features"))
