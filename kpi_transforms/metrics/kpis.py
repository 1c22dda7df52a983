"""KPI values per period and agent (SPEC 8) into ``marts.fct_kpi``.

Grain of :func:`fct_kpi`: one row per KPI code and agent (plus the team row, ``agent_id``
null) for one period. Every code of :data:`KPI_CODES` is present for the team and for every
agent that has a fact in the period; docs/DECISIONS.md ("KPIs") defines each one.

* A fact belongs to the period of the local date of its start event: the question (pairs,
  quote requests), the opening of a case, the follow-up, the order, the rating.
* Per agent: answered pairs to the replying agent, unanswered ones to the thread's primary
  agent; quote responses to the agent who sent the quote; cases to the agent of the opening
  queue; follow-ups to their sender; ratings to the thread's primary agent; orders to the
  primary agent of the customer's latest thread started on or before the order date.
* Durations are business seconds (``reply_duration_*``: calendar seconds, seed 000's table);
  every mean ``X_avg`` has ``X_median`` and ``X_p90`` beside it (``frt_new_customer`` is the
  seed's mean, with ``frt_new_customer_median`` / ``_p90``). Medians and p90 interpolate
  linearly (SQL ``percentile_cont``).
* A KPI without data gets value null and a note saying why (no orders loaded, no ratings, no
  sample validated, nothing in the period), never 0. A count KPI is 0 when the data to count
  exists and nothing was counted.
* Every flag is read as the fact build stored it (``fct_reply_pair.is_counted_*`` /
  ``is_pending_*`` / ``is_within_sla``, ``fct_thread.is_new_customer``, ``fct_case.is_repeat``,
  the follow-ups' segment / ordered flags, ``fct_conversation``'s status, ``is_fcr`` and
  ``is_abandoned``); nothing here recomputes a fact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import BusinessCalendar, to_epoch_seconds
from kpi_transforms.core.config import KpiSettings
from kpi_transforms.core.numbers import id_number
from kpi_transforms.core.periods import Period, _add_months
from kpi_transforms.core.schema import ALL_INTENTS, CHANNELS
from kpi_transforms.metrics.catalogue import (AUDIT_KPI_CODES, ISSUE_CATEGORIES, KPI_CODES, KPI_CONTRACT, MARKETS, NO_ORDERS,
                                              NO_RATINGS, NO_SAMPLE, NO_SURVEYS, RESPONSE_CODES, SPLIT_CODES, kpi_row)


@dataclasses.dataclass(frozen=True)
class KpiValue:
    kpi_code: str
    value: float | None
    unit: str
    basis_count: int
    note: str | None = None


# --------------------------------------------------------------------------------------------
# Small building blocks
def percentile_cont(values: np.ndarray, q: float) -> float:
    """SQL ``percentile_cont``: linear interpolation between order statistics."""
    return float(np.percentile(values.astype(float), q * 100.0, method="linear"))


def duration_kpis(codes: tuple[str, str, str], values: Iterable[float], what: str, note: str | None = None) -> list[KpiValue]:
    """Mean, median and p90 (linear interpolation) of durations in seconds under ``codes``."""
    values = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    if len(values) == 0:
        reason = f"no data: no {what} in the period" + (f"; {note}" if note else "")
        return [KpiValue(c, None, "seconds", 0, reason) for c in codes]
    n = len(values)
    return [
        KpiValue(codes[0], float(values.mean()), "seconds", n, note),
        KpiValue(codes[1], percentile_cont(values, 0.5), "seconds", n, note),
        KpiValue(codes[2], percentile_cont(values, 0.9), "seconds", n, note),
    ]


def rate_kpi(code: str, hits: int, basis: int, what: str, note: str | None = None) -> KpiValue:
    """``hits`` of ``basis`` in percent; null with a reason when ``basis`` is 0."""
    if basis == 0:
        return KpiValue(code, None, "percent", 0, f"no data: no {what} in the period" + (f"; {note}" if note else ""))
    return KpiValue(code, 100.0 * hits / basis, "percent", basis, note)


def _rate_kpi(code: str, hits: int, basis: int, pending: int, what: str) -> KpiValue:
    note = f"{pending} queue(s) still pending, not counted" if pending else None
    return rate_kpi(code, hits, basis, what, note)


def _join_notes(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def _bool(series: pd.Series) -> pd.Series:
    """A boolean column from either engine (None / NaN -> <NA>)."""
    return pd.Series(series).astype("boolean")


def _num(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(pd.Series(series, dtype="object"), errors="coerce").to_numpy(dtype=float)


def _rp(amount: float) -> str:

    return "Rp " + id_number(amount)


def _customer_key(frame: pd.DataFrame) -> pd.Series:
    """Customer of a fact: customer_id, else its thread (a customer without an id is one per thread)."""
    cid = frame["customer_id"].astype(object)
    return cid.where(cid.notna(), "thread:" + frame["thread_id"].astype(str))


# --------------------------------------------------------------------------------------------
# Per-group KPI families
def response_kpis(pairs: pd.DataFrame, calendar: BusinessCalendar) -> list[KpiValue]:
    """The reply-pair KPIs of one group of pairs (one agent, or the team)."""
    valid = pairs[_bool(pairs["is_valid"]).fillna(False).to_numpy(dtype=bool)]
    what = "valid reply pairs"
    out = duration_kpis(("reply_duration_avg", "reply_duration_median", "reply_duration_p90"), _num(valid["calendar_seconds"]), what)
    out += duration_kpis(("frt_avg", "frt_median", "frt_p90"), _num(valid["business_seconds"]), what)
    total = np.zeros(0)
    if len(valid):
        q = to_epoch_seconds(pd.to_datetime(valid["question_at"], utc=True))
        r = to_epoch_seconds(pd.to_datetime(valid["reply_at"], utc=True))
        auto = pd.to_datetime(valid["first_auto_reply_at"], utc=True)
        first = r.copy()
        has_auto = auto.notna().to_numpy()
        if has_auto.any():
            first[has_auto] = np.minimum(r[has_auto], to_epoch_seconds(auto[has_auto]))
        total = calendar.business_seconds(q, first)
    out += duration_kpis(("frt_total_avg", "frt_total_median", "frt_total_p90"), total, what)

    # the denominators are stored on the fact (facts.reply_pairs.rate_flags), never recomputed here
    for code, flag_col, suffix in (("response_rate_1wd", "within_1_working_day", "1wd"), ("response_rate_24h", "within_24h", "24h")):
        counted = _bool(pairs[f"is_counted_{suffix}"]).fillna(False).to_numpy(dtype=bool)
        hits = int((counted & _bool(pairs[flag_col]).fillna(False).to_numpy(dtype=bool)).sum())
        pending = int(_bool(pairs[f"is_pending_{suffix}"]).fillna(False).sum())
        out.append(_rate_kpi(code, hits, int(counted.sum()), pending, "counted customer queues"))
    return out


def new_customer_kpis(first_queues: pd.DataFrame) -> list[KpiValue]:
    """``frt_new_customer``: business seconds from each new customer's first queue to its
    human reply (valid pairs); the first queues still unanswered are named in the note."""
    valid = first_queues[_bool(first_queues["is_valid"]).fillna(False).to_numpy(dtype=bool)]
    waiting = int((first_queues["status"] == "unanswered").sum())
    note = f"{waiting} new customer(s) not answered yet, not counted" if waiting else None
    return duration_kpis(("frt_new_customer", "frt_new_customer_median", "frt_new_customer_p90"),
                         _num(valid["business_seconds"]), "first queues of new customers answered", note)


def quote_kpis(quotes: pd.DataFrame) -> list[KpiValue]:
    """``quote_response_*``: business seconds from quote request to quote."""
    counted = quotes[~_bool(quotes["is_in_closed_period"]).fillna(False).to_numpy(dtype=bool)]
    quoted = counted[counted["quote_at"].notna()]
    waiting = len(counted) - len(quoted)
    note = f"{waiting} quote request(s) without a quote yet, not counted" if waiting else None
    return duration_kpis(("quote_response_avg", "quote_response_median", "quote_response_p90"),
                         _num(quoted["business_seconds"]), "quoted quote requests", note)


def case_kpis(cases: pd.DataFrame) -> list[KpiValue]:
    """Complaint response, resolution and repeat rate of the cases opened in the period."""
    counted = cases[~_bool(cases["is_in_closed_period"]).fillna(False).to_numpy(dtype=bool)]
    responded = counted[counted["first_response_at"].notna()]
    waiting = len(counted) - len(responded)
    out = duration_kpis(
        ("complaint_response_avg", "complaint_response_median", "complaint_response_p90"),
        _num(responded["first_response_business_seconds"]), "answered complaint cases",
        f"{waiting} case(s) without a first response yet, not counted" if waiting else None,
    )
    status = cases["status"].astype(object)
    resolved = cases[(status == "resolved").to_numpy(dtype=bool)]
    n_open, n_unresolved = int((status == "open").sum()), int((status == "unresolved").sum())
    note = _join_notes(f"{n_open} case(s) still open" if n_open else None,
                       f"{n_unresolved} case(s) unresolved after 30 days" if n_unresolved else None)
    out += duration_kpis(("complaint_resolution_avg", "complaint_resolution_median", "complaint_resolution_p90"),
                         _num(resolved["resolution_business_seconds"]), "resolved complaint cases",
                         _join_notes(note, "not counted") if note else None)
    repeats = int(_bool(cases["is_repeat"]).fillna(False).sum())
    out.append(rate_kpi("repeat_complaint_rate", repeats, len(cases), "complaint cases opened"))
    return out


def _followed_customers(follow_ups: pd.DataFrame, segment: str) -> pd.DataFrame:
    """Per customer followed up in the segment: did any of those follow-ups lead to an order
    (True), none yet but some still pending (<NA>), or not (False)."""
    group = follow_ups[(follow_ups["segment"] == segment).to_numpy(dtype=bool)]
    if group.empty:
        return pd.DataFrame({"customer": [], "ordered": pd.Series([], dtype="boolean")})
    ordered = _bool(group["is_ordered"])
    frame = pd.DataFrame({"customer": _customer_key(group).to_numpy(), "yes": ordered.fillna(False).to_numpy(dtype=bool),
                          "pending": ordered.isna().to_numpy(dtype=bool)})
    agg = frame.groupby("customer", sort=True).agg(yes=("yes", "any"), pending=("pending", "any")).reset_index()
    status = pd.array(agg["yes"].to_numpy(), dtype="boolean")
    status[~agg["yes"].to_numpy() & agg["pending"].to_numpy()] = pd.NA
    return pd.DataFrame({"customer": agg["customer"], "ordered": status})


def follow_up_kpis(follow_ups: pd.DataFrame, period: Period, sources: "Sources") -> list[KpiValue]:
    """``followup_conversion_rate`` (new), ``reorder_rate`` (existing), ``followups_per_month``."""
    out = []
    for code, segment, label in (("followup_conversion_rate", "new", "new-segment customers followed up"),
                                 ("reorder_rate", "existing", "existing-segment customers followed up")):
        if not sources.has_orders:
            out.append(KpiValue(code, None, "percent", 0, NO_ORDERS))
            continue
        customers = _followed_customers(follow_ups, segment)
        pending = int(customers["ordered"].isna().sum())
        note = (f"{pending} customer(s) followed up less than 30 days before the latest order date"
                f" ({sources.order_max}): no order yet, counted as not ordered so far") if pending else None
        out.append(rate_kpi(code, int(customers["ordered"].fillna(False).sum()), len(customers), label, note))
    if not (sources.has_orders or sources.has_customer_list):
        out.append(KpiValue("followups_per_month", None, "count", 0,
                            "no data: no sales report or customer list loaded, so existing customers cannot be told from new ones"))
        return out
    existing = follow_ups[(follow_ups["segment"] == "existing").to_numpy(dtype=bool)]
    months = period.months()
    local = pd.to_datetime(existing["followed_up_at_local"])
    keys = _customer_key(existing).to_numpy()
    counts = []
    for month in months:
        inside = ((local >= pd.Timestamp(month.start)) & (local < pd.Timestamp(month.end))).to_numpy(dtype=bool)
        counts.append(len(set(keys[inside])))
    if len(months) == 1:
        out.append(KpiValue("followups_per_month", float(counts[0]), "count", counts[0]))
    else:
        shown = ", ".join(f"{m.start:%Y-%m} {c}" for m, c in zip(months, counts))
        out.append(KpiValue("followups_per_month", float(np.mean(counts)), "count", int(sum(counts)),
                            f"mean of the months: {shown}"))
    return out


def revenue_kpis(orders: pd.DataFrame, period: Period, sources: "Sources", agent: str | None) -> list[KpiValue]:
    """``revenue_growth_qoq`` (+ ``_local``, ``_international``): revenue of the three months
    ending with the period (the quarter itself for a quarter) against the three months before."""
    codes = ("revenue_growth_qoq", "revenue_growth_qoq_local", "revenue_growth_qoq_international")
    if not sources.has_orders:
        return [KpiValue(c, None, "percent", 0, NO_ORDERS) for c in codes]
    cur_lo = _add_months(period.end, -3)
    prev_lo = _add_months(period.end, -6)
    dates = pd.to_datetime(orders["order_date"]).dt.date
    current = (dates >= cur_lo) & (dates < period.end)
    previous = (dates >= prev_lo) & (dates < cur_lo)
    amount = _num(orders["amount_idr"])
    now_window = f"{cur_lo:%Y-%m}..{_add_months(period.end, -1):%Y-%m}"
    before_window = f"{prev_lo:%Y-%m}..{_add_months(cur_lo, -1):%Y-%m}"
    coverage = None
    if sources.order_min is not None and sources.order_min > prev_lo:
        coverage = f"the sales report starts on {sources.order_min}, after {prev_lo}: the previous revenue may be incomplete"
    out = []
    for code, market in zip(codes, (None, *MARKETS)):
        sel = np.ones(len(orders), dtype=bool) if market is None else (orders["market"] == market).to_numpy(dtype=bool)
        now_rev = float(amount[current.to_numpy(dtype=bool) & sel].sum())
        before = float(amount[previous.to_numpy(dtype=bool) & sel].sum())
        basis = int(((current | previous).to_numpy(dtype=bool) & sel).sum())
        figures = f"{_rp(now_rev)} ({now_window}) vs {_rp(before)} ({before_window})"
        who = "" if agent is None else " attributed to the agent"
        if before == 0:
            out.append(KpiValue(code, None, "percent", basis,
                                _join_notes(f"no data: no revenue{who} in the previous three months"
                                            f" ({before_window}), growth undefined", figures, coverage)))
            continue
        out.append(KpiValue(code, 100.0 * (now_rev - before) / before, "percent", basis, _join_notes(figures, coverage)))
    return out


def new_customer_count_kpi(first_orders: pd.DataFrame, period: Period, sources: "Sources") -> KpiValue:
    """``new_customers``: customers whose first transaction is an order dated in the period."""
    if not sources.has_orders:
        return KpiValue("new_customers", None, "count", 0, NO_ORDERS)
    dates = pd.to_datetime(first_orders["first_order_date"]).dt.date
    n = int(((dates >= period.start) & (dates < period.end)).sum())
    note = None
    if sources.order_min is not None and sources.order_min >= period.start and not sources.has_customer_list:
        note = (f"the sales report starts on {sources.order_min}: customers who ordered before it look new"
                " (load the customer list with first-transaction dates)")
    return KpiValue("new_customers", float(n), "count", n, note)


def rating_kpis(ratings: pd.DataFrame, sources: "Sources") -> list[KpiValue]:
    """``csat_rate`` (4-5 stars) and ``resolution_rate`` (3+ stars) of the period's ratings, and
    ``csat_rate_<category>``: the same per issue category of the rated chat (issue 19)."""
    if not sources.has_ratings:
        return [KpiValue(c, None, "percent", 0, NO_RATINGS)
                for c in ("csat_rate", "resolution_rate", *(f"csat_rate_{n}" for n in (*ISSUE_CATEGORIES, "no_complaint")))]
    stars = _num(ratings["stars"])
    out = [
        rate_kpi("csat_rate", int((stars >= 4).sum()), len(stars), "chat ratings"),
        rate_kpi("resolution_rate", int((stars >= 3).sum()), len(stars), "chat ratings"),
    ]
    raw = ratings["category"] if "category" in ratings.columns else pd.Series([None] * len(ratings), dtype=object)
    category = raw.astype(object).where(raw.notna(), "no_complaint").to_numpy()
    for name in (*ISSUE_CATEGORIES, "no_complaint"):
        sel = category == name
        what = "chat ratings of chats without a complaint case" if name == "no_complaint" else f"chat ratings of {name} complaints"
        out.append(rate_kpi(f"csat_rate_{name}", int((stars[sel] >= 4).sum()), int(sel.sum()), what))
    return out


def volume_kpis(pairs: pd.DataFrame, threads: pd.DataFrame, agent_id: str | None) -> list[KpiValue]:
    """Chat volume, allocated and manual chats (seeds 003, 004). ``pairs`` are the group's
    pairs of the period, ``threads`` every thread with a customer queue in the period."""
    volume = int(pairs["thread_id"].nunique())
    answered = pairs[(pairs["status"] == "answered").to_numpy(dtype=bool)]
    if agent_id is None:
        allocated = int(threads["primary_agent_id"].notna().sum())
    else:
        allocated = int((threads["primary_agent_id"] == agent_id).sum())
        answered = answered[(answered["agent_id"] == agent_id).to_numpy(dtype=bool)]
    manual = int(answered["thread_id"].nunique())
    return [
        KpiValue("chat_volume", float(volume), "count", volume),
        KpiValue("chats_allocated", float(allocated), "count", allocated),
        KpiValue("chats_manual", float(manual), "count", manual),
    ]


def sla_kpi(code: str, pairs: pd.DataFrame, note: str | None = None) -> KpiValue:
    """``sla_compliance_rate``: % of counted queues answered within their channel's first-reply
    target, read from the stored ``fct_reply_pair.is_within_sla`` (true: a hit, false: a miss,
    null: not counted; :func:`kpi_transforms.facts.reply_pairs.sla_flags` defines it).
    Unanswered queues outside closed periods still inside their target are pending (named, not
    counted)."""
    flag = _bool(pairs["is_within_sla"])
    unanswered = (pairs["status"] == "unanswered").to_numpy(dtype=bool) & ~_bool(pairs["is_in_closed_period"]).fillna(False).to_numpy(dtype=bool)
    pending = int((unanswered & flag.isna().to_numpy(dtype=bool)).sum())
    return rate_kpi(code, int(flag.fillna(False).sum()), int(flag.notna().sum()), "counted customer queues",
                    _join_notes(note, f"{pending} queue(s) still pending, not counted" if pending else None))


def channel_kpis(pairs: pd.DataFrame, calendar: BusinessCalendar, sla_minutes: dict[str, float]) -> list[KpiValue]:
    """SLA compliance and the reply-pair KPIs and chat volume per channel (issue 19):
    ``<code>_<channel>`` computed on the group's pairs of that channel."""
    out = [sla_kpi("sla_compliance_rate", pairs)]
    channel = pairs["channel"].astype(object).to_numpy()
    for ch in CHANNELS:
        sub = pairs[channel == ch]
        minutes = float(sla_minutes.get(ch, 30.0))
        out.append(sla_kpi(f"sla_compliance_rate_{ch}", sub, f"target {minutes:g} working minutes"))
        out += [dataclasses.replace(v, kpi_code=f"{v.kpi_code}_{ch}") for v in response_kpis(sub, calendar)
                if v.kpi_code in RESPONSE_CODES]
        n = int(sub["thread_id"].nunique())
        out.append(KpiValue(f"chat_volume_{ch}", float(n), "count", n))
    return out


