"""Reply pairs (SPEC 6): every queue of customer messages and the first human reply to it.

Grain of ``marts.fct_reply_pair``: one row per customer queue. Everything is computed with
NumPy over the messages put once into thread order (``thread_id``, ``sent_at``, ``file_seq``,
``source_line``); there is no Python loop per row or per thread.

How a message is classified (the same rules feed :mod:`kpi_transforms.threads`):

* *ignored*: ``sender_role = 'system'``, ``message_type`` ``system`` or ``deleted``, customer
  ``faq_card`` / ``welcome_card`` events (no customer content), and unknown roles;
* *customer*: every other customer message (text, media, sticker, ...);
* *human*: ``sender_role = 'agent'`` that is not an auto-reply and not a card;
* *bot*: ``sender_role = 'bot'``, or agent-side auto-replies and cards.

Queues are cut on the sequence of customer and human messages (bots are transparent); a queue
is a maximal run of customer messages and its reply is the human message right after it.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import NEVER, BusinessCalendar, in_closed_period, to_epoch_seconds
from kpi_transforms.core.config import ClosedPeriod
from kpi_transforms.facts.ordering import (
    DAY_SECONDS,
    HUMAN,
    REQUIRED_COLUMNS,
    STRING,
    US,
    Queues,
    ThreadOrder,
    _agent_codes,
    _floor_s,
    _primary_agent_codes,
    _take_codes,
    bool_mask,
    check_columns,
    message_classes,
    queues,
    thread_order,
    timestamp_us,
    utc_column,
)

_NAT = np.iinfo(np.int64).min  # int64 view of NaT

# In or beside the denominators of response_rate_1wd / _24h (:func:`rate_flags`).
RATE_FLAG_COLUMNS = ("is_counted_1wd", "is_pending_1wd", "is_counted_24h", "is_pending_24h")

# Table order of marts.fct_reply_pair: keys, dimension keys, attributes, times, measures, flags.
PAIR_COLUMNS = (
    "pair_id",
    "thread_id",
    "channel",
    "customer_id",
    "agent_id",
    "question_message_id",
    "question_at",
    "question_at_local",
    "n_customer_messages",
    "effective_start_at",
    "first_auto_reply_at",
    "reply_message_id",
    "reply_at",
    "calendar_seconds",
    "business_seconds",
    "sla_deadline_at",
    "within_24h",
    "within_1_working_day",
    "status",
    "is_valid",
    "is_in_closed_period",
    *RATE_FLAG_COLUMNS,
)


# --------------------------------------------------------------------------------------------
# Response-rate flags: the one definition of SPEC 6's denominators
def rate_flags(answered: np.ndarray, is_valid: np.ndarray, closed: np.ndarray, within: pd.api.extensions.ExtensionArray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(is_counted, is_pending) of one response rate (``within`` = ``within_1_working_day`` or
    ``within_24h``). Counted: answered and valid, or unanswered, outside a closed period, and
    its deadline passed at the data horizon (``within`` not null). Pending: unanswered, outside
    a closed period, deadline not passed yet; reported beside the rate, never in it. KPIs,
    reports and BI views read these stored columns (``marts.fct_reply_pair``)."""
    decided = ~pd.isna(np.asarray(within, dtype=object)).astype(bool)
    open_queue = ~answered & ~closed
    return (answered & is_valid) | (open_queue & decided), open_queue & ~decided


def sla_flags(pairs: pd.DataFrame, calendar: BusinessCalendar, sla_minutes: dict[str, float],
              horizon: pd.Timestamp | None) -> pd.Series:
    """``is_within_sla`` per queue (issue 19 ``sla_compliance_rate``, stored on
    ``marts.fct_reply_pair`` by the fact build): against the first-reply target of the queue's
    channel (``kpis.sla_minutes`` in working minutes; a channel not listed takes ``other``'s,
    else 30), true when answered and valid within it; false when answered and valid later, or
    unanswered outside a closed period and the target passed at the data horizon (a miss);
    null otherwise (not counted: invalid, closed period, or an unanswered queue still inside
    its target, which is pending). Same index as ``pairs``."""
    out = pd.array([pd.NA] * len(pairs), dtype="boolean")
    if len(pairs) == 0:
        return pd.Series(out, index=pairs.index)
    target = pairs["channel"].astype(object).map(
        lambda ch: float(sla_minutes.get(ch, sla_minutes.get("other", 30.0))) * 60.0).to_numpy(dtype=float)
    valid = pd.Series(pairs["is_valid"]).astype("boolean").fillna(False).to_numpy(dtype=bool)
    closed = pd.Series(pairs["is_in_closed_period"]).astype("boolean").fillna(False).to_numpy(dtype=bool)
    status = pairs["status"].astype(object).to_numpy()
    answered = (status == "answered") & valid
    unanswered = (status == "unanswered") & ~closed
    seconds = pd.to_numeric(pd.Series(pairs["business_seconds"], dtype="object"), errors="coerce").to_numpy(dtype=float)
    out[answered] = seconds[answered] <= target[answered]
    if unanswered.any() and horizon is not None:
        stamp = pd.Timestamp(horizon)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        q = to_epoch_seconds(pd.to_datetime(pairs["question_at"][unanswered], utc=True))
        waited = calendar.business_seconds(q, np.full(len(q), int(stamp.timestamp()), dtype=np.int64))
        rows = np.flatnonzero(unanswered)
        missed = waited > target[unanswered]
        out[rows[missed]] = False
    return pd.Series(out, index=pairs.index)


