"""Warehouse steps run side by side: no pool but dbt's, contended commits retry, pods are sized."""

import dagster as dg
import pytest

from factory_assets.components.warehouse import _retry_on_contention
from factory_assets.execution import DBT_POOL, K8S_CONFIG_TAG, WAREHOUSE_RETRY

# what a commit that lost a race says, on a SQLite catalog and on any catalog
LOCKED = (
    "Failed to commit DuckLake transaction.\nFailed to flush changes into DuckLake: "
    "database is locked"
)
CONFLICT = (
    "Failed to commit DuckLake transaction.\nTransaction conflict - attempting to drop table with "
    'index "3" - but another transaction has dropped it already'
)


def test_only_dbt_is_pooled_and_every_warehouse_step_retries_and_is_sized(
    defs: dg.Definitions,
) -> None:
    graph = defs.resolve_asset_graph()
    ops = {graph.get(key).assets_def.op for key in graph.materializable_asset_keys}
    pooled = {op.name: op.pool for op in ops if op.pool}
    assert pooled == {"warehouse_dbt_build": DBT_POOL}
    retried = {op.name for op in ops if op.retry_policy == WAREHOUSE_RETRY}
    assert {"raw_flights", "flight_features", "flights_model", "flight_predictions"} <= retried
    for op in ops:
        if op.name in retried or op.pool:  # dbt asks for its retries itself (contention only)
            assert K8S_CONFIG_TAG in op.tags, op.name


@pytest.mark.parametrize("message", [LOCKED, CONFLICT])
def test_dbt_losing_a_commit_race_asks_for_a_retry_with_backoff(message: str) -> None:
    with pytest.raises(dg.RetryRequested) as retry:
        _retry_on_contention(1, RuntimeError(f"dbt build failed: {message}"))
    assert retry.value.max_retries == WAREHOUSE_RETRY.max_retries
    assert 0 <= retry.value.seconds_to_wait <= WAREHOUSE_RETRY.delay  # 1st: 0-1 s, jittered


def test_dbt_test_failure_is_not_retried() -> None:
    _retry_on_contention(1, RuntimeError("dbt build failed: 2 tests failed"))
    _retry_on_contention(WAREHOUSE_RETRY.max_retries + 1, RuntimeError(LOCKED))  # retries used up
