"""What every station of a model line shares: partitions by segment, keys, asset arguments."""

import dagster as dg

from factory_assets.execution import warehouse_step
from factory_assets.lib.model_line import ModelLine

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
