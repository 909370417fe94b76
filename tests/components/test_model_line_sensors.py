"""What a model line's retrain asks for: windows, run config, segment partitions, its assets."""

import datetime as dt
from pathlib import Path

import dagster as dg

from factory_assets.components.model_line.automation import (
    RETRAIN_TAG,
    effective_policy,
    retrain_request,
)
from factory_assets.components.model_spec import MANIFEST, ModelSpec
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.monitoring import CheckFailure
from factory_assets.resources import RetrainPolicy

FAILURE = CheckFailure(dt.date(2013, 6, 10), "drift_within_threshold", "drifted share 0.80")


def _spec(**extra) -> ModelSpec:  # noqa: ANN003
    return ModelSpec.model_validate(
        {
            "name": "late_by_origin",
            "description": "per-origin late arrivals",
            "data": {
                "features": "flight_features",
                "key": "flight_id",
                "date": "flight_date",
                "label": "is_late",
                "labels_from": "fct_flights",
                "categorical": ["carrier"],
                "numeric": ["sched_hour"],
            },
            "training": {"train_start": "2013-01-01", "train_end": "2013-03-31"},
            "evaluation": {"holdout_start": "2013-04-15", "holdout_end": "2013-04-30"},
            "monitoring": {"retrain": {"cooldown_days": 7, "train_days": 30}},
            **extra,
        }
    )


def test_a_segment_model_retrains_its_own_partition_only() -> None:
    segments = {"column": "origin", "values": ["EWR", "JFK", "LGA"], "fallback": "flights"}
    spec = _spec(segments=segments)
    line = spec.line(Path("late_by_origin.yaml"), warehouse_tables(MANIFEST))
    policy = effective_policy(spec, RetrainPolicy())
    assert policy == {"cooldown_days": 7, "train_days": 30, "val_days": 14, "holdout_days": 14}
    request = retrain_request(line, "late_by_origin-JFK", FAILURE, "drift", policy)
    assert request.partition_key == "JFK"
    assert request.tags[RETRAIN_TAG] == "late_by_origin-JFK"
    ops = request.run_config["ops"]
    assert set(ops) == {
        "late_by_origin_model",
        "late_by_origin_evaluation",
        "late_by_origin_package",
    }
    train, holdout = ops["late_by_origin_model"]["config"], ops["late_by_origin_package"]["config"]
    assert holdout == {"holdout_start": "2013-05-27", "holdout_end": "2013-06-09"}
    first, last = (dt.date.fromisoformat(train[k]) for k in ("train_start", "train_end"))
    assert (last - first).days + 1 == 30 and last < dt.date(2013, 5, 27)


def test_the_environment_overrides_every_spec_and_a_single_model_has_no_partition() -> None:
    spec = _spec()
    line = spec.line(Path("late_by_origin.yaml"), warehouse_tables(MANIFEST))
    policy = effective_policy(spec, RetrainPolicy(train_days=3, cooldown_days=0))
    assert policy["train_days"] == 3 and policy["cooldown_days"] == 0
    request = retrain_request(line, "late_by_origin", FAILURE, "drift", policy)
    assert request.partition_key is None and request.tags[RETRAIN_TAG] == "late_by_origin"


def _retrain_keys(defs: dg.Definitions, name: str) -> set[str]:
    job = defs.resolve_job_def(f"retrain_{name}")
    return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}


def test_a_retrain_rebuilds_a_feature_table_but_not_a_dbt_view(defs: dg.Definitions) -> None:
    chain = {"model", "evaluation", "package"}
    assert _retrain_keys(defs, "cancellations") == {f"cancellations_{s}" for s in chain}
    assert "dbt view" in defs.resolve_job_def("retrain_cancellations").description
    assert _retrain_keys(defs, "flights") == {"flight_features", *(f"flights_{s}" for s in chain)}
    assert defs.resolve_job_def("retrain_flights").description.startswith("Rebuild flight_features")
