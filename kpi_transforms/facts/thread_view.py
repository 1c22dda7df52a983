"""The per-queue view of a set of threads (thread order, message classes, texts and queue
positions), built once per fact build and shared by the intents, quotes, cases, follow-ups and
thread facts.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpi_transforms.facts.keywords import _arrow_column, _arrow_strings, _arrow_text, _is_arrow_string, _take
from kpi_transforms.facts.ordering import CUSTOMER, HUMAN, ThreadOrder, message_classes, sorted_positions, thread_order


# --------------------------------------------------------------------------------------------
# Messages in thread order, with the queues located in it
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
