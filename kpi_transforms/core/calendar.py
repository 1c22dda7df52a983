"""Business calendar of SPEC 5: working time, next working start, business seconds, deadlines.

All array operations take UTC epoch **seconds** (NumPy ``int64`` arrays, Python ints, aware
``datetime`` objects, or pandas ``datetime64[..., tz]`` Series / DatetimeIndex, which are converted
once by :func:`to_epoch_seconds`) and return NumPy arrays of the input's shape.

How it works. For a contiguous range of whole local years the calendar builds a table once
(and extends it lazily when called with instants outside it):

* every local date's working intervals (weekday hours, or none on holidays / ``extra_closed``
  days; ``extra_open`` days get their weekday's hours or Monday's), minus the closed periods,
  converted from local wall-clock time to UTC seconds;
* one flat, sorted array of interval starts ``S`` and ends ``E`` over the whole range, and the
  cumulative working seconds ``C`` before each interval, stored as ``K = C - S``;
* a bucket look-up table (one entry per 2**11 s) giving the index of the first interval that ends
  after the bucket's start, so finding "the first interval ending after t" is one gather plus a
  small fixed number of corrections instead of a binary search;
* per local date: is it a working day, the index of the next working day, and its first-open /
  last-close wall-clock window.

Then, with ``i`` the first interval whose end is after ``t`` (so ``t < E[i]``):
``is_working(t) = S[i] <= t``, ``next_working_start(t) = max(t, S[i])``, and the working seconds
before ``t`` are ``cum(t) = max(t, S[i]) + K[i]``, so ``business_seconds(a, b) = cum(b) - cum(a)``.

Time zones. Intervals are built per local date and converted to UTC with the zone's own
transitions, so zones with daylight-saving time work: a boundary in the repeated hour of a
fall-back transition means its first occurrence (``fold=0``); a boundary in the skipped hour of a
spring-forward gap moves forward to the transition instant (the first wall-clock time that
exists), so an interval lying wholly inside a gap vanishes and ``00:00-24:00`` on that day lasts
23 hours. The zone's offsets are sampled every 6 hours and each change is located to the second;
two transitions less than 6 hours apart (not present in tzdata for the years this tool handles)
would be missed.

Sentinels and limits. A configuration with no working interval on any weekday is rejected with a
``ValueError`` when the calendar is built (nothing could ever be working). Otherwise the search for
the next working interval / day looks at least :data:`HORIZON_YEARS` years beyond the input; where
nothing is open in that horizon (e.g. a closed period of several years), ``next_working_start`` and
``one_working_day_deadline`` return :data:`NEVER` (the maximum ``int64``) and the date helpers raise
``ValueError``. Inputs must be real instants in years :data:`MIN_YEAR`..:data:`MAX_YEAR`; a missing
value (``NaT``) or anything outside raises ``ValueError`` -- mask missing values before calling.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from kpi_transforms.core import holiday_table
from kpi_transforms.core.config import ClosedPeriod, Config

__all__ = ["BusinessCalendar", "NEVER", "HORIZON_YEARS", "to_epoch_seconds"]

NEVER = int(np.iinfo(np.int64).max)
"""Returned by ``next_working_start`` / ``one_working_day_deadline`` when nothing is open within
:data:`HORIZON_YEARS` years after the input."""

HORIZON_YEARS = 3
MIN_YEAR = 1900
MAX_YEAR = 2199

_DAY = 86_400
_BIG = 1 << 62  # padding boundary, larger than any supported instant; BIG - t never overflows
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_BUCKET_SHIFT = 11  # 2048-second buckets in the interval look-up table
_MAX_CORRECTIONS = 4  # above this many interval ends per bucket, use a binary search instead
_MIN_T = (dt.date(MIN_YEAR, 1, 1).toordinal() - _EPOCH_ORDINAL) * _DAY
_MAX_T = (dt.date(MAX_YEAR, 12, 31).toordinal() - _EPOCH_ORDINAL) * _DAY
_UNIT_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


# --------------------------------------------------------------------------------------------
# input conversion


def to_epoch_seconds(values: Any) -> np.ndarray:
    """UTC epoch seconds (``int64``, floored) of ints, aware datetimes, or tz-aware pandas data.

    NumPy ``datetime64`` values (which carry no zone) are taken as UTC; naive pandas / Python
    datetimes are refused, since exports are in local time and must be localised first.
    """
    if isinstance(values, np.ndarray):
        if values.dtype == np.int64:
            return values
        if values.dtype.kind in "iu":
            return values.astype(np.int64)
        if values.dtype.kind == "M":
            out = values.astype("datetime64[s]").view(np.int64)
            if np.isnat(values).any():
                raise ValueError("missing times (NaT): mask them before calling the calendar")
            return out
        if values.dtype == object:
            return np.array([_scalar_seconds(v) for v in values.ravel()], dtype=np.int64).reshape(
                values.shape
            )
        raise TypeError(f"cannot read times from an array of dtype {values.dtype}")
    if type(values).__module__.startswith("pandas"):
        return _pandas_seconds(values)
    if isinstance(values, (list, tuple)):
        if all(isinstance(v, (int, np.integer)) for v in values):
            return np.asarray(values, dtype=np.int64)
        return np.array([_scalar_seconds(v) for v in values], dtype=np.int64)
    return np.asarray(_scalar_seconds(values), dtype=np.int64)


def _scalar_seconds(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("a boolean is not a time")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise ValueError("missing time (NaT): mask it before calling the calendar")
        return int(value.astype("datetime64[s]").astype(np.int64))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError(f"naive datetime {value!r}: localise it to a time zone first")
        delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return delta.days * _DAY + delta.seconds  # floors sub-second parts
    raise TypeError(f"cannot read a time from {type(value).__name__}")


def _pandas_seconds(values: Any) -> np.ndarray:
    import pandas as pd

    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.DatetimeTZDtype):
        index = pd.DatetimeIndex(values)
        if index.hasnans:
            raise ValueError("missing times (NaT): mask them before calling the calendar")
        return index.asi8 // _UNIT_PER_SECOND[index.unit]
    if dtype is not None and getattr(dtype, "kind", "") == "M":
        raise TypeError("naive pandas datetimes: localise them (tz_localize) to a zone first")
    if isinstance(values, pd.Timestamp):
        return np.asarray(_scalar_seconds(values), dtype=np.int64)
    return np.asarray(values, dtype=np.int64)


def _check_range(lo: int, hi: int) -> None:
    if lo < _MIN_T or hi > _MAX_T:
        bad = lo if lo < _MIN_T else hi
        raise ValueError(
            f"time {bad} (epoch seconds) is outside the supported years {MIN_YEAR}..{MAX_YEAR}"
            " (a missing value? mask it before calling the calendar)"
        )


def _date_of(t: int) -> dt.date:
    return dt.date.fromordinal(_EPOCH_ORDINAL + t // _DAY)


# --------------------------------------------------------------------------------------------
# time-zone offsets as vectorised look-ups


class _Offsets:
    """A zone's UTC offsets over a range of instants, as transition instants and offsets."""

    def __init__(self, tz: zoneinfo.ZoneInfo, lo: int, hi: int):
        def offset(u: int) -> int:
            return int(dt.datetime.fromtimestamp(u, tz).utcoffset().total_seconds())

        step = 6 * 3600
        prev_u, prev_o = lo, offset(lo)
        trans, offs = [-_BIG], [prev_o]
        for u in range(lo + step, hi + step, step):
            o = offset(u)
            if o != prev_o:
                a, b = prev_u, u  # offset(a) == prev_o != offset(b): bisect to the second
                while b - a > 1:
                    m = (a + b) // 2
                    if offset(m) == prev_o:
                        a = m
                    else:
                        b = m
                trans.append(b)
                offs.append(offset(b))
            prev_u, prev_o = u, o
        self.fixed = offs[0] if len(offs) == 1 else None
        self.trans = np.array(trans, dtype=np.int64)  # offs[j] holds from trans[j]
        self.offs = np.array(offs, dtype=np.int64)
        nxt = np.append(self.trans[1:], _BIG)
        self.local_start = self.trans + self.offs  # local wall range of segment j
        self.local_end = nxt + self.offs

    def utc_to_local(self, u: np.ndarray) -> np.ndarray:
        if self.fixed is not None:
            return u + self.fixed
        return u + self.offs[np.searchsorted(self.trans, u, side="right") - 1]

    def local_to_utc(self, x: np.ndarray) -> np.ndarray:
        """Wall-clock seconds -> UTC: first occurrence when repeated, gap -> transition instant."""
        if self.fixed is not None:
            return x - self.fixed
        j = np.searchsorted(self.local_end, x, side="right")  # earliest segment ending after x
        return np.where(x >= self.local_start[j], x - self.offs[j], self.trans[j])


