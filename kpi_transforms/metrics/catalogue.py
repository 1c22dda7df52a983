"""The KPI catalogue (SPEC 8): every code with its unit, in the order rows are written, the
schema of ``marts.fct_kpi`` and the reasons given when a KPI has no data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from kpi_transforms.core.contracts import contract
from kpi_transforms.core.schema import ALL_INTENTS, CHANNELS

# marts.fct_kpi is described once, in its contract (core/contracts/fct_kpi.yaml) and V004.
KPI_CONTRACT = contract("fct_kpi")
KPI_SCHEMA: pa.Schema = KPI_CONTRACT.arrow_schema()

# code -> unit, in the order rows are written (SPEC 8 catalogue plus the _median / _p90 codes).
KPI_CODES: dict[str, str] = {
    "reply_duration_avg": "seconds", "reply_duration_median": "seconds", "reply_duration_p90": "seconds",
    "frt_new_customer": "seconds", "frt_new_customer_median": "seconds", "frt_new_customer_p90": "seconds",
    "quote_response_avg": "seconds", "quote_response_median": "seconds", "quote_response_p90": "seconds",
    "followup_conversion_rate": "percent",
    "complaint_response_avg": "seconds", "complaint_response_median": "seconds", "complaint_response_p90": "seconds",
    "complaint_resolution_avg": "seconds", "complaint_resolution_median": "seconds", "complaint_resolution_p90": "seconds",
    "repeat_complaint_rate": "percent",
    "response_validated_rate": "percent", "response_speed_rate": "percent",
    "response_rate_1wd": "percent", "response_rate_24h": "percent",
    "frt_avg": "seconds", "frt_median": "seconds", "frt_p90": "seconds",
    "frt_total_avg": "seconds", "frt_total_median": "seconds", "frt_total_p90": "seconds",
    "revenue_growth_qoq": "percent", "revenue_growth_qoq_local": "percent", "revenue_growth_qoq_international": "percent",
    "new_customers": "count",
    "followups_per_month": "count",
    "reorder_rate": "percent",
    "csat_rate": "percent", "resolution_rate": "percent",
    "chat_volume": "count", "chats_allocated": "count", "chats_manual": "count",
    # issue 19 (docs/DECISIONS.md, section "issue 19"): conversations, per-channel codes.
    "aht_avg": "seconds", "aht_median": "seconds", "aht_p90": "seconds",
    "art_avg": "seconds", "art_median": "seconds", "art_p90": "seconds",
    **{f"aht_avg_{i}": "seconds" for i in ALL_INTENTS},
    "fcr_rate": "percent", **{f"fcr_rate_{ch}": "percent" for ch in CHANNELS},
    "sla_compliance_rate": "percent", **{f"sla_compliance_rate_{ch}": "percent" for ch in CHANNELS},
}
KPI_CODES.update({"retention_rate": "percent", "churn_rate": "percent", "abandonment_rate": "percent",
                  "cost_per_contact": "idr", "nps_score": "points", "ces_avg": "score",
                  "upsell_cross_sell_rate": "percent", "qa_first_reply_rate": "percent"})
NO_SURVEYS = "no data: no survey file (NPS / CES) loaded"
# Complaint categories of marts.fct_case (facts/intent_keywords.yaml complaint_categories).
ISSUE_CATEGORIES = ("kurang", "rusak", "salah_kirim", "telat", "lainnya")
KPI_CODES.update({f"issues_{c}": "count" for c in ISSUE_CATEGORIES})
KPI_CODES.update({f"queues_{i}": "count" for i in ALL_INTENTS})
KPI_CODES.update({f"csat_rate_{c}": "percent" for c in (*ISSUE_CATEGORIES, "no_complaint")})
# The reply-pair KPIs split by channel: <code>_<channel> for every channel of core.schema.
RESPONSE_CODES = ("reply_duration_avg", "reply_duration_median", "reply_duration_p90", "frt_avg", "frt_median", "frt_p90",
                  "frt_total_avg", "frt_total_median", "frt_total_p90", "response_rate_1wd", "response_rate_24h")
KPI_CODES.update({f"{code}_{ch}": KPI_CODES[code] for ch in CHANNELS for code in (*RESPONSE_CODES, "chat_volume")})
# New-customer, quote and complaint times split by channel the same way (issue 19, item 3).
SPLIT_CODES = ("frt_new_customer", "frt_new_customer_median", "frt_new_customer_p90",
               "quote_response_avg", "quote_response_median", "quote_response_p90",
               "complaint_response_avg", "complaint_response_median", "complaint_response_p90",
               "complaint_resolution_avg", "complaint_resolution_median", "complaint_resolution_p90")
KPI_CODES.update({f"{code}_{ch}": KPI_CODES[code] for ch in CHANNELS for code in SPLIT_CODES})
AUDIT_KPI_CODES = ("response_validated_rate", "response_speed_rate")
NO_ORDERS = "no data: no sales report (orders) loaded"
NO_RATINGS = "no data: no chat ratings loaded (WhatsApp and e-mail carry no ratings; marketplace exports do)"
NO_SAMPLE = "no data: no sample validated"
MARKETS = ("local", "international")


def kpi_row(kpi_code: str, period_type: str, period_start: dt.date, agent_id: str | None, value: float | None,
            basis_count: int, note: str | None, computed_at: Any, unit: str | None = None) -> dict[str, Any]:
    """One ``marts.fct_kpi`` row (:data:`KPI_SCHEMA`), its unit from the catalogue unless given:
    the one place a KPI row is spelled out (the KPI step and the audit KPIs use it)."""
    values = (kpi_code, period_type, period_start, agent_id, value, unit or KPI_CODES[kpi_code], int(basis_count), note,
              computed_at)
    return dict(zip(KPI_CONTRACT.names, values, strict=True))


# Bound parameters naming :data:`AUDIT_KPI_CODES` in SQL: ``kpi_code in (:audit_code_0, :audit_code_1)``.
AUDIT_CODE_PARAMS = {f"audit_code_{i}": code for i, code in enumerate(AUDIT_KPI_CODES)}
