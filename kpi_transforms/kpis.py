"""KPI values per period and agent (SPEC 8) into ``marts.fct_kpi``.

This module computes the response-time and response-rate KPIs that rest on reply pairs and
threads. Facts belong to the period of the local date of their start event (the question).
Answered pairs belong to the replying agent, unanswered ones to the thread's primary agent.
A KPI without data gets a null value and a note, never 0.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from kpi_transforms.calendar import BusinessCalendar, to_epoch_seconds
from kpi_transforms.config import Config
from kpi_transforms.periods import Period, parse_period
from kpi_transforms.warehouse import Warehouse

KPI_SCHEMA = pa.schema(
    [
        ("kpi_code", pa.string()), ("period_type", pa.string()), ("period_start", pa.date32()),
        ("agent_id", pa.string()), ("value", pa.float64()), ("unit", pa.string()),
        ("basis_count", pa.int64()), ("note", pa.string()), ("computed_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclasses.dataclass(frozen=True)
class KpiValue:
    kpi_code: str
    value: float | None
    unit: str
    basis_count: int
    note: str | None = None


def percentile_cont(values: np.ndarray, q: float) -> float:
    """SQL ``percentile_cont``: linear interpolation between order statistics."""
    return float(np.percentile(values.astype(float), q * 100.0, method="linear"))


def _mean_kpi(code: str, values: np.ndarray, what: str) -> KpiValue:
    if len(values) == 0:
        return KpiValue(code, None, "seconds", 0, f"no data: no {what} in the period")
    return KpiValue(code, float(values.astype(float).mean()), "seconds", len(values))


def _rate_kpi(code: str, hits: int, basis: int, pending: int, what: str) -> KpiValue:
    note = f"{pending} queue(s) still pending, not counted" if pending else None
    if basis == 0:
        return KpiValue(code, None, "percent", 0, f"no data: no {what} in the period" + (f"; {note}" if note else ""))
    return KpiValue(code, 100.0 * hits / basis, "percent", basis, note)


def response_kpis(pairs: pd.DataFrame, calendar: BusinessCalendar) -> list[KpiValue]:
    """The reply-pair KPIs of one group of pairs (one agent, or the team)."""
    valid = pairs[pairs["is_valid"].astype(bool)]
    business = valid["business_seconds"].astype("int64").to_numpy()
    out = [
        _mean_kpi("reply_duration_avg", valid["calendar_seconds"].astype("int64").to_numpy(), "valid reply pairs"),
        _mean_kpi("frt_avg", business, "valid reply pairs"),
    ]
    if len(business):
        out.append(KpiValue("frt_median", percentile_cont(business, 0.5), "seconds", len(business)))
        out.append(KpiValue("frt_p90", percentile_cont(business, 0.9), "seconds", len(business)))
    else:
        out += [KpiValue(c, None, "seconds", 0, "no data: no valid reply pairs in the period") for c in ("frt_median", "frt_p90")]
    if len(valid):
        q = to_epoch_seconds(pd.to_datetime(valid["question_at"], utc=True))
        r = to_epoch_seconds(pd.to_datetime(valid["reply_at"], utc=True))
        auto = pd.to_datetime(valid["first_auto_reply_at"], utc=True)
        first = r.copy()
        has_auto = auto.notna().to_numpy()
        if has_auto.any():
            first[has_auto] = np.minimum(r[has_auto], to_epoch_seconds(auto[has_auto]))
        out.append(_mean_kpi("frt_total_avg", calendar.business_seconds(q, first), "valid reply pairs"))
    else:
        out.append(_mean_kpi("frt_total_avg", np.array([], dtype=np.int64), "valid reply pairs"))

    answered_valid = (pairs["status"] == "answered") & pairs["is_valid"].astype(bool)
    unanswered = (pairs["status"] == "unanswered") & ~pairs["is_in_closed_period"].astype(bool)
    for code, flag_col in (("response_rate_1wd", "within_1_working_day"), ("response_rate_24h", "within_24h")):
        flag = pairs[flag_col]
        decided = unanswered & flag.notna()
        counted = answered_valid | decided
        hits = int((counted & flag.fillna(False).astype(bool)).sum())
        pending = int((unanswered & flag.isna()).sum())
        out.append(_rate_kpi(code, hits, int(counted.sum()), pending, "counted customer queues"))
    return out


def volume_kpis(pairs: pd.DataFrame, threads: pd.DataFrame, agent_id: str | None) -> list[KpiValue]:
    """Chat volume (threads with a customer queue in the period), allocated and manual chats."""
    thread_ids = pairs["thread_id"].unique()
    in_period = threads[threads["thread_id"].isin(thread_ids)]
    if agent_id is None:
        volume = len(thread_ids)
        allocated = int(in_period["primary_agent_id"].notna().sum())
        manual = int(pairs.loc[pairs["status"] == "answered", "thread_id"].nunique())
    else:
        volume = int(pairs["thread_id"].nunique())
        allocated = int((in_period["primary_agent_id"] == agent_id).sum())
        manual = int(pairs.loc[(pairs["status"] == "answered") & (pairs["agent_id"] == agent_id), "thread_id"].nunique())
    return [
        KpiValue("chat_volume", float(volume), "count", volume),
        KpiValue("chats_allocated", float(allocated), "count", allocated),
        KpiValue("chats_manual", float(manual), "count", manual),
    ]


KpiFunction = Callable[[pd.DataFrame, pd.DataFrame, str | None, BusinessCalendar], list[KpiValue]]


def fct_kpi(pairs: pd.DataFrame, threads: pd.DataFrame, period: Period, calendar: BusinessCalendar) -> pd.DataFrame:
    """One row per KPI and agent (plus the team row, agent_id null) for one period."""
    rows = []
    computed_at = pd.Timestamp.now(tz="UTC")
    agents: list[str | None] = [None] + sorted(a for a in pairs["agent_id"].dropna().unique())
    for agent in agents:
        group = pairs if agent is None else pairs[pairs["agent_id"] == agent]
        for kpi in response_kpis(group, calendar) + volume_kpis(group, threads, agent):
            rows.append(
                {"kpi_code": kpi.kpi_code, "period_type": period.period_type, "period_start": period.start,
                 "agent_id": agent, "value": kpi.value, "unit": kpi.unit, "basis_count": kpi.basis_count,
                 "note": kpi.note, "computed_at": computed_at}
            )
    return pd.DataFrame(rows, columns=KPI_SCHEMA.names)


def load_period_facts(warehouse: Warehouse, period: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    pairs = warehouse.read_df(
        "select * from marts.fct_reply_pair where question_at_local >= :lo and question_at_local < :hi",
        {"lo": dt.datetime.combine(period.start, dt.time()), "hi": dt.datetime.combine(period.end, dt.time())},
    )
    threads = warehouse.read_df(
        "select t.* from marts.fct_thread t where t.thread_id in (select p.thread_id from marts.fct_reply_pair p"
        " where p.question_at_local >= :lo and p.question_at_local < :hi)",
        {"lo": dt.datetime.combine(period.start, dt.time()), "hi": dt.datetime.combine(period.end, dt.time())},
    )
    if pairs.empty:
        pairs = pd.DataFrame(columns=["thread_id", "agent_id", "status", "is_valid", "is_in_closed_period", "calendar_seconds",
                                      "business_seconds", "question_at", "reply_at", "first_auto_reply_at",
                                      "within_24h", "within_1_working_day"])
    if threads.empty:
        threads = pd.DataFrame(columns=["thread_id", "primary_agent_id"])
    for col in ("within_24h", "within_1_working_day"):
        pairs[col] = pairs[col].astype("boolean")
    return pairs, threads


def compute_period_kpis(warehouse: Warehouse, config: Config, period_text: str) -> pd.DataFrame:
    """Compute a period's KPIs and replace its rows in ``marts.fct_kpi`` (one transaction)."""
    period = parse_period(period_text)
    warehouse.init()
    pairs, threads = load_period_facts(warehouse, period)
    frame = fct_kpi(pairs, threads, period, BusinessCalendar.from_config(config))
    with warehouse.begin() as conn:
        warehouse.lock(conn, "kpi")
        warehouse.execute(
            conn,
            "delete from marts.fct_kpi where period_type = :t and period_start = :s",
            {"t": period.period_type, "s": period.start},
        )
        warehouse.bulk_insert(conn, "marts.fct_kpi", pa.Table.from_pandas(frame, schema=KPI_SCHEMA, preserve_index=False))
    return frame


def render_kpis(frame: pd.DataFrame) -> str:
    """A plain table: one line per KPI and agent, team first."""
    from kpi_transforms.reports import id_number

    lines = [f"{'kpi_code':<20} {'agent':<10} {'value':>14} {'unit':<8} {'basis':>6}  note"]
    for row in frame.itertuples(index=False):
        if pd.isna(row.value):
            shown = "—"
        elif row.unit == "seconds":
            shown = f"{id_number(row.value / 60, 1)} min"
        elif row.unit == "percent":
            shown = f"{id_number(row.value, 1)} %"
        else:
            shown = id_number(row.value)
        agent = row.agent_id if isinstance(row.agent_id, str) else "(team)"
        lines.append(f"{row.kpi_code:<20} {agent:<10} {shown:>14} {row.unit:<8} {row.basis_count:>6}  {row.note or ''}".rstrip())
    return "\n".join(lines)
