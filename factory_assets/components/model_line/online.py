"""<model>_online_snapshot: what the scoring service reads of the model, as Parquet files."""

import dagster as dg

from factory_assets.components.model_line.common import period_tags, periods
from factory_assets.execution import warehouse_step
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.online.contract import CONTRACT, Contract
from factory_assets.lib.online.functions import feature_function
from factory_assets.lib.online.lookup import build_lookup, ranges_sql, window_sql
from factory_assets.lib.online.snapshot import write_snapshot
from factory_assets.resources import OnlineStore, Warehouse


def snapshot_of(spec, line: ModelLine, conn, keys: list[str]) -> tuple:  # noqa: ANN001
    """The snapshot's manifest and frames as of the run's last period (``keys``)."""
    contract = Contract.of(spec, line)
    if contract.function:
        return contract, *feature_function(contract.function).build(conn, contract)
    params = {}
    if contract.date:
        params["end"] = line.params(keys)[1]
    table = conn.sql(window_sql(contract), params=params or None).pl()
    numbers = [c for c in contract.request if c in contract.numeric]
    ranges = {}
    if numbers:
        window = spec.windows()
        train = (window["train_start"], window["train_end"]) if contract.date else None
        found = conn.execute(ranges_sql(contract, numbers, train)).fetchone()
        ranges = {
            c: [float(found[2 * i]), float(found[2 * i + 1])]
            for i, c in enumerate(numbers)
            if found[2 * i] is not None
        }
    manifest, frames = build_lookup(table, contract, ranges)
    if line.batches and keys:  # a table without dates: as of the run's last batch
        manifest.as_of = max(keys)
    return contract, manifest, frames


def build_online_snapshot(spec, line: ModelLine) -> dg.AssetsDefinition:  # noqa: ANN001
    """The ``<model>_online_snapshot`` asset: a partition per period (batch), like scoring."""
    how = (
        f"rows made by the feature function {spec.online.function!r} from the warehouse"
        if spec.online.function
        else f"the newest row per {', '.join(spec.online.keys(spec.data.key))} of "
        f"{line.features}'s last {spec.online.days} days"
    )

    @dg.asset(
        name=f"{line.name}_online_snapshot",
        deps=[line.features],
        partitions_def=periods(line),
        backfill_policy=dg.BackfillPolicy.single_run(),
        group_name="serving",
        kinds={"polars", "parquet"},
        owners=list(spec.owners),
        tags=period_tags(line, "scoring"),
        description=(
            f"What the scoring service reads to serve {line.name} (POST /v1/models/{line.name}"
            f"/predict): {how}, as of the run's last period, with the model's request contract. "
            "Parquet, written whole, then made current by one atomic rename; never the live "
            "warehouse."
        ),
        **warehouse_step(),
    )
    def _snapshot(
        context: dg.AssetExecutionContext, duckdb: Warehouse, online: OnlineStore
    ) -> dg.MaterializeResult:
        with duckdb.get_connection() as conn:
            contract, manifest, frames = snapshot_of(spec, line, conn, list(context.partition_keys))
        path = write_snapshot(
            online.snapshots(line.name), manifest, frames, {CONTRACT: contract.text()}
        )
        return dg.MaterializeResult(
            metadata={
                "as_of": manifest.as_of,
                "path": dg.MetadataValue.path(str(path)),
                **{f"{name}_rows": frame.height for name, frame in frames.items()},
            }
        )

    return _snapshot
