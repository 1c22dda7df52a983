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

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpi_transforms.calendar import NEVER

if TYPE_CHECKING:
    from kpi_transforms.calendar import BusinessCalendar
    from kpi_transforms.config import ClosedPeriod

US = 1_000_000  # microseconds per second (pandas 3 stores datetime64[us])
DAY_SECONDS = 86_400
_NAT = np.iinfo(np.int64).min  # int64 view of NaT
STRING = pd.StringDtype(na_value=pd.NA)  # output string columns: nullable, missing = <NA>
NON_CONTENT_TYPES = ("faq_card", "welcome_card")
IGNORED_TYPES = ("system", "deleted")
# SPEC 4 ``marts.fct_message`` columns this module reads (``in_holiday_mode`` is optional).
REQUIRED_COLUMNS = (
    "message_id",
    "thread_id",
    "channel",
    "sent_at",
    "sent_at_local",
    "sender_role",
    "agent_id",
    "customer_id",
    "is_auto_reply",
    "message_type",
    "file_seq",
    "source_line",
)

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
)

# Message classes in thread order.
IGNORED, CUSTOMER, HUMAN, BOT = 0, 1, 2, 3


# --------------------------------------------------------------------------------------------
# Column access helpers
# --------------------------------------------------------------------------------------------


def check_columns(messages: pd.DataFrame, required: Iterable[str]) -> None:
    missing = [c for c in required if c not in messages.columns]
    if missing:
        raise ValueError(f"messages frame lacks column(s) {', '.join(missing)} (SPEC 4 fct_message)")


