import datetime as dt

import pytest

from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.core.periods import parse_period


def test_month_and_quarter():
    m = parse_period("2025-03")
    assert (m.period_type, m.start, m.end, m.label) == ("month", dt.date(2025, 3, 1), dt.date(2025, 4, 1), "2025-03")
    q = parse_period("2025-Q4")
    assert (q.period_type, q.start, q.end, q.label) == ("quarter", dt.date(2025, 10, 1), dt.date(2026, 1, 1), "2025-Q4")
    assert [p.label for p in q.months()] == ["2025-10", "2025-11", "2025-12"]
    assert q.previous().label == "2025-Q3"
    assert parse_period("2025-01").previous().label == "2024-12"


def test_quarter_bounds_are_local_midnight():
    lo, hi = parse_period("2025-Q1").utc_bounds("Asia/Jakarta")
    assert lo == dt.datetime(2024, 12, 31, 17, 0, tzinfo=dt.timezone.utc)
    assert hi == dt.datetime(2025, 3, 31, 17, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("bad", ["2025-13", "2025Q1", "Q1-2025", "2025-Q5", "march"])
def test_unknown_format(bad):
    with pytest.raises(ChatKpiError, match="unknown period format"):
        parse_period(bad)
