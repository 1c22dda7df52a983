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
  ``is_pending_*``, ``fct_thread.is_new_customer``, ``fct_case.is_repeat``, the follow-ups'
  segment / ordered flags); nothing here recomputes a fact.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import BusinessCalendar, to_epoch_seconds
from kpi_transforms.core.numbers import id_number
from kpi_transforms.core.periods import Period, _add_months
from kpi_transforms.metrics.catalogue import AUDIT_KPI_CODES, KPI_CODES, KPI_SCHEMA, MARKETS, NO_ORDERS, NO_RATINGS, NO_SAMPLE


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
    """``csat_rate`` (4-5 stars) and ``resolution_rate`` (3+ stars) of the period's ratings."""
    if not sources.has_ratings:
        return [KpiValue(c, None, "percent", 0, NO_RATINGS) for c in ("csat_rate", "resolution_rate")]
    stars = _num(ratings["stars"])
    return [
        rate_kpi("csat_rate", int((stars >= 4).sum()), len(stars), "chat ratings"),
        rate_kpi("resolution_rate", int((stars >= 3).sum()), len(stars), "chat ratings"),
    ]


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
    audit: pd.DataFrame | None = None  # rows of kpi_transforms.audit.audit_kpis, if available

    def __post_init__(self) -> None:
        for name, columns in _EMPTY_COLUMNS.items():
            frame = getattr(self, name)
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                setattr(self, name, frame.assign(**{c: pd.Series([None] * len(frame), dtype=object, index=frame.index) for c in missing}))


_EMPTY_COLUMNS = {
    "pairs": ["pair_id", "thread_id", "customer_id", "agent_id", "status", "is_valid", "is_in_closed_period", "calendar_seconds",
              "business_seconds", "question_at", "reply_at", "first_auto_reply_at", "within_24h", "within_1_working_day",
              "is_counted_1wd", "is_pending_1wd", "is_counted_24h", "is_pending_24h"],
    "threads": ["thread_id", "primary_agent_id"],
    "first_queues": ["thread_id", "agent_id", "status", "is_valid", "business_seconds"],
    "quotes": ["thread_id", "agent_id", "quote_at", "business_seconds", "is_in_closed_period"],
    "cases": ["thread_id", "agent_id", "status", "first_response_at", "first_response_business_seconds",
              "resolution_business_seconds", "is_repeat", "is_in_closed_period"],
    "follow_ups": ["thread_id", "customer_id", "agent_id", "followed_up_at_local", "segment", "is_ordered"],
    "orders": ["order_date", "amount_idr", "market", "agent_id"],
    "first_orders": ["customer", "first_order_date", "agent_id"],
    "ratings": ["thread_id", "stars", "agent_id"],
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
    values.append(new_customer_count_kpi(_of(facts.first_orders, agent), period, facts.sources))
    values += rating_kpis(_of(facts.ratings, agent), facts.sources)
    values += volume_kpis(pairs, facts.threads, agent)
    values += _audit_values(facts.audit, agent)
    by_code = {v.kpi_code: v for v in values}
    return [by_code[code] for code in KPI_CODES]


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
    for frame in (facts.pairs, facts.quotes, facts.cases, facts.follow_ups, facts.ratings, facts.first_orders):
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
            rows.append(
                {"kpi_code": kpi.kpi_code, "period_type": period.period_type, "period_start": period.start,
                 "agent_id": agent, "value": kpi.value, "unit": kpi.unit, "basis_count": int(kpi.basis_count),
                 "note": kpi.note, "computed_at": computed_at}
            )
    return pd.DataFrame(rows, columns=KPI_SCHEMA.names)


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
