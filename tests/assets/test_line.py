"""The line from landing files to flight_features, in process, on real files and a real dbt."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.checks import build_suite_check
from factory_assets.defs.quality.fct_flights_checks import (
    FCT_FLIGHTS_EXPECTATIONS,
    FCT_FLIGHTS_QUERY,
)
from factory_assets.examples.nycflights import lay_out_landing
from factory_assets.lib import lake
from factory_assets.lib.lake import copy_lake
from factory_assets.resources import Warehouse
from tests.conftest import LAST, LINE, run_assets

DISTANCE_0_6000 = {"column": "distance_mi", "min_value": 0, "max_value": 6000}
DBT = [key for key in LINE if not key.startswith("raw_") and key != "flight_features"]
SUITES = [
    dg.AssetCheckKey(dg.AssetKey(table), f"{table}_meets_suite")
    for table in ("fct_flights", "flight_features")
]


def _one(path: Path, sql: str) -> tuple:
    with lake.connect(path, read_only=True) as conn:
        return conn.execute(sql).fetchall()[0]


@pytest.fixture
def copy_of_built(built, warehouse) -> Path:  # noqa: ANN001
    copy_lake(built[0], warehouse)
    return warehouse


def test_the_line_builds_every_table_consistently(built) -> None:  # noqa: ANN001
    path, result = built
    assert result.success
    raw = _one(path, "select count(*) from raw_flights")[0]
    assert raw > 5000
    assert _one(path, "select count(*) from fct_flights")[0] == raw
    assert _one(path, "select count(*) from flight_features")[0] == raw
    assert _one(path, "select count(distinct flight_date) from fct_flights")[0] == 8
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert set(LINE) <= set(events)
    assert events["fct_flights"]["dagster/row_count"].value == raw
    columns = {c.name for c in events["fct_flights"]["dagster/column_schema"].value.columns}
    assert {"flight_id", "is_late", "is_cancelled", "flight_date"} <= columns


def test_dbt_tests_and_suites_ran_as_checks(built) -> None:  # noqa: ANN001
    checks = {e.asset_check_key.name: e for e in built[1].get_asset_check_evaluations()}
    assert checks["unique_fct_flights_flight_id"].passed
    assert checks["fct_flights_meets_suite"].passed
    assert checks["flight_features_meets_suite"].passed
    planes = next(v for k, v in checks.items() if k.startswith("relationships_fct_flights_tailnum"))
    assert not planes.passed and planes.severity == dg.AssetCheckSeverity.WARN


def test_is_late_and_is_cancelled_follow_the_outcomes(built) -> None:  # noqa: ANN001
    path, _ = built
    assert _one(
        path, "select count(*) from fct_flights where is_cancelled and is_late is not null"
    ) == (0,)
    assert _one(
        path, "select count(*) from fct_flights where is_late <> (arrival_delay_min > 15)"
    ) == (0,)


def test_fct_flights_rebuilds_only_the_reloaded_day(defs, copy_of_built) -> None:  # noqa: ANN001
    sql = "select flight_date, count(*), max(_loaded_at) from fct_flights group by all order by 1"
    with lake.connect(copy_of_built, read_only=True) as conn:
        before = conn.execute(sql).fetchall()
    day = dt.date(2013, 1, 5)
    assert run_assets(defs, ["raw_flights"], first=day, last=day).success
    assert run_assets(defs, DBT).success
    with lake.connect(copy_of_built, read_only=True) as conn:
        after = conn.execute(sql).fetchall()
    changed = [b[0] for b, a in zip(before, after, strict=True) if b != a]
    assert changed == [day]
    assert [r[:2] for r in after] == [r[:2] for r in before]


def test_a_failing_suite_stops_features_in_the_same_run(defs, copy_of_built) -> None:  # noqa: ANN001
    with lake.connect(copy_of_built) as conn:
        conn.execute(
            "update fct_flights set distance_mi = -5 where flight_id in "
            "(select flight_id from fct_flights order by flight_id limit 7)"
        )
    features_before = _one(copy_of_built, "select count(*), min(flight_id) from flight_features")
    check = dg.AssetCheckKey(dg.AssetKey("fct_flights"), "fct_flights_meets_suite")

    result = run_assets(defs, ["flight_features"], checks=[check])

    evaluation = result.get_asset_check_evaluations()[0]
    assert not evaluation.passed
    assert evaluation.metadata["unexpected_counts"].value == {
        "expect_column_values_to_be_between(distance_mi)": 7
    }
    assert "distance_mi | 7" in evaluation.metadata["failed_expectations"].value
    assert not result.get_asset_materialization_events()  # flight_features did not run
    assert not result.success
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert started == {"fct_flights_fct_flights_meets_suite"}
    assert (
        _one(copy_of_built, "select count(*), min(flight_id) from flight_features")
        == features_before
    )


def test_labels_arrive_a_day_after_their_flights(built) -> None:  # noqa: ANN001
    path, _ = built
    with lake.connect(path, read_only=True) as conn:
        by_day = dict(
            conn.sql(
                "select flight_date, bool_and(has_outcome) and count(is_late) > 0 "
                "from fct_flights group by all"
            ).fetchall()
        )
    # the last landed day's outcomes come with the next day's delivery, not yet landed
    assert by_day.pop(dt.date(2013, 1, 8)) is False
    assert all(by_day.values()) and len(by_day) == 7
    assert _one(path, "select count(*) from fct_flights where not has_outcome and is_late") == (0,)


def _suites(
    defs: dg.Definitions, instance: dg.DagsterInstance, assets: list[str], checks: list
) -> dict[str, dict]:
    """Run ``assets`` and ``checks`` over FIRST … LAST + 1, suites judging 2 days at least."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={dg.AssetKey(key) for key in assets}, asset_check_selection=set(checks)
    )
    ops = {f"{c.asset_key.to_user_string()}_{c.name}": {"config": {"min_days": 2}} for c in checks}
    result = job.execute_in_process(
        instance=instance,
        run_config={"ops": ops},
        tags={
            "dagster/asset_partition_range_start": "2013-01-01",
            "dagster/asset_partition_range_end": str(LAST + dt.timedelta(days=1)),
        },
        raise_on_error=False,
    )
    return {
        e.asset_check_key.asset_key.to_user_string(): {
            "passed": e.passed,
            **{k: v.value for k, v in e.metadata.items()},
        }
        for e in result.get_asset_check_evaluations()
        if e.asset_check_key in checks
    }


