"""Property tests of kpi_transforms.calendar against a brute-force reference.

The reference shares nothing with the implementation but the config and the `holidays`
package: it marks each open minute of a local date on a 1440-slot grid (configured hours, minus
every minute a closed period covers), groups the minutes back into intervals, converts their
wall-clock ends to UTC with zoneinfo, and then sums, searches and clamps in plain Python.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import holidays
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import ClosedPeriod, Config

H = 3600
DAY = 86400

CONFIGS = {
    "default": Config(),
    "lunch_sat_closed": Config(
        business_hours={d: ((8 * H, 12 * H), (13 * H, 17 * H)) for d in range(5)}
        | {5: ((8 * H, 12 * H),)},
        extra_open=(dt.date(2025, 4, 2), dt.date(2025, 3, 30), dt.date(2025, 12, 28)),
        extra_closed=(dt.date(2025, 5, 2), dt.date(2025, 12, 22)),
        closed_periods=(
            ClosedPeriod(dt.datetime(2025, 3, 10, 12, 30), dt.datetime(2025, 3, 12, 9, 59)),
            ClosedPeriod(dt.datetime(2025, 4, 12, 0, 0), dt.datetime(2025, 4, 12, 23, 59)),
            ClosedPeriod(dt.datetime(2025, 4, 22, 10, 15), dt.datetime(2025, 4, 22, 10, 44)),
            ClosedPeriod(dt.datetime(2025, 12, 15, 16, 0), dt.datetime(2025, 12, 19, 8, 29)),
        ),
    ),
    "berlin": Config(
        timezone="Europe/Berlin", holiday_country="DE", holiday_categories=("public",)
    ),
}
CALENDARS = {name: BusinessCalendar.from_config(c) for name, c in CONFIGS.items()}

# two windows around the Idul Fitri / cuti bersama break and the year end (incl. Berlin's DST)
WINDOWS = [
    (int(dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc).timestamp()), 75 * DAY),
    (int(dt.datetime(2025, 10, 15, tzinfo=dt.timezone.utc).timestamp()), 90 * DAY),
]


# ------------------------------------------------------------------ the reference


@functools.lru_cache(maxsize=None)
def _holidays(name: str, year: int) -> frozenset[dt.date]:
    c = CONFIGS[name]
    found = holidays.country_holidays(
        c.holiday_country, years=year, categories=c.holiday_categories
    )
    return frozenset(found)


@functools.lru_cache(maxsize=None)
def ref_intervals(name: str, day: dt.date) -> tuple[tuple[int, int], ...]:
    """UTC (start, end) of the date's working intervals, from a minute grid."""
    c = CONFIGS[name]
    weekday = day.weekday()
    if day in c.extra_open:
        hours = c.business_hours.get(weekday) or c.business_hours.get(0, ())
    elif day in c.extra_closed or day in _holidays(name, day.year):
        hours = ()
    else:
        hours = c.business_hours.get(weekday, ())
    grid = [False] * 1440
    for o, e in hours:
        for m in range(o // 60, e // 60):
            grid[m] = True
    midnight = dt.datetime.combine(day, dt.time())
    for p in c.closed_periods:
        for m in range(1440):
            if p.start <= midnight + dt.timedelta(minutes=m) <= p.end:  # both ends inclusive
                grid[m] = False
    tz = zoneinfo.ZoneInfo(c.timezone)
    out, m = [], 0
    while m < 1440:
        if grid[m]:
            end = m
            while end < 1440 and grid[end]:
                end += 1
            s = (midnight + dt.timedelta(minutes=m)).replace(tzinfo=tz).timestamp()
            e = (midnight + dt.timedelta(minutes=end)).replace(tzinfo=tz).timestamp()
            out.append((int(s), int(e), m * 60, end * 60))
            m = end
        else:
            m += 1
    return tuple(out)


def local_date(name: str, t: int) -> dt.date:
    return dt.datetime.fromtimestamp(t, zoneinfo.ZoneInfo(CONFIGS[name].timezone)).date()


def days_between(name: str, a: int, b: int):
    day, last = local_date(name, a) - dt.timedelta(1), local_date(name, b) + dt.timedelta(1)
    while day <= last:
        yield day
        day += dt.timedelta(1)


def ref_business_seconds(name: str, a: int, b: int) -> int:
    if b <= a:
        return 0
    return sum(
        max(0, min(e, b) - max(s, a))
        for day in days_between(name, a, b)
        for s, e, *_ in ref_intervals(name, day)
    )


def ref_next_working_start(name: str, t: int) -> int:
    day = local_date(name, t) - dt.timedelta(1)
    for _ in range(400):
        for s, e, *_ in ref_intervals(name, day):
            if e > t:
                return max(s, t)
        day += dt.timedelta(1)
    raise AssertionError("no working interval within 400 days")


def ref_deadline(name: str, s: int) -> int:
    tz = zoneinfo.ZoneInfo(CONFIGS[name].timezone)
    wall_dt = dt.datetime.fromtimestamp(s, tz)
    wall = wall_dt.hour * H + wall_dt.minute * 60 + wall_dt.second
    day = wall_dt.date() + dt.timedelta(1)
    while not ref_intervals(name, day):
        day += dt.timedelta(1)
    ivs = ref_intervals(name, day)
    clamped = min(max(wall, ivs[0][2]), ivs[-1][3])
    wall_clock = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=clamped)
    return int(wall_clock.replace(tzinfo=tz).timestamp())