def epoch_us(column: pd.Series) -> np.ndarray:
    """UTC epoch microseconds (int64) of a timestamp column; naive values are read as UTC.

    Uses ``astype('int64')`` on the datetime column (not ``.to_numpy()``, which turns a
    tz-aware column into Python objects).
    """
    if not (isinstance(column.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(column.dtype)):
        column = pd.to_datetime(column, utc=True)
    if column.dt.unit != "us":
        column = column.dt.as_unit("us")
    if column.isna().any():
        raise ValueError(f"column {column.name!r} has missing timestamps")
    return column.astype("int64").to_numpy()


def bool_mask(values: pd.Series | pd.api.extensions.ExtensionArray) -> np.ndarray:
    """A comparison result as a plain NumPy bool array (missing -> False)."""
    return np.asarray(pd.Series(values).to_numpy(dtype=bool, na_value=False))


def timestamp_us(value: Any) -> int:
    """UTC epoch microseconds of a timestamp (naive means UTC)."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return (ts - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "us")


def utc_column(us: np.ndarray) -> pd.Series:
    """int64 epoch microseconds (``NaT`` sentinel = int64 min) -> ``datetime64[us, UTC]``."""
    return pd.Series(np.asarray(us, dtype=np.int64).view("datetime64[us]")).dt.tz_localize("UTC")


def _floor_s(us: np.ndarray) -> np.ndarray:
    return np.floor_divide(us, US)


# --------------------------------------------------------------------------------------------
# Thread order and message classes
# --------------------------------------------------------------------------------------------


def _pack(high: np.ndarray, low: np.ndarray) -> tuple[np.ndarray | None, int]:
    """``high`` and ``low`` (non-negative int64) packed into one int64 sort key if they fit, and
    the number of bits ``low`` takes."""
    low_bits = int(low.max()).bit_length() if len(low) else 0
    high_bits = int(high.max()).bit_length() if len(high) else 0
    if low_bits + high_bits > 62:
        return None, low_bits
    return (high << low_bits) | low, low_bits


def _ordered(keys: list[np.ndarray]) -> tuple[bool, bool]:
    """(rows already in key order, some adjacent rows have equal keys); keys most significant first."""
    if len(keys[0]) < 2:
        return True, False
    if not (keys[0][1:] >= keys[0][:-1]).all():  # cheap early exit for unsorted input
        return False, False
    before = np.zeros(len(keys[0]) - 1, dtype=bool)
    equal = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        a, b = key[:-1], key[1:]
        before |= equal & (a < b)
        equal &= a == b
    return bool((before | equal).all()), bool(equal.any())


def _lexsort(keys: list[np.ndarray]) -> np.ndarray:
    """Row order by ``keys`` (most significant first), as ``np.lexsort(keys[::-1])`` except
    among rows equal on every key (the caller breaks those ties itself).

    ``np.lexsort`` runs a stable merge sort per key (~250 ms for 1 M rows and two keys);
    NumPy's unstable quicksort of one int64 key is vectorised and ~15x faster. So sort by the
    first key, then order only the runs of equal first keys by all keys: within a run the
    positions are contiguous, so sorting the tied rows together and writing them back into
    the same positions keeps each run in place."""
    perm = np.argsort(keys[0])
    if len(keys) == 1 or len(perm) < 2:
        return perm
    first = keys[0][perm]
    equal = first[1:] == first[:-1]
    if not equal.any():
        return perm
    tied = np.zeros(len(perm), dtype=bool)
    tied[1:] |= equal
    tied[:-1] |= equal
    where = np.flatnonzero(tied)
    rows = perm[where]
    perm[where] = rows[np.lexsort([k[rows] for k in keys[::-1]])]
    return perm


@dataclasses.dataclass(frozen=True)
class ThreadOrder:
    """Messages put in thread order; arrays are aligned with the sorted rows."""

    perm: np.ndarray  # input row number of each sorted row
    thread_code: np.ndarray  # code into ``thread_ids`` (sorted ascending)
    thread_ids: pd.Index  # sorted unique thread ids
    sent_us: np.ndarray  # sent_at, UTC epoch microseconds


def thread_order(messages: pd.DataFrame) -> ThreadOrder:
    """Sort messages by (``thread_id``, ``sent_at``, ``file_seq``, ``source_line``).

    ``message_id`` breaks ties only when all four collide (duplicate rows), so the order never
    depends on the input row order. Keys are packed into one or two int64 arrays where the
    value ranges allow it, and input already in thread order is detected and not re-sorted.
    """
    codes, uniques = pd.factorize(messages["thread_id"], sort=True)
    if (codes < 0).any():
        raise ValueError("messages with a missing thread_id")
    codes = codes.astype(np.int64)
    sent = epoch_us(messages["sent_at"])
    if len(codes) == 0:
        return ThreadOrder(np.arange(0, dtype=np.int64), codes, pd.Index(uniques), sent)
    file_seq = messages["file_seq"].to_numpy(dtype=np.int64)
    line = messages["source_line"].to_numpy(dtype=np.int64)
    sent0 = int(sent.min())
    time_key, time_bits = _pack(codes, sent - sent0)
    file_key, _ = _pack(file_seq - file_seq.min(), line - line.min())
    major = [codes, sent] if time_key is None else [time_key]
    minor = [file_seq, line] if file_key is None else [file_key]
    keys = major + minor  # most significant first
    in_order, ties = _ordered(keys)
    if in_order:
        perm = np.arange(len(codes), dtype=np.int64)
        sorted_keys = keys
    else:
        perm = _lexsort(keys)
        sorted_keys = [k[perm] for k in keys]
        ties = bool(_ordered(sorted_keys)[1])
    if ties:  # same thread, instant and source position: only duplicate rows get here
        id_codes, _ = pd.factorize(messages["message_id"], sort=True)
        keys.append(id_codes.astype(np.int64))
        perm = np.lexsort(keys[::-1])
        sorted_keys = [k[perm] for k in keys]
    if time_key is None:
        thread_code, sent_sorted = sorted_keys[0], sorted_keys[1]
    else:
        thread_code = sorted_keys[0] >> time_bits
        sent_sorted = (sorted_keys[0] & ((1 << time_bits) - 1)) + sent0
    return ThreadOrder(perm, thread_code, pd.Index(uniques), sent_sorted)


def _arrow_strings(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A string column as an Arrow (large_)string array, zero-copy where pandas holds Arrow."""
    if isinstance(values.dtype, np.dtype):
        array = pa.array(values, from_pandas=True)
    else:
        array = pa.array(values.array)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.large_string())
    return array