def split_channel_kpis(first_queues: pd.DataFrame, quotes: pd.DataFrame, cases: pd.DataFrame) -> list[KpiValue]:
    """``frt_new_customer*``, ``quote_response_*`` and ``complaint_response_*`` /
    ``complaint_resolution_*`` per channel (issue 19): ``<code>_<channel>``, the all-channel
    definition on the facts of that channel's threads (``channel`` column)."""
    out = []
    for ch in CHANNELS:
        values = (new_customer_kpis(_on_channel(first_queues, ch)) + quote_kpis(_on_channel(quotes, ch))
                  + case_kpis(_on_channel(cases, ch)))
        out += [dataclasses.replace(v, kpi_code=f"{v.kpi_code}_{ch}") for v in values if v.kpi_code in SPLIT_CODES]
    return out


def _on_channel(frame: pd.DataFrame, channel: str) -> pd.DataFrame:
    return frame[(frame["channel"].astype(object) == channel).to_numpy(dtype=bool)]


def issue_kpis(cases: pd.DataFrame, prev_cases: pd.DataFrame, pairs: pd.DataFrame, prev_pairs: pd.DataFrame,
               prev_label: str) -> list[KpiValue]:
    """Top issues with their trend (seed 002 "10 isu teratas + tren"): ``issues_<category>``
    complaint cases opened in the period per category, ``queues_<intent>`` customer queues per
    intent; the note gives the rank among its family and the previous period's count."""
    out = []
    for prefix, names, now, before, what in (
            ("issues", ISSUE_CATEGORIES, cases["category"], prev_cases["category"], "complaint categories"),
            ("queues", ALL_INTENTS, pairs["intent"].fillna("other"), prev_pairs["intent"].fillna("other"), "intents")):
        counts = {n: int((now.astype(object) == n).sum()) for n in names}
        earlier = {n: int((before.astype(object) == n).sum()) for n in names}
        ranked = sorted(names, key=lambda n: (-counts[n], names.index(n)))
        for name in names:
            n, d = counts[name], counts[name] - earlier[name]
            rank = f"rank {ranked.index(name) + 1} of {len(names)} {what}" if n else f"none of the {len(names)} {what}"
            out.append(KpiValue(f"{prefix}_{name}", float(n), "count", n,
                                f"{rank}; previous period ({prev_label}) {earlier[name]}, change {d:+d}"))
    return out


