"""Quote responses (SPEC 7, seed 000 "Quote Response Speed").

Grain of ``marts.fct_quote_response``: one row per customer queue whose intent is
``quote_request``. Its quote is the first human agent message at or after the question (in
thread order) that carries a quote: a price (``Rp 12.500``, ``12rb``, ``12k``, ``@12.500``,
``12.500/pcs``, ``harganya 12500``: the regular expressions ``quote_prices`` of
``intent_keywords.yaml``) or a price-list / offer document (``quote_attachments``: penawaran,
quotation, price list, ... in a file message, or with a word saying it is attached:
``attachment_markers``). Several requests still waiting when a quote is sent share it, each
measured from its own question. A request without a quote so far has null quote columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.facts.keywords import Keywords, contains_any, contains_regex
from kpi_transforms.facts.ordering import HUMAN, STRING, bool_mask, epoch_us, utc_column
from kpi_transforms.facts.thread_view import ThreadView, thread_view

QUOTE_COLUMNS = (
    "pair_id",
    "thread_id",
    "customer_id",
    "agent_id",
    "question_at",
    "question_at_local",
    "quote_message_id",
    "quote_at",
    "calendar_seconds",
    "business_seconds",
    "is_in_closed_period",
)
_NAT = np.iinfo(np.int64).min


def carries_quote(view: ThreadView, keywords: Keywords, positions: np.ndarray) -> np.ndarray:
    """Bool per sorted position (human agent messages): the message carries a quote."""
    text = view.text_at(positions)
    # a document: an offer word, in a file or with a word saying it is attached; the message
    # type and the markers are only looked at for the (few) texts with an offer word
    quote = contains_any(text, keywords.quote_attachments)
    offer = np.flatnonzero(quote)
    if len(offer):
        is_file = bool_mask(pd.Series(view.column_at("message_type", positions[offer])) == "media")
        ask = offer[~is_file]
        if len(ask):
            quote[ask] = contains_any(text.take(pa.array(ask)), keywords.attachment_markers)
    # a price: only looked for where no document was found (the result is the same "or")
    rest = np.flatnonzero(~quote)
    if len(rest):
        quote[rest] = contains_regex(text.take(pa.array(rest)), keywords.quote_prices)
    return quote


def quote_positions(view: ThreadView, keywords: Keywords, requests: np.ndarray | None = None) -> np.ndarray:
    """Sorted positions of the human agent messages that carry a quote.

    With ``requests`` (sorted positions of quote-request questions) only messages at or after
    the first request of their thread are classified: an earlier one can answer no request."""
    human = np.flatnonzero(view.classes == HUMAN)
    if requests is not None and len(human):
        human = human[view.from_first(human, requests)]
    return human[carries_quote(view, keywords, human)] if len(human) else human


def fct_quote_response(
    messages: pd.DataFrame,
    pairs: pd.DataFrame,
    calendar: BusinessCalendar,
    keywords: Keywords,
    *,
    view: ThreadView | None = None,
) -> pd.DataFrame:
    """One row per quote-request queue (``pairs.intent == 'quote_request'``) with its first quote.
    ``view``: :func:`~kpi_transforms.intents.thread_view` of the same messages and pairs, when
    the caller has it already."""
    pairs = pairs.reset_index(drop=True)
    if len(pairs) == 0 or "intent" not in pairs.columns:
        return _empty()
    requests = np.flatnonzero(bool_mask(pairs["intent"] == "quote_request"))
    if len(requests) == 0:
        return _empty()
    view = thread_view(messages, pairs) if view is None else view.check(messages, pairs)
    question_pos = view.question_pos[requests]
    quote_pos = view.next_in(quote_positions(view, keywords, question_pos), question_pos, strict=False)
    quoted = quote_pos >= 0
    quote_ids = view.column_at("message_id", quote_pos).astype(STRING)
    request = pairs.iloc[requests].reset_index(drop=True)
    # the agent who sent the quote; without a quote, the queue's agent
    agent = view.column_at("agent_id", quote_pos).astype(STRING)
    agent[~quoted] = request["agent_id"].astype(STRING).array[~quoted]
    question_us = epoch_us(request["question_at"])
    question_s = np.floor_divide(question_us, 1_000_000)
    quote_s = np.where(quoted, view.sent_s[np.maximum(quote_pos, 0)], question_s)
    business = calendar.business_seconds(question_s, quote_s)
    calendar_seconds = quote_s - question_s
    out = pd.DataFrame(
        {
            "pair_id": request["pair_id"].astype(STRING),
            "thread_id": request["thread_id"].astype(STRING),
            "customer_id": request["customer_id"].astype(STRING),
            "agent_id": agent,
            "question_at": request["question_at"],
            "question_at_local": request["question_at_local"],
            "quote_message_id": quote_ids,
            "quote_at": utc_column(np.where(quoted, quote_s * 1_000_000, _NAT)),
            "calendar_seconds": pd.array(np.where(quoted, calendar_seconds, 0), dtype="Int64"),
            "business_seconds": pd.array(np.where(quoted, business, 0), dtype="Int64"),
            "is_in_closed_period": bool_mask(request["is_in_closed_period"]) if "is_in_closed_period" in request else False,
        },
        columns=list(QUOTE_COLUMNS),
    )
    out.loc[~quoted, ["calendar_seconds", "business_seconds"]] = pd.NA
    return out


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pair_id": pd.Series([], dtype=STRING),
            "thread_id": pd.Series([], dtype=STRING),
            "customer_id": pd.Series([], dtype=STRING),
            "agent_id": pd.Series([], dtype=STRING),
            "question_at": pd.Series([], dtype="datetime64[us, UTC]"),
            "question_at_local": pd.Series([], dtype="datetime64[us]"),
            "quote_message_id": pd.Series([], dtype=STRING),
            "quote_at": pd.Series([], dtype="datetime64[us, UTC]"),
            "calendar_seconds": pd.Series([], dtype="Int64"),
            "business_seconds": pd.Series([], dtype="Int64"),
            "is_in_closed_period": pd.Series([], dtype=bool),
        }
    )
