"""Intent of each customer queue (SPEC 7) and the keyword lists the chat classifiers share.

Grain of :func:`queue_intents`: one value per customer queue (a row of ``marts.fct_reply_pair``),
stored as ``fct_reply_pair.intent``. The text of a queue is all its customer messages joined;
an intent matches when one of its keywords occurs as a whole word or phrase, case-insensitive
(``kpi_transforms/intent_keywords.yaml``). When several match: complaint > quote_request >
order; none: ``other``. A row of ``marts.manual_intent_label`` always wins: a label on the
queue (its ``question_message_id``) before a label on its whole thread.

:class:`ThreadView` puts messages into thread order once (the order of
:mod:`kpi_transforms.reply_pairs`) and locates every queue's question and reply in it; the
quote, case and follow-up transforms build on it. Everything is NumPy over positions: there is
no Python loop per message or per queue.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml

from kpi_transforms.config import Config, ConfigError
from kpi_transforms.reply_pairs import (
    CUSTOMER,
    STRING,
    ThreadOrder,
    message_classes,
    sorted_positions,
    thread_order,
)

log = logging.getLogger(__name__)

INTENTS = ("complaint", "quote_request", "order")  # priority order
OTHER = "other"
ALL_INTENTS = (*INTENTS, OTHER)
DEFAULT_KEYWORDS = Path(__file__).resolve().with_name("intent_keywords.yaml")
KEYWORDS_ENV = "CHATKPI_INTENT_KEYWORDS"
_LIST_KEYS = ("resolution_phrases", "customer_confirmations", "quote_attachments", "attachment_markers", "quote_prices")
_MAP_KEYS = ("intents", "exclude", "complaint_categories")


# --------------------------------------------------------------------------------------------
# Keyword lists
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Keywords:
    """The word lists of ``intent_keywords.yaml`` (see the comments there)."""

    intents: Mapping[str, tuple[str, ...]]
    exclude: Mapping[str, tuple[str, ...]]
    complaint_categories: Mapping[str, tuple[str, ...]]  # in priority order
    resolution_phrases: tuple[str, ...]
    customer_confirmations: tuple[str, ...]
    quote_attachments: tuple[str, ...]
    attachment_markers: tuple[str, ...]
    quote_prices: tuple[str, ...]  # regular expressions


def _words(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of words / phrases")
    out = tuple(str(v).strip() for v in value if str(v).strip())
    return out


def _parse_keywords(raw: Mapping[str, Any], where: str, base: Keywords | None = None) -> Keywords:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping")
    allowed = set(_MAP_KEYS) | set(_LIST_KEYS)
    extra = sorted(set(raw) - allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")
    values: dict[str, Any] = dataclasses.asdict(base) if base else {}
    for key in _MAP_KEYS:
        if key not in raw:
            continue
        body = raw[key] or {}
        if not isinstance(body, Mapping):
            raise ConfigError(f"{where}.{key}: expected a mapping name -> list")
        merged = dict(values.get(key, {}))
        for name, words in body.items():
            merged[str(name)] = _words(words, f"{where}.{key}.{name}")
        values[key] = merged
    for key in _LIST_KEYS:
        if key in raw:
            values[key] = _words(raw[key], f"{where}.{key}")
    for key in _MAP_KEYS:
        values.setdefault(key, {})
    for key in _LIST_KEYS:
        values.setdefault(key, ())
    unknown_intents = sorted(set(values["intents"]) - set(INTENTS))
    if unknown_intents:
        raise ConfigError(f"{where}.intents: unknown intent {unknown_intents[0]!r} (allowed: {', '.join(INTENTS)})")
    for i, pattern in enumerate(values["quote_prices"]):
        try:
            pc.match_substring_regex(pa.array([""]), pattern)
        except pa.ArrowInvalid as exc:
            raise ConfigError(f"{where}.quote_prices[{i}]: bad RE2 regular expression: {exc}") from exc
    return Keywords(
        intents={k: tuple(v) for k, v in values["intents"].items()},
        exclude={k: tuple(v) for k, v in values["exclude"].items()},
        complaint_categories={k: tuple(v) for k, v in values["complaint_categories"].items()},
        **{k: tuple(values[k]) for k in _LIST_KEYS},
    )


@functools.lru_cache(maxsize=16)
def _load(default: str, override: str | None, mtimes: tuple[float, ...]) -> Keywords:
    del mtimes  # part of the cache key only
    base = _parse_keywords(yaml.safe_load(Path(default).read_text(encoding="utf-8")) or {}, default)
    if override is None:
        return base
    return _parse_keywords(yaml.safe_load(Path(override).read_text(encoding="utf-8")) or {}, override, base)


def keywords_path(config: Config | None = None) -> Path | None:
    """The installation's keyword file: ``$CHATKPI_INTENT_KEYWORDS``, else
    ``intent_keywords.yaml`` next to the config file, else None (shipped lists only)."""
    env = os.environ.get(KEYWORDS_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"{KEYWORDS_ENV}: no such file {env}")
        return path
    if config is not None and config.source_path:
        beside = Path(config.source_path).resolve().parent / "intent_keywords.yaml"
        if beside.is_file() and beside != DEFAULT_KEYWORDS:
            return beside
    return None


def load_keywords(config: Config | None = None) -> Keywords:
    """The shipped lists, with the installation's file (see :func:`keywords_path`) on top."""
    override = keywords_path(config)
    files = [DEFAULT_KEYWORDS] + ([override] if override else [])
    return _load(str(DEFAULT_KEYWORDS), str(override) if override else None, tuple(f.stat().st_mtime for f in files))