# --------------------------------------------------------------------------------------------
# the per-range table


@dataclasses.dataclass(frozen=True)
class _Table:
    year0: int
    year1: int  # inclusive
    day0: int  # epoch day (local) of year0-01-01
    ndays: int
    offsets: _Offsets
    # flat intervals, padded with one (BIG, BIG) interval at index n
    starts: np.ndarray
    ends: np.ndarray
    k: np.ndarray  # cumulative working seconds before interval i, minus its start
    n: int
    iv_day: np.ndarray  # local day index of each interval (length n)
    iv_local: np.ndarray  # (n, 2) local wall-clock seconds of each kept interval
    lut: np.ndarray
    lut_origin: int
    corrections: int  # -1: use searchsorted
    # per local day
    working: np.ndarray
    next_day: np.ndarray  # index of the first working day strictly after; ndays if none
    day_open: np.ndarray  # local wall seconds (absolute) of first open; 0 on closed days
    day_close: np.ndarray


def _subtract(
    intervals: list[tuple[int, int]], closed: Iterable[tuple[int, int]]
) -> list[tuple[int, int]]:
    out = intervals
    for c0, c1 in closed:
        nxt: list[tuple[int, int]] = []
        for o, c in out:
            if c1 <= o or c0 >= c:
                nxt.append((o, c))
                continue
            if o < c0:
                nxt.append((o, c0))
            if c1 < c:
                nxt.append((c1, c))
        out = nxt
    return out


