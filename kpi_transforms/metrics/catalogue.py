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

# Issue 17: the reply-pair flag each reply-pair KPI counts (its "basis"), so a report can list the
# facts behind a figure: the durations average the valid pairs, the response rates count the pairs
# their stored is_counted_* flag puts in the denominator. A <code>_<channel> code has the same
# basis restricted to the channel.
# frt_new_customer* average the valid first queues of threads whose stored fct_thread.is_new_customer
# is true (basis "new_customer": the is_valid flag, restricted to those first queues).
# sla_compliance_rate counts the queues whose stored is_within_sla is set (true: a hit, false: a miss).
PAIR_BASIS_FLAGS = {"valid": "is_valid", "counted_1wd": "is_counted_1wd", "counted_24h": "is_counted_24h",
                    "new_customer": "is_valid", "counted_sla": "is_within_sla is not null"}
_BASIS_OF = {**{c: "valid" for c in RESPONSE_CODES if not c.startswith("response_rate")},
             "response_rate_1wd": "counted_1wd", "response_rate_24h": "counted_24h",
             **{c: "new_customer" for c in ("frt_new_customer", "frt_new_customer_median", "frt_new_customer_p90")},
             **{f"complaint_{w}_{s}": f"case_{w}" for w in ("response", "resolution") for s in ("avg", "median", "p90")},
             "repeat_complaint_rate": "case_opened",
             **{f"quote_response_{s}": "quote_response" for s in ("avg", "median", "p90")},
             "sla_compliance_rate": "counted_sla",
             **{f"{m}_{s}": "conv_resolved" for m in ("aht", "art") for s in ("avg", "median", "p90")},
             **{f"aht_avg_{i}": f"conv_resolved_{i}" for i in ALL_INTENTS},
             "fcr_rate": "conv_fcr", "abandonment_rate": "conv_decided"}
# Bases that list marts.fct_case rows (opened in the period) instead of reply pairs: complaint_response_*
# averages the cases not in a closed period with a first response, complaint_resolution_* the
# status 'resolved' ones, repeat_complaint_rate counts every case opened (metrics.kpis.case_kpis).
CASE_BASIS_WHERE = {"case_response": "not coalesce(c.is_in_closed_period, false) and c.first_response_at is not null",
                    "case_resolution": "c.status = 'resolved'", "case_opened": "true"}
# quote_response_* average the marts.fct_quote_response rows not in a closed period with a quote
# (metrics.kpis.quote_kpis).
QUOTE_BASIS_WHERE = {"quote_response": "not coalesce(q.is_in_closed_period, false) and q.quote_at is not null"}
# Bases that list marts.fct_conversation rows (bi.v_conversations, started in the period; issue 13/17):
# aht_* / art_* average the resolved conversations (aht_avg_<intent>: of that intent), fcr_rate counts
# the resolved ones whose stored is_fcr is decided, abandonment_rate the conversations over and
# decided (resolved, or unanswered with is_abandoned set) (metrics.kpis.conversation_kpis).
CONVERSATION_BASIS_WHERE = {"conv_resolved": "c.status = 'resolved'",
                            **{f"conv_resolved_{i}": f"c.status = 'resolved' and c.intent = '{i}'" for i in ALL_INTENTS},
                            "conv_fcr": "c.is_fcr is not null",
                            "conv_decided": "(c.status = 'resolved' or c.is_abandoned is not null)"}


# Bases that list chat ratings (bi.v_chat_ratings, rated in the period; issue 17): csat_rate and
# resolution_rate count every rating of the scope, csat_rate_<category> those whose category (the
# view's one definition) is <category>, csat_rate_no_complaint those without one (metrics.kpis.rating_kpis).
RATING_BASIS_WHERE = {"rating": "true", **{f"rating_{c}": f"r.category = '{c}'" for c in ISSUE_CATEGORIES},
                      "rating_no_complaint": "r.category is null"}
_RATING_BASIS_OF = {"csat_rate": "rating", "resolution_rate": "rating",
                    **{f"csat_rate_{c}": f"rating_{c}" for c in (*ISSUE_CATEGORIES, "no_complaint")}}


def rating_basis(code: str) -> tuple[str, None] | None:
    """(basis, None) of a chat-rating KPI code (csat_rate, resolution_rate, csat_rate_<category>),
    None for any other code."""
    return (_RATING_BASIS_OF[code], None) if code in _RATING_BASIS_OF else None


