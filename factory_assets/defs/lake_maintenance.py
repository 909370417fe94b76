"""``lake_maintenance``: the housekeeping job (lib/lake_maintenance.py) and its schedule.

Daily writes leave a snapshot and small Parquet files each; the job expires old snapshots (but
those registered model versions were trained and evaluated on), rewrites files with many deleted
rows, merges small files and deletes the files no snapshot needs any more, with DuckLake's own
functions. Beside it, the report store lets go of the drift caches of model versions no longer
served (lib/report_retention.py).
"""

import datetime as dt
from pathlib import Path

import dagster as dg

from factory_assets.execution import warehouse_step
from factory_assets.lib.lake_maintenance import maintain
from factory_assets.lib.registry import registered_snapshots
from factory_assets.lib.report_retention import kept_versions, prune
from factory_assets.resources import ReportStore, TrackingStore, Warehouse


class Retention(dg.Config):
    """When snapshots expire, let-go files are deleted and files with deleted rows rewritten."""

    expire_older_than_days: float = 7.0
    # a query may still read a file merged away or of an expired snapshot: give it time
    cleanup_older_than_hours: float = 12.0
    # a file with this share of its rows deleted is written again without them
    rewrite_delete_threshold: float = 0.25


_STEP = warehouse_step()


@dg.op(
    pool=_STEP.get("pool"),
    retry_policy=_STEP["retry_policy"],
    tags=_STEP["op_tags"],
    out=dg.Out(dict, description="what the pass did: files, bytes, snapshots"),
)
def maintain_lake(
    context: dg.OpExecutionContext,
    config: Retention,
    duckdb: Warehouse,
    tracking: TrackingStore,
) -> dg.Output:
    """Expire old snapshots (keeping registered versions'), rewrite, merge, clean up."""
    keep = registered_snapshots(tracking.registry())
    done = maintain(
        duckdb.lake(),
        keep,
        expire_older_than=dt.timedelta(days=config.expire_older_than_days),
        cleanup_older_than=dt.timedelta(hours=config.cleanup_older_than_hours),
        delete_threshold=config.rewrite_delete_threshold,
    )
    context.log.info(
        f"{duckdb.lake().label()}: {done.files_before} -> {done.files_after} files, "
        f"{done.bytes_before} -> {done.bytes_after} bytes, "
        f"{len(done.snapshots_expired)} snapshots expired, {len(keep)} kept for models"
    )
    figures = done.metadata()
    metadata = {k: v for k, v in figures.items() if isinstance(v, int)}
    metadata |= {
        "snapshots_expired_count": len(done.snapshots_expired),
        "snapshots_kept": dg.MetadataValue.json(done.snapshots_kept),
        "registered_snapshots": dg.MetadataValue.json(sorted(keep)),
        "bytes_after_mb": round(done.bytes_after / 1e6, 2),
    }
    return dg.Output(figures, metadata=metadata)


class ReportRetention(dg.Config):
    """Which model versions keep their drift caches in the report store."""

    # besides every version with an alias (champion, challenger): the newest of each model
    newest_versions: int = 3


@dg.op(out=dg.Out(list, description="the cache files deleted"))
def prune_reports(
    context: dg.OpExecutionContext,
    config: ReportRetention,
    tracking: TrackingStore,
    reports: ReportStore,
) -> dg.Output:
    """Delete the drift caches of versions neither aliased nor among their model's newest."""
    kept = kept_versions(tracking.registry(), config.newest_versions)
    deleted = prune(Path(reports.root), kept)
    context.log.info(f"{len(deleted)} cache files of versions no longer served deleted")
    metadata = {
        "files_deleted": len(deleted),
        "versions_kept": dg.MetadataValue.json({k: sorted(v) for k, v in sorted(kept.items())}),
    }
    return dg.Output([str(p) for p in deleted], metadata=metadata)


@dg.job(
    description=(
        "Housekeeping of the DuckLake warehouse: expire snapshots older than a week (never "
        "those a registered model version points to), rewrite files with many deleted rows, "
        "merge small files, delete the files no snapshot needs. Files and bytes on disk before "
        "and after are in the step's metadata. Beside it, the report store deletes the drift "
        "caches of model versions neither aliased nor among their model's newest."
    )
)
def lake_maintenance() -> None:
    """Two ops: DuckLake's expire, rewrite, merge and cleanup functions; the reports' retention."""
    maintain_lake()
    prune_reports()


lake_maintenance_schedule = dg.ScheduleDefinition(
    name="lake_maintenance_schedule",
    job=lake_maintenance,
    cron_schedule="0 3 * * *",  # daily, before the line's daily runs (06:00)
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,  # as the lines' schedules
    description="Run lake_maintenance every night.",
)
