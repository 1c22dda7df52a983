"""The KPI catalogue (SPEC 8): every code with its unit, in the order rows are written, the
schema of ``marts.fct_kpi`` and the reasons given when a KPI has no data.
"""

from __future__ import annotations

import pyarrow as pa

from kpi_transforms.core.schema import ALL_INTENTS, CHANNELS

KPI_SCHEMA = pa.schema(
    [
        ("kpi_code", pa.string()), ("period_type", pa.string()), ("period_start", pa.date32()),
        ("agent_id", pa.string()), ("value", pa.float64()), ("unit", pa.string()),
        ("basis_count", pa.int64()), ("note", pa.string()), ("computed_at", pa.timestamp("us", tz="UTC")),
    ]
)

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
AUDIT_KPI_CODES = ("response_validated_rate", "response_speed_rate")
NO_ORDERS = "no data: no sales report (orders) loaded"
NO_RATINGS = "no data: no chat ratings loaded (WhatsApp and e-mail carry no ratings; marketplace exports do)"
NO_SAMPLE = "no data: no sample validated"
MARKETS = ("local", "international")

# Issue 17: the reply-pair flag each reply-pair KPI counts (its "basis"), so a report can list the
# facts behind a figure: the durations average the valid pairs, the response rates count the pairs
# their stored is_counted_* flag puts in the denominator. A <code>_<channel> code has the same
# basis restricted to the channel.
PAIR_BASIS_FLAGS = {"valid": "is_valid", "counted_1wd": "is_counted_1wd", "counted_24h": "is_counted_24h"}
_BASIS_OF = {**{c: "valid" for c in RESPONSE_CODES if not c.startswith("response_rate")},
             "response_rate_1wd": "counted_1wd", "response_rate_24h": "counted_24h"}


def pair_basis(code: str) -> tuple[str, str | None] | None:
    """(basis, channel or None) of a reply-pair KPI code, None for any other code."""
    if code in _BASIS_OF:
        return _BASIS_OF[code], None
    for ch in CHANNELS:
        base = code.removesuffix(f"_{ch}")
        if base != code and base in _BASIS_OF:
            return _BASIS_OF[base], ch
    return None