_WORD_EDGE_BEFORE = r"(^|[^\pL\pN_])"  # start of text, or a character that is not a letter, digit or _
_WORD_EDGE_AFTER = r"([^\pL\pN_]|$)"


def phrase_regex(phrases: Iterable[str]) -> str | None:
    """One case-insensitive RE2 expression (Arrow's regex engine: linear time) matching any of
    ``phrases`` as a whole word / phrase; a space inside a phrase matches any whitespace run.
    Longest phrases first, so a phrase wins over its first word."""
    items = sorted({p.strip() for p in phrases if p and p.strip()}, key=lambda p: (-len(p), p))
    if not items:
        return None
    body = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in items)
    return f"(?i){_WORD_EDGE_BEFORE}(?:{body}){_WORD_EDGE_AFTER}"


def _as_text(texts: pd.Series | np.ndarray) -> pd.Series:
    series = texts if isinstance(texts, pd.Series) else pd.Series(texts, dtype=object)
    return series.astype(object).where(series.notna(), "").astype(str).reset_index(drop=True)


def _arrow_text(texts: pd.Series | np.ndarray) -> pa.Array:
    return pa.array(_as_text(texts).to_numpy(dtype=object), type=pa.large_string())


def contains_any(texts: pd.Series | np.ndarray, phrases: Iterable[str], exclude: Iterable[str] = ()) -> np.ndarray:
    """Bool per text: one of ``phrases`` occurs as a whole word / phrase, case-insensitive,
    after the ``exclude`` phrases were taken out of the text (Arrow string kernels)."""
    pattern = phrase_regex(phrases)
    array = _arrow_text(texts)
    if pattern is None or len(array) == 0:
        return np.zeros(len(array), dtype=bool)
    hit = pc.match_substring_regex(array, pattern).to_numpy(zero_copy_only=False).astype(bool)
    removed = phrase_regex(exclude)
    if removed is not None:
        rows = np.flatnonzero(pc.match_substring_regex(array, removed).to_numpy(zero_copy_only=False).astype(bool))
        if len(rows):
            cleaned = array.take(pa.array(rows))
            # twice: a match uses up the edge character it shares with an adjacent phrase
            for _ in range(2):
                cleaned = pc.replace_substring_regex(cleaned, removed, r"\1 \2")
            hit[rows] = pc.match_substring_regex(cleaned, pattern).to_numpy(zero_copy_only=False).astype(bool)
    return hit


def contains_regex(texts: pd.Series | np.ndarray, patterns: Iterable[str]) -> np.ndarray:
    """Bool per text: one of the RE2 regular expressions ``patterns`` matches (case-insensitive)."""
    pats = [p for p in patterns if p]
    array = _arrow_text(texts)
    if not pats or len(array) == 0:
        return np.zeros(len(array), dtype=bool)
    joined = "(?i)" + "|".join(f"(?:{p})" for p in pats)
    return pc.match_substring_regex(array, joined).to_numpy(zero_copy_only=False).astype(bool)


