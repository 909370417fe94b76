"""Every step that opens the warehouse is in the pool, retries lock contention, and is sized."""

import dagster as dg
import pytest

from factory_assets.components.warehouse import _retry_on_lock
from factory_assets.execution import K8S_CONFIG_TAG, WAREHOUSE_POOL, WAREHOUSE_RETRY

LOCK = 'IO Error: Could not set lock on file "/x/warehouse.duckdb": Conflicting lock is held'


def test_every_warehouse_step_retries_and_is_sized(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    ops = {graph.get(key).assets_def.op for key in graph.materializable_asset_keys}
    in_pool = {op.name: op for op in ops if op.pool == WAREHOUSE_POOL}
    assert {"raw_flights", "flight_features", "flights_model", "flight_predictions"} <= set(in_pool)
    for name, op in in_pool.items():
        assert K8S_CONFIG_TAG in op.tags, name
        if name != "warehouse_dbt_build":  # dbt asks for its retries itself, on lock errors only
            assert op.retry_policy == WAREHOUSE_RETRY, name


def test_dbt_lock_error_asks_for_a_retry_with_backoff() -> None:
    with pytest.raises(dg.RetryRequested) as retry:
        _retry_on_lock(1, RuntimeError(f"dbt build failed: {LOCK} (PID 42)"))
    assert retry.value.max_retries == WAREHOUSE_RETRY.max_retries
    low, high = WAREHOUSE_RETRY.delay * 0, WAREHOUSE_RETRY.delay * 2  # 1 s, +/- 1 s jitter
    assert low <= retry.value.seconds_to_wait <= high


def test_dbt_test_failure_is_not_retried() -> None:
    _retry_on_lock(1, RuntimeError("dbt build failed: 2 tests failed"))
    _retry_on_lock(WAREHOUSE_RETRY.max_retries + 1, RuntimeError(LOCK))  # retries used up
