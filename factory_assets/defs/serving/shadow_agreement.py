"""shadow_agreement: champion vs shadow-scored challenger, from the service's shadow logs."""

import dagster as dg
import polars as pl

from factory_assets.execution import warehouse_step
from factory_assets.lib.online.contract import Contract
from factory_assets.lib.online.shadow import (
    SUMMARY_SCHEMA,
    read_shadow_log,
    shadow_summary,
)
from factory_assets.lib.online.snapshot import current_snapshot
from factory_assets.lib.tasks import Task
from factory_assets.lib.warehouse import replace_tables
from factory_assets.metadata import table_metadata
from factory_assets.resources import OnlineStore, Warehouse


def _labels(conn, contract: Contract, keys: list[str]) -> pl.DataFrame:  # noqa: ANN001
    """``key`` (text) and ``label`` of the logged rows whose label has landed."""
    sql = (
        f"select cast({contract.key} as varchar) as key, {contract.label} as label "  # noqa: S608
        f"from {contract.label_table} where {contract.label} is not null "
        f"and cast({contract.key} as varchar) in (select unnest($keys))"
    )
    return conn.sql(sql, params={"keys": keys}).pl()


@dg.asset(
    group_name="serving",
    kinds={"polars", "duckdb"},
    owners=["team:ml-platform"],
    **warehouse_step(),
)
def shadow_agreement(duckdb: Warehouse, online: OnlineStore) -> dg.MaterializeResult:
    """How often the shadow challenger agrees with the champion on live requests, per model.

    One row per (model, registered model, champion version, challenger version): rows scored,
    agreement by the task's decision (the same side of 0.5, the same class, values within 5 %),
    mean and max absolute difference and, over rows whose label (the spec's ``data.label``,
    from its contract in the model's online snapshot) has landed, each model's primary metric.
    """
    log = read_shadow_log(online.shadow)
    parts = []
    with duckdb.get_connection() as conn:
        for (model,), rows in log.partition_by("model", as_dict=True).items():
            snapshot = current_snapshot(online.snapshots(model))
            if snapshot is None:
                continue  # a model without a snapshot any more: nothing says what its label is
            contract = Contract.read(snapshot)
            labels = _labels(conn, contract, rows["key"].unique().to_list())
            task = Task(contract.task, tuple(contract.classes))
            parts.append(shadow_summary(rows, labels, task))
        summary = pl.concat(parts) if parts else pl.DataFrame(schema=SUMMARY_SCHEMA)
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