# --------------------------------------------------------------------------------------------
# fct_reply_pair
def _pair_agents(
    messages: pd.DataFrame, order: ThreadOrder, classes: np.ndarray, q: Queues, given: pd.Series | None
) -> pd.Series:
    """agent_id per queue: the replying agent; for unanswered queues the thread's primary agent
    (from ``given`` thread_id -> agent_id when passed, else SPEC 7 over these messages)."""
    answered = q.reply_pos >= 0
    human_pos = np.flatnonzero(classes == HUMAN)
    agent_codes, agent_uniques = _agent_codes(messages, order, human_pos)
    reply_idx = np.searchsorted(human_pos, q.reply_pos[answered])  # replies are human messages
    codes = np.full(len(answered), -1, dtype=np.int64)
    codes[answered] = agent_codes[reply_idx]
    agent_id = pd.Series(_take_codes(agent_uniques, codes))
    pending = ~answered
    if pending.any():
        pending_threads = order.thread_code[q.question_pos[pending]]
        if given is None:
            is_reply = np.zeros(len(human_pos), dtype=bool)
            is_reply[reply_idx] = True
            # only threads with an unanswered queue need their primary agent
            needed = np.zeros(len(order.thread_ids), dtype=bool)
            needed[pending_threads] = True
            keep = needed[order.thread_code[human_pos]]
            primary = _primary_agent_codes(
                order.thread_code, human_pos[keep], agent_codes[keep], is_reply[keep], len(order.thread_ids)
            )
            agent_id[pending] = _take_codes(agent_uniques, primary[pending_threads])
        else:
            owners = pd.Series(order.thread_ids.take(pending_threads)).map(given)
            agent_id[pending] = owners.astype(STRING).array
    return agent_id


