"""Reporting periods: ``2025-03`` (a month) or ``2025-Q1`` (a quarter), in local dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import zoneinfo

from kpi_transforms.core.errors import ChatKpiError

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


@dataclasses.dataclass(frozen=True)
class Period:
    period_type: str  # "month" | "quarter"
    start: dt.date  # first local date
    end: dt.date  # first local date after the period

    @property
    def label(self) -> str:
        if self.period_type == "month":
            return f"{self.start:%Y-%m}"
        return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"

    def utc_bounds(self, timezone: str) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) as UTC instants: local midnight to local midnight."""
        tz = zoneinfo.ZoneInfo(timezone)
        lo = dt.datetime.combine(self.start, dt.time(), tz).astimezone(dt.timezone.utc)
        hi = dt.datetime.combine(self.end, dt.time(), tz).astimezone(dt.timezone.utc)
        return lo, hi

    def months(self) -> list["Period"]:
        out, day = [], self.start
        while day < self.end:
            nxt = _add_months(day, 1)
            out.append(Period("month", day, nxt))
            day = nxt
        return out

    def previous(self) -> "Period":
        step = 1 if self.period_type == "month" else 3
        return Period(self.period_type, _add_months(self.start, -step), self.start)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def as_period(period: "Period | str") -> Period:
    """A :class:`Period`, or the one a period text names."""
    return parse_period(period) if isinstance(period, str) else period


def parse_period(text: str) -> Period:
    """``2025-03`` -> March 2025; ``2025-Q1`` -> January to March 2025."""
    text = str(text).strip()
    if m := _MONTH.match(text):
        start = dt.date(int(m.group(1)), int(m.group(2)), 1)
        return Period("month", start, _add_months(start, 1))
    if m := _QUARTER.match(text):
        start = dt.date(int(m.group(1)), (int(m.group(2)) - 1) * 3 + 1, 1)
        return Period("quarter", start, _add_months(start, 3))
    raise ChatKpiError(f"unknown period format {text!r}: write 2025-03 for a month or 2025-Q1 for a quarter")
