"""Thread order and message classes: the machinery every fact builder shares.

Messages are put once into thread order (``thread_id``, ``sent_at``, ``file_seq``,
``source_line``) and classified (ignored / customer / human / bot, SPEC 6); the helpers convert
columns between pandas and NumPy int64 microseconds without per-row Python.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

US = 1_000_000  # microseconds per second (pandas 3 stores datetime64[us])
DAY_SECONDS = 86_400
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

# Message classes in thread order.
IGNORED, CUSTOMER, HUMAN, BOT = 0, 1, 2, 3


# --------------------------------------------------------------------------------------------
# Column access helpers
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
        reply_pos = queues(order.thread_code, classes).reply_pos
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


@dataclasses.dataclass(frozen=True)
class Queues:
    question_pos: np.ndarray  # sorted position of the queue's first customer message
    n_customer: np.ndarray
    reply_pos: np.ndarray  # sorted position of the closing human message, -1 if unanswered
    auto_pos: np.ndarray  # sorted position of the first bot message inside the queue, -1 if none


def queues(tcode: np.ndarray, classes: np.ndarray) -> Queues:
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
    return Queues(question_pos, n_customer.astype(np.int64), reply_pos, auto_pos)
