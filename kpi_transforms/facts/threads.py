"""Threads (SPEC 7): one conversation between the business and one customer on one channel.

Grain of ``marts.fct_thread``: one row per thread, built from the messages (thread order as in
:mod:`kpi_transforms.reply_pairs`) and the reply pairs already computed for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.facts.ordering import (
    REQUIRED_COLUMNS,
    STRING,
    bool_mask,
    check_columns,
    epoch_us,
    message_classes,
    primary_agent_array,
    sorted_positions,
    thread_order,
    utc_column,
)

DEFAULT_TIMEZONE = Config.timezone  # fct_thread takes the calendar's

THREAD_COLUMNS = (
    "thread_id",
    "thread_name",
    "channel",
    "customer_id",
    "primary_agent_id",
    "first_message_at",
    "last_message_at",
    "n_messages",
    "n_customer_messages",
    "n_agent_messages",
    "n_bot_messages",
    "n_system_messages",
    "n_reply_pairs",
    "n_unanswered",
    "first_response_seconds",
    "first_response_business_seconds",
    "is_new_customer",
)


def fct_thread(
    messages: pd.DataFrame,
    pairs: pd.DataFrame,
    calendar: Any = None,
    first_transaction: Mapping[str, Any] | None = None,
    view: Any = None,
) -> pd.DataFrame:
    """One row per thread (SPEC 7), sorted by ``thread_id``.

    ``pairs`` is :func:`~kpi_transforms.reply_pairs.fct_reply_pair` of the same messages.
    ``first_transaction`` maps customer_id -> local date of the customer's first transaction
    (first order or customer-list date, ``marts.dim_customer.first_transaction_at``); see
    :func:`is_new_customer`. ``calendar`` gives the time zone of the local dates (durations
    come from ``pairs``). ``view``: the :class:`~kpi_transforms.intents.ThreadView` of these messages
    and pairs when the caller has one (``facts.rebuild_facts``): its thread order and pair
    positions are used instead of sorting again and looking every id up.
    """
    timezone = getattr(calendar, "timezone", None) or DEFAULT_TIMEZONE
    check_columns(messages, (*REQUIRED_COLUMNS, "thread_name"))
    messages = messages.reset_index(drop=True)
    pairs = pairs if len(pairs) else _empty_pairs()
    if view is not None and (len(view.order.perm) != len(messages) or len(view.question_pos) != len(pairs)):
        raise ValueError("fct_thread: the thread view is not of these messages and pairs")
    order = view.order if view is not None else thread_order(messages)
    perm, tcode, threads = order.perm, order.thread_code, order.thread_ids
    n_threads = len(threads)
    first = np.searchsorted(tcode, np.arange(n_threads), side="left")
    last = np.searchsorted(tcode, np.arange(n_threads), side="right") - 1
    first_rows = perm[first]

    # counts by role (sender_role; agent-side auto-replies count as bot messages)
    role = messages["sender_role"]
    auto = bool_mask(messages["is_auto_reply"])
    agent = bool_mask(role == "agent")

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(tcode[mask[perm]], minlength=n_threads).astype(np.int64)

    # the thread's customer: the first non-missing customer_id in thread order
    codes, uniques = pd.factorize(messages["customer_id"].array)
    codes = codes[perm]
    known_pos = np.flatnonzero(codes >= 0)
    thread_customer = np.full(n_threads, -1, dtype=np.int64)
    has_customer, first_known = np.unique(tcode[known_pos], return_index=True)
    thread_customer[has_customer] = codes[known_pos[first_known]]
    customer_ids = pd.array(np.asarray(uniques, dtype=object), dtype=STRING).take(
        thread_customer, allow_fill=True
    )

    # primary agent: the replies are the pairs' reply messages
    classes = view.classes if view is not None else message_classes(messages)[perm]
    if view is not None:
        question_pos = view.question_pos
        reply_pos = view.reply_pos[pairs["reply_message_id"].notna().to_numpy(dtype=bool)]
    else:
        replies = pairs["reply_message_id"].dropna()
        questions = pairs["question_message_id"]
        # one hash look-up for both id lists (building the table over all messages is the cost)
        positions = sorted_positions(messages, order, pd.concat([questions, replies], ignore_index=True))
        question_pos, reply_pos = positions[: len(questions)], positions[len(questions) :]
    first_at = order.sent_us[first]
    out = pd.DataFrame(
        {
            "thread_id": pd.array(np.asarray(threads, dtype=object), dtype=STRING),
            "thread_name": messages["thread_name"].array.take(first_rows).astype(STRING),
            "channel": messages["channel"].array.take(first_rows).astype(STRING),
            "customer_id": customer_ids,
            "primary_agent_id": primary_agent_array(messages, order, classes, reply_pos),
            "first_message_at": utc_column(first_at),
            "last_message_at": utc_column(order.sent_us[last]),
            "n_messages": (last - first + 1).astype(np.int64),
            "n_customer_messages": count(bool_mask(role == "customer")),
            "n_agent_messages": count(agent & ~auto),
            "n_bot_messages": count(bool_mask(role == "bot") | (agent & auto)),
            "n_system_messages": count(bool_mask(role == "system")),
        }
    )
    _add_pair_measures(out, pairs, question_pos, threads)
    out["is_new_customer"] = is_new_customer(
        out["customer_id"], out["thread_id"], out["first_message_at"], first_transaction, timezone
    )
    return out.loc[:, list(THREAD_COLUMNS)]


def _empty_pairs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "thread_id": pd.Series([], dtype=STRING),
            "status": pd.Series([], dtype=STRING),
            "question_message_id": pd.Series([], dtype=STRING),
            "reply_message_id": pd.Series([], dtype=STRING),
            "question_at": pd.Series([], dtype="datetime64[us, UTC]"),
            "calendar_seconds": pd.Series([], dtype="Int64"),
            "business_seconds": pd.Series([], dtype="Int64"),
        }
    )


def _add_pair_measures(out: pd.DataFrame, pairs: pd.DataFrame, question_pos: np.ndarray, threads: pd.Index) -> None:
    """n_reply_pairs, n_unanswered and the first queue's response times, per thread.

    ``question_pos`` is each pair's question position in thread order (-1 if unknown)."""
    n_threads = len(threads)
    code = threads.get_indexer(pairs["thread_id"])
    ok = code >= 0
    out["n_reply_pairs"] = np.bincount(code[ok], minlength=n_threads).astype(np.int64)
    unanswered = ok & bool_mask(pairs["status"] == "unanswered")
    out["n_unanswered"] = np.bincount(code[unanswered], minlength=n_threads).astype(np.int64)
    cal = pd.array([pd.NA] * n_threads, dtype="Int64")
    bus = pd.array([pd.NA] * n_threads, dtype="Int64")
    if ok.any():
        # the thread's first queue: earliest question, ties in thread order
        question_us = epoch_us(pairs["question_at"])
        position = np.where(question_pos < 0, np.iinfo(np.int64).max, question_pos)
        order = np.lexsort((position, question_us, code))
        order = order[ok[order]]
        head = np.ones(len(order), dtype=bool)
        head[1:] = code[order][1:] != code[order][:-1]
        firsts = order[head]
        cal[code[firsts]] = pairs["calendar_seconds"].astype("Int64").array[firsts]
        bus[code[firsts]] = pairs["business_seconds"].astype("Int64").array[firsts]
    out["first_response_seconds"] = cal
    out["first_response_business_seconds"] = bus


