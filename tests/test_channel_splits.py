"""Per-channel codes of the new-customer, quote and complaint times (issue 19): each
``<code>_<channel>`` is the all-channel definition on that channel's facts only."""

from __future__ import annotations

import pandas as pd

from kpi_transforms.core.schema import CHANNELS
from kpi_transforms.metrics.catalogue import KPI_CODES, SPLIT_CODES
from kpi_transforms.metrics.kpis import split_channel_kpis

T = pd.Timestamp("2025-01-13 03:00", tz="UTC")


def _values() -> dict[str, tuple]:
    first_queues = pd.DataFrame({
        "thread_id": ["w1", "e1", "e2"], "channel": ["whatsapp", "email", "email"], "agent_id": ["lia", "rina", None],
        "status": ["answered", "answered", "unanswered"], "is_valid": [True, True, False],
        "business_seconds": [600.0, 1200.0, None]})
    quotes = pd.DataFrame({
        "thread_id": ["w1", "m1", "e1"], "channel": ["whatsapp", "marketplace", "email"], "agent_id": ["lia", None, "rina"],
        "quote_at": [T, None, T], "business_seconds": [100.0, None, 900.0], "is_in_closed_period": [False, False, True]})
    cases = pd.DataFrame({
        "thread_id": ["e1", "w1"], "channel": ["email", "whatsapp"], "agent_id": ["rina", "lia"], "category": ["rusak", "telat"],
        "status": ["resolved", "open"], "first_response_at": [T, None], "first_response_business_seconds": [300.0, None],
        "resolution_business_seconds": [5000.0, None], "is_repeat": [False, False], "is_in_closed_period": [False, False]})
    return {v.kpi_code: (v.value, v.basis_count, v.note) for v in split_channel_kpis(first_queues, quotes, cases)}


def test_every_split_code_is_in_the_catalogue_and_computed():
    values = _values()
    wanted = {f"{code}_{ch}" for code in SPLIT_CODES for ch in CHANNELS}
    assert set(values) == wanted and wanted <= set(KPI_CODES)
    assert len(values) == len(CHANNELS) * len(SPLIT_CODES) == 48


def test_each_channel_sees_only_its_facts():
    v = _values()
    assert v["frt_new_customer_whatsapp"][:2] == (600.0, 1)
    assert v["frt_new_customer_email"][:2] == (1200.0, 1)
    assert "1 new customer(s) not answered yet" in v["frt_new_customer_email"][2]
    assert v["frt_new_customer_marketplace"][:2] == (None, 0)
    assert v["quote_response_avg_whatsapp"][:2] == (100.0, 1)
    assert v["quote_response_avg_email"][:2] == (None, 0)  # in a closed period: not counted
    assert v["quote_response_avg_marketplace"][:2] == (None, 0)
    assert "1 quote request(s) without a quote yet" in v["quote_response_avg_marketplace"][2]
    assert v["complaint_response_avg_email"][:2] == (300.0, 1)
    assert v["complaint_resolution_p90_email"][:2] == (5000.0, 1)
    assert v["complaint_response_avg_whatsapp"][:2] == (None, 0)
    assert "1 case(s) without a first response yet" in v["complaint_response_avg_whatsapp"][2]
    assert v["complaint_resolution_avg_other"][:2] == (None, 0)
