"""ml_cancellation_features, the dbt model under the cancellation spec, on the test days."""

from pathlib import Path

import dagster as dg
import pytest
import yaml

from factory_assets.components.model_spec import MANIFEST, ModelSpec
from factory_assets.lib import lake
from factory_assets.lib.catalog import warehouse_tables
from factory_assets.lib.lake import copy_lake
from tests.conftest import run_assets

KEY = dg.AssetKey("ml_cancellation_features")
COLUMNS = [
    "flight_id",
    "flight_date",
    "carrier",
    "origin",
    "dest",
    "route",
    "sched_hour",
    "sched_weekday",
    "sched_month",
    "distance_mi",
    "origin_hour_flights",
    "origin_day_flights",
    "route_day_flights",
    "weather_age_hours",
    "temperature_f",
    "dewpoint_f",
    "humidity_pct",
    "wind_speed_mph",
    "wind_gust_mph",
    "precipitation_in",
    "pressure_mb",
    "visibility_mi",
    "is_cancelled",
]
# each feature row beside the observation it claims to use (scheduled hour - age)
WITH_OBSERVATION = """
    select features.*, flights.scheduled_hour_utc, weather.observed_hour_utc,
        weather.temperature_f as observed_temperature_f,
        weather.visibility_mi as observed_visibility_mi
    from ml_cancellation_features as features
    join fct_flights as flights using (flight_id)
    left join fct_weather_hourly as weather
        on weather.origin = features.origin
        and weather.observed_hour_utc
            = flights.scheduled_hour_utc - to_seconds((features.weather_age_hours * 3600)::bigint)
"""


def _all(path: Path, sql: str) -> list[tuple]:
    with lake.connect(path, read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def features(defs, built, landing_root, tmp_path_factory) -> tuple[Path, dg.ExecuteInProcessResult]:  # noqa: ANN001
    """A copy of the line built over the test days, then the model's own dbt step on it."""
    path = tmp_path_factory.mktemp("cancellation") / "warehouse.sqlite"
    copy_lake(built[0], path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FACTORY_WAREHOUSE", str(path))
        mp.setenv("FACTORY_DATA_DIR", str(landing_root))
        result = run_assets(defs, [KEY.to_user_string()])
    return path, result


def test_is_a_warehouse_asset_with_its_dbt_tests_as_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    node = graph.get(KEY)
    assert node.group_name == "warehouse"
    assert {dg.AssetKey("fct_flights"), dg.AssetKey("fct_weather_hourly")} <= node.parent_keys
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == KEY}
    assert {
        "unique_ml_cancellation_features_flight_id",
        "not_null_ml_cancellation_features_flight_id",
        "not_null_ml_cancellation_features_flight_date",
        "not_null_ml_cancellation_features_carrier",
        "not_null_ml_cancellation_features_origin",
        "not_null_ml_cancellation_features_dest",
    } <= checks
    # only single-model tests: a test on two models would run in builds without this one
    assert not any(name.startswith("relationships_") for name in checks)


def test_builds_with_passing_checks_and_only_known_columns(features) -> None:  # noqa: ANN001
    path, result = features
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) >= 8
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    (event,) = result.get_asset_materialization_events()
    schema = event.materialization.metadata["dagster/column_schema"].value
    assert [c.name for c in schema.columns] == COLUMNS  # no outcome column but the label
    assert event.materialization.metadata["dagster/row_count"].value > 5000


def test_one_row_per_scheduled_flight(features) -> None:  # noqa: ANN001
    path, _ = features
    (row,) = _all(
        path,
        "select count(*), count(distinct flight_id), "
        "(select count(*) from fct_flights), "
        "count(*) filter (where flights.flight_id is null or features.flight_date "
        "<> flights.flight_date or features.carrier <> flights.carrier_code) "
        "from ml_cancellation_features as features "
        "left join fct_flights as flights using (flight_id)",
    )
    rows, distinct, flights, mismatched = row
    assert rows == distinct == flights > 5000
    assert mismatched == 0


def test_weather_is_the_newest_observation_never_a_later_one(features) -> None:  # noqa: ANN001
    path, _ = features
    (row,) = _all(
        path,
        f"""
        with matched as ({WITH_OBSERVATION})
        select
            count(*) filter (where weather_age_hours is not null),
            count(*) filter (where weather_age_hours is not null and (
                observed_hour_utc is null
                or observed_hour_utc > date_trunc('hour', scheduled_hour_utc)
                or weather_age_hours not between 0 and 3
                or temperature_f is distinct from observed_temperature_f
                or visibility_mi is distinct from observed_visibility_mi)),
            count(*) filter (where weather_age_hours is null and temperature_f is not null)
        from matched
        """,
    )
    with_weather, wrong, orphan_values = row
    assert with_weather > 5000
    assert wrong == 0
    assert orphan_values == 0
    # none newer (yet not after the scheduled hour) was passed over, nor missed when null
    (skipped,) = _all(
        path,
        f"""
        with matched as ({WITH_OBSERVATION})
        select count(*) from matched join fct_weather_hourly as weather
            on weather.origin = matched.origin
            and weather.observed_hour_utc <= date_trunc('hour', matched.scheduled_hour_utc)
            and weather.observed_hour_utc >= matched.scheduled_hour_utc - interval 3 hour
            and (matched.observed_hour_utc is null
                or weather.observed_hour_utc > matched.observed_hour_utc)
        """,
    )
    assert skipped == (0,)


def test_label_is_null_exactly_where_the_outcome_has_not_landed(features) -> None:  # noqa: ANN001
    path, _ = features
    (row,) = _all(
        path,
        "select "
        "count(*) filter (where (features.is_cancelled is null) <> (not flights.has_outcome)), "
        "count(*) filter (where features.is_cancelled is distinct from flights.is_cancelled), "
        "count(*) filter (where not flights.has_outcome), "
        "count(*) filter (where features.is_cancelled) "
        "from ml_cancellation_features as features join fct_flights as flights using (flight_id)",
    )
    null_mismatch, label_mismatch, unlabelled, cancelled = row
    assert null_mismatch == 0 and label_mismatch == 0
    assert unlabelled > 0  # the newest test day: its outcomes land with the next day's files
    assert cancelled > 0


def test_the_model_reads_the_view_in_key_order(features) -> None:  # noqa: ANN001
    # A view computed by a join gives its rows in another order on each read: unordered,
    # two trainings on the same rows gave two models (a year replay's AUCs differed).
    path, _ = features
    spec_file = Path("factory_assets/defs/models/cancellations/defs.yaml")
    attributes = yaml.safe_load(spec_file.read_text())["attributes"]
    line = ModelSpec.model_validate(attributes).line(spec_file, warehouse_tables(MANIFEST))
    first, last = _all(path, "select min(flight_date), max(flight_date) from fct_flights")[0]
    periods = [line.calendar.period_of(first), line.calendar.period_of(last)]
    reads = {
        "labelled": (line.labelled_sql(), [first, last]),
        "window": (line.window_sql(), [first, last]),
        "periods": (line.periods_sql(), line.bounds(periods)),
    }
    with lake.connect(path, read_only=True) as conn:
        for name, (sql, params) in reads.items():
            keys = conn.sql(sql, params=params).pl()["flight_id"].to_list()
            assert len(keys) > 5000 and keys == sorted(keys), name