# ------------------------------------------------------------------ strategies


@st.composite
def instants(draw) -> int:
    """Uniform seconds, or exactly on / next to a minute boundary of the local day."""
    origin, span = draw(st.sampled_from(WINDOWS))
    if draw(st.booleans()):
        return origin + draw(st.integers(0, span))
    day = draw(st.integers(0, span // DAY)) * DAY
    minute = draw(st.sampled_from([0, 7, 8, 10, 12, 13, 16, 17, 23]) | st.integers(0, 23)) * H
    minute += draw(st.sampled_from([0, 0, 15, 30, 45]) | st.integers(0, 59)) * 60
    return origin + day + minute - 7 * H + draw(st.sampled_from([-1, 0, 0, 1]))


names = st.sampled_from(sorted(CONFIGS))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ properties


@FAST
@given(names, instants(), instants())
def test_business_seconds_matches_reference(name, a, b):
    cal = CALENDARS[name]
    got = int(cal.business_seconds(a, b))
    assert got == ref_business_seconds(name, a, b)
    assert 0 <= got <= max(b - a, 0)


@FAST
@given(names, instants(), instants(), instants())
def test_business_seconds_is_additive(name, x, y, z):
    a, b, c = sorted((x, y, z))
    cal = CALENDARS[name]
    got = cal.business_seconds(np.array([a, b, a]), np.array([b, c, c]))
    assert got[0] + got[1] == got[2]


@FAST
@given(names, instants())
def test_next_working_start(name, t):
    cal = CALENDARS[name]
    n = int(cal.next_working_start(t))
    assert n == ref_next_working_start(name, t)
    assert n >= t and bool(cal.is_working(n))
    assert int(cal.next_working_start(n)) == n  # idempotent
    assert bool(cal.is_working(t)) == (n == t)
    assert int(cal.business_seconds(t, n)) == 0  # nothing open in between


@FAST
@given(names, instants())
def test_deadline(name, t):
    cal = CALENDARS[name]
    s = int(cal.next_working_start(t))
    got = int(cal.one_working_day_deadline(s))
    assert got == ref_deadline(name, s)
    day, start_day = local_date(name, got), local_date(name, s)
    tz = zoneinfo.ZoneInfo(CONFIGS[name].timezone)
    wall = dt.datetime.fromtimestamp(got, tz).replace(tzinfo=None)
    if wall.time() == dt.time(0) and got != s:  # a 24:00 close shows as the next midnight
        day -= dt.timedelta(1)
    assert day > start_day and cal.is_working_day(day)
    assert cal.next_working_day(start_day) == day
    window = cal.working_intervals(day)
    assert window[0][0] <= wall <= window[-1][1]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_bulk_random_pairs_match_reference(name):
    """Several thousand seeded pairs in one vectorised call, checked one by one."""
    rng = np.random.default_rng(2025)
    origin, span = WINDOWS[0] if name != "berlin" else (WINDOWS[1][0], WINDOWS[1][1])
    a = origin + rng.integers(0, span - 20 * DAY, size=3000)
    b = a + rng.integers(-DAY, 12 * DAY, size=3000)
    got = CALENDARS[name].business_seconds(a, b)
    assert got.tolist() == [ref_business_seconds(name, int(x), int(y)) for x, y in zip(a, b)]
    nws = CALENDARS[name].next_working_start(a)
    assert nws.tolist() == [ref_next_working_start(name, int(x)) for x in a]
    dl = CALENDARS[name].one_working_day_deadline(nws)
    assert dl.tolist() == [ref_deadline(name, int(x)) for x in nws]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_working_intervals_match_reference(name):
    tz = zoneinfo.ZoneInfo(CONFIGS[name].timezone)
    day = dt.date(2025, 3, 1)
    while day < dt.date(2026, 1, 15):
        got = [
            (int(s.replace(tzinfo=tz).timestamp()), int(e.replace(tzinfo=tz).timestamp()))
            for s, e in CALENDARS[name].working_intervals(day)
        ]
        assert got == [(s, e) for s, e, *_ in ref_intervals(name, day)], day
        assert CALENDARS[name].is_working_day(day) == bool(got)
        day += dt.timedelta(1)
