"""<model>_drift_report: a day's inputs and predictions against each champion's reference."""

import dagster as dg

from factory_assets.components.model_line.common import judge_periods, period_monitor, periods
from factory_assets.lib.drift_period import DriftError, judge_drift
from factory_assets.lib.model_line import ModelLine
from factory_assets.resources import ReportStore, TrackingStore, Warehouse

DRIFT_CHECK = "drift_within_threshold"
_VALUES = {  # the judgement's plain values that Dagster shows as more than text
    "report": dg.MetadataValue.path,
    "report_url": dg.MetadataValue.url,
    "columns": dg.MetadataValue.md,
}


def build_drift_report(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The daily ``<model>_drift_report`` asset of ``line`` with its blocking-free check."""
    key = line.asset("drift_report")
    check = dg.AssetCheckSpec(
        DRIFT_CHECK,
        asset=key,
        partitions_def=periods(line),
        description="The largest drift score of a model input, or of a numeric input's residual "
        "given the others (standardised by its scores on reference windows), over the trailing "
        f"{spec.monitoring.drift.window} period(s) stays at or under its threshold, calibrated on "
        f"the champion's own training windows (alpha {spec.monitoring.drift.alpha}), for every "
        "model serving the period.",
    )

    @period_monitor(
        spec,
        line,
        "drift_report",
        check,
        deps=[line.predictions, line.features],
        kinds={"evidently", "duckdb"},
        description=(
            f"Drift of the {line.name} inputs and predictions of the trailing "
            f"{spec.monitoring.drift.window} period(s) from the champion's training data. "
            "Per-column verdicts are Evidently's (normed Wasserstein / Jensen-Shannon) computed "
            "exactly from a profile of the reference, at a cost flat in history; their mean "
            "score is judged against the (1 - alpha) quantile of the reference's own windows "
            "(cached per champion). The Evidently DataDriftPreset HTML report is saved and "
            f"linked. Table {line.drift_table}. Also records the performance estimated before "
            "labels (binary, multiclass). A run over several periods judges each on its own."
        ),
    )
    def _drift(
        context: dg.AssetExecutionContext,
        config: config_cls,
        duckdb: Warehouse,
        tracking: TrackingStore,
        reports: ReportStore,
    ):  # noqa: ANN202 (yields each day's materialization and check evaluation)
        batches = (
            sorted(context.instance.get_dynamic_partitions(line.batches)) if line.batches else None
        )
        yield from judge_periods(
            context,
            line,
            DRIFT_CHECK,
            lambda key: _drift_period(key, line, config, duckdb, tracking, reports, batches),
        )

    return _drift


def _drift_period(key: str, line: ModelLine, *resources) -> tuple:  # noqa: ANN002
    """One period's drift (``judge_drift``) as Dagster metadata; a DriftError fails the step."""
    try:
        metadata, passed, verdict = judge_drift(key, line, *resources)
    except DriftError as err:
        raise dg.Failure(str(err)) from err
    return {k: _VALUES[k](v) if k in _VALUES else v for k, v in metadata.items()}, passed, verdict