def _codes(values: pd.Series, vocabulary: tuple[str, ...]) -> np.ndarray:
    """Position of each value in ``vocabulary`` (int8; -1 for anything else or missing)."""
    array = _arrow_strings(values)
    found = pc.index_in(array, value_set=pa.array(vocabulary, type=array.type))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8)


_ROLES = ("customer", "agent", "bot", "system")
_TYPES = (*IGNORED_TYPES, *NON_CONTENT_TYPES)


def message_classes(messages: pd.DataFrame) -> np.ndarray:
    """Per row (input order): IGNORED, CUSTOMER, HUMAN or BOT (see the module docstring)."""
    role = _codes(messages["sender_role"], _ROLES)
    mtype = _codes(messages["message_type"], _TYPES)
    auto = bool_mask(messages["is_auto_reply"])
    dropped = (mtype >= 0) & (mtype < len(IGNORED_TYPES))
    card = mtype >= len(IGNORED_TYPES)
    is_customer, is_agent, is_bot = (role == _ROLES.index(r) for r in ("customer", "agent", "bot"))
    out = np.zeros(len(messages), dtype=np.int8)
    out[is_customer & ~dropped & ~card] = CUSTOMER
    out[(is_bot | (is_agent & (auto | card))) & ~dropped] = BOT
    out[is_agent & ~auto & ~card & ~dropped] = HUMAN
    return out


# --------------------------------------------------------------------------------------------
# Primary agent (SPEC 7)
# --------------------------------------------------------------------------------------------


def _primary_agent_codes(
    thread_code: np.ndarray,
    human_pos: np.ndarray,
    agent_code: np.ndarray,
    is_reply: np.ndarray,
    n_threads: int,
) -> np.ndarray:
    """Per thread code: the agent code of the primary agent, -1 if none.

    ``human_pos`` are sorted positions (thread order) of human agent messages, ``agent_code``
    and ``is_reply`` are aligned with them. Rule: most replies that close a queue; ties -> the
    one whose first such reply came first; a thread with no answered queue falls back to the
    most human messages of any kind, ties -> the one who wrote first.
    """
    result = np.full(n_threads, -1, dtype=np.int64)
    keep = agent_code >= 0
    pos, agent, reply = human_pos[keep], agent_code[keep], is_reply[keep]
    if len(pos) == 0:
        return result
    n_agents = int(agent.max()) + 1
    group_key = thread_code[pos] * n_agents + agent
    groups, first_idx, inverse = np.unique(group_key, return_index=True, return_inverse=True)
    n_groups = len(groups)
    n_msgs = np.bincount(inverse, minlength=n_groups)
    n_replies = np.bincount(inverse[reply], minlength=n_groups)
    first_reply = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    reply_groups, reply_first = np.unique(inverse[reply], return_index=True)
    first_reply[reply_groups] = pos[reply][reply_first]
    first_msg = pos[first_idx]
    g_thread = groups // n_agents
    order = np.lexsort((first_msg, -n_msgs, first_reply, -n_replies, g_thread))
    g_sorted = g_thread[order]
    head = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    winners = order[head]
    result[g_thread[winners]] = groups[winners] % n_agents
    return result


def primary_agents(messages: pd.DataFrame, reply_message_ids: Iterable[str] | None = None) -> pd.Series:
    """thread_id -> primary agent id (SPEC 7; <NA> where the thread has no human agent message).

    ``reply_message_ids`` are the human messages that close a queue (``fct_reply_pair``'s
    ``reply_message_id``); without them they are recomputed from the messages.
    """
    check_columns(messages, REQUIRED_COLUMNS)
    messages = messages.reset_index(drop=True)
    order = thread_order(messages)
    classes = message_classes(messages)[order.perm]
    if reply_message_ids is None:
        reply_pos = _queues(order.thread_code, classes).reply_pos
    else:
        reply_pos = sorted_positions(messages, order, reply_message_ids)
    values = primary_agent_array(messages, order, classes, reply_pos)
    return pd.Series(values, index=pd.Index(order.thread_ids, name="thread_id"), name="primary_agent_id")


