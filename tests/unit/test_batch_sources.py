"""Batch sources (``grain: batch``): their rules, their landed batches and their datasets."""

import copy
from pathlib import Path

import pytest

from factory_assets.lib.ingest import validate
from factory_assets.lib.sources import datasets
from factory_assets.lib.specs.errors import SpecError
from factory_assets.specs import shipped_datasets
from tests.unit.test_source_specs import expect_broken, parse_spec

CUSTOMERS = {
    "name": "customers",
    "description": "Customer records as a CRM exports them, one file per batch.",
    "dataset": "crm",
    "grain": "batch",
    "path": "crm/customers_{batch}.csv",
    "columns": {"customer_id": "string", "tenure_months": "int32", "churned": "bool"},
    "primary_key": ["customer_id"],
    "required": ["customer_id"],
    "ranges": {"tenure_months": {"min": 0, "max": 1200}},
    "lag": 1,
}


def _broken(**changes: object) -> dict:
    attributes = copy.deepcopy(CUSTOMERS)
    for key, value in changes.items():
        if value is None:
            attributes.pop(key)
        else:
            attributes[key] = value
    return attributes


def test_a_batch_spec_names_its_files_by_batch(tmp_path: Path) -> None:
    spec = parse_spec(CUSTOMERS, tmp_path / "defs.yaml")
    assert (spec.grain, spec.batched, spec.calendar, spec.lag) == ("batch", True, None, 1)
    assert spec.landing_file(tmp_path, "2024-w01") == tmp_path / "crm/customers_2024-w01.csv"
    with pytest.raises(ValueError, match="names no batch"):
        spec.batch_file(tmp_path, "a/b")


def test_landed_batches_are_the_files_that_name_one_sorted_by_key(tmp_path: Path) -> None:
    spec = parse_spec(CUSTOMERS, tmp_path / "defs.yaml")
    for name in ("customers_10.csv", "customers_02.csv", "customers_a.b-c_1.csv", "other_03.csv"):
        (tmp_path / "crm").mkdir(exist_ok=True)
        (tmp_path / "crm" / name).write_text("x\n")
    (tmp_path / "crm" / "customers_.csv").write_text("x\n")  # an empty key names no batch
    (tmp_path / "crm" / "customers_03.csv").mkdir()  # a folder is no file
    assert spec.landed_batches(tmp_path) == ["02", "10", "a.b-c_1"]


def test_a_batch_file_is_validated_without_period_rules(tmp_path: Path) -> None:
    spec = parse_spec(CUSTOMERS, tmp_path / "defs.yaml")
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,tenure_months,churned\nc1,12,true\nc2,-1,false\nc1,3,false\n")
    result = validate(path, spec.schema)
    assert result.good.rows() == [("c1", 12, True)]
    assert result.quarantine["reason"].to_list() == [
        "tenure_months: -1 outside [0, 1200]",
        "duplicate of line 2 on primary key ['customer_id']",
    ]


def test_a_batched_dataset_lands_the_batches_every_source_has(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    labels = {**CUSTOMERS, "name": "customer_labels", "path": "crm/labels_{batch}.csv"}
    specs = [parse_spec(attributes, tmp_path) for attributes in (CUSTOMERS, labels)]
    (landing / "crm").mkdir(parents=True)
    for name in ("customers_01.csv", "customers_02.csv", "labels_01.csv"):
        (landing / "crm" / name).write_text("x\n")
    dataset = datasets(specs)["crm"]
    assert (dataset.calendar, dataset.partitioned, dataset.periodic) == (None, True, ())
    assert {s.name for s in dataset.batched} == {"customers", "customer_labels"}
    assert dataset.partitions_name == "crm_batches"
    assert dataset.landed_batches(landing) == ["01"]
    assert dataset.newest_batch(landing) == "01"


def test_a_dataset_is_periodic_or_batched_never_both(tmp_path: Path) -> None:
    daily = {
        **CUSTOMERS,
        "name": "customer_events",
        "grain": "daily",
        "start": "2024-01-01",
        "path": "crm/events_{date}.csv",
    }
    specs = [parse_spec(attributes, tmp_path) for attributes in (CUSTOMERS, daily)]
    with pytest.raises(SpecError, match="allowed: batch sources and periodic sources in"):
        datasets(specs)


def test_the_shipped_screenings_are_a_batched_dataset() -> None:
    dataset = shipped_datasets()["screenings"]
    assert [s.name for s in dataset.batched] == ["screenings"]
    assert dataset.calendar is None


BAD_SPECS = {
    "batch path without {batch}": (
        _broken(path="crm/customers.csv"),
        "path",
        "allowed: a path with {batch} once and no other placeholder",
    ),
    "batch path with a date too": (
        _broken(path="crm/{date}/customers_{batch}.csv"),
        "path",
        "allowed: a path with {batch} once and no other placeholder",
    ),
    "batch path naming the batch twice": (
        _broken(path="crm/{batch}/customers_{batch}.csv"),
        "path",
        "allowed: a path with {batch} once and no other placeholder",
    ),
    "periodic path with a batch": (
        _broken(grain="daily", start="2024-01-01", path="crm/{date}_{batch}.csv"),
        "path",
        "names a batch, but the source is daily; allowed: {batch} only on a batch source",
    ),
    "start on a batch source": (
        _broken(start="2024-01-01"),
        "start",
        "a batch source has no periods; allowed: unset",
    ),
    "end on a batch source": (
        _broken(end="2024-01-01"),
        "end",
        "a batch source has no periods; allowed: unset",
    ),
    "period_column on a batch source": (
        _broken(columns={**CUSTOMERS["columns"], "seen_on": "date"}, period_column="seen_on"),
        "period_column",
        "a batch source has no period; allowed: unset",
    ),
    "date_columns on a batch source": (
        _broken(
            columns={**CUSTOMERS["columns"], "y": "int32", "m": "int32", "d": "int32"},
            date_columns=["y", "m", "d"],
        ),
        "date_columns",
        "a batch source has no file period; allowed: unset",
    ),
    "negative lag": (_broken(lag=-1), "lag", "-1 is impossible; allowed: >= 0"),
}


@pytest.mark.parametrize("case", list(BAD_SPECS))
def test_a_broken_batch_rule_names_the_file_the_field_and_what_is_allowed(
    case: str, tmp_path: Path
) -> None:
    attributes, field, allowed = BAD_SPECS[case]
    expect_broken(attributes, tmp_path / "customers" / "defs.yaml", field, allowed)
