"""KPI families of marts.fct_kpi (SPEC 8) on small frames: values, basis counts, and the
"no data" reasons that replace a misleading 0."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.core.periods import parse_period
from kpi_transforms.metrics import kpis
from kpi_transforms.metrics.catalogue import KPI_CODES, NO_ORDERS, NO_RATINGS, NO_SAMPLE
from kpi_transforms.metrics.kpis import (
    PeriodFacts,
    Sources,
    duration_kpis,
    fct_kpi,
    follow_up_kpis,
    new_customer_count_kpi,
    percentile_cont,
    rating_kpis,
    revenue_kpis,
)
from kpi_transforms.pipeline import kpis as pipeline_kpis
from kpi_transforms.pipeline.kpis import compute_period_kpis
from kpi_transforms.present.console import render_kpis
from kpi_transforms.warehouse.engine import Warehouse

Q1 = parse_period("2025-Q1")
JAN = parse_period("2025-01")
ORDERS = Sources(has_orders=True, order_min=dt.date(2024, 1, 1), order_max=dt.date(2025, 6, 30))


def by_code(values) -> dict:
    return {v.kpi_code: v for v in values}


def test_duration_stats_use_linear_interpolation():
    values = np.array([600, 1200, 7200, 30])
    avg, median, p90 = duration_kpis(("a", "m", "p"), values, "things")
    assert avg.value == pytest.approx(2257.5) and avg.basis_count == 4 and avg.unit == "seconds"
    assert median.value == pytest.approx(900.0)  # between 600 and 1200
    assert p90.value == pytest.approx(percentile_cont(values, 0.9)) == pytest.approx(1200 + 0.7 * 6000)
    empty = duration_kpis(("a", "m", "p"), np.array([]), "things", "2 waiting")
    assert [v.value for v in empty] == [None] * 3
    assert empty[0].note == "no data: no things in the period; 2 waiting" and empty[0].basis_count == 0


def follow_up_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["thread_id", "customer_id", "agent_id", "followed_up_at_local", "segment", "is_ordered"])


def test_follow_up_kpis_and_their_no_data_reasons():
    fu = follow_up_frame([
        ("t1", "c1", "lia", pd.Timestamp("2025-01-05"), "new", True),
        ("t1", "c1", "lia", pd.Timestamp("2025-01-20"), "new", False),  # the same customer: counted once, ordered
        ("t2", "c2", "lia", pd.Timestamp("2025-01-06"), "new", None),   # pending: not ordered so far
        ("t3", "c3", "lia", pd.Timestamp("2025-02-06"), "existing", False),
        ("t4", None, "lia", pd.Timestamp("2025-02-07"), "existing", True),  # no customer id: its thread is the customer
    ])
    got = by_code(follow_up_kpis(fu, Q1, ORDERS))
    assert (got["followup_conversion_rate"].value, got["followup_conversion_rate"].basis_count) == (50.0, 2)
    assert "1 customer(s) followed up less than 30 days" in got["followup_conversion_rate"].note
    assert (got["reorder_rate"].value, got["reorder_rate"].basis_count) == (50.0, 2)
    assert got["followups_per_month"].value == pytest.approx(2 / 3)  # Jan 0, Feb 2, Mar 0 existing customers
    assert got["followups_per_month"].note == "mean of the months: 2025-01 0, 2025-02 2, 2025-03 0"

    nothing = by_code(follow_up_kpis(fu, Q1, Sources()))
    assert nothing["followup_conversion_rate"].value is None and nothing["followup_conversion_rate"].note == NO_ORDERS
    assert nothing["reorder_rate"].note == NO_ORDERS
    assert nothing["followups_per_month"].value is None
    assert "no sales report or customer list loaded" in nothing["followups_per_month"].note
    listed = by_code(follow_up_kpis(fu, Q1, Sources(has_customer_list=True)))
    assert listed["followups_per_month"].value == pytest.approx(2 / 3)  # a customer list is enough to tell existing customers
    no_follow_ups = by_code(follow_up_kpis(fu.iloc[0:0], JAN, ORDERS))
    assert no_follow_ups["followup_conversion_rate"].value is None
    assert no_follow_ups["followup_conversion_rate"].note == "no data: no new-segment customers followed up in the period"
    assert (no_follow_ups["followups_per_month"].value, no_follow_ups["followups_per_month"].basis_count) == (0.0, 0)  # a real zero


def orders_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["order_date", "amount_idr", "market", "agent_id"])


def test_revenue_growth_and_undefined_growth():
    orders = orders_frame([
        (dt.date(2024, 11, 1), 1_000_000, "local", "lia"),
        (dt.date(2025, 2, 1), 1_500_000, "local", "lia"),
        (dt.date(2025, 3, 1), 700_000, "international", "lia"),
    ])
    got = by_code(revenue_kpis(orders, Q1, ORDERS, None))
    assert got["revenue_growth_qoq"].value == pytest.approx(120.0) and got["revenue_growth_qoq"].basis_count == 3
    assert got["revenue_growth_qoq_local"].value == pytest.approx(50.0)
    intl = got["revenue_growth_qoq_international"]
    assert intl.value is None and intl.note.startswith("no data: no revenue in the previous three months (2024-10..2024-12)")
    assert "Rp 2.200.000 (2025-01..2025-03) vs Rp 1.000.000 (2024-10..2024-12)" in got["revenue_growth_qoq"].note
    late_report = Sources(has_orders=True, order_min=dt.date(2024, 11, 1), order_max=dt.date(2025, 3, 1))
    assert "the sales report starts on 2024-11-01" in by_code(revenue_kpis(orders, Q1, late_report, None))["revenue_growth_qoq"].note
    assert all(v.note == NO_ORDERS and v.value is None for v in revenue_kpis(orders.iloc[0:0], Q1, Sources(), None))


def test_new_customers_count_and_its_caveat():
    firsts = pd.DataFrame({"customer": ["a", "b"], "first_order_date": [dt.date(2025, 1, 3), dt.date(2025, 4, 1)], "agent_id": [None, None]})
    got = new_customer_count_kpi(firsts, Q1, ORDERS)
    assert (got.value, got.basis_count, got.note) == (1.0, 1, None)
    starts_now = new_customer_count_kpi(firsts, Q1, Sources(has_orders=True, order_min=dt.date(2025, 1, 2)))
    assert "customers who ordered before it look new" in starts_now.note
    assert new_customer_count_kpi(firsts, Q1, Sources()).note == NO_ORDERS


def test_rating_kpis_reasons():
    ratings = pd.DataFrame({"thread_id": ["a", "b", "c"], "stars": [5, 3, 1], "agent_id": ["lia"] * 3})
    got = by_code(rating_kpis(ratings, Sources(has_ratings=True)))
    assert got["csat_rate"].value == pytest.approx(100 / 3) and got["resolution_rate"].value == pytest.approx(200 / 3)
    assert by_code(rating_kpis(ratings, Sources()))["csat_rate"].note == NO_RATINGS
    empty = by_code(rating_kpis(ratings.iloc[0:0], Sources(has_ratings=True)))
    assert empty["resolution_rate"].note == "no data: no chat ratings in the period"


def test_fct_kpi_has_every_code_for_the_team_and_each_agent():
    cal = BusinessCalendar.from_config(Config())
    quotes = pd.DataFrame({"thread_id": ["t1"], "agent_id": ["rina"], "quote_at": [pd.Timestamp("2025-01-02", tz="UTC")],
                           "business_seconds": [1800], "is_in_closed_period": [False]})
    facts = PeriodFacts(pairs=pd.DataFrame(), threads=pd.DataFrame(), quotes=quotes)
    frame = fct_kpi(facts, JAN, cal)
    assert frame["agent_id"].isna().sum() == len(KPI_CODES)
    assert (frame["agent_id"] == "rina").sum() == len(KPI_CODES)  # an agent with only a quote still gets every row
    team = frame[frame["agent_id"].isna()].set_index("kpi_code")
    assert team.loc["quote_response_avg", "value"] == 1800
    assert team.loc["frt_avg", "note"] == "no data: no valid reply pairs in the period" and pd.isna(team.loc["frt_avg", "value"])
    assert team.loc["response_validated_rate", "note"] == NO_SAMPLE
    assert team.loc["chat_volume", "value"] == 0  # a count of nothing is a real 0
    means = [c for c, unit in KPI_CODES.items() if unit != "count"]
    assert not (team.loc[means, "value"] == 0).any()  # no data is never shown as 0
    assert set(team["unit"]) <= {"seconds", "percent", "count", "idr", "points", "score"}  # issue 19 adds the last three
    text = render_kpis(frame)
    assert "nan" not in text and "no data: no valid reply pairs" in text


def test_audit_rows_are_used_when_the_audit_module_answers():
    audit = pd.DataFrame({"kpi_code": ["response_validated_rate", "response_speed_rate"], "agent_id": [None, None],
                          "value": [80.0, 70.0], "basis_count": [10, 10], "note": [None, None]})
    got = by_code(kpis._audit_values(audit, None))
    assert (got["response_validated_rate"].value, got["response_speed_rate"].value) == (80.0, 70.0)
    missing = by_code(kpis._audit_values(audit, "lia"))
    assert missing["response_speed_rate"].value is None and NO_SAMPLE in missing["response_speed_rate"].note


def test_compute_period_kpis_replaces_the_period(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline_kpis, "_audit_rows", lambda warehouse, period: None)  # as if kpi_transforms.audit were absent
    warehouse = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    warehouse.init()
    q = pd.Timestamp("2025-01-06 02:00", tz="UTC")  # Mon 09:00 local
    pair = pd.DataFrame({
        "pair_id": ["p1"], "thread_id": ["t1"], "channel": ["whatsapp"], "customer_id": ["c1"], "agent_id": ["lia"],
        "question_message_id": ["p1"], "question_at": [q], "question_at_local": [pd.Timestamp("2025-01-06 09:00")],
        "n_customer_messages": [1], "effective_start_at": [q], "reply_message_id": ["r1"], "reply_at": [q + pd.Timedelta(minutes=5)],
        "calendar_seconds": [300], "business_seconds": [300], "sla_deadline_at": [q + pd.Timedelta(days=1)],
        "within_24h": [True], "within_1_working_day": [True], "status": ["answered"], "is_valid": [True],
        "is_in_closed_period": [False], "intent": ["other"],
    })
    with warehouse.begin() as conn:
        warehouse.bulk_insert(conn, "marts.fct_reply_pair", pa.Table.from_pandas(pair, preserve_index=False))
    first = compute_period_kpis(warehouse, Config(), "2025-Q1")
    compute_period_kpis(warehouse, Config(), "2025-Q1")
    stored = warehouse.read_df("select kpi_code, agent_id, value, note from marts.fct_kpi")
    warehouse.dispose()
    assert len(stored) == len(first) == 2 * len(KPI_CODES)  # team + lia, not duplicated by the re-run
    team = stored[stored["agent_id"].isna()].set_index("kpi_code")
    assert team.loc["frt_avg", "value"] == 300
    assert team.loc["response_speed_rate", "note"] == NO_SAMPLE
