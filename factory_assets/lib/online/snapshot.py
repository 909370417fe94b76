"""The online snapshot: what the scoring service needs of the warehouse, as Parquet files.

The service never opens the DuckDB warehouse (one process at a time may hold it). The line
exports the recent labelled flights (for the late-rate windows), the recent weather, the plane
registry and the known carriers and origins into a directory, and points ``CURRENT`` at it
with one atomic rename; a reader sees the old snapshot or the new one, never half of one.
"""

import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from factory_assets.lib.features.flights import HISTORY_COLUMNS, WEATHER_COLUMNS, WINDOW_DAYS

POINTER = "CURRENT"
MANIFEST = "manifest.json"
FRAMES = ("history", "weather", "planes")
KEEP = 3  # snapshots kept on disk: a service still loading an older one finds it intact


@dataclass
class Manifest:
    """What a snapshot holds and which flight dates it can describe.

    ``first_day`` … ``last_day`` are the flight dates whose features the snapshot gives exactly
    as the batch line would: their whole late-rate window lies inside ``history``.
    """

    as_of: str  # the latest day of labelled flights in the snapshot
    first_day: str
    last_day: str
    window_days: int
    origins: dict[str, str]  # origin airport -> IANA time zone
    carriers: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    created_at: str = ""

    def days(self) -> list[dt.date]:
        """Every flight date the snapshot serves, in order."""
        first, last = dt.date.fromisoformat(self.first_day), dt.date.fromisoformat(self.last_day)
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def build_snapshot(
    flights: pl.DataFrame,
    weather: pl.DataFrame,
    planes: pl.DataFrame,
    airports: pl.DataFrame,
    carriers: pl.DataFrame,
    days_back: int = 7,
    days_ahead: int = 1,
    window_days: int = WINDOW_DAYS,
) -> tuple[Manifest, dict[str, pl.DataFrame]]:
    """The snapshot of the warehouse as of its latest day of flights.

    Args:
        flights: fct_flights rows (HISTORY_COLUMNS are kept).
        weather: fct_weather_hourly rows.
        planes: dim_planes rows.
        airports: dim_airports rows (airport_code, time_zone).
        carriers: dim_carriers rows (carrier_code).
        days_back: flight dates before the latest day that the service still scores.
        days_ahead: flight dates after the latest day that the service scores.
        window_days: the late-rate window of the features.

    Raises:
        ValueError: there are no flights to take a snapshot of.
    """
    if flights.height == 0:
        raise ValueError("fct_flights is empty: nothing to take an online snapshot of")
    as_of = flights["flight_date"].max()
    first_day = as_of - dt.timedelta(days=days_back)
    history = flights.filter(
        pl.col("flight_date") >= first_day - dt.timedelta(days=window_days)
    ).select(HISTORY_COLUMNS)
    # a flight at 00:xx local on first_day looks up weather up to a few hours before it
    since = dt.datetime.combine(first_day, dt.time()) - dt.timedelta(days=1)
    recent = weather.filter(pl.col("observed_hour_utc") >= since).select(
        "origin", "observed_hour_utc", *WEATHER_COLUMNS
    )
    served = sorted(history["origin"].unique().to_list())
    zones = airports.filter(pl.col("airport_code").is_in(served))
    zone = dict(zip(zones["airport_code"], zones["time_zone"], strict=True))
    manifest = Manifest(
        as_of=as_of.isoformat(),
        first_day=first_day.isoformat(),
        last_day=(as_of + dt.timedelta(days=days_ahead)).isoformat(),
        window_days=window_days,
        origins={o: zone.get(o) or "America/New_York" for o in served},
        carriers=sorted(carriers["carrier_code"].to_list()),
    )
    frames = {
        "history": history,
        "weather": recent,
        "planes": planes.select("tailnum", "manufactured_year", "seats", "engines"),
    }
    manifest.rows = {name: frame.height for name, frame in frames.items()}
    return manifest, frames


def write_snapshot(
    root: Path,
    manifest: object,
    frames: dict[str, pl.DataFrame],
    files: dict[str, str] | None = None,
) -> Path:
    """Write a snapshot directory, then point ``root/CURRENT`` at it atomically.

    ``manifest`` is a dataclass with ``as_of`` and ``created_at``; ``files`` more text files
    (name -> content). Older snapshots beyond the last KEEP are removed.

    Returns:
        The new snapshot's directory.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    manifest.created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    name = f"snapshot-{manifest.as_of}-{stamp}"
    tmp = root / f".{name}.partial"
    tmp.mkdir()
    try:
        for key, frame in frames.items():
            frame.write_parquet(tmp / f"{key}.parquet")
        (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1, sort_keys=True))
        for file, text in (files or {}).items():
            (tmp / file).write_text(text)
        os.replace(tmp, root / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    pointer = root / f".{POINTER}.{uuid.uuid4().hex}"
    pointer.write_text(name + "\n")
    os.replace(pointer, root / POINTER)
    for old in sorted(root.glob("snapshot-*"), key=lambda p: p.stat().st_mtime)[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return root / name


def current_snapshot(root: Path) -> Path | None:
    """The directory ``CURRENT`` points at, or None before the first snapshot."""
    pointer = Path(root) / POINTER
    if not pointer.exists():
        return None
    return Path(root) / pointer.read_text().strip()


def read_snapshot(directory: Path) -> tuple[Manifest, dict[str, pl.DataFrame]]:
    """A snapshot's manifest and frames."""
    manifest = Manifest(**json.loads((Path(directory) / MANIFEST).read_text()))
    frames = {key: pl.read_parquet(Path(directory) / f"{key}.parquet") for key in FRAMES}
    return manifest, frames
