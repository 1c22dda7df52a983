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
    HUMAN,
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


def _is_arrow_string(dtype: Any) -> bool:
    """True for pandas string columns that hold Arrow memory (``string[pyarrow]``, ``str``,
    ``ArrowDtype(string)``): they convert to Arrow without copying a single string."""
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        return pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    return False


def _arrow_strings(values: Any) -> pa.Array:
    """``values`` as one contiguous Arrow large_string array, missing values kept as null.

    Arrow arrays and Arrow-backed pandas strings are used as they are (no Python objects: the
    conversion through ``astype(object)`` costs seconds on a million messages); anything else
    (object columns, NumPy arrays) goes through ``str()`` as before."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        array = values
    elif isinstance(values, pd.Series) and _is_arrow_string(values.dtype):
        array = pa.array(values.array)
    else:
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        missing = series.isna().to_numpy()
        return pa.array([None if gone else str(v) for v, gone in zip(series.astype(object), missing)], type=pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if not pa.types.is_large_string(array.type):
        array = array.cast(pa.large_string())
    return array


def _arrow_column(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A message column as Arrow without copying: the chunks of an Arrow-backed column as they
    are (pandas' ``__arrow_array__`` protocol; a million-row column read from the warehouse
    arrives in several chunks, and combining them would copy every string), else converted."""
    if _is_arrow_string(values.dtype):
        return values.array.__arrow_array__()
    return _arrow_strings(values)


def _arrow_text(texts: Any) -> pa.Array:
    """Texts as one Arrow large_string array, missing -> "" (other values as ``str()``)."""
    array = _arrow_strings(texts)
    return array.fill_null("") if array.null_count else array


def _matches(array: pa.Array, pattern: str) -> np.ndarray:
    """Bool per (non-null) text: the RE2 ``pattern`` matches somewhere in it."""
    return pc.match_substring_regex(array, pattern).to_numpy(zero_copy_only=False, writable=True)


