"""online_feature_snapshot: what the scoring service needs of the warehouse, as Parquet files."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from factory_assets.execution import warehouse_step
from factory_assets.lib.online.snapshot import build_snapshot, write_snapshot
from factory_assets.resources import OnlineStore


class SnapshotConfig(dg.Config):
    """Which flight dates, around the latest day of flights, the service can score."""

    days_back: int = 7
    days_ahead: int = 1


@dg.asset(
    deps=["fct_flights", "fct_weather_hourly", "dim_planes", "dim_airports", "dim_carriers"],
    group_name="serving",
    kinds={"polars", "parquet"},
    owners=["team:ml-platform"],
    **warehouse_step(),
)
def online_feature_snapshot(
    config: SnapshotConfig, duckdb: DuckDBResource, online: OnlineStore
) -> dg.MaterializeResult:
    """Recent labelled flights, weather, planes, carriers and origins for online scoring.

    The service computes features with the line's feature code from these files, never from
    the DuckDB file (one process at a time may hold it). Written whole, then made current by
    one atomic rename; the manifest says which day it is as of and which dates it serves.
    """
    with duckdb.get_connection() as conn:
        flights = conn.sql("select * from fct_flights").pl()
        weather = conn.sql("select * from fct_weather_hourly").pl()
        planes = conn.sql("select * from dim_planes").pl()
        airports = conn.sql("select airport_code, time_zone from dim_airports").pl()
        carriers = conn.sql("select carrier_code from dim_carriers").pl()
    manifest, frames = build_snapshot(
        flights, weather, planes, airports, carriers, config.days_back, config.days_ahead
    )
    path = write_snapshot(online.snapshots, manifest, frames)
    return dg.MaterializeResult(
        metadata={
            "as_of": manifest.as_of,
            "serves_days": f"{manifest.first_day} … {manifest.last_day}",
            "path": dg.MetadataValue.path(str(path)),
            **{f"{name}_rows": rows for name, rows in manifest.rows.items()},
        }
    )