def retention_kpis(orders: pd.DataFrame, period: Period, sources: "Sources") -> list[KpiValue]:
    """``retention_rate`` / ``churn_rate`` (seed 003): of the customers who ordered in the
    previous period (month / quarter), the share who ordered again / not again in this one.
    ``orders`` hold the agent of the customer's latest order in the previous period."""
    codes = ("retention_rate", "churn_rate")
    if not sources.has_orders:
        return [KpiValue(c, None, "percent", 0, NO_ORDERS) for c in codes]
    months = 1 if period.period_type == "month" else 3
    prev_lo = _add_months(period.start, -months)
    known = orders[orders["customer"].notna().to_numpy(dtype=bool)]
    dates = pd.to_datetime(known["order_date"]).dt.date
    before = set(known["customer"][((dates >= prev_lo) & (dates < period.start)).to_numpy(dtype=bool)].astype(str))
    now = set(known["customer"][((dates >= period.start) & (dates < period.end)).to_numpy(dtype=bool)].astype(str))
    kept = len(before & now)
    notes = []
    if sources.order_min is not None and sources.order_min > prev_lo:
        notes.append(f"the sales report starts on {sources.order_min}, after {prev_lo}: the previous customers may be incomplete")
    if sources.order_max is not None and sources.order_max < period.end - dt.timedelta(days=1):
        notes.append(f"the sales report ends on {sources.order_max}, before the period ends: churn may still fall")
    note = _join_notes(*notes)
    what = f"customers who ordered in the previous period ({prev_lo:%Y-%m}..{_add_months(period.start, -1):%Y-%m})"
    return [rate_kpi("retention_rate", kept, len(before), what, note),
            rate_kpi("churn_rate", len(before) - kept, len(before), what, note)]