def fct_reply_pair(
    messages: pd.DataFrame,
    calendar: BusinessCalendar,
    data_horizon: pd.Timestamp | None = None,
    primary_agents: pd.Series | None = None,
    closed_periods: Iterable[ClosedPeriod] | None = None,
) -> pd.DataFrame:
    """One row per customer queue (SPEC 6), in (thread_id, thread order).

    ``data_horizon`` is the latest ``sent_at`` in the warehouse (default: this frame's latest);
    unanswered queues whose deadline it has passed get ``within_* = False``, the others <NA>.
    ``primary_agents`` (thread_id -> agent_id) names the owner of unanswered queues; default:
    computed from these messages (SPEC 7). ``closed_periods`` default to the calendar's config.
    ``pair_id`` is the question's ``message_id`` (already a deterministic hash, SPEC 4).
    """
    check_columns(messages, REQUIRED_COLUMNS)
    messages = messages.reset_index(drop=True)
    order = thread_order(messages)
    perm, tcode, threads, sent_us = order.perm, order.thread_code, order.thread_ids, order.sent_us
    classes = message_classes(messages)[perm]
    q = queues(tcode, classes)
    answered = q.reply_pos >= 0

    q_rows = perm[q.question_pos]  # input-order row numbers
    r_rows = perm[q.reply_pos[answered]]
    q_us = sent_us[q.question_pos]
    r_us = np.full(len(q_us), _NAT, dtype=np.int64)
    r_us[answered] = sent_us[q.reply_pos[answered]]
    auto_us = np.full(len(q_us), _NAT, dtype=np.int64)
    auto_us[q.auto_pos >= 0] = sent_us[q.auto_pos[q.auto_pos >= 0]]
    q_s = _floor_s(q_us)
    r_s = _floor_s(r_us[answered])

    # business calendar (all int64 epoch seconds)
    effective_s = np.asarray(calendar.next_working_start(q_s), dtype=np.int64)
    never = effective_s == NEVER  # nothing open within the calendar's horizon
    deadline_s = np.full(len(q_us), NEVER, dtype=np.int64)
    deadline_s[~never] = calendar.one_working_day_deadline(effective_s[~never])
    calendar_seconds = r_s - q_s[answered]
    business_seconds = np.asarray(calendar.business_seconds(q_s[answered], r_s), dtype=np.int64)

    if data_horizon is not None:
        horizon_s = timestamp_us(data_horizon) // US
    else:
        horizon_s = int(sent_us.max()) // US if len(sent_us) else 0
    within_24h = pd.array(np.zeros(len(q_us), dtype=bool), dtype="boolean")
    within_1wd = within_24h.copy()
    within_24h[answered] = calendar_seconds <= DAY_SECONDS
    within_1wd[answered] = r_s <= deadline_s[answered]
    pending = ~answered
    within_24h[pending & (horizon_s <= q_s + DAY_SECONDS)] = pd.NA
    within_1wd[pending & (horizon_s <= deadline_s)] = pd.NA

    # validity: answered by a human (always, by construction), non-negative, not in a closed period
    if closed_periods is None:
        closed = calendar.in_closed_period(q_s)
    else:
        closed = in_closed_period(q_s, tuple(closed_periods), calendar.timezone)
    if "in_holiday_mode" in messages.columns:
        closed |= bool_mask(messages["in_holiday_mode"].take(q_rows))
    cal_full = np.zeros(len(q_us), dtype=np.int64)
    cal_full[answered] = calendar_seconds
    is_valid = answered & (cal_full >= 0) & ~closed

    counted_1wd, pending_1wd = rate_flags(answered, is_valid, closed, within_1wd)
    counted_24h, pending_24h = rate_flags(answered, is_valid, closed, within_24h)

    agent_id = _pair_agents(messages, order, classes, q, primary_agents)

    def take(column: str, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """``messages[column]`` at input rows ``rows`` (-1 -> missing)."""
        return messages[column].array.take(rows, allow_fill=True)

    def take_str(column: str, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
        return take(column, rows).astype(STRING)

    def spread_int(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
        full = np.zeros(len(q_us), dtype=np.int64)
        full[answered] = values
        return pd.arrays.IntegerArray(full, ~answered)

    reply_rows = np.full(len(q_us), -1, dtype=np.int64)
    reply_rows[answered] = r_rows
    question_ids = take_str("message_id", q_rows)
    question_local = pd.Series(take("sent_at_local", q_rows))
    if isinstance(question_local.dtype, pd.DatetimeTZDtype):
        question_local = question_local.dt.tz_localize(None)
    question_local = question_local.astype("datetime64[us]")
    status = pd.array(["answered", "unanswered"], dtype=STRING).take(np.where(answered, 0, 1))

    out = pd.DataFrame(
        {
            "pair_id": question_ids,
            "thread_id": pd.array(np.asarray(threads, dtype=object), dtype=STRING).take(tcode[q.question_pos]),
            "channel": take_str("channel", q_rows),
            "customer_id": take_str("customer_id", q_rows),
            "agent_id": agent_id,
            "question_message_id": question_ids,
            "question_at": utc_column(q_us),
            "question_at_local": question_local,
            "n_customer_messages": q.n_customer,
            "effective_start_at": utc_column(np.where(never, _NAT, effective_s * US)),
            "first_auto_reply_at": utc_column(auto_us),
            "reply_message_id": take_str("message_id", reply_rows),
            "reply_at": utc_column(r_us),
            "calendar_seconds": spread_int(calendar_seconds),
            "business_seconds": spread_int(business_seconds),
            "sla_deadline_at": utc_column(np.where(deadline_s == NEVER, _NAT, deadline_s * US)),
            "within_24h": within_24h,
            "within_1_working_day": within_1wd,
            "status": status,
            "is_valid": is_valid,
            "is_in_closed_period": closed,
            "is_counted_1wd": counted_1wd,
            "is_pending_1wd": pending_1wd,
            "is_counted_24h": counted_24h,
            "is_pending_24h": pending_24h,
        },
        columns=list(PAIR_COLUMNS),
    )
    return out
