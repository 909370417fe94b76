"""The definitions load and every asset is described, grouped, typed and owned."""

import re

import dagster as dg
import pytest

from tests.conftest import LINE

STAGES = {
    "ingest",
    "warehouse",
    "quality",
    "features",
    "models",
    "packaging",
    "serving",
    "monitoring",
}
WORD = r"[a-z0-9]+(?:_[a-z0-9]+)*"  # snake_case, no empty part
# the assets a model line makes: <model>_<station> (predictions: the spec's table name)
STATIONS = (
    "model",
    "evaluation",
    "package",
    "predictions",
    "drift_report",
    "prediction_performance",
    "monitoring_summary",
    "online_snapshot",
)
SERVING = {"shadow_agreement"}  # one, whatever the models
NAME = re.compile(
    rf"^(raw_{WORD}|stg_{WORD}__{WORD}|(fct|dim)_{WORD}|feat_{WORD}|{WORD}_features|"
    rf"{WORD}_({'|'.join(STATIONS)}))$"
)


def follows_naming(name: str) -> bool:
    """Whether an asset key has one of STYLE's naming forms."""
    return name in SERVING or bool(NAME.match(name))


def _specs(defs: dg.Definitions) -> dict[dg.AssetKey, dg.AssetSpec]:
    graph = defs.resolve_asset_graph()
    return {key: graph.get(key).to_asset_spec() for key in graph.materializable_asset_keys}


def test_the_line_is_there(defs: dg.Definitions) -> None:
    keys = {key.to_user_string() for key in _specs(defs)}
    assert {
        *LINE,
        "flights_model",
        "flights_evaluation",
        "flights_package",
        "flight_predictions",
    } <= keys


def test_every_asset_has_group_description_kinds_owners(defs: dg.Definitions) -> None:
    for key, spec in _specs(defs).items():
        name = key.to_user_string()
        assert spec.group_name in STAGES, name
        assert spec.description and len(spec.description) > 20, name
        assert spec.kinds, name
        assert spec.owners, name
        assert follows_naming(name), name


@pytest.mark.parametrize(
    "name",
    [
        "raw_flights",
        "stg_nycflights__flights",
        "fct_weather_hourly",
        "dim_carriers",
        "feat_customer_weekly",
        "ml_cancellation_features",
        "flights_model",
        "flights_drift_report",
        "flights_prediction_performance",
        "flight_predictions",
    ],
)
def test_the_naming_check_accepts_each_style_form(name: str) -> None:
    assert follows_naming(name)


@pytest.mark.parametrize(
    "name",
    [
        "my_table",  # no form at all
        "stg_flights",  # a staging model without its source
        "fct_Flights",
        "raw_",
        "flights_scores",  # not a station of the model line
        "flights_model_v2",
        "churn_drift",  # the drift table, not the drift_report asset
        "flightsModel",
    ],
)
def test_the_naming_check_rejects_other_names(name: str) -> None:
    assert not follows_naming(name)


def test_lineage_is_one_graph_from_landing_to_features(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey("flight_features")).parent_keys
    assert dg.AssetKey("fct_flights") in upstream
    assert (
        dg.AssetKey("raw_flights") in graph.get(dg.AssetKey("stg_nycflights__flights")).parent_keys
    )
    ancestors = graph.upstream_key_iterator(dg.AssetKey("flight_features"))
    assert {"raw_flights", "raw_weather", "raw_planes"} <= {k.to_user_string() for k in ancestors}


def test_dbt_tests_and_gx_suites_are_asset_checks(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    checks = {key.name: key for key in graph.asset_check_keys}
    assert "unique_fct_flights_flight_id" in checks
    assert "not_null_fct_flights_flight_date" in checks
    assert any(n.startswith("relationships_fct_flights_carrier_code") for n in checks)
    assert any(n.startswith("accepted_values_fct_flights_origin") for n in checks)
    for name in ("fct_flights_meets_suite", "flight_features_meets_suite"):
        assert graph.get_check_spec(checks[name]).blocking, name


def test_warehouse_writers_run_side_by_side_but_dbt_builds_one_at_a_time(
    defs: dg.Definitions,
) -> None:
    graph = defs.resolve_asset_graph()
    for key in ("raw_flights", "raw_planes", "flight_features", "flights_model"):
        assert not graph.get(dg.AssetKey(key)).pools, key
    assert graph.get(dg.AssetKey("fct_flights")).pools == {"dbt"}


def test_raw_assets_are_daily_over_2013(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    partitions = graph.get(dg.AssetKey("raw_flights")).partitions_def
    keys = partitions.get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2013-01-01", "2013-12-31", 365)


def test_loading_definitions_imports_no_heavy_library() -> None:
    # Every step process re-imports the code location: torch & co. cost ~10 s there.
    import subprocess
    import sys

    heavy = [
        *("torch", "lightning", "mlflow", "great_expectations", "evidently", "onnxruntime"),
        "pandas",  # 0.3 s: the suites' frames and the monitoring reports need it, not the load
    ]
    probe = (
        "import sys; from factory_assets.definitions import defs; defs(); "
        f"print([m for m in {heavy!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