def upsell_kpi(lines: pd.DataFrame, period: Period, sources: "Sources", agent: str | None) -> KpiValue:
    """``upsell_cross_sell_rate`` (seed 003): of the period's orders (with product lines) by
    existing customers — an earlier-dated order with product lines — the % that contain a
    product category (a product, where the report gives no category) the customer never bought
    before. ``lines``: every product line up to the period end (order_id, order_date, customer,
    product, product_category, agent_id); per agent only the agent's orders are counted, the
    customer's whole history is what "before" means."""
    code = "upsell_cross_sell_rate"
    if not sources.has_orders:
        return KpiValue(code, None, "percent", 0, NO_ORDERS)
    if not sources.has_products:
        return KpiValue(code, None, "percent", 0, "no data: the sales report has no product / category columns")
    known = lines[lines["customer"].notna().to_numpy(dtype=bool)]
    category = known["product_category"].astype(object)
    item = np.where(category.notna().to_numpy(), "category:" + category.fillna("").astype(str).str.strip().str.casefold(),
                    "product:" + known["product"].fillna("").astype(str).str.strip().str.casefold())
    frame = pd.DataFrame({"order_id": known["order_id"].astype(str).to_numpy(),
                          "day": pd.to_datetime(known["order_date"]).dt.date.to_numpy(),
                          "customer": known["customer"].astype(str).to_numpy(), "item": item,
                          "agent_id": known["agent_id"].astype(object).to_numpy()})
    hits = basis = 0
    for _customer, g in frame.groupby("customer", sort=True):
        for (day, _order), o in g.groupby(["day", "order_id"], sort=True):
            if not (period.start <= day < period.end):
                continue
            if agent is not None and o["agent_id"].iloc[0] != agent:
                continue
            before = set(g.loc[g["day"] < day, "item"])
            if not before:
                continue
            basis += 1
            hits += bool(set(o["item"]) - before)
    return rate_kpi(code, hits, basis, "orders of existing customers with products")