def test_suites_validate_the_days_changed_since_their_last_pass(
    defs,
    copy_of_built,
    own_landing,
    instance,  # noqa: ANN001
) -> None:
    total, through = _one(copy_of_built, "select count(*), max(_loaded_at) from fct_flights")
    first = _suites(defs, instance, [], SUITES)
    for table in ("fct_flights", "flight_features"):
        assert first[table]["passed"] and first[table]["scope"] == "whole table"
        assert first[table]["rows_checked"] == total
        assert first[table]["validated_through"] == through.isoformat()

    day = LAST + dt.timedelta(days=1)  # its schedule, and the outcomes of the day before
    lay_out_landing(own_landing / "landing", day, day)
    raw = ["raw_flights", "raw_outcomes", "raw_weather"]
    assert run_assets(defs, raw, instance, first=day, last=day).success
    second = _suites(defs, instance, [*DBT, "flight_features"], SUITES)
    changed = _one(copy_of_built, f"select count(*) from fct_flights where flight_date >= '{LAST}'")
    for table in ("fct_flights", "flight_features"):
        assert second[table]["passed"] and second[table]["scope"] == f"days from {LAST}"
        assert second[table]["rows_checked"] == changed[0] < total / 3

    old, new = _one(
        copy_of_built,
        f"select min(flight_id), max(flight_id) filter (where flight_date = '{day}') "
        "from fct_flights",
    )
    with lake.connect(copy_of_built) as conn:  # an old flight arrives again, on the new day
        conn.execute(
            "update fct_flights set flight_id = $1, _loaded_at = _loaded_at + interval 1 second "
            "where flight_id = $2",
            [old, new],
        )
    failed = _suites(defs, instance, [], SUITES[:1])["fct_flights"]
    assert not failed["passed"] and failed["scope"] == f"days from {LAST}"
    assert failed["unexpected_counts"] == {
        "expect_column_values_to_be_in_set(flight_id_copies_in_table)": 1
    }
    assert failed["validated_through"] == second["fct_flights"]["validated_through"]

    with lake.connect(copy_of_built) as conn:  # fixed in place: no newer _loaded_at
        conn.execute(
            "update fct_flights set flight_id = $1 where flight_date = $2 and flight_id = $3",
            [new, day, old],
        )
    # from the last pass's watermark, as the failure did; had the failure advanced it, nothing
    # would be new and the whole table would be validated
    again = _suites(defs, instance, [], SUITES[:1])["fct_flights"]
    assert again["passed"] and again["scope"] == f"days from {LAST}"

    # A changed suite has judged none of the rows passed before: the whole table, once.
    wider = [*FCT_FLIGHTS_EXPECTATIONS, ("ExpectColumnValuesToBeBetween", DISTANCE_0_6000)]
    changed_suite = dg.Definitions(
        assets=[dg.AssetSpec("fct_flights")],
        asset_checks=[
            build_suite_check(
                "fct_flights",
                FCT_FLIGHTS_QUERY,
                wider,
                "wider",
                key="flight_id",
                date="flight_date",
            )
        ],
        resources={"duckdb": Warehouse(catalog=str(copy_of_built))},
    )
    now = _one(copy_of_built, "select count(*) from fct_flights")[0]
    touch = (  # the newest day loaded again: without a fingerprint, only it would be validated
        "update fct_flights set _loaded_at = _loaded_at + interval 1 second "
        f"where flight_date = '{day}'"
    )
    with lake.connect(copy_of_built) as conn:
        conn.execute(touch)
    changed = _suites(changed_suite, instance, [], SUITES[:1])["fct_flights"]
    assert changed["passed"] and changed["scope"] == "whole table"
    assert changed["rows_checked"] == now
    assert changed["suite_fingerprint"] != again["suite_fingerprint"]
    # and the project's suite, back, does not take the changed one's watermark either
    with lake.connect(copy_of_built) as conn:
        conn.execute(touch)
    back = _suites(defs, instance, [], SUITES[:1])["fct_flights"]
    assert back["scope"] == "whole table" and back["rows_checked"] == now
    assert back["suite_fingerprint"] == again["suite_fingerprint"]
