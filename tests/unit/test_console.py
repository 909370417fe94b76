"""The replay's console: the libraries' output goes to the log file, unless --verbose."""

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from factory_assets.console import QUIET_ENV, _label, console_for, counts


@dg.op
def noisy(context: dg.OpExecutionContext) -> None:
    context.log.debug("a debug line of the step")
    print("a print of the step")
    subprocess.run([sys.executable, "-c", "print('a child process line')"], check=True)


@dg.job
def tiny() -> None:
    noisy()


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in QUIET_ENV:  # console_for sets them; monkeypatch puts them back
        monkeypatch.setenv(name, "unset by the test")


def test_the_console_shows_its_lines_and_the_log_file_the_rest(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    log = tmp_path / "logs" / "replay.log"
    with console_for(log) as console:
        assert tiny.execute_in_process().success
        console.print("2013-05-01 daily line ok")
    out, err = capfd.readouterr()
    assert out.splitlines()[0] == f"log: {log}"
    assert "2013-05-01 daily line ok" in out
    assert "DEBUG" not in out + err and "of the step" not in out + err
    assert "child process" not in out + err
    text = log.read_text()
    assert " - DEBUG - " in text and "a debug line of the step" in text
    assert "a print of the step" in text and "a child process line" in text
    # the descriptors are back: output after the block reaches the terminal again
    print("after")
    assert capfd.readouterr().out == "after\n"


def test_verbose_leaves_everything_on_the_console(tmp_path: Path, capfd) -> None:  # noqa: ANN001
    log = tmp_path / "logs" / "replay.log"
    with console_for(log, verbose=True) as console:
        assert tiny.execute_in_process().success
        console.print("2013-05-01 daily line ok")
    out, err = capfd.readouterr()
    assert " - DEBUG - " in out + err and "a debug line of the step" in out + err
    assert "a child process line" in out and "2013-05-01 daily line ok" in out
    assert not log.exists()


DAYS = dg.DailyPartitionsDefinition(start_date="2013-05-01")


@dg.asset(name="raw_things", partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def raw_things() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows_loaded": 10})


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(), deps=[raw_things])
def thing_predictions() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows_scored": 7})


@dg.asset_check(asset=thing_predictions)
def enough_things() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"detail": "too few"})


def test_a_line_counts_a_range_once_and_names_failed_checks() -> None:
    defs = dg.Definitions(assets=[raw_things, thing_predictions], asset_checks=[enough_things])
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        tags={
            "dagster/asset_partition_range_start": "2013-05-01",
            "dagster/asset_partition_range_end": "2013-05-03",
        },
        raise_on_error=False,
    )
    # three partitions from one result each: counted once, not three times
    assert counts(result) == "ingested 10 · scored 7 · checks 0 passed, 1 failed (enough_things)"


@pytest.mark.parametrize(
    ("kwargs", "label"),
    [
        ({"partition_key": "2013-05-01"}, "2013-05-01"),
        (
            {
                "tags": {
                    "dagster/asset_partition_range_start": "2013-05-01",
                    "dagster/asset_partition_range_end": "2013-05-07",
                }
            },
            "2013-05-01…2013-05-07",
        ),
        ({"tags": {"factory/label": "flights"}}, "flights"),  # a model's summary: no partition
        ({}, ""),
    ],
)
def test_a_line_is_labelled_by_its_partitions_or_its_own_label(kwargs: dict, label: str) -> None:
    assert _label(kwargs) == label