def primary_agent_array(
    messages: pd.DataFrame, order: ThreadOrder, classes: np.ndarray, reply_pos: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """Primary agent per thread code (aligned with ``order.thread_ids``); ``reply_pos`` are the
    sorted positions of the human messages that close a queue (-1 entries are ignored)."""
    human_pos = np.flatnonzero(classes == HUMAN)
    agent_codes, agent_uniques = _agent_codes(messages, order, human_pos)
    reply_pos = np.unique(reply_pos[reply_pos >= 0])
    idx = np.searchsorted(human_pos, reply_pos)
    is_reply = np.zeros(len(human_pos), dtype=bool)
    found = idx < len(human_pos)
    found[found] = human_pos[idx[found]] == reply_pos[found]
    is_reply[idx[found]] = True
    codes = _primary_agent_codes(order.thread_code, human_pos, agent_codes, is_reply, len(order.thread_ids))
    return _take_codes(agent_uniques, codes)


def sorted_positions(messages: pd.DataFrame, order: ThreadOrder, message_ids: Any) -> np.ndarray:
    """Position in thread order of each of ``message_ids`` (-1 where not in ``messages``)."""
    if not isinstance(message_ids, pd.Series):
        message_ids = pd.Series(list(message_ids), dtype=object)
    wanted = _arrow_strings(message_ids).cast(pa.large_string())
    universe = _arrow_strings(messages["message_id"]).cast(pa.large_string())
    if isinstance(universe, pa.ChunkedArray):
        universe = universe.combine_chunks()
    row = pc.index_in(wanted, value_set=universe).fill_null(-1).to_numpy(zero_copy_only=False)
    row = row.astype(np.int64)
    inverse = np.empty(len(order.perm), dtype=np.int64)
    inverse[order.perm] = np.arange(len(order.perm), dtype=np.int64)
    out = np.full(len(row), -1, dtype=np.int64)
    out[row >= 0] = inverse[row[row >= 0]]
    return out


def _take_codes(uniques: Any, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``uniques[codes]`` with -1 -> <NA>, as a nullable string array."""
    arr = pd.array(np.asarray(uniques, dtype=object), dtype=STRING)
    return arr.take(codes, allow_fill=True)


def _agent_codes(messages: pd.DataFrame, order: ThreadOrder, human_pos: np.ndarray) -> tuple[np.ndarray, Any]:
    """Codes (aligned with ``human_pos``) and uniques of the human messages' agent_id."""
    codes, uniques = pd.factorize(messages["agent_id"].array)
    return codes.astype(np.int64)[order.perm[human_pos]], uniques


# --------------------------------------------------------------------------------------------
# Queues
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Queues:
    question_pos: np.ndarray  # sorted position of the queue's first customer message
    n_customer: np.ndarray
    reply_pos: np.ndarray  # sorted position of the closing human message, -1 if unanswered
    auto_pos: np.ndarray  # sorted position of the first bot message inside the queue, -1 if none


def _queues(tcode: np.ndarray, classes: np.ndarray) -> _Queues:
    """Find the queues in messages already in thread order (``tcode``, ``classes`` sorted)."""
    n = len(tcode)
    ch_pos = np.flatnonzero((classes == CUSTOMER) | (classes == HUMAN))
    ch_thread = tcode[ch_pos]
    ch_cust = classes[ch_pos] == CUSTOMER
    new_thread = np.ones(len(ch_pos), dtype=bool)
    new_thread[1:] = ch_thread[1:] != ch_thread[:-1]
    prev_cust = np.zeros(len(ch_pos), dtype=bool)
    prev_cust[1:] = ch_cust[:-1]
    starts = np.flatnonzero(ch_cust & (new_thread | ~prev_cust))
    # a run of customer messages ends at the next human message or the next thread
    breaks = np.flatnonzero(~ch_cust | new_thread)
    ends = np.append(breaks, len(ch_pos))[np.searchsorted(breaks, starts, side="right")]
    n_customer = ends - starts
    answered = ends < len(ch_pos)
    answered[answered] = ~ch_cust[ends[answered]] & ~new_thread[ends[answered]]
    reply_pos = np.full(len(starts), -1, dtype=np.int64)
    reply_pos[answered] = ch_pos[ends[answered]]
    question_pos = ch_pos[starts]
    # first bot message after the question and before the reply (or the thread's end)
    thread_end = np.searchsorted(tcode, tcode[question_pos], side="right") if n else question_pos
    limit = np.where(answered, reply_pos, thread_end)
    bot_pos = np.flatnonzero(classes == BOT)
    nxt = np.searchsorted(bot_pos, question_pos, side="left")
    cand = np.append(bot_pos, n)[nxt]
    auto_pos = np.where(cand < limit, cand, -1)
    return _Queues(question_pos, n_customer.astype(np.int64), reply_pos, auto_pos)


# --------------------------------------------------------------------------------------------
# Closed periods
# --------------------------------------------------------------------------------------------


def _closed_period_config(calendar: Any) -> tuple[tuple[Any, ...], str]:
    """(closed periods, time zone) of the calendar (``BusinessCalendar`` keeps both)."""
    periods = getattr(calendar, "closed_periods", None)
    config = getattr(calendar, "config", None)
    if periods is None and config is not None:
        periods = getattr(config, "closed_periods", ())
    timezone = getattr(calendar, "timezone", None) or getattr(config, "timezone", "Asia/Jakarta")
    return tuple(periods or ()), str(timezone)


def in_closed_period(t: np.ndarray, closed_periods: Iterable[ClosedPeriod], timezone: str) -> np.ndarray:
    """For UTC epoch seconds ``t``: is the instant inside one of the closed periods?

    Periods are local date-times at minute precision with both ends inclusive (SPEC 5), so a
    period covers ``[start, end + 60 s)`` local time: one ending ``23:59`` runs to midnight.
    """
    t = np.asarray(t, dtype=np.int64)
    tz = zoneinfo.ZoneInfo(timezone)
    bounds = sorted(
        (
            int(p.start.replace(tzinfo=tz).timestamp()),
            int((p.end + dt.timedelta(minutes=1)).replace(tzinfo=tz).timestamp()),
        )
        for p in closed_periods
    )
    if not bounds:
        return np.zeros(len(t), dtype=bool)
    merged: list[list[int]] = []
    for start, end in bounds:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = np.array([m[0] for m in merged], dtype=np.int64)
    ends = np.array([m[1] for m in merged], dtype=np.int64)
    idx = np.searchsorted(starts, t, side="right") - 1
    return (idx >= 0) & (t < ends[np.maximum(idx, 0)])


# --------------------------------------------------------------------------------------------
# fct_reply_pair
# --------------------------------------------------------------------------------------------


def _pair_agents(
    messages: pd.DataFrame, order: ThreadOrder, classes: np.ndarray, q: _Queues, given: pd.Series | None
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
    q = _queues(tcode, classes)
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
        periods, tz = _closed_period_config(calendar)
    else:
        periods, tz = tuple(closed_periods), _closed_period_config(calendar)[1]
    closed = in_closed_period(q_s, periods, tz)
    if "in_holiday_mode" in messages.columns:
        closed |= bool_mask(messages["in_holiday_mode"].take(q_rows))
    cal_full = np.zeros(len(q_us), dtype=np.int64)
    cal_full[answered] = calendar_seconds
    is_valid = answered & (cal_full >= 0) & ~closed

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
        },
        columns=list(PAIR_COLUMNS),
    )
    return out