def qa_kpi(reviews: pd.DataFrame, period: Period) -> KpiValue:
    """``qa_first_reply_rate`` (seed 002's quality gate): % of the first replies reviewed in the
    audit sheets of the period's monthly samples that were approved; a quarter pools its months.
    ``reviews``: month (label), agent_id (who sent the first reply), approved, answered."""
    code = "qa_first_reply_rate"
    if reviews.empty:
        return KpiValue(code, None, "percent", 0, "no data: no first reply reviewed in the audit sheets of the period's months")
    answered = _bool(reviews["answered"]).fillna(False).to_numpy(dtype=bool)
    approved = _bool(reviews["approved"]).fillna(False).to_numpy(dtype=bool)
    unanswered = int((~answered).sum())
    notes = [f"{unanswered} reviewed thread(s) without a first reply in the month, not counted" if unanswered else None]
    if period.period_type == "quarter":
        months = reviews["month"][answered].astype(str)
        notes.insert(0, "pooled over the monthly reviews: " + ", ".join(f"{m.label} {int((months == m.label).sum())}"
                                                                         for m in period.months()))
    return rate_kpi(code, int((answered & approved).sum()), int(answered.sum()), "reviewed first replies", _join_notes(*notes))


def survey_kpis(answers: pd.DataFrame, sources: "Sources") -> list[KpiValue]:
    """``nps_score`` and ``ces_avg`` (seed 003) of the period's survey answers."""
    if not sources.has_surveys:
        return [KpiValue("nps_score", None, "points", 0, NO_SURVEYS), KpiValue("ces_avg", None, "score", 0, NO_SURVEYS)]
    kind = answers["survey"].astype(object).to_numpy()
    score, low, high = _num(answers["score"]), _num(answers["scale_min"]), _num(answers["scale_max"])
    nps = score[kind == "nps"]
    out = []
    if len(nps) == 0:
        out.append(KpiValue("nps_score", None, "points", 0, "no data: no NPS answers in the period"))
    else:
        promoters, detractors = int((nps >= 9).sum()), int((nps <= 6).sum())
        out.append(KpiValue("nps_score", 100.0 * (promoters - detractors) / len(nps), "points", len(nps),
                            f"{promoters} promoter(s) (9-10), {detractors} detractor(s) (0-6) of {len(nps)}"))
    ces = kind == "ces"
    if not ces.any():
        out.append(KpiValue("ces_avg", None, "score", 0, "no data: no CES answers in the period"))
    else:
        mapped = 1.0 + (score[ces] - low[ces]) * 6.0 / (high[ces] - low[ces])
        other = int(((low[ces] != 1) | (high[ces] != 7)).sum())
        note = f"{other} answer(s) on another scale mapped linearly to 1-7" if other else None
        out.append(KpiValue("ces_avg", float(mapped.mean()), "score", int(ces.sum()), note))
    return out