def _take(array: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``array[rows]`` as one contiguous Arrow array; rows of -1 give null.

    A ChunkedArray (a column as the warehouse read delivered it) is gathered chunk by chunk:
    Arrow's own take on a chunked string column first concatenates all chunks, i.e. copies
    the whole column (every text of a million messages) for each call, however few rows are
    wanted."""
    rows = np.asarray(rows, dtype=np.int64)
    missing = rows < 0
    if isinstance(array, pa.ChunkedArray):
        if len(array) == 0:
            return pa.nulls(len(rows), array.type)
        if array.num_chunks == 1:
            array = array.chunk(0)
        else:
            lengths = np.array([len(c) for c in array.chunks], dtype=np.int64)
            starts = np.cumsum(lengths) - lengths
            wanted = np.where(missing, 0, rows)
            chunk = np.searchsorted(starts, wanted, side="right") - 1  # empty chunks are skipped
            order = np.argsort(chunk, kind="stable")
            bounds = np.searchsorted(chunk[order], np.arange(array.num_chunks + 1))
            pieces = [
                array.chunk(c).take(pa.array(wanted[order[bounds[c]:bounds[c + 1]]] - starts[c]))
                for c in range(array.num_chunks)
                if bounds[c + 1] > bounds[c]
            ]
            if not pieces:  # no rows wanted
                return pa.array([], type=array.type)
            gathered = pa.concat_arrays(pieces)  # the rows grouped by chunk
            back = np.empty(len(rows), dtype=np.int64)
            back[order] = np.arange(len(rows), dtype=np.int64)
            if not missing.any() and np.array_equal(back, np.arange(len(rows))):
                return gathered
            return gathered.take(pa.array(back, mask=missing))
    return array.take(pa.array(rows, mask=missing))


def contains_any(texts: pd.Series | np.ndarray | pa.Array, phrases: Iterable[str], exclude: Iterable[str] = ()) -> np.ndarray:
    """Bool per text: one of ``phrases`` occurs as a whole word / phrase, case-insensitive,
    after the ``exclude`` phrases were taken out of the text (Arrow string kernels)."""
    pattern = phrase_regex(phrases)
    array = _arrow_text(texts)
    if pattern is None or len(array) == 0:
        return np.zeros(len(array), dtype=bool)
    hit = _matches(array, pattern)
    removed = phrase_regex(exclude)
    if removed is not None:
        # Every text with an excluded phrase is tested again without it, hit or not: taking a
        # phrase out joins its neighbours, which can make a phrase of the list appear.
        rows = np.flatnonzero(_matches(array, removed))
        if len(rows):
            cleaned = _take(array, rows)
            # twice: a match uses up the edge character it shares with an adjacent phrase
            for _ in range(2):
                cleaned = pc.replace_substring_regex(cleaned, removed, r"\1 \2")
            hit[rows] = _matches(cleaned, pattern)
    return hit


def contains_regex(texts: pd.Series | np.ndarray | pa.Array, patterns: Iterable[str]) -> np.ndarray:
    """Bool per text: one of the RE2 regular expressions ``patterns`` matches (case-insensitive)."""
    pats = [p for p in patterns if p]
    array = _arrow_text(texts)
    if not pats or len(array) == 0:
        return np.zeros(len(array), dtype=bool)
    joined = "(?i)" + "|".join(f"(?:{p})" for p in pats)
    return _matches(array, joined)


def _first_match(texts: Any, lists: Iterable[tuple[Iterable[str], Iterable[str]]]) -> np.ndarray:
    """Per text: the index of the first ``(phrases, exclude)`` of ``lists`` that matches, else -1.

    A list is only tested on the texts no earlier list matched: the result is the same as
    testing every list on every text and taking the first hit, with less text to scan. (While
    most texts are left, scanning them all beats copying those out.)"""
    array = _arrow_text(texts)
    out = np.full(len(array), -1, dtype=np.int64)
    rest = np.arange(len(array), dtype=np.int64)
    for i, (phrases, exclude) in enumerate(lists):
        if len(rest) == 0:
            break
        if 2 * len(rest) > len(array):
            hit = contains_any(array, phrases, exclude)[rest]
        else:
            hit = contains_any(_take(array, rest), phrases, exclude)
        out[rest[hit]] = i
        rest = rest[~hit]
    return out


def first_category(texts: pd.Series | np.ndarray | pa.Array, keywords: Keywords, default: str = "lainnya") -> np.ndarray:
    """Complaint category per text: the first of ``keywords.complaint_categories`` with a match."""
    names = list(keywords.complaint_categories)
    exclude = keywords.exclude.get("complaint", ())
    first = _first_match(texts, [(keywords.complaint_categories[name], exclude) for name in names])
    return np.array([*names, default], dtype=object)[first]  # -1 -> the default (last entry)


# --------------------------------------------------------------------------------------------
# Messages in thread order, with the queues located in it
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ThreadView:
    """Messages in thread order; per-message arrays are aligned with the sorted rows, per-pair
    arrays with the rows of ``pairs`` (reset to 0..n-1).

    :func:`kpi_transforms.facts.rebuild_facts` builds it once per rebuild and hands it to the
    intent, quote, case and follow-up transforms (each builds its own when called alone)."""

    messages: pd.DataFrame  # input messages, index 0..n-1
    order: ThreadOrder
    classes: np.ndarray  # IGNORED / CUSTOMER / HUMAN / BOT per sorted position
    sent_s: np.ndarray  # sent_at, UTC epoch seconds
    # message text as Arrow, in *input* order (missing = null): only the texts a transform
    # classifies are put into thread order (:meth:`text_at`), never the whole column
    input_text: pa.Array | pa.ChunkedArray
    question_pos: np.ndarray  # per pair: sorted position of its first customer message (-1 unknown)
    reply_pos: np.ndarray  # per pair: sorted position of its reply (-1 unanswered)
    queue_of: np.ndarray  # per sorted position: the pair row whose queue holds this customer message, else -1

    @property
    def thread_code(self) -> np.ndarray:
        return self.order.thread_code

    def column(self, name: str) -> pd.api.extensions.ExtensionArray:
        """A message column in thread order."""
        return self.messages[name].array.take(self.order.perm)

    def column_at(self, name: str, positions: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """A message column at the sorted ``positions`` only (-1 -> missing)."""
        positions = np.asarray(positions, dtype=np.int64)
        rows = np.where(positions >= 0, self.order.perm[np.maximum(positions, 0)], -1)
        values = self.messages[name]
        if _is_arrow_string(values.dtype):  # gathered from the column's chunks (see _take)
            return values.dtype.__from_arrow__(_take(_arrow_column(values), rows))
        return values.array.take(rows, allow_fill=True)

    def text_at(self, positions: np.ndarray) -> pa.Array:
        """The texts (missing -> "") at the sorted ``positions``, as one Arrow large_string array."""
        return _arrow_text(_take(self.input_text, self.order.perm[np.asarray(positions, dtype=np.int64)]))

    def check(self, messages: pd.DataFrame, pairs: pd.DataFrame) -> ThreadView:
        """This view, after a cheap check that it was built from ``messages`` and ``pairs``."""
        if len(self.messages) != len(messages) or len(self.question_pos) != len(pairs):
            raise ValueError("thread view built from other messages / pairs")
        return self

    def from_first(self, positions: np.ndarray, starts: np.ndarray, strict: bool = False) -> np.ndarray:
        """Bool per sorted position in ``positions``: it comes at or after (after, ``strict``)
        the first of the sorted positions ``starts`` in its thread. Messages before that can
        never be what a search from one of ``starts`` finds, so they need not be classified."""
        positions = np.asarray(positions, dtype=np.int64)
        starts = np.asarray(starts, dtype=np.int64)
        starts = starts[starts >= 0]
        first = np.full(len(self.order.thread_ids), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, self.thread_code[starts], starts)
        limit = first[self.thread_code[positions]]
        return positions > limit if strict else positions >= limit

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


def _queue_candidates(order: ThreadOrder, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(question, reply) sorted positions of every customer queue, in thread order, by the
    queue rule of SPEC 6 that :func:`~kpi_transforms.reply_pairs.fct_reply_pair` applies: a
    queue is a maximal run of customer messages (bots are transparent), its reply the human
    message right after it (-1 when the thread ends first)."""
    empty = np.zeros(0, dtype=np.int64)
    ch_pos = np.flatnonzero((classes == CUSTOMER) | (classes == HUMAN))
    if len(ch_pos) == 0:
        return empty, empty
    ch_cust = classes[ch_pos] == CUSTOMER
    ch_thread = order.thread_code[ch_pos]
    new_thread = np.r_[True, ch_thread[1:] != ch_thread[:-1]]
    starts = np.flatnonzero(ch_cust & (new_thread | ~np.r_[False, ch_cust[:-1]]))
    # a run of customer messages ends at the next human message or the next thread
    breaks = np.flatnonzero(~ch_cust | new_thread)
    ends = np.append(breaks, len(ch_pos))[np.searchsorted(breaks, starts, side="right")]
    answered = ends < len(ch_pos)
    answered[answered] = ~new_thread[ends[answered]]  # a break inside the thread is a human message
    reply = np.full(len(starts), -1, dtype=np.int64)
    reply[answered] = ch_pos[ends[answered]]
    return ch_pos[starts], reply


def _positions_by_rule(
    messages: pd.DataFrame, order: ThreadOrder, classes: np.ndarray, pairs: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray] | None:
    """(question_pos, reply_pos) of ``pairs`` without looking any id up, or None.

    ``fct_reply_pair`` returns its rows in thread order, so its queues are the ones
    :func:`_queue_candidates` finds, row for row. That is checked, not assumed: every
    question and reply id must equal the message id at the candidate position (the few
    hundred thousand string comparisons cost a fraction of hashing a million ids). With
    unique message ids that proves the positions are the ones an id lookup would give; any
    difference (pairs re-sorted or filtered, another queue rule) returns None."""
    question, reply = _queue_candidates(order, classes)
    if len(question) != len(pairs):
        return None
    ids = _arrow_column(messages["message_id"])
    want_q = _arrow_strings(pairs["question_message_id"])
    got_q = _arrow_strings(_take(ids, order.perm[question]))
    if want_q.null_count or got_q.null_count or not pc.all(pc.equal(got_q, want_q)).as_py():
        return None
    answered = reply >= 0
    want_r = _arrow_strings(pairs["reply_message_id"])
    if not np.array_equal(want_r.is_valid().to_numpy(zero_copy_only=False), answered):
        return None
    if answered.any():
        got_r = _arrow_strings(_take(ids, order.perm[reply[answered]]))
        if got_r.null_count or not pc.all(pc.equal(got_r, _take(want_r, np.flatnonzero(answered)))).as_py():
            return None
    return question, reply


def thread_view(messages: pd.DataFrame, pairs: pd.DataFrame, *, unique_ids: bool = False) -> ThreadView:
    """Messages in thread order with ``pairs`` (``fct_reply_pair`` of the same messages)
    located in it.

    ``unique_ids``: the caller guarantees that ``message_id`` is unique and never empty in
    ``messages`` (true of ``marts.fct_message``, whose key it is). The queues are then located
    by the queue rule and checked id by id (:func:`_positions_by_rule`) before falling back to
    looking every id up; without the guarantee a duplicate id could point elsewhere."""
    messages = messages.reset_index(drop=True)
    order = thread_order(messages)
    classes = message_classes(messages)[order.perm]
    input_text = _arrow_column(messages["text"])
    n_pairs = len(pairs)
    located = _positions_by_rule(messages, order, classes, pairs) if unique_ids and n_pairs else None
    if located is not None:
        question_pos, reply_pos = located
    elif n_pairs:
        # look every id up; missing reply ids as "" (no message has that id)
        ids = pd.concat([pairs["question_message_id"], pairs["reply_message_id"]], ignore_index=True).fillna("")
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
        input_text=input_text,
        question_pos=question_pos,
        reply_pos=reply_pos,
        queue_of=queue_of,
    )


