"""Reports: read what a report shows from the warehouse and hand it to
:mod:`kpi_transforms.present` (console table, Markdown, HTML, ``.xlsx``).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.core.periods import Period, _add_months, parse_period
from kpi_transforms.metrics.scorecards import (
    SCORECARD_CONTRACT,
    ScorecardKpi,
    ScorecardResult,
    ScorecardTemplate,
    load_templates,
    scorecard_totals,
)
from kpi_transforms.pipeline.audit import sample_threads, write_review_sheet
from kpi_transforms.pipeline.breaches import find_breaches, thread_transcript
from kpi_transforms.pipeline.facts import PAIR_COLUMNS
from kpi_transforms.pipeline.scorecards import compute_scorecards
from kpi_transforms.present.html import render_html
from kpi_transforms.present.reply_durations import reply_duration_table, reply_duration_table_en
from kpi_transforms.metrics.catalogue import (CASE_BASIS_WHERE, CONVERSATION_BASIS_WHERE, ISSUE_CATEGORIES, PAIR_BASIS_FLAGS,
                                              QUOTE_BASIS_WHERE, RATING_BASIS_WHERE, fact_basis)
from kpi_transforms.present.report_data import FactList, ReportData, fact_anchor
from kpi_transforms.present.scorecards import render_scorecards
from kpi_transforms.present.summary import render_summary_html
from kpi_transforms.present.tables import render_table
from kpi_transforms.present.texts import TEXT
from kpi_transforms.present.xlsx import write_xlsx
from kpi_transforms.warehouse.engine import Warehouse


def period_pairs(warehouse: Warehouse, period: Period, timezone: str, agent_id: str | None = None,
                 *, show_contacts: bool = False) -> pd.DataFrame:
    """Pairs whose question's local date lies in the period (SPEC 8), with the thread name:
    masked as in ``bi.v_threads`` (phone numbers and e-mail addresses replaced) unless
    ``show_contacts``."""
    threads = "marts.fct_thread" if show_contacts else "bi.v_threads"
    sql = (
        f"select p.*, t.thread_name from marts.fct_reply_pair p"
        f" left join {threads} t on t.thread_id = p.thread_id"
        " where p.question_at_local >= :lo and p.question_at_local < :hi"
    )
    params: dict[str, object] = {"lo": pd.Timestamp(period.start).to_pydatetime(), "hi": pd.Timestamp(period.end).to_pydatetime()}
    if agent_id:
        sql += " and p.agent_id = :agent"
        params["agent"] = agent_id
    frame = warehouse.read_df(sql, params)
    if frame.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS + ["thread_name"])
    for col in ("question_at", "reply_at", "sla_deadline_at", "effective_start_at", "first_auto_reply_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def reply_duration_report(
    warehouse: Warehouse, config: Config, period_text: str, *, agent_id: str | None = None, fmt: str = "table",
    show_contacts: bool = False,
) -> str:
    period = parse_period(period_text)
    warehouse.init()
    pairs = period_pairs(warehouse, period, config.timezone, agent_id, show_contacts=show_contacts)
    who = f", agent {agent_id}" if agent_id else ""
    return render_table(reply_duration_table(pairs), fmt, title=f"Tabel Durasi Balas Sales — periode {period.label}{who}")


def stored_scorecards(
    warehouse: Warehouse, period: Period, agent_id: str | None = None, template: str | None = None
) -> ScorecardResult | None:
    """The scorecards already in ``marts.fct_scorecard`` for the period (read-only), or None."""
    sql = "select * from marts.fct_scorecard where period_type = :t and period_start = :s"
    params: dict[str, object] = {"t": period.period_type, "s": period.start}
    if template:
        sql += " and template = :tpl"
        params["tpl"] = template
    rows = warehouse.read_df(sql, params)
    if agent_id is not None:
        rows = rows[rows["agent_id"] == agent_id]
    if rows.empty:
        return None
    rows = rows[SCORECARD_CONTRACT.names].copy()
    rows["agent_id"] = rows["agent_id"].astype(object).where(rows["agent_id"].notna(), None)
    known = load_templates()
    templates = []
    for name in dict.fromkeys(rows["template"]):
        if name in known:
            tpl = known[name]
            order = {c: i for i, c in enumerate(tpl.kpi_codes)}
            templates.append(tpl)
        else:
            part = rows[rows["template"] == name]
            tpl = ScorecardTemplate(name, tuple(ScorecardKpi(c, 0.0, "higher", 1.0) for c in dict.fromkeys(part["kpi_code"])))
            templates.append(tpl)
            order = {c: i for i, c in enumerate(tpl.kpi_codes)}
        mask = rows["template"] == name
        rows.loc[mask, "_order"] = rows.loc[mask, "kpi_code"].map(order).fillna(99)
    rows["_team"] = rows["agent_id"].isna()
    rows = rows.sort_values(["template", "_team", "agent_id", "_order"], ascending=[True, False, True, True], kind="stable")
    rows = rows.drop(columns=["_order", "_team"]).reset_index(drop=True)
    return ScorecardResult(period, templates, rows, scorecard_totals(rows))


def collect_report_data(
    warehouse: Warehouse,
    config: Config,
    period_text: str,
    *,
    agent_id: str | None = None,
    lang: str = "id",
    scorecards: ScorecardResult | None | str = "stored",
    template: str | None = None,
    generated_at: pd.Timestamp | None = None,
    show_contacts: bool = False,
) -> ReportData:
    """Everything a report shows. ``scorecards="stored"`` reads ``marts.fct_scorecard``
    (nothing is written); pass a computed :class:`ScorecardResult` to show that instead.
    ``generated_at`` is the time printed in the header (now, unless given)."""
    if lang not in TEXT:
        raise ChatKpiError(f"unknown report language {lang!r}: use id or en")
    period = parse_period(period_text)
    warehouse.init()
    pairs = period_pairs(warehouse, period, config.timezone, agent_id, show_contacts=show_contacts)
    durations = reply_duration_table(pairs) if lang == "id" else reply_duration_table_en(pairs)
    if isinstance(scorecards, str):
        scorecards = stored_scorecards(warehouse, period, agent_id, template)

    scope = "is_team" if agent_id is None else "(not is_team and agent_id = :a)"
    agent_param = {} if agent_id is None else {"a": agent_id}
    params = {"t": period.period_type, "s": period.start, **agent_param}
    frt = warehouse.read_df(
        f"select bucket_order, bucket_label, n_pairs, pct_of_pairs from bi.v_frt_distribution"
        f" where period_type = :t and period_start = :s and {scope} order by bucket_order",
        params,
    )
    cells = warehouse.read_df(
        "select weekday_iso, hour_local, sum(n_messages) as n from bi.v_volume_heatmap"
        " where period_type = :t and period_start = :s group by weekday_iso, hour_local",
        {"t": period.period_type, "s": period.start},
    )
    heat = np.zeros((7, 24), dtype=float)
    for r in cells.itertuples(index=False):
        heat[int(r.weekday_iso) - 1, int(r.hour_local)] = float(r.n)
    trend = warehouse.read_df(
        f"select period_start, period_label, avg_business_seconds / 60.0 as avg_business_minutes,"
        f" pct_within_1_working_day, n_valid_pairs from bi.v_reply_durations"
        f" where period_type = 'month' and period_start >= :lo and period_start < :hi and {scope} order by period_start",
        {"lo": _add_months(period.end, -12), "hi": period.end, **agent_param},
    )
    agents = warehouse.read_df(
        "select agent_id, avg_business_seconds / 60.0 as avg_business_minutes, pct_within_1_working_day, n_queues"
        " from bi.v_reply_durations where period_type = :t and period_start = :s and not is_team order by agent_id",
        {"t": period.period_type, "s": period.start},
    )
    generated = generated_at if generated_at is not None else pd.Timestamp.now(tz=config.timezone)
    data = ReportData(period, agent_id, lang, config.timezone, durations, scorecards, frt, heat, trend, agents, generated)
    add_drill_down(warehouse, data, pairs)
    add_csat_by_category(warehouse, data)  # before the fact lists: its figures link to the ratings they count
    add_fact_lists(warehouse, data, pairs)
    return data


SLOWEST_SHOWN = 5  # slowest answers of the period in the SLA section
COMPLAINTS_SHOWN = 5  # complaint categories in the top-complaints table


def add_drill_down(warehouse: Warehouse, data: ReportData, pairs: pd.DataFrame) -> None:
    """Issue 17: the SLA section (queues open past their deadline at the report's clock, the
    period's slowest answers), their transcripts (bi views: masked), FRT per channel, AHT per
    agent when the ``aht_avg`` KPI is stored for the period, and the top complaint categories against the previous period."""
    period, agent_id = data.period, data.agent_id
    now = pd.Timestamp(data.generated_at)
    now = (now.tz_localize(data.timezone) if now.tzinfo is None else now).tz_convert("UTC").to_pydatetime()
    found = find_breaches(warehouse, now=now, agent_id=agent_id)
    data.sla_open = found.open
    answered = pairs[(pairs["status"] == "answered") & pairs["is_valid"].astype(bool)] if len(pairs) else pairs
    slowest = answered.sort_values(["calendar_seconds", "pair_id"], ascending=[False, True], kind="stable").head(SLOWEST_SHOWN)
    if len(slowest):
        # the thread names come from ``pairs`` (masked unless show_contacts), the customer key from bi
        keys = warehouse.read_df("select pair_id, customer_key from bi.v_reply_pairs where question_at_local >= :lo"
                                 " and question_at_local < :hi", {"lo": pd.Timestamp(period.start).to_pydatetime(),
                                                                  "hi": pd.Timestamp(period.end).to_pydatetime()})
        slowest = slowest.merge(keys, on="pair_id", how="left")
        slowest = slowest.sort_values(["calendar_seconds", "pair_id"], ascending=[False, True], kind="stable")
    data.slowest = slowest.reset_index(drop=True)
    threads = list(dict.fromkeys(list(data.sla_open["thread_id"]) + list(data.slowest.get("thread_id", []))))
    data.transcripts = {t: thread_transcript(warehouse, t) for t in threads}
    data.frt_channel = channel_frt(answered, pairs)
    scope = "agent_id is null" if agent_id is None else "agent_id = :a"
    aht = warehouse.read_df(
        f"select kpi_code, agent_id, value, unit, basis_count from marts.fct_kpi where kpi_code = 'aht_avg'"
        f" and period_type = :t and period_start = :s and ({scope} or agent_id is not null) order by kpi_code, agent_id",
        {"t": period.period_type, "s": period.start, **({} if agent_id is None else {"a": agent_id})})
    data.aht = aht if len(aht) else None
    previous = parse_period(_previous_label(period))
    agent_filter = "" if agent_id is None else " and agent_id = :a"
    cases = warehouse.read_df(
        "select category, opened_at_local from marts.fct_case where opened_at_local >= :lo and opened_at_local < :hi"
        + agent_filter,
        {"lo": pd.Timestamp(previous.start).to_pydatetime(), "hi": pd.Timestamp(period.end).to_pydatetime(),
         **({} if agent_id is None else {"a": agent_id})})
    data.complaints = complaint_trend(cases, period, previous)


CSAT_CATEGORIES = (*ISSUE_CATEGORIES, "no_complaint")


def add_csat_by_category(warehouse: Warehouse, data: ReportData) -> None:
    """Seed 002's CSAT per issue category: the stored ``csat_rate_<category>`` KPIs of the period
    (team, or the report's agent) in catalogue order; left out until a KPI run stored them."""
    period = data.period
    codes = [f"csat_rate_{c}" for c in CSAT_CATEGORIES]
    scope = "agent_id is null" if data.agent_id is None else "agent_id = :a"
    rows = warehouse.read_df(
        f"select kpi_code, value, basis_count, note from marts.fct_kpi where period_type = :t and period_start = :s"
        f" and {scope} and kpi_code in ({', '.join(f':c{i}' for i in range(len(codes)))})",
        {"t": period.period_type, "s": period.start, **({} if data.agent_id is None else {"a": data.agent_id}),
         **{f"c{i}": c for i, c in enumerate(codes)}})
    if rows.empty:
        return
    rows["category"] = rows["kpi_code"].str.removeprefix("csat_rate_")
    rows["_order"] = rows["category"].map({c: i for i, c in enumerate(CSAT_CATEGORIES)})
    data.csat = rows.sort_values("_order", kind="stable")[["category", "value", "basis_count", "note"]].reset_index(drop=True)
    who = "is_team" if data.agent_id is None else "agent_id = '" + data.agent_id.replace("'", "''") + "'"
    data.csat_query = (f"select kpi_code, value, basis_count, note from bi.v_kpi where kpi_code like 'csat_rate_%'"
                       f" and period_type = '{period.period_type}' and period_start = '{period.start:%Y-%m-%d}' and {who}")


FACTS_SHOWN = 10  # pairs listed per KPI basis; the rest are named by their bi.v_reply_pairs filter
FACT_COLUMNS = ["pair_id", "thread_id", "question_at_local", "reply_at_local", "business_seconds", "is_valid", "is_counted_1wd",
                "is_counted_24h", "customer_key"]


# The first queue of each thread whose stored fct_thread.is_new_customer is true (what
# pipeline.kpis.load_period_facts gives frt_new_customer*), as a pair_id list.
NEW_CUSTOMER_FIRST_QUEUES = (
    "select r.pair_id from (select p.pair_id, p.thread_id, row_number() over (partition by p.thread_id"
    " order by p.question_at, p.pair_id) as queue_rank from marts.fct_reply_pair p) r"
    " join marts.fct_thread t on t.thread_id = r.thread_id where r.queue_rank = 1 and t.is_new_customer")


def add_fact_lists(warehouse: Warehouse, data: ReportData, pairs: pd.DataFrame) -> None:
    """Issue 17: for every reply-pair KPI figure the page shows (scorecard values, FRT per
    channel), the pairs it counts, selected by the flags stored on ``marts.fct_reply_pair``
    (``is_valid``, ``is_counted_1wd``, ``is_counted_24h``), at most :data:`FACTS_SHOWN` each.
    Anchors not listed (no pairs in the period) are simply not linked."""
    # seed 000's table: its average (and the fastest / slowest picked from them) counts the valid
    # pairs, its "within 1 working day" the queues counted for response_rate_1wd
    wanted: set[tuple[str, str | None, str | None]] = {("valid", data.agent_id, None), ("counted_1wd", data.agent_id, None)}
    if data.scorecards is not None:
        for r in data.scorecards.rows[["kpi_code", "agent_id"]].itertuples(index=False):
            if (basis := fact_basis(r.kpi_code)) is not None:
                wanted.add((basis[0], r.agent_id if isinstance(r.agent_id, str) else data.agent_id, basis[1]))
    if data.frt_channel is not None:
        wanted |= {("valid", data.agent_id, ch) for ch in data.frt_channel["channel"]}
        wanted |= {("counted_sla", data.agent_id, ch) for ch in data.frt_channel["channel"]}
    if data.aht is not None:  # the AHT section's counts link to the resolved conversations
        wanted |= {("conv_resolved", a if isinstance(a, str) else data.agent_id, None) for a in data.aht["agent_id"]}
    if data.csat is not None:  # the CSAT-per-category section links to the ratings of each category
        wanted |= {(f"rating_{c}", data.agent_id, None) for c in data.csat["category"]}
    data.fact_lists = {}
    period = data.period
    for key in sorted((w for w in wanted if w[0] in CONVERSATION_BASIS_WHERE), key=lambda k: (k[0], k[1] or "", k[2] or "")):
        _add_conversation_list(warehouse, data, *key)
    for key in sorted((w for w in wanted if w[0] in CASE_BASIS_WHERE), key=lambda k: (k[0], k[1] or "", k[2] or "")):
        _add_case_list(warehouse, data, *key)
    for key in sorted((w for w in wanted if w[0] in QUOTE_BASIS_WHERE), key=lambda k: (k[0], k[1] or "", k[2] or "")):
        _add_quote_list(warehouse, data, *key)
    for key in sorted((w for w in wanted if w[0] in RATING_BASIS_WHERE), key=lambda k: (k[0], k[1] or "", k[2] or "")):
        _add_rating_list(warehouse, data, *key)
    wanted = {w for w in wanted if w[0] in PAIR_BASIS_FLAGS}
    if pairs.empty:
        return
    keys = warehouse.read_df("select pair_id, customer_key from bi.v_reply_pairs where question_at_local >= :lo"
                             " and question_at_local < :hi", {"lo": pd.Timestamp(period.start).to_pydatetime(),
                                                              "hi": pd.Timestamp(period.end).to_pydatetime()})
    facts = pairs.merge(keys, on="pair_id", how="left")
    facts["reply_at_local"] = facts["reply_at"].dt.tz_convert(data.timezone).dt.tz_localize(None)
    facts = facts.sort_values(["question_at", "pair_id"], kind="stable")
    start_col = "quarter_start" if period.period_type == "quarter" else "month_start"
    if any(w[0] == "new_customer" for w in wanted):  # the same first queues the frt_new_customer KPIs read
        firsts = warehouse.read_df(NEW_CUSTOMER_FIRST_QUEUES)
        facts["_new_customer_first"] = facts["pair_id"].isin(set(firsts["pair_id"]))
    for basis, agent, channel in sorted(wanted, key=lambda k: (k[0], k[1] or "", k[2] or "")):
        flag = PAIR_BASIS_FLAGS[basis]
        if flag.endswith(" is not null"):  # counted_sla: a hit or a miss, not the pending / uncounted ones
            mask = facts[flag.split()[0]].notna().to_numpy(dtype=bool, copy=True)
        else:
            mask = facts[flag].astype("boolean").fillna(False).to_numpy(dtype=bool, copy=True)
        where = [f"{start_col} = '{period.start:%Y-%m-%d}'", flag]
        if basis == "new_customer":
            mask = mask & facts["_new_customer_first"].to_numpy(dtype=bool)
            where.append(f"pair_id in ({NEW_CUSTOMER_FIRST_QUEUES})")
        if agent is not None:
            mask = mask & (facts["agent_id"] == agent).to_numpy(dtype=bool)
            where.append("agent_id = '" + agent.replace("'", "''") + "'")
        if channel is not None:
            mask = mask & (facts["channel"] == channel).to_numpy(dtype=bool)
            where.append(f"channel = '{channel}'")
        chosen = facts[mask]
        data.fact_lists[fact_anchor(basis, agent, channel)] = FactList(
            basis, agent, channel, chosen.head(FACTS_SHOWN)[FACT_COLUMNS].reset_index(drop=True), len(chosen),
            "select * from bi.v_reply_pairs where " + " and ".join(where) + " order by question_at, pair_id")


def _shown_query(query: str, params: dict[str, Any]) -> str:
    """The query as a BI user would type it: the bound values written in as SQL literals (for
    display only; the report itself runs ``query`` with ``params`` bound)."""
    def literal(value: Any) -> str:
        if isinstance(value, dt.datetime):
            value = f"{value:%Y-%m-%d}" if value.time() == dt.time() else f"{value:%Y-%m-%d %H:%M:%S}"
        return "'" + str(value).replace("'", "''") + "'"
    return re.sub(r":([a-z_]+)\b", lambda m: literal(params[m.group(1)]) if m.group(1) in params else m.group(0), query)


CASE_COLUMNS = ["case_id", "thread_id", "category", "opened_at_local", "first_response_business_seconds",
                "resolution_business_seconds", "status", "is_repeat", "is_in_closed_period"]


def _period_rows(warehouse: Warehouse, data: ReportData, view: str, f: str, columns: list[str], time_column: str, key: str,
                 basis_where: str, agent: str | None, channel: str | None) -> tuple[pd.DataFrame, str]:
    """Rows of BI ``view`` (alias ``f``, as ``basis_where`` names it; customers masked, with the
    thread's channel) in the report's period that a KPI basis counts, and the same query as a
    BI user would type it. View, alias, columns and ``basis_where`` are code constants; the
    values are bound."""
    period = data.period
    where = [f"{f}.{time_column} >= :lo", f"{f}.{time_column} < :hi", basis_where]
    params: dict[str, Any] = {"lo": dt.datetime.combine(period.start, dt.time()), "hi": dt.datetime.combine(period.end, dt.time())}
    if agent is not None:
        where.append(f"{f}.agent_id = :agent")
        params["agent"] = agent
    if channel is not None:
        where.append(f"{f}.channel = :channel")
        params["channel"] = channel
    query = ("select " + ", ".join(f"{f}.{c}" for c in columns) + f", {f}.channel from {view} {f} where " + " and ".join(where)
             + f" order by {f}.{time_column}, {f}.{key}")
    return warehouse.read_df(query, params), _shown_query(query, params)


def _add_case_list(warehouse: Warehouse, data: ReportData, basis: str, agent: str | None, channel: str | None) -> None:
    """The cases opened in the period that a complaint KPI counts (``bi.v_cases``: the stored
    status, first response and closed-period columns of ``marts.fct_case``, as
    ``metrics.kpis.case_kpis`` reads them)."""
    cases, shown = _period_rows(warehouse, data, "bi.v_cases", "c", CASE_COLUMNS, "opened_at_local", "case_id",
                                CASE_BASIS_WHERE[basis], agent, channel)
    data.fact_lists[fact_anchor(basis, agent, channel)] = FactList(
        basis, agent, channel, cases.head(FACTS_SHOWN)[CASE_COLUMNS].reset_index(drop=True), len(cases), shown, kind="case")


QUOTE_COLUMNS = ["pair_id", "thread_id", "question_at_local", "quote_at", "business_seconds", "is_in_closed_period"]


def _add_quote_list(warehouse: Warehouse, data: ReportData, basis: str, agent: str | None, channel: str | None) -> None:
    """The quote requests asked in the period that ``quote_response_*`` averages
    (``bi.v_quote_responses``: the stored quote time and closed-period flag, as
    ``metrics.kpis.quote_kpis`` reads them)."""
    quotes, shown = _period_rows(warehouse, data, "bi.v_quote_responses", "q", QUOTE_COLUMNS, "question_at_local", "pair_id",
                                 QUOTE_BASIS_WHERE[basis], agent, channel)
    quotes["quote_at_local"] = pd.to_datetime(quotes["quote_at"], utc=True).dt.tz_convert(data.timezone).dt.tz_localize(None)
    data.fact_lists[fact_anchor(basis, agent, channel)] = FactList(
        basis, agent, channel, quotes.head(FACTS_SHOWN)[[*QUOTE_COLUMNS, "quote_at_local"]].reset_index(drop=True), len(quotes),
        shown, kind="quote")


CONVERSATION_COLUMNS = ["conversation_id", "thread_id", "started_at_local", "resolved_at", "handle_seconds",
                        "resolution_business_seconds", "status", "is_fcr", "is_abandoned", "customer_key"]


def _add_conversation_list(warehouse: Warehouse, data: ReportData, basis: str, agent: str | None, channel: str | None) -> None:
    """The conversations started in the period that an AHT / ART / FCR / abandonment KPI counts
    (``bi.v_conversations``: the stored status, measures and flags of ``marts.fct_conversation``,
    as ``metrics.kpis.conversation_kpis`` reads them)."""
    conv, shown = _period_rows(warehouse, data, "bi.v_conversations", "c", CONVERSATION_COLUMNS, "started_at_local",
                               "conversation_id", CONVERSATION_BASIS_WHERE[basis], agent, channel)
    conv["resolved_at_local"] = pd.to_datetime(conv["resolved_at"], utc=True).dt.tz_convert(data.timezone).dt.tz_localize(None)
    data.fact_lists[fact_anchor(basis, agent, channel)] = FactList(
        basis, agent, channel, conv.head(FACTS_SHOWN)[[*CONVERSATION_COLUMNS, "resolved_at_local"]].reset_index(drop=True),
        len(conv), shown, kind="conversation")


RATING_COLUMNS = ["rating_id", "thread_id", "rated_at_local", "stars", "category", "customer_key"]


def _add_rating_list(warehouse: Warehouse, data: ReportData, basis: str, agent: str | None, channel: str | None) -> None:
    """The chat ratings given in the period that ``csat_rate`` / ``resolution_rate`` /
    ``csat_rate_<category>`` count (``bi.v_chat_ratings``: the agent and category columns the KPI
    step reads, as ``metrics.kpis.rating_kpis`` counts them)."""
    ratings, shown = _period_rows(warehouse, data, "bi.v_chat_ratings", "r", RATING_COLUMNS, "rated_at_local", "rating_id",
                                  RATING_BASIS_WHERE[basis], agent, channel)
    if ratings.empty:  # no rating counted ("no data" figure): nothing to list, the figure links nowhere
        return
    data.fact_lists[fact_anchor(basis, agent, channel)] = FactList(
        basis, agent, channel, ratings.head(FACTS_SHOWN)[RATING_COLUMNS].reset_index(drop=True), len(ratings), shown,
        kind="rating")


def _previous_label(period: Period) -> str:
    start = _add_months(period.start, -3 if period.period_type == "quarter" else -1)
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}" if period.period_type == "quarter" else f"{start:%Y-%m}"


def channel_frt(answered: pd.DataFrame, pairs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per channel: valid answered pairs, average and median business minutes, % within 1 working
    day; with ``pairs`` (every queue of the scope) also the channel SLA compliance as
    ``sla_compliance_rate_<channel>`` counts it: the queues whose stored ``is_within_sla`` is set,
    and the % of them that is true."""
    cols = ["channel", "n_pairs", "avg_business_minutes", "median_business_minutes", "pct_within_1_working_day",
            "n_sla", "pct_within_sla"]
    if answered.empty:
        return pd.DataFrame(columns=cols)
    g = answered.assign(m=answered["business_seconds"].astype(float) / 60.0,
                        ok=answered["within_1_working_day"].astype(bool)).groupby("channel", sort=True)
    out = pd.DataFrame({"n_pairs": g.size(), "avg_business_minutes": g["m"].mean(), "median_business_minutes": g["m"].median(),
                        "pct_within_1_working_day": 100.0 * g["ok"].mean()}).reset_index()
    out["n_sla"], out["pct_within_sla"] = 0, np.nan
    if pairs is not None and len(pairs) and "is_within_sla" in pairs.columns:
        flag = pairs["is_within_sla"].astype("boolean")
        counted = pairs.assign(hit=flag.fillna(False).astype(float))[flag.notna().to_numpy(dtype=bool)]
        sla = counted.groupby("channel", sort=True)["hit"].agg(["size", "mean"])
        out["n_sla"] = out["channel"].map(sla["size"]).fillna(0).astype(int)
        out["pct_within_sla"] = out["channel"].map(100.0 * sla["mean"])
    return out[cols]


def complaint_trend(cases: pd.DataFrame, period: Period, previous: Period) -> pd.DataFrame:
    """Complaint cases per category in the period and the one before, most frequent first."""
    cols = ["category", "n_cases", "n_previous", "change"]
    if cases.empty:
        return pd.DataFrame(columns=cols)
    when = pd.to_datetime(cases["opened_at_local"])
    now = cases[when >= pd.Timestamp(period.start)].groupby("category").size()
    before = cases[when < pd.Timestamp(period.start)].groupby("category").size()
    out = pd.DataFrame({"n_cases": now, "n_previous": before}).fillna(0).astype(int)
    out = out[out["n_cases"] > 0]
    out["change"] = out["n_cases"] - out["n_previous"]
    out = out.reset_index(names="category").sort_values(["n_cases", "category"], ascending=[False, True], kind="stable")
    return out.head(COMPLAINTS_SHOWN).reset_index(drop=True)[cols]


# -- entry points -----------------------------------------------------------------------------


def report_data(
    warehouse: Warehouse, config: Config, kind: str, period_text: str, *, agent_id: str | None = None,
    template: str | None = None, lang: str = "id", templates_path: str | None = None, show_contacts: bool = False,
) -> ReportData:
    """Data for ``chatkpi report <kind>``: the scorecard report computes and stores the
    scorecards (like ``chatkpi scorecard``); the reply-durations report only reads."""
    if kind == "scorecard":
        result = compute_scorecards(warehouse, config, period_text, template=template, agent_id=agent_id, templates_path=templates_path)
        return collect_report_data(warehouse, config, period_text, agent_id=agent_id, lang=lang, scorecards=result,
                                   show_contacts=show_contacts)
    return collect_report_data(warehouse, config, period_text, agent_id=agent_id, lang=lang, template=template,
                               show_contacts=show_contacts)


def write_report(
    warehouse: Warehouse, config: Config, kind: str, period_text: str, fmt: str, out: str | Path | None, *,
    agent_id: str | None = None, template: str | None = None, lang: str = "id", templates_path: str | None = None,
    show_contacts: bool = False,
) -> str:
    """``chatkpi report reply-durations|scorecard --format html|xlsx|table|md``: write ``out``
    (or return the text to print when ``out`` is None) and return what to print."""

    if fmt == "xlsx" and not out:
        raise ChatKpiError("--format xlsx needs --out FILE.xlsx")
    if kind == "scorecard" and fmt in ("table", "md"):
        result = compute_scorecards(warehouse, config, period_text, template=template, agent_id=agent_id, templates_path=templates_path)
        text = render_scorecards(result, fmt, lang)
    elif kind == "reply-durations" and fmt in ("table", "md"):
        data = collect_report_data(warehouse, config, period_text, agent_id=agent_id, lang=lang, show_contacts=show_contacts)
        who = f", {data.scope}" if agent_id else ""
        text = render_table(data.durations, fmt, title=f"{TEXT[lang]['durations']} — {data.period.label}{who}")
    else:
        data = report_data(warehouse, config, kind, period_text, agent_id=agent_id, template=template, lang=lang,
                           templates_path=templates_path, show_contacts=show_contacts)
        if fmt == "xlsx":

            return f"wrote {write_xlsx(data, out)}"
        text = render_html(data, focus=kind)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return f"wrote {path}"
    return text


def write_demo_reports(warehouse: Warehouse, config: Config, out_dir: str | Path, period: str = "2025-Q1",
                       lang: str = "id", audit_sheet: bool = True) -> list[Path]:
    """For ``chatkpi demo``: compute and store the scorecards of ``period``, write the HTML and
    ``.xlsx`` reports to ``out_dir`` (``reports/``) and, with ``audit_sheet``, draw (or reuse)
    the period's audit sample and write its review sheet. Returns the paths written."""

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    label = parse_period(period).label
    paths = []
    if audit_sheet:

        sample_threads(warehouse, period)
    data = report_data(warehouse, config, "scorecard", period, lang=lang)
    html_path = out / f"chatkpi_{label}.html"
    html_path.write_text(render_html(data, focus="scorecard"), encoding="utf-8")
    paths += [html_path, write_xlsx(data, out / f"chatkpi_{label}.xlsx")]
    summary = write_summary_pdf(data, out / f"ringkasan_{label}.pdf")
    if summary is not None:
        paths.append(summary)
    if audit_sheet:
        paths.append(write_review_sheet(warehouse, period, out / f"audit_{label}.xlsx", lang=lang))
    return paths


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    return None


def write_summary_pdf(data: ReportData, out: str | Path, chromium: str | None = None) -> Path | None:
    """The one-page summary (traffic lights against the targets) as a PDF, printed by headless
    Chromium. Without a Chromium on PATH the summary is written as HTML beside it and None is
    returned (the caller says so)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = render_summary_html(data)
    chromium = chromium or find_chromium()
    if chromium is None:
        out.with_suffix(".html").write_text(page, encoding="utf-8")
        return None
    with tempfile.TemporaryDirectory(prefix="chatkpi-pdf-") as tmp:
        source = Path(tmp) / "summary.html"
        source.write_text(page, encoding="utf-8")
        done = subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={Path(tmp) / 'profile'}",
             "--no-pdf-header-footer", f"--print-to-pdf={out.resolve()}", source.as_uri()],
            capture_output=True, text=True, timeout=180)
    if done.returncode != 0 or not out.is_file():
        raise ChatKpiError(f"chromium could not print the summary PDF: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return out
