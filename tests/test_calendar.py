"""Hand-computed cases for kpi_transforms.calendar (SPEC 5)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import holidays
import numpy as np
import pandas as pd
import pytest

from kpi_transforms.core.calendar import NEVER, BusinessCalendar, to_epoch_seconds
from kpi_transforms.core.config import ClosedPeriod, Config, parse_config

H = 3600
JKT = "Asia/Jakarta"
LUNCH = {d: ((8 * H, 12 * H), (13 * H, 17 * H)) for d in range(5)}


def ts(text: str, tz: str = JKT) -> int:
    """Epoch seconds of a local wall-clock time (first occurrence when repeated)."""
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=zoneinfo.ZoneInfo(tz)).timestamp())


def local(u, tz: str = JKT) -> str:
    return dt.datetime.fromtimestamp(int(u), zoneinfo.ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def cal(**kwargs) -> BusinessCalendar:
    return BusinessCalendar.from_config(Config(**kwargs))


@pytest.fixture(scope="module")
def default() -> BusinessCalendar:
    return cal()


# ------------------------------------------------------------------ holidays package contents


def test_indonesian_holidays_2025_as_the_package_has_them():
    public = holidays.country_holidays("ID", years=2025, categories=("public",))
    government = holidays.country_holidays("ID", years=2025, categories=("government",))
    # Idul Fitri 1446 H is Monday 31 March and Tuesday 1 April 2025 (public holidays) ...
    assert {dt.date(2025, 3, 31), dt.date(2025, 4, 1)} <= set(public)
    # ... and the cuti bersama (joint leave, category "government") around it
    assert {d for d in government if d.month in (3, 4)} == {
        dt.date(2025, 3, 28),  # Nyepi joint leave (Nyepi itself is Saturday 29 March)
        dt.date(2025, 4, 2),
        dt.date(2025, 4, 3),
        dt.date(2025, 4, 4),
        dt.date(2025, 4, 7),
    }
    assert dt.date(2025, 12, 25) in public and dt.date(2025, 12, 26) in government
    assert sorted(d for d in government if d.month not in (3, 4)) == [
        dt.date(2025, 1, 28),  # Lunar New Year
        dt.date(2025, 5, 13),  # Vesak
        dt.date(2025, 5, 30),  # Ascension
        dt.date(2025, 6, 9),  # Idul Adha
        dt.date(2025, 8, 18),  # Independence Day
        dt.date(2025, 12, 26),  # Christmas
    ]
    assert len(public) == 17


def test_idul_fitri_and_cuti_bersama_are_closed(default):
    closed = [dt.date(2025, 3, 28)] + [dt.date(2025, 3, 29) + dt.timedelta(i) for i in range(10)]
    assert [default.is_working_day(d) for d in closed] == [False] * 11
    assert default.is_working_day(dt.date(2025, 3, 27))
    assert default.is_working_day(dt.date(2025, 4, 8))
    assert default.next_working_day(dt.date(2025, 3, 27)) == dt.date(2025, 4, 8)
    # Thursday 27 March 10:00 -> the next working day is Tuesday 8 April (SPEC 11's example)
    assert local(default.one_working_day_deadline(ts("2025-03-27 10:00"))) == "2025-04-08 10:00:00"
    # a message on Idul Fitri itself starts counting on 8 April 08:00, deadline 9 April 08:00
    start = default.next_working_start(ts("2025-03-31 10:00"))
    assert local(start) == "2025-04-08 08:00:00"
    assert local(default.one_working_day_deadline(start)) == "2025-04-09 08:00:00"
    # business time across the whole break: Thu 16:00 -> Tue 09:00 is 1 h + 1 h
    assert default.business_seconds(ts("2025-03-27 16:00"), ts("2025-04-08 09:00")) == 2 * H


def test_public_holidays_only_makes_cuti_bersama_working():
    c = cal(holiday_categories=("public",))
    assert c.is_working_day(dt.date(2025, 3, 28)) and c.is_working_day(dt.date(2025, 4, 2))
    assert not c.is_working_day(dt.date(2025, 4, 1))
    assert local(c.one_working_day_deadline(ts("2025-03-27 10:00"))) == "2025-03-28 10:00:00"
    assert local(c.one_working_day_deadline(ts("2025-03-28 10:00"))) == "2025-04-02 10:00:00"


# ------------------------------------------------------------------ the SPEC examples


def test_saturday_night_counts_from_monday(default):
    sat = ts("2025-01-11 21:00")
    assert not default.is_working(sat)
    start = default.next_working_start(sat)
    assert local(start) == "2025-01-13 08:00:00"
    assert local(default.one_working_day_deadline(start)) == "2025-01-14 08:00:00"
    assert default.next_working_start(start) == start  # already working


def test_is_working_boundaries(default):
    mon = ts("2025-01-13 00:00")
    probes = np.array([mon + 8 * H - 1, mon + 8 * H, mon + 17 * H - 1, mon + 17 * H])
    got = default.is_working(probes)
    assert got.tolist() == [False, True, True, False]


def test_lunch_break():
    c = cal(business_hours=LUNCH)
    assert c.business_seconds(ts("2025-01-13 11:30"), ts("2025-01-13 13:30")) == H
    assert c.business_seconds(ts("2025-01-13 12:10"), ts("2025-01-13 12:50")) == 0
    assert local(c.next_working_start(ts("2025-01-13 12:15"))) == "2025-01-13 13:00:00"
    assert not c.is_working(ts("2025-01-13 12:00")) and c.is_working(ts("2025-01-13 11:59:59"))
    # deadline keeps the wall clock even inside the lunch break (the window is 08:00-17:00)
    assert local(c.one_working_day_deadline(ts("2025-01-13 11:45"))) == "2025-01-14 11:45:00"
    assert c.working_seconds_of_weekday(0) == 8 * H


def test_touching_intervals_are_one_interval():
    c = cal(business_hours={0: ((8 * H, 12 * H), (12 * H, 17 * H))})
    mon = dt.date(2025, 1, 13)
    assert c.working_intervals(mon) == [(dt.datetime(2025, 1, 13, 8), dt.datetime(2025, 1, 13, 17))]
    assert c.is_working(ts("2025-01-13 12:00"))


def test_reply_at_night_before_opening_counts_zero(default):
    a, b = ts("2025-01-13 22:00"), ts("2025-01-14 07:30")
    assert default.business_seconds(a, b) == 0
    # after-hours to next-day after-hours is a full working day (businesstime returned 0 here)
    assert default.business_seconds(ts("2025-01-13 18:00"), ts("2025-01-14 18:00")) == 9 * H


def test_b_before_or_equal_a_is_zero(default):
    a = ts("2025-01-14 10:00")
    got = default.business_seconds(np.array([a, a, a]), np.array([a - 5 * H, a, a + 60]))
    assert got.tolist() == [0, 0, 60]


def test_friday_afternoon_with_saturday_half_day_is_clamped():
    c = cal(business_hours={d: ((8 * H, 17 * H),) for d in range(5)} | {5: ((8 * H, 12 * H),)})
    assert local(c.one_working_day_deadline(ts("2025-01-10 16:30"))) == "2025-01-11 12:00:00"
    assert local(c.one_working_day_deadline(ts("2025-01-11 09:00"))) == "2025-01-13 09:00:00"
    # and clamped up to the first open
    early = cal(business_hours={0: ((6 * H, 10 * H),), 1: ((9 * H, 17 * H),)})
    assert local(early.one_working_day_deadline(ts("2025-01-13 07:00"))) == "2025-01-14 09:00:00"


# ------------------------------------------------------------------ extra_open / extra_closed


def test_extra_open_saturday_uses_saturday_hours_even_on_a_holiday():
    # Saturday 29 March 2025 is Nyepi (public holiday); extra_open beats the holiday
    sat_hours = {d: ((8 * H, 17 * H),) for d in range(5)} | {5: ((9 * H, 13 * H),)}
    c = cal(business_hours=sat_hours, extra_open=(dt.date(2025, 3, 29),))
    assert c.working_intervals(dt.date(2025, 3, 29)) == [
        (dt.datetime(2025, 3, 29, 9), dt.datetime(2025, 3, 29, 13))
    ]
    assert local(c.one_working_day_deadline(ts("2025-03-27 15:00"))) == "2025-03-29 13:00:00"
    assert not cal(business_hours=sat_hours).is_working_day(dt.date(2025, 3, 29))


def test_weekend_extra_open_gets_mondays_hours():
    c = cal(business_hours=LUNCH, extra_open=(dt.date(2025, 1, 11), dt.date(2025, 1, 12)))
    for day in (11, 12):
        assert c.working_intervals(dt.date(2025, 1, day)) == [
            (dt.datetime(2025, 1, day, 8), dt.datetime(2025, 1, day, 12)),
            (dt.datetime(2025, 1, day, 13), dt.datetime(2025, 1, day, 17)),
        ]
    assert local(c.one_working_day_deadline(ts("2025-01-10 10:00"))) == "2025-01-11 10:00:00"
    assert c.business_seconds(ts("2025-01-10 00:00"), ts("2025-01-13 00:00")) == 3 * 8 * H


def test_extra_open_on_a_cuti_bersama_day(default):
    c = cal(extra_open=(dt.date(2025, 4, 2),))
    assert local(c.one_working_day_deadline(ts("2025-03-27 10:00"))) == "2025-04-02 10:00:00"
    assert local(c.next_working_start(ts("2025-03-31 10:00"))) == "2025-04-02 08:00:00"


def test_extra_closed():
    c = cal(extra_closed=(dt.date(2025, 1, 14),))
    assert not c.is_working_day(dt.date(2025, 1, 14))
    assert c.working_intervals(dt.date(2025, 1, 14)) == []
    assert local(c.one_working_day_deadline(ts("2025-01-13 10:00"))) == "2025-01-15 10:00:00"
    assert c.business_seconds(ts("2025-01-13 16:00"), ts("2025-01-15 09:00")) == 2 * H


# ------------------------------------------------------------------ closed periods


def test_closed_period_to_2359_removes_rest_of_day_and_whole_next_day():
    config = parse_config(
        {
            "closed_periods": [
                {"start": "2025-01-15 12:00", "end": "2025-01-16 23:59"},  # Wed pm + all Thu
                {"start": "2025-01-17 07:00", "end": "2025-01-17 09:59"},  # Fri opens 10:00
            ]
        }
    )
    c = BusinessCalendar.from_config(config)
    wed, thu, fri = dt.date(2025, 1, 15), dt.date(2025, 1, 16), dt.date(2025, 1, 17)
    assert c.working_intervals(wed) == [(dt.datetime(2025, 1, 15, 8), dt.datetime(2025, 1, 15, 12))]
    assert c.is_working_day(wed) and not c.is_working_day(thu) and c.is_working_day(fri)
    assert c.working_intervals(fri) == [
        (dt.datetime(2025, 1, 17, 10), dt.datetime(2025, 1, 17, 17))
    ]
    # Tue 15:00 -> Wed, clamped to its last close 12:00
    assert local(c.one_working_day_deadline(ts("2025-01-14 15:00"))) == "2025-01-15 12:00:00"
    # Wed 10:00 -> Thursday is no working day -> Friday, clamped up to its first open 10:00
    assert local(c.one_working_day_deadline(ts("2025-01-15 09:00"))) == "2025-01-17 10:00:00"
    assert local(c.one_working_day_deadline(ts("2025-01-15 11:00"))) == "2025-01-17 11:00:00"
    assert c.business_seconds(ts("2025-01-15 00:00"), ts("2025-01-18 00:00")) == 4 * H + 7 * H
    assert local(c.next_working_start(ts("2025-01-15 12:00"))) == "2025-01-17 10:00:00"


def test_closed_period_inside_the_day_at_minute_precision():
    period = ClosedPeriod(dt.datetime(2025, 1, 13, 10, 0), dt.datetime(2025, 1, 13, 10, 29))
    c = cal(closed_periods=(period,))
    assert c.working_intervals(dt.date(2025, 1, 13)) == [
        (dt.datetime(2025, 1, 13, 8), dt.datetime(2025, 1, 13, 10)),
        (dt.datetime(2025, 1, 13, 10, 30), dt.datetime(2025, 1, 13, 17)),
    ]
    assert c.business_seconds(ts("2025-01-13 09:00"), ts("2025-01-13 11:00")) == 90 * 60


def test_nothing_open_for_years_gives_the_sentinel():
    years = ClosedPeriod(dt.datetime(2025, 1, 1), dt.datetime(2031, 12, 31, 23, 59))
    c = cal(closed_periods=(years,))
    t = ts("2025-06-02 10:00")
    assert c.next_working_start(t) == NEVER
    assert c.one_working_day_deadline(t) == NEVER
    assert c.is_working(t) == False  # noqa: E712
    with pytest.raises(ValueError, match="no working day within"):
        c.next_working_day(dt.date(2025, 6, 2))
    # a long but finite closure: the table is extended to find the reopening
    long = ClosedPeriod(dt.datetime(2025, 1, 1), dt.datetime(2027, 6, 30, 23, 59))
    c2 = cal(closed_periods=(long,))
    assert local(c2.next_working_start(t)) == "2027-07-01 08:00:00"
    assert c2.next_working_day(dt.date(2025, 6, 2)) == dt.date(2027, 7, 1)


def test_a_week_without_any_interval_is_refused():
    with pytest.raises(ValueError, match="no working interval"):
        cal(business_hours={})
    with pytest.raises(ValueError, match="not available"):
        cal(holiday_categories=("bogus",))


# ------------------------------------------------------------------ time zones


def test_dst_time_zone_europe_berlin():
    berlin = "Europe/Berlin"

    def day_of(text: str) -> tuple[int, int]:
        start = ts(f"{text} 00:00", berlin)
        return start, ts(f"{dt.date.fromisoformat(text) + dt.timedelta(1)} 00:00", berlin)

    c = cal(timezone=berlin, holiday_country="DE", holiday_categories=("public",))
    # Fri 28 March 16:00 CET -> Mon 31 March 09:00 CEST (clocks go forward on Sunday 30 March)
    fri, mon = ts("2025-03-28 16:00", berlin), ts("2025-03-31 09:00", berlin)
    assert c.business_seconds(fri, mon) == 2 * H
    got = c.one_working_day_deadline(ts("2025-03-28 10:00", berlin))
    assert local(got, berlin) == "2025-03-31 10:00:00"
    assert got == int(dt.datetime(2025, 3, 31, 8, tzinfo=dt.timezone.utc).timestamp())
    # round the clock on Sundays: the spring day has 23 hours, the autumn day 25
    allday = cal(timezone=berlin, business_hours={6: ((0, 24 * H),)}, holiday_country="")
    assert allday.business_seconds(*day_of("2025-03-30")) == 23 * H
    assert allday.business_seconds(*day_of("2025-10-26")) == 25 * H
    # an interval starting in the gap opens at the transition (03:00 CEST = 01:00 UTC)
    gap = cal(timezone=berlin, business_hours={6: ((2 * H + 1800, 4 * H),)}, holiday_country="")
    spring = dt.datetime(2025, 3, 30, 1, tzinfo=dt.timezone.utc).timestamp()
    assert gap.next_working_start(ts("2025-03-30 00:00", berlin)) == spring
    assert gap.business_seconds(*day_of("2025-03-30")) == H
    assert gap.business_seconds(*day_of("2025-04-06")) == 90 * 60
    # a boundary in the repeated hour means its first occurrence: 02:30 CEST .. 04:00 CET
    assert gap.business_seconds(*day_of("2025-10-26")) == 150 * 60


def test_24_00_close_and_midnight_continuity():
    c = cal(business_hours={d: ((0, 24 * H),) for d in range(7)}, holiday_country=None)
    t = ts("2025-01-13 00:00")
    assert c.next_working_start(t) == t and c.is_working(t)
    assert c.business_seconds(t, t + 7 * 86400) == 7 * 86400
    assert c.working_intervals(dt.date(2025, 1, 13)) == [
        (dt.datetime(2025, 1, 13), dt.datetime(2025, 1, 14))
    ]
    assert local(c.one_working_day_deadline(ts("2025-01-13 23:30"))) == "2025-01-14 23:30:00"


# ------------------------------------------------------------------ helpers and inputs


def test_helpers(default):
    assert default.timezone == JKT
    assert default.working_seconds_of_weekday(0) == 9 * H
    assert default.working_seconds_of_weekday(5) == 0
    assert default.next_working_day(dt.date(2025, 1, 10)) == dt.date(2025, 1, 13)
    assert default.first_working_day_on_or_after(dt.date(2025, 1, 11)) == dt.date(2025, 1, 13)
    assert default.first_working_day_on_or_after(dt.date(2025, 1, 13)) == dt.date(2025, 1, 13)
    # year boundary: 31 Dec 2025 -> 1 Jan 2026 is New Year -> Friday 2 January
    assert default.next_working_day(dt.date(2025, 12, 31)) == dt.date(2026, 1, 2)
    assert default.working_intervals(dt.date(2025, 12, 25)) == []


def test_shapes_scalars_and_pandas(default):
    mon = ts("2025-01-13 00:00")
    grid = mon + np.arange(12, dtype=np.int64).reshape(3, 4) * 3 * H
    assert default.is_working(grid).shape == (3, 4)
    assert default.next_working_start(grid).shape == (3, 4)
    assert default.one_working_day_deadline(grid).shape == (3, 4)
    assert default.business_seconds(grid, grid + H).shape == (3, 4)
    assert default.business_seconds(mon, grid).shape == (3, 4)  # broadcasting
    scalar = default.business_seconds(mon, mon + 10 * H)
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and scalar == 2 * H
    empty = np.array([], dtype=np.int64)
    assert default.business_seconds(empty, empty).shape == (0,)

    naive = pd.to_datetime(["2025-01-13 10:00:00.9", "2025-01-11 21:00:00.0"])
    series = pd.Series(naive.tz_localize(JKT))
    utc = series.dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    expected = np.array([ts("2025-01-13 10:00"), ts("2025-01-11 21:00")])
    np.testing.assert_array_equal(to_epoch_seconds(utc), expected)
    np.testing.assert_array_equal(to_epoch_seconds(pd.DatetimeIndex(series)), expected)
    np.testing.assert_array_equal(
        default.next_working_start(utc), [expected[0], ts("2025-01-13 08:00")]
    )
    aware = dt.datetime(2025, 1, 13, 10, tzinfo=zoneinfo.ZoneInfo(JKT))
    assert default.is_working(aware) and default.is_working([aware]).shape == (1,)
    with pytest.raises(TypeError, match="localise"):
        default.is_working(pd.Series(pd.to_datetime(["2025-01-13 10:00"])))
    with pytest.raises(TypeError, match="naive"):
        default.is_working(dt.datetime(2025, 1, 13, 10))
    with pytest.raises(ValueError, match="NaT"):
        default.is_working(pd.Series(pd.to_datetime(["2025-01-13 10:00", None]).tz_localize("UTC")))
    with pytest.raises(ValueError, match="outside the supported years"):
        default.business_seconds(np.iinfo(np.int64).min, mon)


def test_table_extends_lazily_in_both_directions():
    c = cal()
    fresh = cal()
    t2025, t2031, t2019 = ts("2025-01-11 21:00"), ts("2031-12-31 21:00"), ts("2019-07-06 12:00")
    assert local(c.next_working_start(t2025)) == "2025-01-13 08:00:00"
    assert c._table.year0 == 2025
    first = c.next_working_start(t2031)
    second = c.next_working_start(t2019)
    assert c._table.year0 <= 2019 and c._table.year1 >= 2032
    assert local(first) == local(fresh.next_working_start(t2031))
    assert local(second) == "2019-07-08 08:00:00"
    assert c.business_seconds(t2019, t2025) == cal().business_seconds(t2019, t2025)
    assert local(c.next_working_start(t2025)) == "2025-01-13 08:00:00"


def test_the_shipped_holiday_table_equals_the_installed_library():
    """Issue 18: the default calendar (ID, public + government) reads its dates from
    kpi_transforms/data/holidays.json instead of importing `holidays` in every process. The table
    must be what the pinned library says; after a lock update regenerate it with
    kpi_transforms.core.holiday_table.write_table()."""
    import importlib.metadata
    import json

    from kpi_transforms.core import holiday_table

    raw = json.loads(holiday_table.TABLE.read_text(encoding="utf-8"))
    assert raw["holidays_version"] == importlib.metadata.version("holidays"), "regenerate the table: write_table()"
    years = range(raw["first_year"], raw["last_year"] + 1)
    assert {dt.date.fromisoformat(d) for d in raw["dates"]} == holiday_table.library_dates("ID", ("public", "government"), years)
    # answered from the table for the default config; another category set goes to the library
    assert holiday_table.lookup("ID", ("public", "government"), [2025]) == holiday_table.library_dates("ID", ("public", "government"), [2025])
    assert dt.date(2025, 8, 17) in holiday_table.lookup("ID", ("public", "government"), [2025])
    assert holiday_table.lookup("ID", ("public",), [2025]) is None
    assert holiday_table.lookup("ID", ("public", "government"), [1980]) is None


def test_a_calendar_from_the_shipped_table_equals_one_from_the_library(monkeypatch):
    from kpi_transforms.core import holiday_table

    shipped = BusinessCalendar()
    monkeypatch.setattr(holiday_table, "lookup", lambda *a, **k: None)
    monkeypatch.setattr(holiday_table, "covers", lambda *a, **k: False)
    library = BusinessCalendar()
    for year in (2019, 2024, 2025, 2026):
        days = [dt.date(year, 1, 1) + dt.timedelta(days=k) for k in range(365)]
        assert [shipped.is_working_day(d) for d in days] == [library.is_working_day(d) for d in days]
