"""The definitions load and every asset is described, grouped, typed and owned."""

import re

import dagster as dg

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
NAME = re.compile(
    r"^(raw_[a-z0-9_]+|stg_[a-z0-9]+__[a-z0-9_]+|(fct|dim)_[a-z0-9_]+|feat_[a-z_]+|"
    r"[a-z0-9_]+_features|[a-z0-9_]+)$"
)


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
        assert NAME.match(name), name


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


def test_warehouse_writers_share_one_pool(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for key in (
        "raw_flights",
        "raw_planes",
        "fct_flights",
        "flight_features",
        "flights_model",
        "flight_predictions",
    ):
        node = graph.get(dg.AssetKey(key))
        assert node.pools == {"warehouse"}, key


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