class BusinessCalendar:
    """Working time of one account (SPEC 5), vectorised over UTC epoch seconds."""

    def __init__(
        self,
        timezone: str = "Asia/Jakarta",
        business_hours: Mapping[int, Iterable[tuple[int, int]]] | None = None,
        holiday_country: str | None = "ID",
        holiday_categories: Iterable[str] = ("public", "government"),
        extra_closed: Iterable[dt.date] = (),
        extra_open: Iterable[dt.date] = (),
        closed_periods: Iterable[ClosedPeriod] = (),
    ):
        self.timezone = timezone
        self._tz = zoneinfo.ZoneInfo(timezone)
        if business_hours is None:
            business_hours = Config().business_hours
        hours: dict[int, tuple[tuple[int, int], ...]] = {}
        for day, intervals in business_hours.items():
            if not 0 <= int(day) <= 6:
                raise ValueError(f"business_hours: weekday {day!r} is not 0 (Mon) .. 6 (Sun)")
            merged: list[tuple[int, int]] = []
            for o, c in sorted((int(o), int(c)) for o, c in intervals):
                if not 0 <= o < c <= _DAY:
                    raise ValueError(f"business_hours: bad interval ({o}, {c}) on weekday {day}")
                if merged and o < merged[-1][1]:
                    raise ValueError(f"business_hours: overlapping intervals on weekday {day}")
                if merged and o == merged[-1][1]:  # touching intervals are one interval
                    merged[-1] = (merged[-1][0], c)
                else:
                    merged.append((o, c))
            if merged:
                hours[int(day)] = tuple(merged)
        if not hours:
            raise ValueError(
                "business_hours has no working interval on any weekday: nothing could ever be"
                " working (extra_open days use their weekday's or Monday's hours)"
            )
        self.business_hours: Mapping[int, tuple[tuple[int, int], ...]] = hours
        self.holiday_country = holiday_country or None
        self.holiday_categories = tuple(holiday_categories)
        self.extra_closed = frozenset(extra_closed)
        self.extra_open = frozenset(extra_open)
        self.closed_periods = tuple(sorted(closed_periods, key=lambda p: (p.start, p.end)))
        if self.holiday_country and not holiday_table.covers(self.holiday_country, self.holiday_categories):
            self._holidays_for(range(0))  # fail now on an unknown country or category
        self._table: _Table | None = None

    @classmethod
    def from_config(cls, config: Config) -> BusinessCalendar:
        return cls(
            timezone=config.timezone,
            business_hours=config.business_hours,
            holiday_country=config.holiday_country,
            holiday_categories=config.holiday_categories,
            extra_closed=config.extra_closed,
            extra_open=config.extra_open,
            closed_periods=config.closed_periods,
        )

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar(timezone={self.timezone!r}, holidays={self.holiday_country!r}"
            f" {list(self.holiday_categories)})"
        )

    # ---------------------------------------------------------------- table

    def _holidays_for(self, years: range) -> set[dt.date]:
        if not self.holiday_country:
            return set()
        shipped = holiday_table.lookup(self.holiday_country, self.holiday_categories, years)
        if shipped is not None:
            return shipped
        import holidays

        try:
            found = holidays.country_holidays(
                self.holiday_country, years=list(years), categories=self.holiday_categories
            )
        except (NotImplementedError, ValueError, KeyError) as exc:
            raise ValueError(
                f"holidays: country {self.holiday_country!r} with categories"
                f" {list(self.holiday_categories)} is not available: {exc}"
            ) from exc
        return set(found.keys())

    def _day_intervals(self, day: dt.date, hol: set[dt.date]) -> list[tuple[int, int]]:
        """Working intervals of a local date, as seconds after its local midnight."""
        weekday = day.weekday()
        if day in self.extra_open:
            base = self.business_hours.get(weekday) or self.business_hours.get(0, ())
        elif day in self.extra_closed or day in hol:
            return []
        else:
            base = self.business_hours.get(weekday, ())
        intervals = list(base)
        if intervals and self.closed_periods:
            midnight = dt.datetime.combine(day, dt.time())
            closed = []
            for p in self.closed_periods:
                start, end = closed_span(p)
                c0, c1 = int((start - midnight).total_seconds()), int((end - midnight).total_seconds())
                if c0 < _DAY and c1 > 0:
                    closed.append((c0, c1))
            intervals = _subtract(intervals, closed)
        return intervals

    def _build(self, year0: int, year1: int) -> _Table:
        first = dt.date(year0, 1, 1)
        day0 = first.toordinal() - _EPOCH_ORDINAL
        ndays = dt.date(year1 + 1, 1, 1).toordinal() - first.toordinal()
        hol = self._holidays_for(range(year0, year1 + 1))
        offsets = _Offsets(self._tz, day0 * _DAY - 2 * _DAY, (day0 + ndays) * _DAY + 2 * _DAY)

        loc_s: list[int] = []
        loc_e: list[int] = []
        iv_day: list[int] = []
        for k in range(ndays):
            base = (day0 + k) * _DAY
            for o, c in self._day_intervals(dt.date.fromordinal(first.toordinal() + k), hol):
                loc_s.append(base + o)
                loc_e.append(base + c)
                iv_day.append(k)
        ls = np.array(loc_s, dtype=np.int64)
        le = np.array(loc_e, dtype=np.int64)
        days = np.array(iv_day, dtype=np.int64)
        us, ue = offsets.local_to_utc(ls), offsets.local_to_utc(le)
        keep = ue > us  # an interval inside a DST gap vanishes
        ls, le, days, us, ue = ls[keep], le[keep], days[keep], us[keep], ue[keep]
        n = len(us)
        assert n == 0 or bool(np.all(us[1:] >= ue[:-1])), "intervals must be sorted and disjoint"

        starts = np.append(us, _BIG)
        ends = np.append(ue, _BIG)
        cum = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(ue - us, out=cum[1:])
        k_arr = cum - starts

        working = np.zeros(ndays, dtype=bool)
        working[days] = True
        day_open = np.zeros(ndays, dtype=np.int64)
        day_close = np.zeros(ndays, dtype=np.int64)
        if n:
            all_days = np.arange(ndays)
            first_iv = np.searchsorted(days, all_days, side="left")[working]
            last_iv = np.searchsorted(days, all_days, side="right")[working] - 1
            day_open[working] = ls[first_iv]
            day_close[working] = le[last_iv]
        idx = np.where(working, np.arange(ndays), ndays)
        on_or_after = np.minimum.accumulate(idx[::-1])[::-1]
        next_day = np.append(on_or_after[1:], ndays).astype(np.int64)

        lut_origin = day0 * _DAY - 3 * _DAY
        nb = (((day0 + ndays) * _DAY + 3 * _DAY - lut_origin) >> _BUCKET_SHIFT) + 1
        bucket = lut_origin + (np.arange(nb, dtype=np.int64) << _BUCKET_SHIFT)
        lut = np.searchsorted(ends, bucket, side="right").astype(np.intp)
        last = np.searchsorted(ends, bucket + (1 << _BUCKET_SHIFT) - 1, side="right")
        corrections = int((last - lut).max()) if nb else 0
        if corrections > _MAX_CORRECTIONS:
            corrections = -1
        return _Table(
            year0=year0,
            year1=year1,
            day0=day0,
            ndays=ndays,
            offsets=offsets,
            starts=starts,
            ends=ends,
            k=k_arr,
            n=n,
            iv_day=days,
            iv_local=np.stack([ls, le], axis=1) if n else np.zeros((0, 2), dtype=np.int64),
            lut=lut,
            lut_origin=lut_origin,
            corrections=corrections,
            working=working,
            next_day=next_day,
            day_open=day_open,
            day_close=day_close,
        )

    def _ensure(self, lo: int, hi: int, lookahead_years: int = 1) -> _Table:
        """The table, (re)built so that instants lo..hi and `lookahead_years` after are inside."""
        _check_range(lo, hi)
        y0 = _date_of(lo - 2 * _DAY).year
        y1 = min(_date_of(hi + 2 * _DAY).year + lookahead_years, MAX_YEAR + HORIZON_YEARS + 1)
        table = self._table
        if table is not None and table.year0 <= y0 and y1 <= table.year1:
            return table
        if table is not None:
            y0, y1 = min(y0, table.year0), max(y1, table.year1)
        table = self._build(y0, y1)
        self._table = table
        return table

    def _ensure_day(self, day: dt.date, lookahead_years: int = 1) -> tuple[_Table, int]:
        t = (day.toordinal() - _EPOCH_ORDINAL) * _DAY
        table = self._ensure(t, t, lookahead_years)
        return table, (day.toordinal() - _EPOCH_ORDINAL) - table.day0

    @staticmethod
    def _interval_index(table: _Table, t: np.ndarray) -> np.ndarray:
        """Index of the first interval whose end is after t (n when none in the table)."""
        if table.corrections < 0:
            return np.searchsorted(table.ends, t, side="right")
        i = table.lut[(t - table.lut_origin) >> _BUCKET_SHIFT]
        ends = table.ends
        for _ in range(table.corrections):
            i += ends[i] <= t
        return i

    # ---------------------------------------------------------------- vectorised operations

    def is_working(self, t: Any) -> np.ndarray:
        """True where the instant lies inside a working interval."""
        t = to_epoch_seconds(t)
        if t.ndim == 0:
            return self.is_working(t.reshape(1)).reshape(())
        if t.size == 0:
            return np.zeros(t.shape, dtype=bool)
        table = self._ensure(int(t.min()), int(t.max()))
        return table.starts[self._interval_index(table, t)] <= t

    def next_working_start(self, t: Any) -> np.ndarray:
        """t itself if working, else the start of the next working interval (NEVER if none)."""
        t = to_epoch_seconds(t)
        if t.ndim == 0:
            return self.next_working_start(t.reshape(1)).reshape(())
        if t.size == 0:
            return np.zeros(t.shape, dtype=np.int64)
        lo, hi = int(t.min()), int(t.max())
        table = self._ensure(lo, hi)
        i = self._interval_index(table, t)
        if (i == table.n).any():  # nothing open before the end of the table: look further
            table = self._ensure(lo, hi, HORIZON_YEARS + 1)
            i = self._interval_index(table, t)
            out = np.maximum(t, table.starts[i])
            out[i == table.n] = NEVER
            return out
        return np.maximum(t, table.starts[i])

    def business_seconds(self, a: Any, b: Any) -> np.ndarray:
        """Working seconds in [a, b); 0 where b <= a."""
        a = to_epoch_seconds(a)
        b = to_epoch_seconds(b)
        if a.shape != b.shape:
            a, b = np.broadcast_arrays(a, b)
        if a.ndim == 0:
            return self.business_seconds(a.reshape(1), b.reshape(1)).reshape(())
        if a.size == 0:
            return np.zeros(a.shape, dtype=np.int64)
        table = self._ensure(
            min(int(a.min()), int(b.min())), max(int(a.max()), int(b.max()))
        )
        out = self._cum(table, b)
        out -= self._cum(table, a)
        return np.maximum(out, 0, out=out)

    def _cum(self, table: _Table, t: np.ndarray) -> np.ndarray:
        i = self._interval_index(table, t)
        out = np.maximum(t, table.starts[i])
        out += table.k[i]
        return out

    def one_working_day_deadline(self, s: Any) -> np.ndarray:
        """Same local wall-clock time on the next working day after s's local date, clamped into
        that day's first-open..last-close window (SPEC 5). NEVER where no working day follows."""
        s = to_epoch_seconds(s)
        if s.ndim == 0:
            return self.one_working_day_deadline(s.reshape(1)).reshape(())
        if s.size == 0:
            return np.zeros(s.shape, dtype=np.int64)
        lo, hi = int(s.min()), int(s.max())
        table = self._ensure(lo, hi)
        local = table.offsets.utc_to_local(s)
        k = local // _DAY
        wall = local - k * _DAY
        k -= table.day0
        nk = table.next_day[k]
        missing = nk == table.ndays
        if missing.any():
            table = self._ensure(lo, hi, HORIZON_YEARS + 1)
            local = table.offsets.utc_to_local(s)
            k = local // _DAY
            wall = local - k * _DAY
            k -= table.day0
            nk = table.next_day[k]
            missing = nk == table.ndays
            nk[missing] = 0
        target = (nk + table.day0) * _DAY
        target += wall
        np.maximum(target, table.day_open[nk], out=target)
        np.minimum(target, table.day_close[nk], out=target)
        out = table.offsets.local_to_utc(target)
        if missing.any():
            out[missing] = NEVER
        return out

    # ---------------------------------------------------------------- date helpers

    def is_working_day(self, day: dt.date) -> bool:
        """True when the local date keeps at least one working interval."""
        table, k = self._ensure_day(day)
        return bool(table.working[k])

    def working_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The date's working intervals as local naive wall-clock datetimes (after holidays and
        closed periods; an end at 24:00 is the next day's 00:00)."""
        table, k = self._ensure_day(day)
        lo, hi = np.searchsorted(table.iv_day, [k, k + 1])
        epoch = dt.datetime(1970, 1, 1)
        return [
            (epoch + dt.timedelta(seconds=int(s)), epoch + dt.timedelta(seconds=int(e)))
            for s, e in table.iv_local[lo:hi]
        ]

    def next_working_day(self, day: dt.date) -> dt.date:
        """First working day strictly after `day` (ValueError if none within the horizon)."""
        table, k = self._ensure_day(day)
        nk = int(table.next_day[k])
        if nk == table.ndays:
            table, k = self._ensure_day(day, HORIZON_YEARS + 1)
            nk = int(table.next_day[k])
            if nk == table.ndays:
                raise ValueError(
                    f"no working day within {HORIZON_YEARS} years after {day.isoformat()}"
                )
        return dt.date.fromordinal(_EPOCH_ORDINAL + table.day0 + nk)

    def first_working_day_on_or_after(self, day: dt.date) -> dt.date:
        """`day` itself if it is a working day, else the next one."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    def working_seconds_of_weekday(self, weekday: int) -> int:
        """Sum of the weekday's configured intervals (0 = Monday), ignoring holidays."""
        return working_seconds_of_weekday(self.business_hours, weekday)

    def in_closed_period(self, t: np.ndarray) -> np.ndarray:
        """For UTC epoch seconds ``t``: inside one of this calendar's closed periods?"""
        return in_closed_period(t, self.closed_periods, self.timezone)


