"""What a replay starts from: the oldest landed period, or the first batches of a batched set."""

import datetime as dt
from pathlib import Path

import pytest

from factory_assets.examples.chicago import lay_out_chicago
from factory_assets.examples.screenings import lay_out_screenings
from factory_assets.replay_batches import batch_window
from factory_assets.specs import shipped_datasets


def test_the_first_line_starts_at_the_oldest_day_every_source_has_landed(tmp_path: Path) -> None:
    chicago = shipped_datasets()["chicago"]
    assert chicago.oldest_period(tmp_path) is None
    lay_out_chicago(tmp_path, dt.date(2015, 3, 2), dt.date(2015, 3, 9))
    (tmp_path / "chicago" / "weather" / "2015" / "03" / "weather_2015-03-02.csv").unlink()
    assert chicago.oldest_period(tmp_path).key == "2015-03-03"  # the weather starts a day later
    assert chicago.newest_period(tmp_path).key == "2015-03-09"


def test_a_batched_set_trains_on_its_first_batches_and_replays_the_rest(tmp_path: Path) -> None:
    screenings = shipped_datasets()["screenings"]
    with pytest.raises(SystemExit, match="factory landing"):
        batch_window(screenings, tmp_path)
    lay_out_screenings(tmp_path, [1, 2])
    assert batch_window(screenings, tmp_path) == (["01"], ["02"])  # one is left to replay
    lay_out_screenings(tmp_path)
    assert batch_window(screenings, tmp_path) == (["01", "02", "03"], ["04", "05", "06"])
    assert batch_window(screenings, tmp_path, count=2) == (["01", "02", "03"], ["04", "05"])