def is_new_customer(
    customer_id: pd.Series,
    thread_id: pd.Series,
    first_message_at: pd.Series,
    first_transaction: Mapping[str, Any] | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> pd.api.extensions.ExtensionArray:
    """SPEC 7 ``fct_thread.is_new_customer``, the one rule (docs/DECISIONS.md, issue 13).

    A thread is a new customer's when it is the customer's earliest thread among the threads
    given (earliest first message; ties: the smaller ``thread_id``) and the customer's first
    transaction (``first_transaction``: customer_id -> date) is not on an earlier *local* date
    than the thread's first message (a same-day order does not make the customer old).
    Threads without a customer_id get <NA> (cannot tell). The fact build applies it to the
    threads it rebuilds (:func:`fct_thread`) and the warehouse to every thread of the customers
    a batch touched (``pipeline.customers.refresh_new_customer_flags``)."""
    n = len(customer_id)
    ids = pd.Series(customer_id, dtype=object).reset_index(drop=True)
    known = ids.notna().to_numpy(dtype=bool)
    codes, _ = pd.factorize(ids)
    first_us = epoch_us(pd.Series(first_message_at).reset_index(drop=True))
    threads = pd.Series(thread_id, dtype=object).reset_index(drop=True).astype(str).to_numpy()
    new = np.ones(n, dtype=bool)
    order = np.lexsort((threads, first_us, codes))
    later = np.zeros(n, dtype=bool)
    later[1:] = codes[order][1:] == codes[order][:-1]
    new[order[later]] = False
    if first_transaction:
        day = pd.to_datetime(pd.Series(first_message_at).reset_index(drop=True), utc=True).dt.tz_convert(timezone).dt.date
        first = ids.map(lambda c: first_transaction.get(c) if c is not None else None)
        first = first.map(lambda d: pd.Timestamp(d).date() if d is not None and not pd.isna(d) else None)
        earlier = np.array([f is not None and f < d for f, d in zip(first, day)], dtype=bool)
        new &= ~earlier
    result = pd.array(new, dtype="boolean")
    result[~known] = pd.NA
    return result
