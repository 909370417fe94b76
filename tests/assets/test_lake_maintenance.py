"""lake_maintenance on a real lake: small daily files merge, old snapshots expire, those of
registered model versions stay readable, the data does not change."""

import os
from pathlib import Path

import duckdb
import pytest

from factory_assets.defs.lake_maintenance import lake_maintenance
from factory_assets.lib.lake import Lake
from factory_assets.resources import ReportStore, TrackingStore, Warehouse

DAYS = 30
ROWS = 500


def _content(conn: duckdb.DuckDBPyConnection, version: int | None = None) -> tuple:
    """Row count and an order-free hash of every row, now or at a snapshot."""
    at = "" if version is None else f" at (version => {version})"
    return conn.execute(f"select count(*), bit_xor(hash(day, x)) from fct_days{at}").fetchone()


def _folder(path: str) -> tuple[int, int]:
    sizes = [os.path.getsize(Path(r) / f) for r, _, files in os.walk(path) for f in files]
    return len(sizes), sum(sizes)


def _snapshot(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute("from ducklake_current_snapshot('warehouse')").fetchone()[0]


def _daily_writes(lake: Lake) -> dict[str, int]:
    """30 days written as the line does (delete + insert per day), 5 of them written again, then
    half the rows of 10 days deleted (as outcomes landing rewrite a day's rows)."""
    with lake.connect() as conn:
        conn.execute("create table fct_days (day integer, x double)")
        marks = {}
        for day in [*range(DAYS), *range(5)]:
            conn.execute(
                f"begin; delete from fct_days where day = {day}; insert into fct_days "  # noqa: S608
                f"select {day}, random() from range({ROWS}); commit"
            )
            if day == 10:
                marks["trained"] = _snapshot(conn)
        marks["evaluated"] = _snapshot(conn)
        conn.execute(f"insert into fct_days select {DAYS}, random() from range({ROWS})")
        conn.execute("delete from fct_days where day between 10 and 19 and x < 0.5")
        marks["expired"] = marks["trained"] - 3
    return marks


@pytest.fixture
def tracking(tmp_path: Path) -> TrackingStore:
    return TrackingStore(
        tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_location=f"file://{tmp_path}/art"
    )


def _register(tracking: TrackingStore, tags: dict[str, str]) -> None:
    client = tracking.registry().client
    client.create_registered_model("days")
    client.create_model_version("days", source="/nowhere/package", tags=tags)


def _run(lake: Warehouse, tracking: TrackingStore, days: float, hours: float) -> dict:
    config = {"expire_older_than_days": days, "cleanup_older_than_hours": hours}
    state = Path(tracking.tracking_uri.removeprefix("sqlite:///")).parent
    reports = ReportStore(root=str(state / "reports"))
    result = lake_maintenance.execute_in_process(
        resources={"duckdb": lake, "tracking": tracking, "reports": reports},
        run_config={"ops": {"maintain_lake": {"config": config}}},
    )
    assert result.success
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    [output] = [e for e in outputs if e.step_key == "maintain_lake"]
    metadata = output.event_specific_data.metadata
    assert metadata["bytes_after"].value == result.output_for_node("maintain_lake")["bytes_after"]
    assert result.output_for_node("prune_reports") == []  # the one version is the newest
    return result.output_for_node("maintain_lake")


def test_maintenance_merges_expires_and_keeps_registered_snapshots(
    tmp_path: Path, tracking: TrackingStore
) -> None:
    check_maintenance(Warehouse(catalog=str(tmp_path / "warehouse.sqlite")), tracking)


def check_maintenance(warehouse: Warehouse, tracking: TrackingStore) -> None:
    """Daily writes, a registered version, the job twice: defaults, then everything due now."""
    lake = warehouse.lake()
    marks = _daily_writes(lake)
    _register(
        tracking,
        {
            "lake_snapshot": str(marks["trained"]),
            "lake_snapshot_evaluation": str(marks["evaluated"]),
        },
    )
    with lake.connect(read_only=True) as conn:
        before = {k: _content(conn, marks[k]) for k in ("trained", "evaluated", "expired")}
        now = _content(conn)

    on_disk = _folder(lake.data_path)
    young = _run(warehouse, tracking, days=7, hours=12)  # the defaults: nothing is old enough
    assert (young["files_before"], young["bytes_before"]) == on_disk
    assert young["snapshots_expired"] == [] and young["files_deleted"] == 0
    assert young["files_rewritten"] == 10  # the days that lost half their rows
    assert young["files_merged"] + young["files_rewritten"] >= DAYS and young["files_written"]

    done = _run(warehouse, tracking, days=0, hours=0)
    assert marks["expired"] in done["snapshots_expired"]
    assert {marks["trained"], marks["evaluated"]} == set(done["snapshots_kept"])
    assert done["files_after"] < young["files_before"]  # the small files are gone from disk
    assert done["bytes_after"] < young["bytes_after"]  # kept snapshots keep their files
    assert (done["files_after"], done["bytes_after"]) == _folder(lake.data_path)

    with lake.connect(read_only=True) as conn:
        assert _content(conn) == now
        for kept in ("trained", "evaluated"):
            assert _content(conn, marks[kept]) == before[kept]
        with pytest.raises(duckdb.Error, match="No snapshot found"):
            _content(conn, marks["expired"])
        files = conn.execute(
            "select file_count, delete_file_count from ducklake_table_info('warehouse') "
            "where table_name = 'fct_days'"
        ).fetchone()
    assert files == (1, 0)  # 37 writes and a delete: one file now, no deletes to apply


@pytest.mark.parametrize(
    ("kind", "now", "hours", "cutoff"),
    [
        ("sqlite", "2026-12-06T14:58:00+00:00", 12, "2026-12-05T23:59:59.999999+00:00"),
        ("sqlite", "2026-12-06T10:00:00+00:00", 12, "2026-12-04T23:59:59.999999+00:00"),
        ("postgres", "2026-12-06T14:58:00+00:00", 12, "2026-12-06T02:58:00+00:00"),
    ],
)
def test_cleanup_cutoff_never_reaches_a_younger_file(
    tmp_path: Path, kind: str, now: str, hours: int, cutoff: str
) -> None:
    """SQLite catalogs compare by day: the cutoff moves to the end of the day before."""
    import datetime as dt

    from factory_assets.lib.lake_maintenance import cleanup_cutoff

    value = str(tmp_path / "c.sqlite") if kind == "sqlite" else "postgres:dbname=x"
    lake = Lake.parse(value, None if kind == "sqlite" else str(tmp_path / "data"))
    moved = cleanup_cutoff(lake, dt.timedelta(hours=hours), dt.datetime.fromisoformat(now))
    assert moved == dt.datetime.fromisoformat(cutoff)