_LARGE_EMPTY = pa.scalar("", pa.large_string())
_LARGE_NEWLINE = pa.scalar("\n", pa.large_string())


def queue_text_array(view: ThreadView, n_pairs: int, rows: np.ndarray | None = None) -> pa.Array:
    """Per pair (only the pair rows ``rows``, in that order, when given): the text of all
    customer messages of its queue, each followed by a line break ("" for none), as Arrow.

    The texts are joined by Arrow (a list array per queue, ``binary_join``), not by adding
    Python strings."""
    member = np.flatnonzero(view.queue_of >= 0)
    owners = view.queue_of[member]
    if rows is not None:
        wanted = np.zeros(n_pairs, dtype=bool)
        wanted[rows] = True
        keep = wanted[owners]
        member, owners = member[keep], owners[keep]
    size = n_pairs if rows is None else len(rows)
    if len(member) == 0:
        return pa.array([""] * size, type=pa.large_string())
    grouping = np.argsort(owners, kind="stable")  # positions stay in thread order per queue
    owners, member = owners[grouping], member[grouping]
    heads = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    offsets = pa.array(np.append(heads, len(member)).astype(np.int64), type=pa.int64())
    lists = pa.LargeListArray.from_arrays(offsets, view.text_at(member))
    joined = pc.binary_join_element_wise(pc.binary_join(lists, _LARGE_NEWLINE), _LARGE_EMPTY, _LARGE_NEWLINE)
    slot = np.full(n_pairs, -1, dtype=np.int64)
    slot[owners[heads]] = np.arange(len(heads), dtype=np.int64)
    if rows is not None:
        slot = slot[np.asarray(rows, dtype=np.int64)]
    if np.array_equal(slot, np.arange(len(joined))):  # the usual case: every queue has its texts, in order
        return joined
    return joined.take(pa.array(slot, mask=slot < 0)).fill_null("")


