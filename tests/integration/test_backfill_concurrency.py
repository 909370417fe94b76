"""A backfill through the whole line with the multiprocess executor: no DuckDB lock errors.

Runs the real `nycflights_line` job on a real SQLite instance configured by the project's
dagster.yaml (pool `warehouse` limited to one step) with 4 concurrent step processes, as
`make demo` does for the full year.
"""

import datetime as dt
import itertools

import dagster as dg
import duckdb
import pytest

from factory_assets.cli import run_job

LOCK_MARKERS = ("could not set lock", "conflicting lock", "database is locked")


@pytest.mark.slow
def test_backfill_with_four_concurrent_steps_has_no_lock_errors(instance, warehouse) -> None:  # noqa: ANN001
    # the outcomes landed by 01-06 are those of 01-01 … 01-05: the holdout is the 5th
    holdout = {"holdout_start": "2013-01-05", "holdout_end": "2013-01-05", "importance_rows": 300}
    train = {"train_end": "2013-01-02", "val_days": 2, "max_epochs": 1}
    model_config = {  # every model spec's chain is in nycflights_line
        f"{model}_{station}": {"config": train if station == "model" else holdout}
        for model in ("flights", "cancellations", "delay_class")
        for station in ("model", "evaluation", "package")
    }
    result = run_job("nycflights_line", instance, "2013-01-01", "2013-01-06", {"ops": model_config})

    assert result.success
    logs = instance.all_logs(result.run_id)
    messages = [(e.user_message or "") + str(e.dagster_event or "") for e in logs]
    assert not [m for m in messages if any(k in m.lower() for k in LOCK_MARKERS)]
    types = {e.dagster_event.event_type_value for e in logs if e.dagster_event}
    assert "STEP_UP_FOR_RETRY" not in types and "STEP_FAILURE" not in types
    assert any("Multiprocess executor" in (e.user_message or "") for e in logs)

    # Every warehouse step ran alone: no two step intervals overlap.
    stats = [s for s in instance.get_run_step_stats(result.run_id) if s.end_time]
    assert len(stats) >= 12  # ingest, dbt, suites, features, train, evaluate, package
    for a, b in itertools.combinations(stats, 2):
        assert a.end_time <= b.start_time or b.end_time <= a.start_time, (a.step_key, b.step_key)

    materialized = instance.get_materialized_partitions(dg.AssetKey("raw_flights"))
    assert materialized == {
        (dt.date(2013, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(6)
    }
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        flights = conn.execute("select count(*) from fct_flights").fetchall()[0][0]
        features = conn.execute("select count(*) from flight_features").fetchall()[0][0]
    assert flights == features > 4000
