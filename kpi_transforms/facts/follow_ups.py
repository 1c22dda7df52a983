"""Follow-ups (SPEC 7; seed 001 "Follow Up Customer untuk melakukan Re Order", seed 000
"Follow-up Conversion Rate").

Grain of ``marts.fct_follow_up``: one row per follow-up, i.e. per run of agent-initiated
outreach messages. In each thread, in thread order:

* an **agent-initiated** message is a human agent message that closes no customer queue (it
  was sent while no queue was open, SPEC 6);
* it is **outreach** when it comes at least 24 h after the customer's last message in the
  thread (or the customer has not written at all yet);
* consecutive agent messages count as **one follow-up**: the agent's messages form *turns*
  that end at a customer message or at a pause of 24 h or more between two agent messages; a
  follow-up is a turn whose first message is agent-initiated and outreach (so a document sent
  right after a late reply belongs to that reply, and a reminder days later is a new follow-up);
* **responded**: the customer writes within 7 x 24 h after the follow-up's first message
  (null while that window is still open at the data horizon);
* **segment** ``existing`` when the customer has an order dated before the follow-up's local
  date (sales report, or a first-transaction date of the customer list), else ``new``;
  **ordered**: an order dated from the follow-up's local date to 30 days after it (null while
  that window reaches past the latest order date loaded and no order is found yet).

Segment and ordered depend on orders, which arrive in files of their own, and responded on the
data horizon: :func:`refresh_follow_up_outcomes` recomputes them set-based over the whole
table in every ingest's fact build, also when only orders arrived (the one definition of
them); the KPI step only reads them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from kpi_transforms.facts.ordering import CUSTOMER, HUMAN, STRING, epoch_us, utc_column
from kpi_transforms.facts.thread_view import ThreadView, thread_view

OUTREACH_GAP_SECONDS = 24 * 3600
RESPONSE_WINDOW_SECONDS = 7 * 86_400
ORDER_WINDOW_DAYS = 30
FOLLOW_UP_COLUMNS = (
    "follow_up_id",
    "thread_id",
    "customer_id",
    "agent_id",
    "followed_up_at",
    "followed_up_at_local",
    "n_messages",
    "last_customer_message_at",
    "customer_replied_at",
    "is_responded",
    "segment",
    "ordered_on",
    "is_ordered",
)
_NAT = np.iinfo(np.int64).min
DATE = pd.ArrowDtype(pa.date32())


def fct_follow_up(
    messages: pd.DataFrame, pairs: pd.DataFrame, *, data_horizon: Any = None, view: ThreadView | None = None
) -> pd.DataFrame:
    """One row per follow-up (run of agent outreach messages), see the module docstring.
    ``view``: :func:`~kpi_transforms.intents.thread_view` of the same messages and pairs, when
    the caller has it already."""
    if len(messages) == 0:
        return _empty()
    view = thread_view(messages, pairs) if view is None else view.check(messages, pairs)
    tcode, sent = view.thread_code, view.sent_s
    is_reply = np.zeros(len(view.classes), dtype=bool)
    is_reply[view.reply_pos[view.reply_pos >= 0]] = True
    human = np.flatnonzero(view.classes == HUMAN)
    customer = np.flatnonzero(view.classes == CUSTOMER)
    if len(human) == 0:
        return _empty()
    # agent turns: runs of human messages without a customer message or a 24 h pause between
    last_customer = view.previous_in(customer, human)
    turn_start = np.ones(len(human), dtype=bool)
    turn_start[1:] = (
        (tcode[human[1:]] != tcode[human[:-1]])
        | (last_customer[1:] != last_customer[:-1])
        | (sent[human[1:]] - sent[human[:-1]] >= OUTREACH_GAP_SECONDS)
    )
    turn = np.cumsum(turn_start) - 1
    turn_length = np.bincount(turn).astype(np.int64)
    # a follow-up is a turn opened by an agent-initiated message (it closes no queue) at least
    # 24 h after the customer's last message (or before the customer ever wrote)
    outreach = turn_start & ~is_reply[human] & (
        (last_customer < 0) | (sent[human] - sent[np.maximum(last_customer, 0)] >= OUTREACH_GAP_SECONDS)
    )
    if not outreach.any():
        return _empty()
    heads = human[outreach]
    n_messages = turn_length[turn[outreach]]
    lc = last_customer[outreach]
    replied = view.next_in(customer, heads)

    horizon_s = int(sent.max()) if data_horizon is None else int(epoch_us(pd.Series([pd.Timestamp(data_horizon)]))[0] // 1_000_000)
    head_s = sent[heads]
    replied_s = np.where(replied >= 0, sent[np.maximum(replied, 0)], _NAT)
    responded = pd.array(np.where(replied >= 0, replied_s - head_s <= RESPONSE_WINDOW_SECONDS, False), dtype="boolean")
    pending = (replied_s == _NAT) & (horizon_s < head_s + RESPONSE_WINDOW_SECONDS)
    responded[pending] = pd.NA

    out = pd.DataFrame(
        {
            "follow_up_id": view.column_at("message_id", heads).astype(STRING),
            "thread_id": view.column_at("thread_id", heads).astype(STRING),
            "customer_id": _thread_customer(view, tcode[heads]),
            "agent_id": view.column_at("agent_id", heads).astype(STRING),
            "followed_up_at": utc_column(head_s * 1_000_000),
            "followed_up_at_local": pd.Series(view.column_at("sent_at_local", heads)).astype("datetime64[us]").array,
            "n_messages": n_messages,
            "last_customer_message_at": utc_column(np.where(lc >= 0, sent[np.maximum(lc, 0)] * 1_000_000, _NAT)),
            "customer_replied_at": utc_column(np.where(replied_s != _NAT, replied_s * 1_000_000, _NAT)),
            "is_responded": responded,
            "segment": pd.array([pd.NA] * len(heads), dtype=STRING),
            "ordered_on": pd.array([None] * len(heads), dtype=DATE),
            "is_ordered": pd.array([pd.NA] * len(heads), dtype="boolean"),
        },
        columns=list(FOLLOW_UP_COLUMNS),
    )
    return out


def _thread_customer(view: ThreadView, codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Per thread code in ``codes``: the first non-missing customer_id of the thread in thread
    order (<NA> if none). Only the missing-mask of the column is put into thread order, and
    only the chosen ids are taken."""
    known = np.flatnonzero(~np.asarray(pd.isna(view.messages["customer_id"].array))[view.order.perm])
    firsts = np.full(len(view.order.thread_ids), -1, dtype=np.int64)
    if len(known):
        # positions are in thread order, so a thread's first known id is where the code changes
        known_codes = view.thread_code[known]
        head = np.flatnonzero(np.r_[True, known_codes[1:] != known_codes[:-1]])
        firsts[known_codes[head]] = known[head]
    return view.column_at("customer_id", firsts[codes]).astype(STRING)


def _empty() -> pd.DataFrame:
    dtypes = {
        "follow_up_id": STRING, "thread_id": STRING, "customer_id": STRING, "agent_id": STRING,
        "followed_up_at": "datetime64[us, UTC]", "followed_up_at_local": "datetime64[us]", "n_messages": "int64",
        "last_customer_message_at": "datetime64[us, UTC]", "customer_replied_at": "datetime64[us, UTC]",
        "is_responded": "boolean", "segment": STRING, "ordered_on": DATE, "is_ordered": "boolean",
    }
    return pd.DataFrame({c: pd.Series([], dtype=dtypes[c]) for c in FOLLOW_UP_COLUMNS})
