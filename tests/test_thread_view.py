"""The thread view the intent, quote, case and follow-up transforms share (SPEC 7), and the
pieces made fast for a million messages: a view built once and passed in gives the same facts
as each transform building its own; queues located by the queue rule equal queues looked up by
id; texts stay Arrow; the case chain walk equals a plain per-thread walk.

Chats come from the builders of tests/test_intents.py (Asia/Jakarta local times)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from kpi_transforms.facts.cases import CASE_WINDOW_SECONDS, _case_chain, fct_case
from kpi_transforms.facts.follow_ups import fct_follow_up
from kpi_transforms.facts.intents import intents_of_texts, queue_intents
from kpi_transforms.facts.keywords import _take, contains_any, first_category
from kpi_transforms.facts.quotes import fct_quote_response
from kpi_transforms.facts.reply_pairs import fct_reply_pair
from kpi_transforms.facts.thread_view import queue_text_array, queue_texts, thread_view
from tests.builders import chat
from tests.builders import chat_frame as frame
from tests.test_intents import cal, kw  # noqa: F401 - cal, kw: shared fixtures

TZ = "Asia/Jakarta"


@pytest.fixture(scope="module")
def msgs() -> pd.DataFrame:
    """Three threads: quotes, a complaint case, an unanswered queue, agent outreach."""
    return frame(
        chat(
            "2025-02-10 10:00 | Budi | brp harga mug?",
            "2025-02-10 10:01 | Bot | Terima kasih telah menghubungi kami",
            "2025-02-10 10:05 | Lia | sebentar ya kak",
            "2025-02-10 11:00 | Budi | kalau tumbler hrg?",
            "2025-02-10 11:30 | Rina | Mug 25rb, tumbler 45rb",
            "2025-02-11 09:00 | Budi | oke saya transfer",
            "2025-02-11 09:05 | Lia | siap",
            "2025-02-20 10:00 | Lia | kak, mau order lagi?",  # outreach
            thread="budi",
        ),
        chat(
            "2025-02-10 10:00 | Sari | Kak, mugnya datang pecah 2",
            "2025-02-10 10:10 | Lia | Mohon maaf kak, kami cek dulu",
            "2025-02-10 14:00 | Lia | Sudah kami kirim ulang 2 pcs ya",
            "2025-02-12 10:00 | Sari | sudah diterima, terima kasih",
            "2025-02-13 10:00 | Sari | yang baru juga retak kak",
            thread="sari",
        ),
        chat("2025-02-12 10:00 | Andi | halo, katalog ada?", "2025-02-12 10:01 | Andi | ?", thread="andi"),
    )


def test_queues_located_by_rule_equal_queues_looked_up_by_id(msgs, cal):
    pairs = fct_reply_pair(msgs, cal)
    by_id = thread_view(msgs, pairs)
    by_rule = thread_view(msgs, pairs, unique_ids=True)
    for name in ("question_pos", "reply_pos", "queue_of"):
        assert np.array_equal(getattr(by_id, name), getattr(by_rule, name)), name
    assert (by_rule.reply_pos == -1).sum() == 2  # andi's queue and sari's last one are unanswered
    # re-sorted pairs do not match the rule row for row: the ids are looked up instead
    shuffled = pairs.iloc[::-1].reset_index(drop=True)
    view = thread_view(msgs, shuffled, unique_ids=True)
    assert np.array_equal(view.question_pos, by_id.question_pos[::-1])
    assert np.array_equal(view.reply_pos, by_id.reply_pos[::-1])


def test_a_shared_view_gives_the_same_facts(msgs, cal, kw):
    pairs = fct_reply_pair(msgs, cal)
    view = thread_view(msgs, pairs, unique_ids=True)
    pairs["intent"] = queue_intents(msgs, pairs, kw, view=view)
    assert_series_equal(pairs["intent"], queue_intents(msgs, pairs, kw))
    horizon = pd.Timestamp("2025-03-01 00:00", tz=TZ)  # sari's second case is still open
    assert_frame_equal(fct_quote_response(msgs, pairs, cal, kw, view=view), fct_quote_response(msgs, pairs, cal, kw))
    shared = fct_case(msgs, pairs, cal, kw, data_horizon=horizon, view=view)
    assert_frame_equal(shared, fct_case(msgs, pairs, cal, kw, data_horizon=horizon))
    assert shared["status"].tolist() == ["resolved", "open"]
    follow = fct_follow_up(msgs, pairs, data_horizon=horizon, view=view)
    assert_frame_equal(follow, fct_follow_up(msgs, pairs, data_horizon=horizon))
    assert follow["agent_id"].tolist() == ["lia"]


def test_a_view_of_other_messages_is_refused(msgs, cal, kw):
    pairs = fct_reply_pair(msgs, cal)
    view = thread_view(msgs, pairs)
    pairs["intent"] = queue_intents(msgs, pairs, kw, view=view)
    with pytest.raises(ValueError, match="other messages"):
        fct_quote_response(msgs.iloc[:-1], pairs, cal, kw, view=view)


def test_queue_texts_of_some_pairs(msgs, cal):
    pairs = fct_reply_pair(msgs, cal)
    view = thread_view(msgs, pairs)
    every = queue_texts(view, len(pairs))
    rows = np.array([3, 0, 3])
    assert queue_text_array(view, len(pairs), rows).to_pylist() == every[rows].tolist()
    assert "halo, katalog ada?\n?\n" in every.tolist()


def test_text_classifiers_take_arrow_and_pandas_alike(kw):
    texts = ["Barangnya RUSAK kak", None, "kurang lebih 2 hari", "salah\nkirim", "harga mug?", ""]
    expected = intents_of_texts(pd.Series(texts, dtype=object), kw)
    assert expected.tolist() == ["complaint", "other", "other", "complaint", "quote_request", "other"]
    chunked = pa.chunked_array([pa.array(texts[:3]), pa.array(texts[3:])])
    for variant in (pd.Series(texts, dtype="string"), pd.Series(texts, dtype="str"), pa.array(texts), chunked,
                    np.array(texts, dtype=object)):
        assert intents_of_texts(variant, kw).tolist() == expected.tolist()
        assert contains_any(variant, kw.intents["complaint"], kw.exclude["complaint"]).tolist() == [
            True, False, False, True, False, False]
    assert first_category(pa.array(texts), kw).tolist() == ["rusak", "lainnya", "lainnya", "salah_kirim", "lainnya", "lainnya"]


def _walk(cthread: np.ndarray, ctime: np.ndarray, cpos: np.ndarray, resolved_at: np.ndarray) -> list[int]:
    """The case chain rule, one complaint queue at a time."""
    openings, i, n = [], 0, len(cpos)
    while i < n:
        openings.append(i)
        j = i + 1
        while j < n and cthread[j] == cthread[i] and (
            cpos[j] <= resolved_at[i] if resolved_at[i] >= 0 else ctime[j] < ctime[i] + CASE_WINDOW_SECONDS
        ):
            j += 1
        if j < n and cthread[j] != cthread[i]:  # next thread: its first complaint opens a case
            j = int(np.flatnonzero(cthread == cthread[j])[0])
        i = j
    return openings


def test_case_chain_equals_a_plain_walk():
    rng = np.random.default_rng(7)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        cthread = np.sort(rng.integers(0, 4, n))
        ctime = np.zeros(n, dtype=np.int64)
        for t in np.unique(cthread):
            at = np.flatnonzero(cthread == t)
            ctime[at] = np.sort(rng.integers(0, 90, len(at))) * 86_400  # whole days: exactly 30 days apart happens
        cpos = np.arange(n, dtype=np.int64) * 3  # room for resolving messages in between
        resolved_at = np.where(rng.random(n) < 0.6, cpos + rng.integers(1, 12, n), -1)
        last = {t: cpos[cthread == t].max() + 2 for t in np.unique(cthread)}
        resolved_at = np.where(resolved_at > np.array([last[t] for t in cthread]), -1, resolved_at)

        class View:  # what _case_chain reads of a ThreadView
            thread_code = np.repeat(cthread, 3)
            sent_s = np.repeat(ctime, 3)

        assert _case_chain(View, cpos, resolved_at).tolist() == _walk(cthread, ctime, cpos, resolved_at)


def test_take_gathers_from_the_chunks_of_a_column():
    rng = np.random.default_rng(3)
    values = [f"m{i}" if i % 7 else None for i in range(50)]
    for sizes in ([50], [10, 0, 25, 15], [0, 50, 0], [1] * 50):
        bounds = np.cumsum([0, *sizes])
        chunked = pa.chunked_array([pa.array(values[a:b], pa.large_string()) for a, b in zip(bounds[:-1], bounds[1:])],
                                   type=pa.large_string())
        for rows in (rng.integers(-1, 50, 80), np.arange(50), np.array([], dtype=np.int64), np.array([-1, -1])):
            expected = [None if r < 0 else values[r] for r in rows]
            assert _take(chunked, rows).to_pylist() == expected
            assert _take(pa.array(values, pa.large_string()), rows).to_pylist() == expected
    assert _take(pa.chunked_array([], type=pa.large_string()), np.array([-1])).to_pylist() == [None]


def test_fct_thread_with_the_shared_view_equals_fct_thread_alone(msgs, cal):
    """rebuild_facts hands its thread view to fct_thread (no second sort, no id look-up)."""
    from kpi_transforms.facts.threads import fct_thread

    shuffled = msgs.sample(frac=1.0, random_state=3).reset_index(drop=True)
    pairs = fct_reply_pair(shuffled, cal)
    view = thread_view(shuffled, pairs, unique_ids=True)
    alone = fct_thread(shuffled, pairs, cal)
    assert len(alone) >= 3 and alone["primary_agent_id"].notna().any()
    assert_frame_equal(fct_thread(shuffled, pairs, cal, view=view), alone)
    with pytest.raises(ValueError, match="not of these messages"):
        fct_thread(shuffled.iloc[1:], pairs, cal, view=view)