def first_category(texts: pd.Series | np.ndarray, keywords: Keywords, default: str = "lainnya") -> np.ndarray:
    """Complaint category per text: the first of ``keywords.complaint_categories`` with a match."""
    series = _as_text(texts)
    out = np.full(len(series), default, dtype=object)
    decided = np.zeros(len(series), dtype=bool)
    exclude = keywords.exclude.get("complaint", ())
    for name, words in keywords.complaint_categories.items():
        hit = contains_any(series, words, exclude) & ~decided
        out[hit] = name
        decided |= hit
    return out


# --------------------------------------------------------------------------------------------
# Messages in thread order, with the queues located in it
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ThreadView:
    """Messages in thread order; per-message arrays are aligned with the sorted rows, per-pair
    arrays with the rows of ``pairs`` (reset to 0..n-1)."""

    messages: pd.DataFrame  # input messages, index 0..n-1
    order: ThreadOrder
    classes: np.ndarray  # IGNORED / CUSTOMER / HUMAN / BOT per sorted position
    sent_s: np.ndarray  # sent_at, UTC epoch seconds
    text: pd.Series  # message text (missing -> ""), index = sorted position
    question_pos: np.ndarray  # per pair: sorted position of its first customer message (-1 unknown)
    reply_pos: np.ndarray  # per pair: sorted position of its reply (-1 unanswered)
    queue_of: np.ndarray  # per sorted position: the pair row whose queue holds this customer message, else -1

    @property
    def thread_code(self) -> np.ndarray:
        return self.order.thread_code

    def column(self, name: str) -> pd.api.extensions.ExtensionArray:
        """A message column in thread order."""
        return self.messages[name].array.take(self.order.perm)

    def next_in(self, candidates: np.ndarray, after: np.ndarray, strict: bool = True) -> np.ndarray:
        """For each position in ``after``: the first of the sorted positions ``candidates``
        after it (at or after it with ``strict=False``) in the same thread, else -1."""
        after = np.asarray(after, dtype=np.int64)
        out = np.full(len(after), -1, dtype=np.int64)
        if len(candidates) == 0 or len(after) == 0:
            return out
        ok = after >= 0
        idx = np.searchsorted(candidates, after[ok], side="right" if strict else "left")
        found = idx < len(candidates)
        pos = np.full(len(idx), -1, dtype=np.int64)
        pos[found] = candidates[idx[found]]
        same = found.copy()
        same[found] = self.thread_code[pos[found]] == self.thread_code[after[ok][found]]
        pos[~same] = -1
        out[ok] = pos
        return out

    def previous_in(self, candidates: np.ndarray, before: np.ndarray) -> np.ndarray:
        """For each position in ``before``: the last of ``candidates`` strictly before it in
        the same thread, else -1."""
        before = np.asarray(before, dtype=np.int64)
        out = np.full(len(before), -1, dtype=np.int64)
        if len(candidates) == 0 or len(before) == 0:
            return out
        idx = np.searchsorted(candidates, before, side="left") - 1
        found = idx >= 0
        pos = np.where(found, candidates[np.maximum(idx, 0)], -1)
        same = found & (self.thread_code[np.maximum(pos, 0)] == self.thread_code[before])
        out[same] = pos[same]
        return out


def thread_view(messages: pd.DataFrame, pairs: pd.DataFrame) -> ThreadView:
    """Messages in thread order with ``pairs`` (``fct_reply_pair`` of the same messages)
    located in it."""
    messages = messages.reset_index(drop=True)
    order = thread_order(messages)
    classes = message_classes(messages)[order.perm]
    text = messages["text"].astype(object).take(order.perm).reset_index(drop=True)
    text = text.where(text.notna(), "").astype(str)
    n_pairs = len(pairs)
    if n_pairs:
        ids = pd.concat([pairs["question_message_id"], pairs["reply_message_id"]], ignore_index=True)
        ids = ids.astype(object).where(ids.notna(), "")
        positions = sorted_positions(messages, order, ids)
        question_pos, reply_pos = positions[:n_pairs], positions[n_pairs:]
    else:
        question_pos = reply_pos = np.zeros(0, dtype=np.int64)
    queue_of = np.full(len(classes), -1, dtype=np.int64)
    customer = np.flatnonzero(classes == CUSTOMER)
    known = np.flatnonzero(question_pos >= 0)
    if len(customer) and len(known):
        by_pos = known[np.argsort(question_pos[known], kind="stable")]
        starts = question_pos[by_pos]
        idx = np.searchsorted(starts, customer, side="right") - 1
        ok = idx >= 0
        ok[ok] = order.thread_code[starts[idx[ok]]] == order.thread_code[customer[ok]]
        queue_of[customer[ok]] = by_pos[idx[ok]]
    return ThreadView(
        messages=messages,
        order=order,
        classes=classes,
        sent_s=np.floor_divide(order.sent_us, 1_000_000),
        text=text,
        question_pos=question_pos,
        reply_pos=reply_pos,
        queue_of=queue_of,
    )


