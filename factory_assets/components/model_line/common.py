"""What every station of a model line shares: partitions by segment, keys, asset arguments."""

from collections.abc import Iterator

import dagster as dg

from factory_assets.execution import warehouse_step
from factory_assets.lib.model_line import ModelLine
from factory_assets.partitions import batches_for, partitions_for
from factory_assets.private_api import check_target

RESULTS = "model_results"  # the IO manager of the stations' JSON results
SEGMENTED = "factory/segmented"


def segment_partitions(line: ModelLine) -> dg.StaticPartitionsDefinition | None:
    """One partition per segment value, or None for a single model."""
    return dg.StaticPartitionsDefinition(list(line.segments.values)) if line.segments else None


def segments_of(context: dg.AssetExecutionContext, line: ModelLine) -> list[str | None]:
    """The segments this run materializes ([None] for a single model)."""
    return list(context.partition_keys) if line.segments else [None]


def by_segment(value: dict, line: ModelLine) -> dict:
    """An upstream result keyed by segment (a single model's is keyed by None)."""
    return value if line.segments else {None: value}


def output(results: dict, line: ModelLine) -> object:
    """What the IO manager stores: per partition, or the single model's result."""
    return results if line.segments else results[None]


def station(spec, line: ModelLine, group: str, kinds: set[str], compute: str = "small") -> dict:  # noqa: ANN001
    """Asset arguments of a model-chain station (partitioned by segment when segmented)."""
    partitions = segment_partitions(line)
    return {
        "group_name": group,
        "kinds": kinds,
        "owners": list(spec.owners),
        "io_manager_key": RESULTS,
        "partitions_def": partitions,
        "backfill_policy": dg.BackfillPolicy.single_run() if partitions else None,
        # a job over days (factory_line) cannot also take segment partitions: it leaves these out
        "tags": {"factory/model": line.name, **({SEGMENTED: "true"} if partitions else {})},
        **warehouse_step(compute),
    }


def periods(line: ModelLine) -> dg.PartitionsDefinition:
    """The partitions of ``line``'s scoring and monitoring: its dataset's calendar or batches."""
    if line.batches:
        return batches_for(line.dataset)
    return partitions_for(line.calendar)


def period_tags(line: ModelLine, kind: str) -> dict[str, str]:
    """Tags of a per-period station: ``kind`` (scoring, monitoring) picks it for its job."""
    return {"factory/model": line.name, "factory/line": kind, "factory/dataset": line.dataset}


def period_monitor(spec, line: ModelLine, station: str, check: dg.AssetCheckSpec, **kwargs):  # noqa: ANN001, ANN003, ANN201
    """A monitoring asset whose run may cover a range of periods, each judged on its own.

    A multi_asset (its check output is optional) with a single-run backfill policy: the step
    yields, per period of its partitions, an AssetMaterialization and an AssetCheckEvaluation
    of that period, so a week is monitored in one run and each day keeps its own verdict.
    """
    key = line.asset(station)
    return dg.multi_asset(
        name=key,
        specs=[
            dg.AssetSpec(
                key,
                deps=kwargs.pop("deps"),
                description=kwargs.pop("description"),
                group_name="monitoring",
                kinds=kwargs.pop("kinds"),
                owners=list(spec.owners),
                tags=period_tags(line, "monitoring"),
                partitions_def=periods(line),
            )
        ],
        check_specs=[check],
        partitions_def=periods(line),
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        **warehouse_step(),
    )


def judge_periods(
    context: dg.AssetExecutionContext, line: ModelLine, check: str, judge
) -> Iterator:  # noqa: ANN001
    """Each partition of the step: ``judge(key)`` -> (metadata, passed, check metadata)."""
    asset_key = context.op_execution_context.assets_def.key
    check_key = dg.AssetCheckKey(asset_key, check)
    for partition in context.partition_keys:
        metadata, passed, check_metadata = judge(partition)
        if asset_key in context.selected_asset_keys:
            yield dg.AssetMaterialization(asset_key, partition=partition, metadata=metadata)
        if check_key not in context.selected_asset_check_keys:
            continue
        records = context.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key, asset_partitions=[partition]), limit=1
        ).records
        yield dg.AssetCheckEvaluation(
            asset_key=asset_key,
            check_name=check,
            passed=passed,
            metadata=check_metadata,
            target_materialization_data=check_target(records[0]) if records else None,
            severity=dg.AssetCheckSeverity.ERROR,
            blocking=False,
            partition=partition,
        )