def queue_texts(view: ThreadView, n_pairs: int) -> np.ndarray:
    """Per pair: the text of all customer messages of its queue, joined by line breaks."""
    return np.asarray(queue_text_array(view, n_pairs).to_numpy(zero_copy_only=False), dtype=object)


# --------------------------------------------------------------------------------------------
# Intents
# --------------------------------------------------------------------------------------------


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


def read_manual_intent_labels(warehouse: Any, conn: Any, thread_ids: Iterable[str]) -> pd.DataFrame:
    """Rows of ``marts.manual_intent_label`` for the given threads (labels by question id
    name their thread too)."""
    frame = warehouse.read_df(
        "select thread_id, question_message_id, intent, file_seq, source_line from marts.manual_intent_label",
        conn=conn,
    )
    wanted = set(thread_ids)
    return frame[frame["thread_id"].isin(wanted) | frame["thread_id"].isna()].reset_index(drop=True)


def pair_intents(
    warehouse: Any, conn: Any, messages: pd.DataFrame, pairs: pd.DataFrame, config: Config, *, view: ThreadView | None = None
) -> pd.Series:
    """``fct_reply_pair.intent`` for rebuilt pairs (the hook :func:`kpi_transforms.facts.rebuild_facts` calls)."""
    manual = read_manual_intent_labels(warehouse, conn, pairs["thread_id"].unique() if len(pairs) else [])
    return queue_intents(messages, pairs, load_keywords(config), manual, view=view)
