"""A model without data.date: its key-hash split, its batches, its rules and its retrains."""

import copy
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from factory_assets.components.model_line.automation import retrain_request
from factory_assets.components.model_line.configs import configs
from factory_assets.components.model_spec import MANIFEST, ModelSpec
from factory_assets.lib import monitoring as mon
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.model_line import SPLIT_DAY, Split, split_bucket
from factory_assets.lib.specs.errors import SpecError, validated

SHIPPED = Path(__file__).resolve().parents[2] / "factory_assets/defs/models/malignancy/defs.yaml"
ATTRIBUTES = yaml.safe_load(SHIPPED.read_text())["attributes"]
FAILURE = mon.CheckFailure("05", "drift_within_threshold", "drifted share 0.80")


def _spec(**changes: object) -> ModelSpec:
    """The shipped malignancy spec with ``changes`` (``data__date`` = data.date; None drops)."""
    attributes = copy.deepcopy(ATTRIBUTES)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = attributes
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return validated(ModelSpec, attributes, lambda path: "malignancy.yaml")


def _line(spec: ModelSpec):  # noqa: ANN202
    return spec.line(Path("malignancy.yaml"), warehouse_tables(MANIFEST))


def test_the_split_is_whole_percent_windows_of_virtual_days() -> None:
    assert Split(15, 15).windows() == {
        "train_start": "2000-01-01",
        "train_end": "2000-03-10",  # day 69: 70 % trains
        "val_days": 15,
        "holdout_start": "2000-03-26",  # day 85
        "holdout_end": "2000-04-09",  # day 99
    }
    assert split_bucket("s0001", 13) == split_bucket("s0001", 13) != split_bucket("s0001", 14)


def test_the_shipped_spec_is_a_batched_model_on_its_split() -> None:
    spec = _spec()
    line = _line(spec)
    assert (line.dataset, line.batches, line.calendar) == ("screenings", "screenings_batches", None)
    assert line.columns.date == SPLIT_DAY and line.split == Split(15, 15, 13)
    assert line.partition_column == "_batch"
    assert SPLIT_DAY in line.labelled_sql() and "md5(cast(f.screening_id" in line.labelled_sql()
    training = configs(spec)["training"]().model_dump()
    assert (training["train_start"], training["train_end"], training["val_days"]) == (
        "2000-01-01",
        "2000-03-10",
        15,
    )
    holdout = configs(spec)["holdout"]().model_dump()
    assert (holdout["holdout_start"], holdout["holdout_end"]) == ("2000-03-26", "2000-04-09")


def test_batch_n_judges_the_batch_label_lag_before_it() -> None:
    line = _line(_spec(data__label_lag=1))
    batches = ["03", "01", "02", "04"]
    assert line.judged_batches(batches, "01") == []
    assert line.judged_batches(batches, "04") == ["03"]
    assert line.judged_batches(batches, "04", window=2) == ["02", "03"]
    assert line.judged_batches(batches, "02", window=3) == ["01"]


BAD = {
    "a date window without data.date": (
        {"training__train_start": "2000-01-01"},
        "training.train_start: set, but the model has no data.date",
    ),
    "a holdout without data.date": (
        {"evaluation__holdout_end": "2000-01-01"},
        "evaluation.holdout_end: set, but the model has no data.date",
    ),
    "a split that leaves too little to train": (
        {"training__split": {"val": 30, "holdout": 30}},
        "training.split: val 30 % and holdout 30 % are impossible; allowed: each >= 1, "
        "together <= 50",
    ),
    "a dated model on a batched dataset": (
        {
            "data__date": "_batch",
            "training__split": None,
            "training__train_start": "2000-01-01",
            "training__train_end": "2000-03-01",
            "evaluation__holdout_start": "2000-03-20",
            "evaluation__holdout_end": "2000-04-01",
        },
        "data.date: screenings is batched: it has no time axis",
    ),
    "a batch column the table lacks": (
        {"data__batch_column": "batch_no"},
        "data.batch_column: 'batch_no' is not a column of ml_screening_features",
    ),
    "a schedule on a batched model": (
        {"schedule": {"cron": "0 6 * * *"}},
        "schedule: screenings is batched",
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_broken_batch_rule_names_the_field(case: str) -> None:
    changes, message = BAD[case]
    with pytest.raises(SpecError, match=re.escape(message)):
        _line(_spec(**changes))


def test_a_model_without_a_date_on_a_periodic_dataset_is_refused() -> None:
    spec = ModelSpec.model_validate(
        {
            "name": "late_anyway",
            "description": "late arrivals without a date",
            "data": {
                "features": "flight_features",
                "key": "flight_id",
                "label": "is_late",
                "labels_from": "fct_flights",
                "numeric": ["sched_hour"],
            },
        }
    )
    with pytest.raises(SpecError, match="data.date: omitted, but nycflights is periodic"):
        spec.line(Path("late.yaml"), warehouse_tables(MANIFEST))


def test_a_dated_model_refuses_a_split_and_needs_its_windows() -> None:
    dated = {
        "name": "late",
        "description": "late arrivals",
        "data": {
            "features": "flight_features",
            "key": "flight_id",
            "date": "flight_date",
            "label": "is_late",
            "labels_from": "fct_flights",
            "numeric": ["sched_hour"],
        },
        "training": {"train_start": "2013-01-01", "train_end": "2013-03-31"},
        "evaluation": {"holdout_start": "2013-04-15", "holdout_end": "2013-04-30"},
    }
    split = copy.deepcopy(dated)
    split["training"]["split"] = {"val": 10, "holdout": 10}
    with pytest.raises(SpecError, match="training.split: set, but the model has data.date"):
        validated(ModelSpec, split, lambda path: "late.yaml")
    missing = copy.deepcopy(dated)
    del missing["evaluation"]["holdout_end"]
    with pytest.raises(SpecError, match="evaluation.holdout_end: missing; a model with data"):
        validated(ModelSpec, missing, lambda path: "late.yaml")


def test_a_retrain_keeps_the_split_and_names_its_batch() -> None:
    line = _line(_spec())
    request = retrain_request(line, "malignancy", FAILURE, "drift", {"cooldown_days": 2})
    ops = request.run_config["ops"]
    assert ops["malignancy_model"]["config"] == {
        "train_start": "2000-01-01",
        "train_end": "2000-03-10",
        "val_days": 15,
    }
    assert ops["malignancy_package"]["config"] == {
        "holdout_start": "2000-03-26",
        "holdout_end": "2000-04-09",
    }
    assert request.tags["factory/trigger_day"] == "05"
    assert request.run_key == "malignancy-retrain-05"


def test_the_cool_down_of_a_batched_model_counts_batches() -> None:
    order = ["01", "02", "03", "04", "05"]

    def elapsed(later: str, earlier: str) -> int:
        return order.index(later) - order.index(earlier)

    failures = [FAILURE]
    cooling = mon.decide_retrain(failures, False, "04", 2, elapsed)
    assert not cooling.retrain and "next allowed 2 batches after it" in cooling.reason
    assert mon.decide_retrain(failures, False, "03", 2, elapsed).retrain
    dated = mon.CheckFailure(dt.date(2013, 6, 10), "drift_within_threshold", "x")
    daily = mon.decide_retrain([dated], False, dt.date(2013, 6, 1), 14)
    assert daily.reason == "cool-down: last retrain on 2013-06-01, next allowed 2013-06-15"
