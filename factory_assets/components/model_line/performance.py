"""<model>_prediction_performance: served predictions judged once their labels have landed."""

import datetime as dt

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from factory_assets.components.model_line.common import daily_monitor, judge_days
from factory_assets.lib.model_line import ModelLine
from factory_assets.lib.warehouse import replace_partitions
from factory_assets.partitions import DAILY

PERFORMANCE_CHECK = "performance_above_floor"
# Partition T evaluates the rows of T - 1: their outcomes are delivered on T.
PREVIOUS_DAY = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


def day_rows(frame: pl.DataFrame, day: dt.date, landed: dt.date) -> pl.DataFrame:
    """One row per serving model: labelled rows, AUC, Brier, log loss, positive rate."""
    from factory_assets.lib.evaluation import binary_metrics

    rows = []
    for (name,), part in sorted(frame.partition_by("model_name", as_dict=True).items()):
        m = binary_metrics(part["label"].cast(pl.Int8).to_numpy(), part["probability"].to_numpy())
        rows.append(
            {
                "day": day,
                "labels_landed_on": landed,
                "model_name": name,
                "rows": part.height,
                "auc": m["auc"],
                "brier": m["brier"],
                "log_loss": m["log_loss"],
                "positive_rate": m["positive_rate"],
                "mean_prediction": m["mean_prediction"],
                "model_version": ",".join(sorted(set(part["model_version"].to_list()))),
            }
        )
    return pl.DataFrame(rows) if rows else pl.DataFrame()


def _verdicts(table: pl.DataFrame, config, line: ModelLine) -> tuple[list, list]:  # noqa: ANN001
    """(judged model names, failed details); models under ``min_rows`` are not judged."""
    judged, failed = [], []
    for row in table.iter_rows(named=True) if table.height else []:
        own = line.owns(row["model_name"])
        single_class = row["auc"] != row["auc"]  # NaN: the day had one outcome only
        if not own or row["rows"] < config.min_rows or single_class:
            continue
        judged.append(row["model_name"])
        if row["auc"] < config.min_auc or row["brier"] > config.max_brier:
            failed.append(
                f"{row['model_name']}: AUC {row['auc']:.3f} (floor {config.min_auc}), "
                f"Brier {row['brier']:.3f} (ceiling {config.max_brier})"
            )
    return judged, failed


def build_performance(spec, line: ModelLine, config_cls: type) -> dg.AssetsDefinition:  # noqa: ANN001
    """The daily ``<model>_prediction_performance`` asset of ``line`` with its check."""
    key = line.asset("prediction_performance")
    check = dg.AssetCheckSpec(
        PERFORMANCE_CHECK,
        asset=key,
        partitions_def=DAILY,
        description="AUC of the day's served predictions at or above the floor, Brier "
        "at or under the ceiling, once their labels have landed.",
    )

    @daily_monitor(
        spec,
        line,
        "prediction_performance",
        check,
        deps=[
            dg.AssetDep(line.predictions, partition_mapping=PREVIOUS_DAY),
            line.label_table,
            "raw_outcomes",
        ],
        kinds={"duckdb"},
        description=(
            f"AUC and Brier of the {line.name} predictions served for the day before. "
            "Partition T is computed when T's outcome delivery lands and judges the predictions "
            f"for T - 1 against what happened. One row per day and model in "
            f"{line.performance_table}. A run over several days judges each day on its own."
        ),
    )
    def _performance(context: dg.AssetExecutionContext, config: config_cls, duckdb: DuckDBResource):  # noqa: ANN202
        yield from judge_days(
            context,
            PERFORMANCE_CHECK,
            lambda landed: _performance_day(landed, line, config, duckdb),
        )

    return _performance


def _performance_day(landed: dt.date, line: ModelLine, config, duckdb: DuckDBResource) -> tuple:  # noqa: ANN001
    """Partition ``landed`` judges the day before: (metadata, passed, check metadata)."""
    day = landed - dt.timedelta(days=1)
    with duckdb.get_connection() as conn:
        frame = conn.sql(line.labelled_predictions_sql(), params=[day]).pl()
        table = day_rows(frame, day, landed)
        if table.height:
            replace_partitions(conn, [(line.performance_table, table)], "day", [day])
    judged, failed = _verdicts(table, config, line)
    first = table.row(0, named=True) if table.height else {}
    metadata = {
        line.columns.date: day.isoformat(),  # the day whose rows were served and are judged
        "labelled_rows": frame.height,
        "auc": first.get("auc", float("nan")),
        "brier": first.get("brier", float("nan")),
        "models": ", ".join(table["model_name"].to_list()) if table.height else "(none)",
        "model_version": first.get("model_version", "(none served)"),
    }
    detail = "; ".join(failed) or (
        f"{len(judged)} model(s) above the floor"
        if judged
        else f"only {frame.height} labelled predictions: not evaluated"
    )
    verdict = {
        "day": day.isoformat(),
        "evaluated": bool(judged),
        "detail": detail,
        "failed_models": ", ".join(f.split(":")[0] for f in failed) or "(none)",
    }
    return metadata, not failed, verdict