def fact_basis(code: str) -> tuple[str, str | None] | None:
    """(basis, channel or None) of any KPI code whose facts a report lists: reply pairs, cases,
    quotes, conversations (:func:`pair_basis`) or chat ratings (:func:`rating_basis`)."""
    return pair_basis(code) or rating_basis(code)


def pair_basis(code: str) -> tuple[str, str | None] | None:
    """(basis, channel or None) of a reply-pair KPI code, None for any other code."""
    if code in _BASIS_OF:
        return _BASIS_OF[code], None
    for ch in CHANNELS:
        base = code.removesuffix(f"_{ch}")
        if base != code and base in _BASIS_OF:
            return _BASIS_OF[base], ch
    return None


# -- labels (issue 17) -------------------------------------------------------------------------
# What a report shows for a code, in Indonesian and English, defined once here (a template's own
# `label` still wins for its lines; an unknown code shows as itself).
# Durations: <base>_avg / _median / _p90 (frt_new_customer is the mean itself) read "<stat> <what>".
_DURATION_LABELS: dict[str, tuple[str, str]] = {
    "reply_duration": ("durasi balas (kalender)", "reply time (calendar)"),
    "frt_new_customer": ("FRT customer baru (jam kerja)", "first response time of new customers (business hours)"),
    "quote_response": ("waktu kirim penawaran", "quote response time"),
    "complaint_response": ("respons komplain", "complaint response time"),
    "complaint_resolution": ("penyelesaian komplain", "complaint resolution time"),
    "frt": ("FRT (jam kerja)", "first response time (business hours)"),
    "frt_total": ("FRT termasuk balasan otomatis", "first response incl. auto-replies"),
    "aht": ("waktu penanganan (AHT)", "handling time (AHT)"),
    "art": ("waktu penyelesaian (ART)", "resolution time (ART)"),
}
_STAT_WORDS = {"avg": ("Rata-rata", "Average"), "median": ("Median", "Median"), "p90": ("P90", "P90")}
_BASE_LABELS: dict[str, tuple[str, str]] = {
    "followup_conversion_rate": ("Konversi follow-up customer baru", "Follow-up conversion, new customers"),
    "repeat_complaint_rate": ("Tingkat komplain berulang", "Repeat complaint rate"),
    "response_validated_rate": ("Respons tervalidasi (sampel audit)", "Validated responses (audit sample)"),
    "response_speed_rate": ("Kecepatan respons disetujui (sampel audit)", "Approved response speed (audit sample)"),
    "response_rate_1wd": ("% dibalas ≤ 1 hari kerja", "% answered ≤ 1 working day"),
    "response_rate_24h": ("% dibalas ≤ 24 jam", "% answered ≤ 24 h"),
    "revenue_growth_qoq": ("Pertumbuhan omzet vs kuartal sebelumnya", "Revenue growth vs previous quarter"),
    "revenue_growth_qoq_local": ("Pertumbuhan omzet lokal vs kuartal sebelumnya", "Local revenue growth vs previous quarter"),
    "revenue_growth_qoq_international": ("Pertumbuhan omzet internasional vs kuartal sebelumnya",
                                         "International revenue growth vs previous quarter"),
    "new_customers": ("Customer baru", "New customers"),
    "followups_per_month": ("Follow-up per bulan", "Follow-ups per month"),
    "reorder_rate": ("Tingkat pesan ulang", "Reorder rate"),
    "csat_rate": ("CSAT (% rating 4–5)", "CSAT (% rated 4–5)"),
    "resolution_rate": ("Tingkat penyelesaian (rating 3+)", "Resolution rate (rated 3+)"),
    "chat_volume": ("Volume chat", "Chat volume"),
    "chats_allocated": ("Chat dialokasikan", "Chats allocated"),
    "chats_manual": ("Chat ditangani manual", "Chats handled manually"),
    "fcr_rate": ("First contact resolution", "First contact resolution"),
    "sla_compliance_rate": ("Kepatuhan SLA", "SLA compliance"),
    "retention_rate": ("Tingkat retensi", "Retention rate"),
    "churn_rate": ("Tingkat churn", "Churn rate"),
    "abandonment_rate": ("Tingkat chat ditinggalkan", "Abandonment rate"),
    "cost_per_contact": ("Biaya per kontak", "Cost per contact"),
    "nps_score": ("NPS", "NPS"),
    "ces_avg": ("Customer Effort Score (rata-rata)", "Customer effort score (mean)"),
    "upsell_cross_sell_rate": ("Tingkat upsell / cross-sell", "Upsell / cross-sell rate"),
    "qa_first_reply_rate": ("Skor QA balasan pertama", "QA score of first replies"),
}
for _base, (_id, _en) in _DURATION_LABELS.items():
    for _stat, (_sid, _sen) in _STAT_WORDS.items():
        _code = _base if (_base, _stat) == ("frt_new_customer", "avg") else f"{_base}_{_stat}"
        _BASE_LABELS[_code] = (f"{_sid} {_id}", f"{_sen} {_en}")