def cost_kpi(conv: pd.DataFrame, period: Period, settings: KpiSettings, agent: str | None) -> KpiValue:
    """``cost_per_contact`` (seed 003): the configured monthly cost (team, or the agent's) times
    the months of the period, divided by the conversations (contacts) started in the period."""
    monthly = settings.monthly_team_cost_idr if agent is None else settings.agent_monthly_cost_idr.get(agent)
    if monthly is None:
        key = "kpis.monthly_team_cost_idr" if agent is None else f"kpis.agent_monthly_cost_idr.{agent}"
        return KpiValue("cost_per_contact", None, "idr", 0, f"no data: no cost configured ({key})")
    months = len(period.months())
    contacts = len(conv)
    cost = float(monthly) * months
    if contacts == 0:
        return KpiValue("cost_per_contact", None, "idr", 0, f"no data: no conversations in the period (cost {_rp(cost)})")
    return KpiValue("cost_per_contact", cost / contacts, "idr", contacts, f"{_rp(cost)} / {contacts} conversation(s)")


def conversation_kpis(conv: pd.DataFrame, sources_have_orders: bool = False) -> list[KpiValue]:
    """AHT, ART, FCR and abandonment (issue 19) of the conversations started in the period, as
    ``marts.fct_conversation`` stores them (:mod:`kpi_transforms.facts.conversations`)."""
    status = conv["status"].astype(object).to_numpy()
    resolved = conv[status == "resolved"]
    n_open, n_unanswered = int((status == "open").sum()), int((status == "unanswered").sum())
    left_out = _join_notes(f"{n_open} conversation(s) still open" if n_open else None,
                           f"{n_unanswered} conversation(s) ended with the customer unanswered" if n_unanswered else None)
    note = _join_notes(left_out, "not counted") if left_out else None
    out = duration_kpis(("aht_avg", "aht_median", "aht_p90"), _num(resolved["handle_seconds"]), "resolved conversations", note)
    out += duration_kpis(("art_avg", "art_median", "art_p90"), _num(resolved["resolution_business_seconds"]),
                         "resolved conversations", note)
    intent = resolved["intent"].astype(object).fillna("other").to_numpy()
    for name in ALL_INTENTS:  # AHT per issue category (seed 002 "AHT per agen/kategori"): the first queue's intent
        out.append(duration_kpis((f"aht_avg_{name}", "_median", "_p90"), _num(resolved["handle_seconds"][intent == name]),
                                 f"resolved {name} conversations")[0])
    fcr = _bool(resolved["is_fcr"])
    channel = resolved["channel"].astype(object).to_numpy()
    for code, sel in (("fcr_rate", np.ones(len(resolved), dtype=bool)),
                      *((f"fcr_rate_{ch}", channel == ch) for ch in CHANNELS)):
        flags = fcr[sel]
        pending = int(flags.isna().sum())
        out.append(rate_kpi(code, int(flags.fillna(False).sum()), int(flags.notna().sum()),
                            "resolved conversations past the FCR window",
                            f"{pending} resolved conversation(s) still inside the FCR window, not counted" if pending else None))
    over = conv[status != "open"]
    abandoned = _bool(over["is_abandoned"])
    unanswered = (over["status"].astype(object) == "unanswered").to_numpy(dtype=bool)
    pending = int((unanswered & abandoned.isna().to_numpy(dtype=bool)).sum())
    decided = ~unanswered | abandoned.notna().to_numpy(dtype=bool)
    out.append(rate_kpi("abandonment_rate", int(abandoned.fillna(False).sum()), int(decided.sum()), "conversations over",
                        _join_notes(f"{pending} unanswered conversation(s) whose customer may still come back, not counted"
                                    if pending else None, None if sources_have_orders else
                                    "no sales report loaded: only a return in the chats is checked")))
    return out


