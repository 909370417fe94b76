"""<model>_prediction_performance: served predictions judged once their labels have landed."""

import dagster as dg

from factory_assets.components.model_line.common import judge_periods, period_monitor, periods
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.performance import judge_batch, judge_period
from factory_assets.resources import Warehouse

PERFORMANCE_CHECK = "performance_above_floor"


def build_performance(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The daily ``<model>_prediction_performance`` asset of ``line`` with its check."""
    key = line.asset("prediction_performance")
    check = dg.AssetCheckSpec(
        PERFORMANCE_CHECK,
        asset=key,
        partitions_def=periods(line),
        description="The period's served predictions meet the floors (and ceilings) once their "
        "labels have landed: fails when a metric's 98 % interval (AUC: DeLong; others: "
        "bootstrap) lies entirely past its bound, or when the anytime-valid sequential test over "
        f"the champion's periods rejects (alpha {spec.monitoring.performance.alpha}); "
        "failed_by says which.",
    )
    lag = line.label_lag
    window = spec.monitoring.performance.window

    @period_monitor(
        spec,
        line,
        "prediction_performance",
        check,
        deps=[
            dg.AssetDep(line.predictions, partition_mapping=_earlier(line, lag, window)),
            line.label_table,
        ],
        kinds={"duckdb"},
        description=(
            f"The task's metrics, with 98 % intervals and the estimate before labels, of the "
            f"{line.name} predictions served {lag} period(s) before, "
            f"judged against their labels ({line.columns.label} from {line.label_table}), "
            f"which land {lag} period(s) late. When a period has fewer than min_rows labelled "
            f"rows, up to {window} period(s) ending with it are judged together. One row per "
            f"period and model in {line.performance_table}. A run over several periods judges "
            "each on its own."
        ),
    )
    def _performance(context: dg.AssetExecutionContext, config: config_cls, duckdb: Warehouse):  # noqa: ANN202
        if line.batches:
            batches = sorted(context.instance.get_dynamic_partitions(line.batches))
            judge = lambda key: judge_batch(key, batches, line, config, duckdb)  # noqa: E731
        else:
            judge = lambda key: judge_period(key, line, config, duckdb)  # noqa: E731
        yield from judge_periods(context, line, PERFORMANCE_CHECK, judge)

    return _performance


def _earlier(line: ModelLine, lag: int, window: int) -> dg.PartitionMapping | None:
    """The predictions a partition judges: ``lag`` periods (batches) back, ``window`` of them.

    Batches have no offsets: a batch judging earlier ones depends on all (lineage only).
    """
    if not line.batches:
        return dg.TimeWindowPartitionMapping(start_offset=-(lag + window - 1), end_offset=-lag)
    return dg.AllPartitionMapping() if lag or window > 1 else None
