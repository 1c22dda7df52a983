"""SLA breaches and transcripts (issue 17): which customer queues are past their
one-working-day deadline and still open, which were answered late, and the conversation behind
each. Read from the bi views, so the keys (pair_id, thread_id, customer_key) and the masking are
the BI ones (``bi.v_sla_breaches``, ``bi.v_transcript``, migration V020).

"Now" is the run's clock, or an explicit ``as_of`` for re-runs; never the latest message loaded
(a quiet week would otherwise hide every open queue).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.core.periods import Period
from kpi_transforms.warehouse.engine import Warehouse

LATE_WINDOW = dt.timedelta(days=7)  # without --period: late answers sent in the last 7 days

# The rows of bi.v_sla_breaches with the clock as a parameter (the view uses current_timestamp).
_BREACHES_SQL = """
with pairs as (
    select p.pair_id, p.thread_id, p.thread_name, p.channel, p.customer_key, p.agent_id, p.question_at,
           p.question_at_local, p.n_customer_messages, p.sla_deadline_at, p.reply_at, p.status,
           f.question_message_id
    from bi.v_reply_pairs p
    join marts.fct_reply_pair f on f.pair_id = p.pair_id
    where not p.is_in_closed_period and p.sla_deadline_at is not null and p.question_at <= :now {period_scope} {agent_scope}
),
breaches as (
    select p.*, case when p.reply_at is null or p.reply_at > :now then 'open' else 'late' end as breach_kind
    from pairs p
    where ((p.reply_at is null or p.reply_at > :now) and p.sla_deadline_at < :now)
       or (p.status = 'answered' and p.reply_at > p.sla_deadline_at and p.reply_at <= :now)
)
select b.breach_kind, b.pair_id, b.thread_id, b.thread_name, b.channel, b.customer_key, b.agent_id,
       b.question_at, b.question_at_local, b.n_customer_messages, b.sla_deadline_at,
       case when b.breach_kind = 'late' then b.reply_at end as reply_at,
       left(m.text, 120) as excerpt
from breaches b
left join bi.v_messages m on m.message_id = b.question_message_id
"""


@dataclasses.dataclass
class Breaches:
    now: dt.datetime  # aware, UTC
    open: pd.DataFrame  # oldest question first
    late: pd.DataFrame  # most overdue first
    period: Period | None = None
    agent_id: str | None = None


def parse_as_of(text: str, timezone: str) -> dt.datetime:
    """An ISO 8601 instant; without an offset it is local time of the config."""
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise ChatKpiError(f"--as-of {text!r} is not an ISO 8601 time (e.g. 2025-04-01T09:00 or 2025-04-01T02:00+00:00)") from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=ZoneInfo(timezone))
    return stamp.astimezone(dt.timezone.utc)


def find_breaches(
    warehouse: Warehouse,
    *,
    now: dt.datetime | None = None,
    period: Period | None = None,
    agent_id: str | None = None,
    late_window: dt.timedelta = LATE_WINDOW,
) -> Breaches:
    """Open queues past their deadline at ``now`` (default: the clock) and late answers.

    With ``period``: queues whose question lies in it (local dates). Without: every open queue,
    and the late answers sent in ``late_window`` before ``now``."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    params: dict = {"now": now}
    period_scope = "" if period is None else " and p.question_at_local >= :lo and p.question_at_local < :hi"
    if period is not None:
        params |= {"lo": dt.datetime.combine(period.start, dt.time()), "hi": dt.datetime.combine(period.end, dt.time())}
    agent_scope = " and p.agent_id = :agent" if agent_id else ""
    if agent_id:
        params["agent"] = agent_id
    rows = warehouse.read_df(_BREACHES_SQL.format(period_scope=period_scope, agent_scope=agent_scope), params)
    for column in ("question_at", "sla_deadline_at", "reply_at"):
        rows[column] = pd.to_datetime(rows[column], utc=True)
    rows["question_at_local"] = pd.to_datetime(rows["question_at_local"])
    until = rows["reply_at"].where(rows["breach_kind"] == "late", pd.Timestamp(now))
    rows["waiting_seconds"] = (until - rows["question_at"]).dt.total_seconds().round().astype("int64")
    rows["overdue_seconds"] = (until - rows["sla_deadline_at"]).dt.total_seconds().round().astype("int64")
    opened = rows[rows["breach_kind"] == "open"].sort_values(["question_at", "pair_id"], kind="stable")
    late = rows[rows["breach_kind"] == "late"]
    if period is None:
        late = late[late["reply_at"] > pd.Timestamp(now - late_window)]
    late = late.sort_values(["overdue_seconds", "pair_id"], ascending=[False, True], kind="stable")
    return Breaches(now=now, open=opened.reset_index(drop=True), late=late.reset_index(drop=True), period=period, agent_id=agent_id)


@dataclasses.dataclass
class Transcript:
    thread: dict  # thread_id, thread_name (masked), channel, customer_key, primary_agent_id
    messages: pd.DataFrame  # bi.v_transcript rows in thread order
    pairs: pd.DataFrame  # the thread's queues, numbered 1.. in question order


def thread_transcript(warehouse: Warehouse, key: str) -> Transcript:
    """The transcript of a thread, given its thread_id or the pair_id of one of its queues."""
    with warehouse.begin() as conn:
        thread = warehouse.read_df(
            "select thread_id, thread_name, channel, customer_key, primary_agent_id from bi.v_threads where thread_id = :k"
            " union all select t.thread_id, t.thread_name, t.channel, t.customer_key, t.primary_agent_id from bi.v_threads t"
            " join marts.fct_reply_pair p on p.thread_id = t.thread_id where p.pair_id = :k", {"k": key}, conn=conn)
        if thread.empty:
            raise ChatKpiError(f"no thread or queue {key!r} (thread_id or pair_id, as in `chatkpi breaches`)")
        info = thread.iloc[0].to_dict()
        messages = warehouse.read_df(
            "select position, message_id, sent_at, sent_at_local, sender_role, sender_label, is_auto_reply, message_type, text,"
            " opens_pair_id, answers_pair_id from bi.v_transcript where thread_id = :t order by position",
            {"t": info["thread_id"]}, conn=conn)
        pairs = warehouse.read_df(
            "select pair_id, agent_id, question_at, question_at_local, reply_at, business_seconds, calendar_seconds,"
            " sla_deadline_at, status, within_1_working_day, is_in_closed_period from bi.v_reply_pairs where thread_id = :t"
            " order by question_at, pair_id", {"t": info["thread_id"]}, conn=conn)
    pairs.insert(0, "number", range(1, len(pairs) + 1))
    return Transcript(thread=info, messages=messages, pairs=pairs)
