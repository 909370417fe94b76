"""Where a source's files land: its path pattern's placeholders, and the files found for it."""

import datetime as dt
import re
import string
from pathlib import Path

from factory_assets.lib.calendar import Period

BATCH_KEY = re.compile(r"[A-Za-z0-9_.-]+")  # a batch's name in its file's path; keys sort as text
PLACEHOLDERS = {
    "yyyy": r"\d{4}",
    "mm": r"\d{2}",
    "dd": r"\d{2}",
    "hh": r"\d{2}",
    "date": r"\d{4}-\d{2}-\d{2}",
    "batch": BATCH_KEY.pattern,
}


def parts(period: Period) -> dict[str, str]:
    """The placeholders' values of a period."""
    start = period.start
    return {
        "yyyy": f"{start:%Y}",
        "mm": f"{start:%m}",
        "dd": f"{start:%d}",
        "hh": f"{start:%H}",
        "date": start.date().isoformat(),
    }


def path_regex(pattern: str) -> str:
    """A regular expression of a path pattern, each placeholder a named group (once)."""
    regex, seen = "", set()
    for text, field in pieces(pattern):
        piece = PLACEHOLDERS[field] if field else re.escape(text)
        regex += f"(?P<{field}>{piece})" if field and field not in seen else piece
        seen.add(field)
    return regex


def pieces(pattern: str) -> list[tuple[str, str | None]]:
    """(literal text, None) and ("", placeholder) pieces of a path pattern, in order."""
    found = []
    for text, field, spec, conversion in string.Formatter().parse(pattern):
        if text:
            found.append((text, None))
        if field is not None:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            found.append(("", shown))
    return found


def placeholders(pattern: str) -> list[str]:
    """The placeholders of a path pattern, in order (raises ValueError on a lone brace)."""
    return [field for _, field in pieces(pattern) if field is not None]


class LandingFiles:
    """The files of a source; its spec gives name, path, grain, lag and calendar."""

    @property
    def batched(self) -> bool:
        """Whether the source lands one file per batch (``grain: batch``)."""
        return self.grain == "batch"

    def batch_file(self, landing_dir: Path, batch: str) -> Path:
        """The landing file of batch ``batch`` of a batch source."""
        if not self.batched or not BATCH_KEY.fullmatch(batch):
            raise ValueError(f"{self.name}: {batch!r} names no batch of a batch source")
        return landing_dir / self.path.format(batch=batch)

    def landed_batches(self, landing_dir: Path) -> list[str]:
        """The batches of a batch source with a file in ``landing_dir``, sorted by key."""
        regex, batches = path_regex(self.path), set()
        for path in landing_dir.glob(self.path.format(batch="*")):
            match = re.fullmatch(regex, path.relative_to(landing_dir).as_posix())
            if match and path.is_file():
                batches.add(match["batch"])
        return sorted(batches)

    def period(self, when: Period | dt.date | str) -> Period:
        """The calendar's period of a partition key, a date, or a period itself."""
        if self.calendar is None:
            raise ValueError(f"{self.name} is a {self.grain} source: it has no periods")
        if isinstance(when, Period):
            return when
        if isinstance(when, str):
            return self.calendar.period(when)
        return self.calendar.period_of(when)

    def described(self, delivered: Period) -> Period:
        """The period the rows of the file delivered in ``delivered`` describe (the lag back)."""
        return self.calendar.shift(delivered, -self.lag)

    def landing_file(self, landing_dir: Path, when: Period | dt.date | str | None = None) -> Path:
        """The landing file of a period (a periodic source), a batch, or the snapshot's (None)."""
        if self.batched:
            return self.batch_file(landing_dir, str(when))
        if self.calendar is not None and when is None:
            raise ValueError(
                f"{self.name} is a {self.grain} source: its landing file needs a period"
            )
        values = {} if when is None else parts(self.period(when))
        return landing_dir / self.path.format(**values)

    def landed_periods(self, landing_dir: Path) -> list[Period]:
        """The periods for which a periodic source has a file in ``landing_dir``, sorted."""
        glob = self.path.format(**dict.fromkeys(placeholders(self.path), "*"))
        regex, periods = path_regex(self.path), set()
        for path in landing_dir.glob(glob):
            match = re.fullmatch(regex, path.relative_to(landing_dir).as_posix())
            found = match.groupdict() if match else {}
            try:
                day = found.get("date") or f"{found['yyyy']}-{found['mm']}-{found.get('dd', '01')}"
                moment = dt.datetime.fromisoformat(day).replace(hour=int(found.get("hh", 0)))
                period = self.calendar.period_of(moment)
            except (KeyError, ValueError):  # not this source's file, or named for 2013-02-30
                continue
            if self.landing_file(landing_dir, period) == path:  # every placeholder names it
                periods.add(period)
        return sorted(periods)

    def calendar_periods(self, landing_dir: Path) -> list[Period]:
        """The periods landed in ``landing_dir`` within the calendar, sorted."""
        last = self.calendar.last
        return [
            p
            for p in self.landed_periods(landing_dir)
            if p >= self.calendar.first and (last is None or p <= last)
        ]

    def newest_period(self, landing_dir: Path) -> Period | None:
        """The newest period landed in ``landing_dir`` within the calendar, or None."""
        return max(self.calendar_periods(landing_dir), default=None)

    def oldest_period(self, landing_dir: Path) -> Period | None:
        """The oldest period landed in ``landing_dir`` within the calendar, or None."""
        return min(self.calendar_periods(landing_dir), default=None)