# --------------------------------------------------------------------------------------------
# One period
@dataclasses.dataclass(frozen=True)
class Sources:
    """What the warehouse holds beyond chats, so a missing input is reported as such."""

    has_orders: bool = False
    order_min: dt.date | None = None
    order_max: dt.date | None = None
    has_customer_list: bool = False
    has_ratings: bool = False
    has_surveys: bool = False
    has_products: bool = False


@dataclasses.dataclass
class PeriodFacts:
    """The facts of one period (start event inside it), read by :func:`load_period_facts`."""

    pairs: pd.DataFrame
    threads: pd.DataFrame
    first_queues: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # new customers' first queues
    quotes: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    cases: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    follow_ups: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    orders: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # six months up to the period end, with agent_id
    first_orders: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # customer, first_order_date, agent_id
    ratings: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # with agent_id
    sources: Sources = dataclasses.field(default_factory=Sources)
    conversations: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # started in the period
    horizon: pd.Timestamp | None = None  # latest message loaded (data horizon)
    settings: KpiSettings = dataclasses.field(default_factory=KpiSettings)
    prev_cases: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # opened in the previous period
    prev_pairs: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # queues of the previous period
    prev_label: str = "previous period"
    surveys: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # answers of the period, with agent_id
    product_lines: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # up to the period end, with agent_id
    qa_reviews: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)  # reviewed first replies of the months
    audit: pd.DataFrame | None = None  # rows of kpi_transforms.audit.audit_kpis, if available

    def __post_init__(self) -> None:
        for name, columns in _EMPTY_COLUMNS.items():
            frame = getattr(self, name)
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                setattr(self, name, frame.assign(**{c: pd.Series([None] * len(frame), dtype=object, index=frame.index) for c in missing}))


_EMPTY_COLUMNS = {
    "prev_cases": ["agent_id", "category"],
    "surveys": ["survey", "score", "scale_min", "scale_max", "agent_id"],
    "qa_reviews": ["month", "agent_id", "approved", "answered"],
    "product_lines": ["order_id", "order_date", "customer", "product", "product_category", "agent_id"],
    "prev_pairs": ["agent_id", "intent"],
    "pairs": ["pair_id", "thread_id", "channel", "intent", "customer_id", "agent_id", "status", "is_valid", "is_in_closed_period",
              "calendar_seconds", "business_seconds", "question_at", "reply_at", "first_auto_reply_at", "within_24h",
              "within_1_working_day", "is_counted_1wd", "is_pending_1wd", "is_counted_24h", "is_pending_24h", "is_within_sla"],
    "threads": ["thread_id", "primary_agent_id"],
    "first_queues": ["thread_id", "channel", "agent_id", "status", "is_valid", "business_seconds"],
    "quotes": ["thread_id", "channel", "agent_id", "quote_at", "business_seconds", "is_in_closed_period"],
    "cases": ["thread_id", "channel", "agent_id", "category", "status", "first_response_at", "first_response_business_seconds",
              "resolution_business_seconds", "is_repeat", "is_in_closed_period"],
    "follow_ups": ["thread_id", "customer_id", "agent_id", "followed_up_at_local", "segment", "is_ordered"],
    "orders": ["order_date", "amount_idr", "market", "customer", "agent_id"],
    "first_orders": ["customer", "first_order_date", "agent_id"],
    "ratings": ["thread_id", "stars", "agent_id", "category"],
    "conversations": ["thread_id", "channel", "customer", "agent_id", "status", "handle_seconds", "intent",
                      "resolution_business_seconds", "is_fcr", "is_abandoned"],
}


def _of(frame: pd.DataFrame, agent: str | None) -> pd.DataFrame:
    return frame if agent is None else frame[(frame["agent_id"] == agent).to_numpy(dtype=bool)]


def kpi_values(facts: PeriodFacts, period: Period, calendar: BusinessCalendar, agent: str | None) -> list[KpiValue]:
    """Every KPI of :data:`KPI_CODES` for one agent (or the team, ``agent`` None)."""
    pairs = _of(facts.pairs, agent)
    values = response_kpis(pairs, calendar)
    values += new_customer_kpis(_of(facts.first_queues, agent))
    values += quote_kpis(_of(facts.quotes, agent))
    values += case_kpis(_of(facts.cases, agent))
    values += follow_up_kpis(_of(facts.follow_ups, agent), period, facts.sources)
    values += revenue_kpis(_of(facts.orders, agent), period, facts.sources, agent)
    values += retention_kpis(_retention_orders(facts.orders, period, agent), period, facts.sources)
    values.append(new_customer_count_kpi(_of(facts.first_orders, agent), period, facts.sources))
    values += rating_kpis(_of(facts.ratings, agent), facts.sources)
    values += volume_kpis(pairs, facts.threads, agent)
    values += conversation_kpis(_of(facts.conversations, agent), facts.sources.has_orders)
    values += survey_kpis(_of(facts.surveys, agent), facts.sources)
    values.append(upsell_kpi(facts.product_lines, period, facts.sources, agent))
    values.append(qa_kpi(_of(facts.qa_reviews, agent), period))
    values.append(cost_kpi(_of(facts.conversations, agent), period, facts.settings, agent))
    values += channel_kpis(pairs, calendar, dict(facts.settings.sla_minutes))
    values += split_channel_kpis(_of(facts.first_queues, agent), _of(facts.quotes, agent), _of(facts.cases, agent))
    values += issue_kpis(_of(facts.cases, agent), _of(facts.prev_cases, agent), pairs, _of(facts.prev_pairs, agent),
                         facts.prev_label)
    values += _audit_values(facts.audit, agent)
    by_code = {v.kpi_code: v for v in values}
    return [by_code[code] for code in KPI_CODES]


