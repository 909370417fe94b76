"""The ``monitoring:`` fields of a model spec: drift, performance and retraining."""

from typing import Literal

import dagster as dg
import pydantic


def spec_field(default: object = ..., text: str = "", **constraints: object) -> object:
    """A field with its description (shown by ``dg docs``, ``dg utils inspect-component``)."""
    if isinstance(default, list):
        return pydantic.Field(
            default_factory=lambda: list(default), description=text, **constraints
        )
    return pydantic.Field(default, description=text, **constraints)


_f = spec_field


class DriftSpec(dg.Model):
    """Drift check on a window of recent periods, with a threshold calibrated on the reference.

    The window statistic is the largest standardised drift score over the inputs and
    (``relations``) each numeric input's residual given the others: log(score / its median on
    reference windows) over that log's spread on them. Its null distribution comes from windows
    of as many periods cut from the champion's own training data, and the check fails above its
    (1 - alpha) quantile.
    """

    window: int = _f(7, "Periods (or batches) ending with the judged one that are judged "
                     "together.", ge=1, le=366)  # fmt: skip
    alpha: float = _f(
        0.01,
        "False-alarm rate per period: the check fails above the (1 - alpha) quantile of the "
        "reference's own windows.",
        gt=0.0,
        lt=0.5,
    )
    max_drifted_share: float | None = _f(
        None,
        "Optional extra bound: also fail when the share of drifted inputs exceeds it.",
        ge=0.0,
        le=1.0,
    )
    column_threshold: float = _f(0.1, "Evidently's per-column drift threshold.", ge=0.0, le=1.0)
    relations: bool = _f(
        True,
        "Also watch each numeric input's residual given the other inputs (LightGBM models "
        "cross-fitted on the reference): a shift that breaks how inputs go together (a "
        "thermometer reading high, the dew point not) while each stays in its usual range.",
    )
    html_report: Literal["always", "drifted", "never"] = _f(
        "always", "When to save Evidently's HTML report."
    )
    ignore: list[str] = _f([], "Inputs left out of drift (calendar inputs drift by design).")


class PerformanceSpec(dg.Model):
    """Performance check on labelled served predictions, with intervals and a sequential test."""

    floors: dict[str, float] | None = _f(
        None,
        "Served metric -> bound (a floor, or a ceiling for brier, log_loss, rmse, mae). "
        "Default: the gate's floors.",
    )
    min_rows: int = _f(100, "Fewest labelled rows a verdict needs.", ge=0)
    window: int = _f(1, "Periods judged together at most when one has under min_rows.",
                     ge=1, le=366)  # fmt: skip
    alpha: float = _f(
        0.05,
        "Level of the sequential test over the champion's periods (anytime-valid: the chance "
        "it ever rejects a model that meets its floors is at most alpha).",
        gt=0.0,
        lt=0.5,
    )


class RetrainSpec(dg.Model):
    """Cool-down between retrains, the windows a retrain uses (data days) and its signals."""

    cooldown_days: int = _f(
        21,
        "Data days after a retrain before the next may start (batches, for a model without "
        "data.date).",
        ge=0,
    )
    train_days: int = _f(90, "Training window of a retrain.", ge=1)
    val_days: int = _f(14, "Validation days of a retrain.", ge=1)
    holdout_days: int = _f(14, "Holdout days of a retrain: the newest labelled ones.", ge=1)
    every_days: int = _f(
        0,
        "A scheduled retrain once this many data days (batches, for a model without data.date) "
        "have been judged since the last retrain, or since the first judged one; 0: none. "
        "Independent of the signals below and of the cool-down.",
        ge=0,
    )
    on_drift: bool = _f(True, "A failed drift check retrains.")
    on_performance: bool = _f(True, "A failed performance check retrains.")
    on_estimate: bool = _f(
        False,
        "An estimate before labels (binary, multiclass) past a performance bound retrains.",
    )


class MonitoringSpec(dg.Model):
    """Drift, performance and retraining settings."""

    drift: DriftSpec = _f(DriftSpec(), "Drift check.")
    performance: PerformanceSpec = _f(PerformanceSpec(), "Performance check.")
    retrain: RetrainSpec = _f(RetrainSpec(), "What a failed check's retrain uses.")