def queue_texts(view: ThreadView, n_pairs: int) -> np.ndarray:
    """Per pair: the text of all customer messages of its queue, joined by line breaks."""
    out = np.full(n_pairs, "", dtype=object)
    member = np.flatnonzero(view.queue_of >= 0)
    if len(member) == 0:
        return out
    owners = view.queue_of[member]
    grouping = np.argsort(owners, kind="stable")  # positions stay in thread order per queue
    owners, member = owners[grouping], member[grouping]
    pieces = (view.text.to_numpy(dtype=object)[member] + "\n").astype(object)
    heads = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    out[owners[heads]] = np.add.reduceat(pieces, heads)
    return out


# --------------------------------------------------------------------------------------------
# Intents
# --------------------------------------------------------------------------------------------


def intents_of_texts(texts: pd.Series | np.ndarray, keywords: Keywords) -> np.ndarray:
    """Intent per text by the keyword rules (complaint > quote_request > order > other)."""
    series = _as_text(texts)
    out = np.full(len(series), OTHER, dtype=object)
    for intent in reversed(INTENTS):  # the highest priority is written last
        hit = contains_any(series, keywords.intents.get(intent, ()), keywords.exclude.get(intent, ()))
        out[hit] = intent
    return out


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


def queue_intents(
    messages: pd.DataFrame, pairs: pd.DataFrame, keywords: Keywords, manual: pd.DataFrame | None = None
) -> pd.Series:
    """One intent per customer queue (row of ``pairs``): ``complaint`` | ``quote_request`` |
    ``order`` | ``other`` from the queue's customer text; ``manual`` labels
    (``marts.manual_intent_label`` rows) win."""
    index = pairs.index
    if len(pairs) == 0:
        return pd.Series(pd.array([], dtype=STRING), index=index, name="intent")
    view = thread_view(messages, pairs)
    rules = intents_of_texts(queue_texts(view, len(pairs)), keywords)
    result = pd.Series(rules, index=index, dtype=object)
    by_question, by_thread = _manual_labels(manual)
    if len(by_thread):
        labelled = pairs["thread_id"].map(by_thread)
        result = labelled.where(labelled.notna(), result)
    if len(by_question):
        labelled = pairs["question_message_id"].map(by_question)
        result = labelled.where(labelled.notna(), result)
    return pd.Series(pd.array(result.to_numpy(dtype=object), dtype=STRING), index=index, name="intent")


def read_manual_intent_labels(warehouse: Any, conn: Any, thread_ids: Iterable[str]) -> pd.DataFrame:
    """Rows of ``marts.manual_intent_label`` for the given threads (labels by question id
    name their thread too)."""
    frame = warehouse.read_df(
        "select thread_id, question_message_id, intent, file_seq, source_line from marts.manual_intent_label",
        conn=conn,
    )
    wanted = set(thread_ids)
    return frame[frame["thread_id"].isin(wanted) | frame["thread_id"].isna()].reset_index(drop=True)


def pair_intents(warehouse: Any, conn: Any, messages: pd.DataFrame, pairs: pd.DataFrame, config: Config) -> pd.Series:
    """``fct_reply_pair.intent`` for rebuilt pairs (the hook :func:`kpi_transforms.facts.rebuild_facts` calls)."""
    manual = read_manual_intent_labels(warehouse, conn, pairs["thread_id"].unique() if len(pairs) else [])
    return queue_intents(messages, pairs, load_keywords(config), manual)
