"""Ingest assets of landing source specs: validate landing files, quarantine bad rows.

``build_ingest_asset`` makes ``raw_<source>`` from a SourceSpec (lib/specs/source.py): one
partition of the source's calendar per landing file, one dynamic partition per batch file, or one
snapshot swapped in whole. The
LandingSource component (landing_source.py) calls it for every ``defs/ingest/<source>/defs.yaml``.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from factory_assets.execution import warehouse_step
from factory_assets.lib.ingest import LandingFileError, ValidatedFile, validate
from factory_assets.lib.markdown import markdown_table
from factory_assets.lib.specs.source import SourceSpec
from factory_assets.lib.warehouse import replace_partitions, replace_tables
from factory_assets.metadata import table_metadata
from factory_assets.partitions import batches_for, partitions_for
from factory_assets.resources import LandingZone, Warehouse

KINDS = {"polars", "duckdb"}  # and the source's file_format


def build_ingest_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The ingest asset of a spec: a partition per period or batch, or one snapshot."""
    if spec.calendar is not None:
        return _periodic_asset(spec)
    if spec.batched:
        return _batch_asset(spec)
    return _snapshot_asset(spec)


def _landing_dir(landing: LandingZone) -> Path:
    """The landing zone's folder: the source specs' paths are below it."""
    return Path(landing.root) / "landing"


def _stamped(frame: pl.DataFrame, loaded_at: dt.datetime, **columns) -> pl.DataFrame:
    extra = [pl.lit(value).alias(name) for name, value in columns.items()]
    return frame.with_columns(*extra, pl.lit(loaded_at).alias("_loaded_at"))


def _quarantine_summary(quarantine: pl.DataFrame) -> dg.MetadataValue:
    top = (
        quarantine.group_by("reason").len("rows").sort("rows", descending=True).head(10)
        if quarantine.height
        else pl.DataFrame({"reason": ["(none)"], "rows": [0]})
    )
    return dg.MetadataValue.md(markdown_table(["reason", "rows"], top.iter_rows()))


def _fail_unusable(errors: list[str], total: int) -> None:
    """Raise a Failure naming every unusable file; nothing has been written at this point."""
    if errors:
        raise dg.Failure(
            description=(
                f"{len(errors)} of {total} landing files are unusable; nothing was written, "
                f"the warehouse is as it was. First: {errors[0]}"
            ),
            metadata={"unusable_files": dg.MetadataValue.md("\n".join(f"- {e}" for e in errors))},
            allow_retries=False,
        )


def _result(
    conn, table: str, validated: list[ValidatedFile], good: pl.DataFrame, quarantine: pl.DataFrame
) -> dg.MaterializeResult:
    extra = sorted({name for v in validated for name in v.extra_columns})
    return dg.MaterializeResult(
        metadata={
            **table_metadata(conn, table),
            # per-partition count only when the run wrote one partition; else the range's total
            ("dagster/partition_row_count" if len(validated) == 1 else "rows_loaded"): good.height,
            "quarantined_rows": quarantine.height,
            "quarantine_table": f"{table}_quarantine",
            "quarantine_reasons": _quarantine_summary(quarantine),
            "extra_columns_ignored": ", ".join(extra) or "(none)",
        }
    )


def _asset_args(spec: SourceSpec) -> dict:
    """What every ingest asset declares: group, kinds, owners, pool, retries, pod size."""
    return {
        "name": f"raw_{spec.name}",
        "description": spec.description,
        "group_name": "ingest",
        "kinds": KINDS | {spec.schema.file_format},
        "owners": list(spec.owners),
        **warehouse_step(),
    }


def _load_files(context, duckdb: Warehouse, spec: SourceSpec, files: list, column: str):  # noqa: ANN001, ANN202
    """Validate every file of the run, then replace exactly its partitions (and quarantine).

    ``files``: (partition value, path, period the rows describe or None) per partition; the
    value goes to ``column`` of every good and quarantined row. Nothing is written unless every
    file is usable.
    """
    table, schema = f"raw_{spec.name}", spec.schema
    validated, errors = [], []
    for value, path, described in files:
        try:
            validated.append((value, path, validate(path, schema, described)))
        except LandingFileError as err:
            errors.append(f"{value}: {err}")
    _fail_unusable(errors, len(files))
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    good = pl.concat(
        [
            _stamped(v.good, loaded_at, **{column: x, "_source_file": str(p)})
            for x, p, v in validated
        ]
    )
    # quarantined rows go to the partition of their file, as the good rows do (a batch has no
    # date: validate's _partition_date column is dropped for it)
    undated = [] if column == "_partition_date" else ["_partition_date"]
    quarantine = pl.concat(
        [_stamped(v.quarantine.drop(undated), loaded_at, **{column: x}) for x, _, v in validated]
    )
    for name in sorted({n for _, _, v in validated for n in v.extra_columns}):
        context.log.warning(f"{table}: column {name!r} is not in the contract; ignored")
    with duckdb.get_connection() as conn:
        writes = [(table, good), (f"{table}_quarantine", quarantine)]
        replace_partitions(conn, writes, column, [value for value, _, _ in files])
        return _result(conn, table, [v for _, _, v in validated], good, quarantine)


def _periodic_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """``raw_<source>``: one partition per landing file (period), replaced exactly on re-runs.

    A run over a range of periods (single-run backfill) validates every file first and writes
    nothing unless all are usable. ``_partition_date`` is the first day of the file's period;
    its rows describe the period ``lag`` periods before.
    """

    @dg.asset(
        **_asset_args(spec),
        partitions_def=partitions_for(spec.calendar),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _asset(
        context: dg.AssetExecutionContext, duckdb: Warehouse, landing: LandingZone
    ) -> dg.MaterializeResult:
        periods = [spec.period(key) for key in context.partition_keys]
        files = [
            (p.first_day, spec.landing_file(_landing_dir(landing), p), spec.described(p))
            for p in periods
        ]
        return _load_files(context, duckdb, spec, files, "_partition_date")

    return _asset


def _batch_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """``raw_<source>``: one dynamic partition per batch file, replaced exactly on re-runs.

    The rows carry ``_batch`` (the batch key) where periodic ones carry ``_partition_date``; a
    run over several batches validates every file first and writes nothing unless all are usable.
    """

    @dg.asset(
        **_asset_args(spec),
        partitions_def=batches_for(spec.dataset),
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _asset(
        context: dg.AssetExecutionContext, duckdb: Warehouse, landing: LandingZone
    ) -> dg.MaterializeResult:
        landing_dir = _landing_dir(landing)
        files = [(b, spec.batch_file(landing_dir, b), None) for b in context.partition_keys]
        return _load_files(context, duckdb, spec, files, "_batch")

    return _asset


def _snapshot_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """``raw_<source>``: the latest snapshot, swapped in whole."""
    table, schema = f"raw_{spec.name}", spec.schema

    @dg.asset(**_asset_args(spec))
    def _asset(duckdb: Warehouse, landing: LandingZone) -> dg.MaterializeResult:
        path = spec.landing_file(_landing_dir(landing))
        try:
            validated = validate(path, schema)
        except LandingFileError as err:
            _fail_unusable([str(err)], 1)
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        good = _stamped(validated.good, loaded_at, _source_file=str(path))
        quarantine = _stamped(validated.quarantine, loaded_at)
        with duckdb.get_connection() as conn:
            replace_tables(conn, [(table, good), (f"{table}_quarantine", quarantine)])
            return _result(conn, table, [validated], good, quarantine)

    return _asset