CHANNEL_LABELS = {"whatsapp": ("WhatsApp", "WhatsApp"), "email": ("e-mail", "e-mail"),
                  "marketplace": ("marketplace", "marketplace"), "other": ("lainnya", "other")}
ISSUE_CATEGORY_LABELS = {"kurang": ("barang kurang", "items missing"), "rusak": ("barang rusak", "damaged"),
                         "salah_kirim": ("salah kirim", "wrong item sent"), "telat": ("pengiriman telat", "late delivery"),
                         "lainnya": ("lainnya", "other"), "no_complaint": ("tanpa komplain", "no complaint")}
INTENT_LABELS = {"complaint": ("komplain", "complaint"), "quote_request": ("permintaan penawaran", "quote request"),
                 "order": ("pesanan", "order"), "other": ("lainnya", "other")}
_GROUP_LABELS = {"issues": ("Kasus komplain", "Complaint cases"), "queues": ("Antrean", "Queues")}
# Shipped scorecard templates (metrics/scorecard_templates.yaml); a custom template shows its name.
TEMPLATE_LABELS = {"customer_relations_officer": ("Customer Relations Officer & Order Coordinator",
                                                  "Customer Relations Officer & Order Coordinator"),
                   "sales_chat": ("Chat penjualan", "Sales chat"),
                   "balanced_service": ("Layanan seimbang (kecepatan, kualitas, efisiensi)",
                                        "Balanced service (speed, quality, efficiency)")}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def kpi_label(code: str, lang: str = "id") -> str:
    """The report label of a KPI code (``frt_avg_whatsapp`` → "FRT rata-rata (jam kerja) — WhatsApp",
    ``csat_rate_rusak`` → "CSAT (% rating 4–5) — barang rusak"); an unknown code is returned as is."""
    if code in _BASE_LABELS:
        return _pick(_BASE_LABELS[code], lang)
    for suffixes, labels in ((CHANNELS, CHANNEL_LABELS), (ALL_INTENTS, INTENT_LABELS), (tuple(ISSUE_CATEGORY_LABELS), ISSUE_CATEGORY_LABELS)):
        for suffix in suffixes:
            base = code.removesuffix(f"_{suffix}")
            if base != code and (base in KPI_CODES or base in _GROUP_LABELS):
                head = _pick(_GROUP_LABELS[base], lang) if base in _GROUP_LABELS else kpi_label(base, lang)
                return f"{head} — {_pick(labels[suffix], lang)}"
    return code


def template_label(name: str, lang: str = "id") -> str:
    """The report label of a scorecard template; a custom template shows its name."""
    return _pick(TEMPLATE_LABELS[name], lang) if name in TEMPLATE_LABELS else name


def kpi_row(kpi_code: str, period_type: str, period_start: dt.date, agent_id: str | None, value: float | None,
            basis_count: int, note: str | None, computed_at: Any, unit: str | None = None) -> dict[str, Any]:
    """One ``marts.fct_kpi`` row (:data:`KPI_SCHEMA`), its unit from the catalogue unless given:
    the one place a KPI row is spelled out (the KPI step and the audit KPIs use it)."""
    values = (kpi_code, period_type, period_start, agent_id, value, unit or KPI_CODES[kpi_code], int(basis_count), note,
              computed_at)
    return dict(zip(KPI_CONTRACT.names, values, strict=True))


# Bound parameters naming :data:`AUDIT_KPI_CODES` in SQL: ``kpi_code in (:audit_code_0, :audit_code_1)``.
AUDIT_CODE_PARAMS = {f"audit_code_{i}": code for i, code in enumerate(AUDIT_KPI_CODES)}