def working_seconds_of_weekday(business_hours: Mapping[int, Iterable[tuple[int, int]]], weekday: int) -> int:
    """Working seconds of a weekday (0 = Monday) under ``business_hours``: the sum of its
    intervals, holidays ignored. The one definition (calendar and scorecard targets)."""
    return sum(c - o for o, c in business_hours.get(weekday, ()))


def closed_span(period: ClosedPeriod) -> tuple[dt.datetime, dt.datetime]:
    """The local half-open span ``[start, end + 1 min)`` a closed period covers: periods are
    local date-times at minute precision with both ends inclusive (SPEC 5), so one ending
    ``23:59`` runs to midnight. The one definition (working time and queue validity)."""
    return period.start, period.end + dt.timedelta(minutes=1)


def in_closed_period(t: np.ndarray, closed_periods: Iterable[ClosedPeriod], timezone: str) -> np.ndarray:
    """For UTC epoch seconds ``t``: is the instant inside one of the closed periods
    (:func:`closed_span`)?"""
    t = np.asarray(t, dtype=np.int64)
    tz = zoneinfo.ZoneInfo(timezone)
    bounds = sorted(
        tuple(int(edge.replace(tzinfo=tz).timestamp()) for edge in closed_span(p)) for p in closed_periods
    )
    if not bounds:
        return np.zeros(len(t), dtype=bool)
    merged: list[list[int]] = []
    for start, end in bounds:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = np.array([m[0] for m in merged], dtype=np.int64)
    ends = np.array([m[1] for m in merged], dtype=np.int64)
    idx = np.searchsorted(starts, t, side="right") - 1
    return (idx >= 0) & (t < ends[np.maximum(idx, 0)])