def _retention_orders(orders: pd.DataFrame, period: Period, agent: str | None) -> pd.DataFrame:
    """The orders of the customers of ``agent``: those whose latest order in the previous period
    is attributed to the agent (every order of the team for ``agent`` None)."""
    if agent is None or orders.empty:
        return orders
    months = 1 if period.period_type == "month" else 3
    dates = pd.to_datetime(orders["order_date"]).dt.date
    prev = orders[((dates >= _add_months(period.start, -months)) & (dates < period.start)).to_numpy(dtype=bool)]
    prev = prev[prev["customer"].notna().to_numpy(dtype=bool)].assign(_d=pd.to_datetime(prev["order_date"]))
    last = prev.sort_values(["_d"], kind="stable").groupby("customer").tail(1)
    mine = set(last["customer"][(last["agent_id"] == agent).to_numpy(dtype=bool)])
    return orders[orders["customer"].isin(mine).to_numpy(dtype=bool)]


def _audit_values(audit: pd.DataFrame | None, agent: str | None) -> list[KpiValue]:
    if audit is None:
        return [KpiValue(c, None, "percent", 0, NO_SAMPLE) for c in AUDIT_KPI_CODES]
    rows = audit[audit["agent_id"].isna()] if agent is None else audit[audit["agent_id"] == agent]
    out = []
    for code in AUDIT_KPI_CODES:
        row = rows[rows["kpi_code"] == code]
        if row.empty:
            out.append(KpiValue(code, None, "percent", 0, f"{NO_SAMPLE} (no thread of this agent in the audit sample)"))
            continue
        r = row.iloc[0]
        value = None if pd.isna(r["value"]) else float(r["value"])
        out.append(KpiValue(code, value, "percent", int(r["basis_count"]), None if pd.isna(r["note"]) else str(r["note"])))
    return out


def period_agents(facts: PeriodFacts) -> list[str]:
    """Agents with at least one fact in the period, or a thread allocated to them (sorted)."""
    agents: set[str] = set()
    for frame in (facts.pairs, facts.quotes, facts.cases, facts.follow_ups, facts.ratings, facts.first_orders,
                  facts.conversations, facts.qa_reviews):
        agents |= {a for a in frame["agent_id"].dropna().unique() if isinstance(a, str)}
    agents |= {a for a in facts.threads["primary_agent_id"].dropna().unique() if isinstance(a, str)}
    if len(facts.orders):
        agents |= {a for a in facts.orders["agent_id"].dropna().unique() if isinstance(a, str)}
    if facts.audit is not None:
        agents |= {a for a in facts.audit["agent_id"].dropna().unique() if isinstance(a, str)}
    return sorted(agents)


def fct_kpi(facts: PeriodFacts, period: Period, calendar: BusinessCalendar) -> pd.DataFrame:
    """One row per KPI code and agent (team row first, ``agent_id`` null) for one period."""
    rows = []
    computed_at = pd.Timestamp.now(tz="UTC")
    for agent in [None, *period_agents(facts)]:
        for kpi in kpi_values(facts, period, calendar, agent):
            rows.append(kpi_row(kpi.kpi_code, period.period_type, period.start, agent, kpi.value, kpi.basis_count,
                                kpi.note, computed_at, unit=kpi.unit))
    return pd.DataFrame(rows, columns=KPI_CONTRACT.names)


def _order_agents(orders: pd.DataFrame, threads: pd.DataFrame, timezone: str, date_col: str) -> np.ndarray:
    """Per order: the primary agent of the customer's latest thread whose first message's
    local date is on or before the order date (None if the customer had no thread by then)."""
    out = np.full(len(orders), None, dtype=object)
    if orders.empty or threads.empty:
        return out
    t = threads.dropna(subset=["customer_id"]).copy()
    t["day"] = pd.to_datetime(t["first_message_at"], utc=True).dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    t = pd.DataFrame({"customer_id": t["customer_id"].astype(str).to_numpy(), "day": t["day"].astype("datetime64[us]").to_numpy(),
                      "primary_agent_id": t["primary_agent_id"].astype(object).to_numpy(), "thread_id": t["thread_id"].astype(str).to_numpy()})
    t = t.sort_values(["day", "thread_id"], kind="stable")
    customer = orders["customer"]
    known = customer.notna().to_numpy()
    left = pd.DataFrame({"row": np.flatnonzero(known), "customer_id": customer[known].astype(str).to_numpy(),
                         "day": pd.to_datetime(orders[date_col][known]).astype("datetime64[us]").to_numpy()})
    left = left.sort_values("day", kind="stable")
    matched = pd.merge_asof(left, t.drop(columns="thread_id"), on="day", by="customer_id", direction="backward")
    agents = matched["primary_agent_id"].astype(object)
    out[matched["row"].to_numpy()] = agents.where(agents.notna(), None).to_numpy()
    return out
