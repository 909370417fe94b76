"""shadow_agreement: champion vs shadow-scored challenger, from the service's shadow logs."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from factory_assets.execution import warehouse_step
from factory_assets.lib.online.shadow import read_shadow_log, shadow_summary
from factory_assets.lib.warehouse import replace_tables
from factory_assets.metadata import table_metadata
from factory_assets.resources import OnlineStore


@dg.asset(
    deps=["fct_flights"],
    group_name="serving",
    kinds={"polars", "duckdb"},
    owners=["team:ml-platform"],
    **warehouse_step(),
)
def shadow_agreement(duckdb: DuckDBResource, online: OnlineStore) -> dg.MaterializeResult:
    """How often the shadow challenger agrees with the champion on live requests.

    One row per (model, champion version, challenger version): flights scored, agreement on
    the side of 0.5, mean and max absolute difference and, over flights whose outcome has
    landed in fct_flights, each model's AUC and Brier score on the same flights.
    """
    log = read_shadow_log(online.shadow)
    with duckdb.get_connection() as conn:
        labels = conn.sql(
            "select flight_id, is_late from fct_flights where is_late is not null"
        ).pl()
        summary = shadow_summary(log, labels)
        replace_tables(conn, [("shadow_agreement", summary)])
        metadata = table_metadata(conn, "shadow_agreement")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "shadow_rows": log.height,
            "labelled_rows": int(summary["labelled"].sum()) if summary.height else 0,
            "summary": dg.MetadataValue.md(_markdown(summary)),
        }
    )


def _markdown(summary) -> str:  # noqa: ANN001
    from factory_assets.lib.markdown import frame_table

    return frame_table(summary) if summary.height else "no shadow scoring logged yet"
