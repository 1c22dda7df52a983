"""Property tests (hypothesis) for fct_reply_pair: random role sequences per thread against a
plain-Python reference walk of SPEC 6, plus the invariants the data-quality gate relies on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.facts.reply_pairs import fct_reply_pair
from tests.builders import frame, m

CAL = BusinessCalendar.from_config(Config())
START = dt.datetime(2025, 2, 3, 7, 0)  # a Monday; random gaps walk over nights and weekends

message = st.tuples(
    st.sampled_from(["customer", "customer", "customer", "agent", "agent", "bot", "system"]),
    st.sampled_from(["text", "text", "text", "media", "deleted", "faq_card"]),
    st.sampled_from([0, 0, 1, 5, 59, 600, 1500, 3000]),  # minutes after the previous message
    st.booleans(),  # is_auto_reply for agent rows (rarely true below)
    st.sampled_from(["a1", "a2"]),
)
threads = st.lists(st.lists(message, min_size=0, max_size=14), min_size=1, max_size=4)


def build(spec: list[list[tuple]]) -> pd.DataFrame:
    rows = []
    for t, msgs in enumerate(spec):
        when = START + dt.timedelta(hours=5 * t)
        for i, (role, mtype, gap, auto, agent) in enumerate(msgs):
            when += dt.timedelta(minutes=gap)
            if role == "system":
                mtype = "system"
            rows.append(
                m(when.strftime("%Y-%m-%d %H:%M"), role, agent if role == "agent" else None, type=mtype,
                  auto=(role == "bot") or (role == "agent" and auto and i % 3 == 0), thread=f"t{t}",
                  line=i + 1, file_seq=t + 1)
            )
    if not rows:
        return frame(m("2025-02-03 07:00", "agent")).iloc[:0]
    return frame(*rows)


def reference(msgs: pd.DataFrame) -> list[tuple]:
    """SPEC 6 walked message by message: (question id, n customer, first auto id, reply id)."""
    out = []
    ordered = msgs.sort_values(["thread_id", "sent_at", "file_seq", "source_line"])
    for _, thread in ordered.groupby("thread_id", sort=True):
        queue = None
        for r in thread.itertuples():
            if r.sender_role == "system" or r.message_type in ("system", "deleted"):
                continue
            if r.sender_role == "customer":
                if r.message_type in ("faq_card", "welcome_card"):
                    continue
                if queue is None:
                    queue = [r.message_id, 0, None, None]
                queue[1] += 1
            elif r.sender_role == "agent" and not r.is_auto_reply and r.message_type not in ("faq_card", "welcome_card"):
                if queue is not None:
                    queue[3] = r.message_id
                    out.append(tuple(queue))
                    queue = None
            elif queue is not None and queue[2] is None:  # bot / auto-reply inside the queue
                queue[2] = r.message_id
        if queue is not None:
            out.append(tuple(queue))
    return out


def as_tuples(pairs: pd.DataFrame, msgs: pd.DataFrame) -> list[tuple]:
    time_of = dict(zip(msgs["message_id"], msgs["sent_at"]))
    ref_auto = {}
    for q, _n, auto, _r in reference(msgs):
        ref_auto[q] = auto
    out = []
    for r in pairs.itertuples():
        auto = ref_auto.get(r.question_message_id)
        # the first auto-reply is compared by time (two bots in the same minute are equivalent)
        if pd.isna(r.first_auto_reply_at):
            auto_id = None
        else:
            assert auto is not None and time_of[auto] == r.first_auto_reply_at
            auto_id = auto
        out.append((r.question_message_id, r.n_customer_messages, auto_id,
                    None if pd.isna(r.reply_message_id) else r.reply_message_id))
    return out


@settings(max_examples=200, deadline=None)
@given(threads)
def test_matches_reference_walk(spec):
    msgs = build(spec)
    pairs = fct_reply_pair(msgs, CAL)
    assert as_tuples(pairs, msgs) == reference(msgs)


@settings(max_examples=200, deadline=None)
@given(threads, st.randoms(use_true_random=False))
def test_invariants(spec, rnd):
    msgs = build(spec)
    pairs = fct_reply_pair(msgs, CAL)
    answered = pairs[pairs["status"] == "answered"]
    human = (msgs["sender_role"] == "agent") & ~msgs["is_auto_reply"] & ~msgs["message_type"].isin(["deleted", "faq_card"])
    # each human message closes at most one queue
    assert len(answered) <= int(human.sum())
    assert answered["reply_message_id"].is_unique
    assert pairs["pair_id"].is_unique and pairs["question_message_id"].is_unique
    assert (answered["reply_at"] >= answered["question_at"]).all()
    assert (answered["business_seconds"] <= answered["calendar_seconds"]).all()
    assert (answered["business_seconds"] >= 0).all()
    assert (answered["effective_start_at"] >= answered["question_at"]).all()
    assert (pairs["sla_deadline_at"] > pairs["effective_start_at"]).all()
    assert (answered["within_24h"] == (answered["calendar_seconds"] <= 86400)).all()
    assert (answered["within_1_working_day"] == (answered["reply_at"] <= answered["sla_deadline_at"])).all()
    unanswered = pairs[pairs["status"] == "unanswered"]
    assert unanswered["reply_at"].isna().all() and unanswered["calendar_seconds"].isna().all()
    assert not unanswered["is_valid"].any()
    # every run of customer content yields exactly one pair: runs counted per thread
    n_runs = 0
    for _, t in msgs.sort_values(["thread_id", "sent_at", "file_seq", "source_line"]).groupby("thread_id"):
        prev_customer = False
        for r in t.itertuples():
            if r.sender_role == "customer" and r.message_type not in ("deleted", "faq_card"):
                n_runs += not prev_customer
                prev_customer = True
            elif r.sender_role == "agent" and not r.is_auto_reply and r.message_type not in ("deleted", "faq_card"):
                prev_customer = False
    assert len(pairs) == n_runs
    # invariant under shuffling the input rows
    order = list(range(len(msgs)))
    rnd.shuffle(order)
    pd.testing.assert_frame_equal(fct_reply_pair(msgs.iloc[order], CAL), pairs)


@pytest.mark.parametrize("horizon_days", [0, 1, 3, 30])
def test_pending_flags_only_on_unanswered(horizon_days):
    msgs = build([[("customer", "text", 0, False, "a1"), ("agent", "text", 5, False, "a1"),
                   ("customer", "text", 5, False, "a1")]])
    horizon = msgs["sent_at"].max() + pd.Timedelta(days=horizon_days)
    pairs = fct_reply_pair(msgs, CAL, data_horizon=horizon)
    answered = pairs[pairs["status"] == "answered"]
    assert answered["within_24h"].notna().all()
    open_row = pairs[pairs["status"] == "unanswered"].iloc[0]
    # question Mon 07:10 (before opening): effective 08:00, deadline Tue 08:00
    if horizon_days >= 3:
        assert open_row.within_24h == False and open_row.within_1_working_day == False  # noqa: E712
    elif horizon_days == 1:  # horizon Tue 07:10: 24 h passed at 07:10 exactly -> not yet
        assert pd.isna(open_row.within_24h) and pd.isna(open_row.within_1_working_day)
    else:
        assert pd.isna(open_row.within_24h) and pd.isna(open_row.within_1_working_day)
    assert np.all(pairs["n_customer_messages"] >= 1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=60),
)
def test_lexsort_matches_numpy_on_keys_with_ties(rows):
    """The quicksort-then-fix-ties order equals np.lexsort wherever rows differ on some key
    (rows equal on every key may come in any order: thread_order breaks those by message_id)."""
    from kpi_transforms.facts.ordering import _lexsort

    keys = [np.array([r[k] for r in rows], dtype=np.int64) for k in range(3)]
    got = _lexsort([k.copy() for k in keys])
    want = np.lexsort(keys[::-1])
    assert sorted(got.tolist()) == list(range(len(rows)))
    assert [tuple(k[got]) for k in keys] == [tuple(k[want]) for k in keys]
