"""Intent of each customer queue (SPEC 7) and the keyword lists the chat classifiers share.

Grain of :func:`queue_intents`: one value per customer queue (a row of ``marts.fct_reply_pair``),
stored as ``fct_reply_pair.intent``. The text of a queue is all its customer messages joined;
an intent matches when one of its keywords occurs as a whole word or phrase, case-insensitive
(``kpi_transforms/intent_keywords.yaml``). When several match: complaint > quote_request >
order; none: ``other``. A row of ``marts.manual_intent_label`` always wins: a label on the
queue (its ``question_message_id``) before a label on its whole thread.

:class:`ThreadView` puts messages into thread order once (the order of
:mod:`kpi_transforms.reply_pairs`) and locates every queue's question and reply in it; the
quote, case and follow-up transforms build on it (a fact rebuild builds it once and passes it
to all of them). Everything is NumPy over positions and Arrow over texts: there is no Python
loop per message or per queue, and message texts never become Python strings.

:func:`classify_queues` is what the fact build stores (docs/DECISIONS.md, issue 14): per queue
``intent``, ``intent_source`` and ``intent_confidence``. Precedence: a manual label
(``manual``, confidence 1) > a strong keyword override of the intent model
(:data:`kpi_transforms.facts.intent_model.RULES` and its negation guard: ``rule``) > the
model's most probable intent (``model``). The broad keyword lists of ``intent_keywords.yaml``
(:func:`queue_intents`) no longer decide the stored intent; they still find quotes, case
categories and confirmations.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpi_transforms.core.schema import ALL_INTENTS, INTENTS
from kpi_transforms.facts.intent_model import IntentModel
from kpi_transforms.facts.keywords import Keywords, _arrow_strings, _first_match
from kpi_transforms.facts.ordering import STRING
from kpi_transforms.facts.thread_view import ThreadView, queue_text_array, thread_view

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Intents
def _intent_codes(texts: Any, keywords: Keywords) -> np.ndarray:
    """Index into :data:`ALL_INTENTS` per text: the first intent of :data:`INTENTS` (priority
    order) with a match, else ``other``."""
    first = _first_match(texts, [(keywords.intents.get(i, ()), keywords.exclude.get(i, ())) for i in INTENTS])
    return np.where(first >= 0, first, len(INTENTS))


def intents_of_texts(texts: pd.Series | np.ndarray | pa.Array, keywords: Keywords) -> np.ndarray:
    """Intent per text by the keyword rules (complaint > quote_request > order > other)."""
    return np.array(ALL_INTENTS, dtype=object)[_intent_codes(texts, keywords)]


def _manual_labels(manual: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """(question_message_id -> intent, thread_id -> intent) of the valid manual labels."""
    empty = pd.Series([], dtype=object)
    if manual is None or len(manual) == 0:
        return empty, empty
    frame = manual.copy()
    for col in ("thread_id", "question_message_id"):
        if col not in frame.columns:
            frame[col] = None
    intent = frame["intent"].astype(object).where(frame["intent"].notna(), "").astype(str).str.strip().str.lower()
    valid = intent.isin(ALL_INTENTS)
    if (~valid).any():
        log.warning("ignored %d manual intent label(s) with an unknown intent: %s", int((~valid).sum()),
                    ", ".join(sorted(set(intent[~valid])))[:200])
    frame = frame.assign(intent=intent)[valid.to_numpy()]
    order_cols = [c for c in ("file_seq", "source_line") if c in frame.columns]
    if order_cols:
        frame = frame.sort_values(order_cols, kind="stable")  # the later row wins below
    on_question = frame[frame["question_message_id"].notna()]
    on_thread = frame[frame["question_message_id"].isna() & frame["thread_id"].notna()]
    by_question = on_question.drop_duplicates("question_message_id", keep="last").set_index("question_message_id")["intent"]
    by_thread = on_thread.drop_duplicates("thread_id", keep="last").set_index("thread_id")["intent"]
    return by_question, by_thread


def _label_codes(keys: pd.Series, labels: pd.Series) -> np.ndarray:
    """Per key: the index into :data:`ALL_INTENTS` of its label in ``labels`` (key -> intent,
    unique keys), -1 where it has none (an Arrow hash lookup, no Python loop per key)."""
    found = pc.index_in(_arrow_strings(keys), value_set=_arrow_strings(labels.index.to_series()))
    found = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    label_codes = np.array([ALL_INTENTS.index(v) for v in labels.tolist()] + [-1], dtype=np.int64)
    return label_codes[found]  # -1 -> the appended "no label"


def queue_intents(
    messages: pd.DataFrame,
    pairs: pd.DataFrame,
    keywords: Keywords,
    manual: pd.DataFrame | None = None,
    *,
    view: ThreadView | None = None,
) -> pd.Series:
    """One intent per customer queue (row of ``pairs``): ``complaint`` | ``quote_request`` |
    ``order`` | ``other`` from the queue's customer text; ``manual`` labels
    (``marts.manual_intent_label`` rows) win. ``view``: :func:`thread_view` of the same
    messages and pairs, when the caller has it already."""
    index = pairs.index
    if len(pairs) == 0:
        return pd.Series(pd.array([], dtype=STRING), index=index, name="intent")
    view = thread_view(messages, pairs) if view is None else view.check(messages, pairs)
    codes = _intent_codes(queue_text_array(view, len(pairs)), keywords)
    by_question, by_thread = _manual_labels(manual)
    # the question's label wins over the thread's, which wins over the rules
    for keys, labels in ((pairs["thread_id"], by_thread), (pairs["question_message_id"], by_question)):
        if len(labels):
            labelled = _label_codes(keys, labels)
            codes = np.where(labelled >= 0, labelled, codes)
    return pd.Series(pd.array(list(ALL_INTENTS), dtype=STRING).take(codes), index=index, name="intent")


INTENT_SOURCES = ("manual", "model", "rule")
INTENT_COLUMNS = ("intent", "intent_source", "intent_confidence")


def classify_queues(
    messages: pd.DataFrame,
    pairs: pd.DataFrame,
    model: IntentModel,
    manual: pd.DataFrame | None = None,
    *,
    view: ThreadView | None = None,
) -> pd.DataFrame:
    """Per customer queue (row of ``pairs``, same index): ``intent``, ``intent_source``
    (manual | rule | model) and ``intent_confidence`` (0..1) from the text of all its customer
    messages. ``model`` classifies (its strong overrides give ``rule``, its own choice
    ``model``; the confidence is its calibrated probability of the stored intent); ``manual``
    labels (``marts.manual_intent_label`` rows: the question's label before the thread's) win
    with confidence 1."""
    index = pairs.index
    if len(pairs) == 0:
        return pd.DataFrame({"intent": pd.array([], dtype=STRING), "intent_source": pd.array([], dtype=STRING),
                             "intent_confidence": np.zeros(0, dtype=np.float64)}, index=index)
    view = thread_view(messages, pairs) if view is None else view.check(messages, pairs)
    texts = queue_text_array(view, len(pairs))
    unique = pc.unique(texts)  # queues repeat ("ok kak", "p"): each distinct text is classified once
    result = model.classify(unique.to_numpy(zero_copy_only=False))
    at = pc.index_in(texts, value_set=unique).to_numpy(zero_copy_only=False).astype(np.int64)
    codes = np.array([ALL_INTENTS.index(v) for v in result["intent"].tolist()], dtype=np.int64)[at]
    source = np.where(result["source"].to_numpy(dtype=object) == "rule", 2, 1)[at]
    confidence = result["confidence"].to_numpy(dtype=np.float64)[at]
    by_question, by_thread = _manual_labels(manual)
    for keys, labels in ((pairs["thread_id"], by_thread), (pairs["question_message_id"], by_question)):
        if len(labels):
            labelled = _label_codes(keys, labels)
            hit = labelled >= 0
            codes = np.where(hit, labelled, codes)
            source = np.where(hit, 0, source)
            confidence = np.where(hit, 1.0, confidence)
    return pd.DataFrame(
        {
            "intent": pd.array(list(ALL_INTENTS), dtype=STRING).take(codes),
            "intent_source": pd.array(list(INTENT_SOURCES), dtype=STRING).take(source),
            "intent_confidence": np.round(confidence, 6),
        },
        index=index,
    )
