"""fct_thread (SPEC 7) on tiny hand-made threads; expected values worked out in comments."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.facts.reply_pairs import fct_reply_pair
from kpi_transforms.facts.threads import THREAD_COLUMNS, fct_thread
from tests.builders import frame, m, utc


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar.from_config(Config())


@pytest.fixture(scope="module")
def msgs() -> pd.DataFrame:
    return frame(
        # t1, customer c1: welcome bot, queue C+C(deleted) answered by a1 after 10 min, then a
        # system line and a second queue left open
        m("2025-02-10 08:59", "bot", thread="t1"),
        m("2025-02-10 09:00", "customer", thread="t1"),
        m("2025-02-10 09:01", "customer", type="deleted", thread="t1"),
        m("2025-02-10 09:10", "agent", "a1", thread="t1"),
        m("2025-02-10 09:11", "system", type="system", thread="t1", customer=None),
        m("2025-02-10 10:00", "customer", thread="t1"),
        # t2: c1 again, one day later -> not a new customer; agent-initiated only
        m("2025-02-11 09:00", "agent", "a2", thread="t2"),
        # t3: c2, in the known-customers list
        m("2025-02-10 09:00", "customer", thread="t3", customer="c2"),
        # t4: c3 ordered before the thread started; Sat 20:00 question answered Mon 08:30
        # (calendar 36.5 h = 131400 s, business 30 min = 1800 s)
        m("2025-02-15 20:00", "customer", thread="t4", customer="c3"),
        m("2025-02-17 08:30", "agent", "a2", thread="t4", customer="c3"),
        # t5: c4 ordered only after the thread -> new
        m("2025-02-10 11:00", "customer", thread="t5", customer="c4"),
        # t6: no customer id on any message -> unknown
        m("2025-02-10 11:00", "customer", thread="t6", customer=None),
    )


def test_thread_counts_and_first_response(cal, msgs):
    pairs = fct_reply_pair(msgs, cal)
    out = fct_thread(
        msgs,
        pairs,
        cal,
        first_transaction={"c2": dt.date(2024, 5, 1), "c3": dt.date(2025, 2, 1), "c4": dt.date(2025, 2, 12)},
    )
    assert list(out.columns) == list(THREAD_COLUMNS)
    assert out["thread_id"].tolist() == ["t1", "t2", "t3", "t4", "t5", "t6"]
    t1 = out.iloc[0]
    assert t1.thread_name == "Chat t1" and t1.channel == "whatsapp" and t1.customer_id == "c1"
    assert t1.first_message_at == utc("2025-02-10 08:59")
    assert t1.last_message_at == utc("2025-02-10 10:00")
    # 6 messages: 3 customer (one deleted), 1 agent, 1 bot, 1 system
    assert (t1.n_messages, t1.n_customer_messages, t1.n_agent_messages, t1.n_bot_messages,
            t1.n_system_messages) == (6, 3, 1, 1, 1)
    assert (t1.n_reply_pairs, t1.n_unanswered) == (2, 1)
    assert t1.first_response_seconds == 600 and t1.first_response_business_seconds == 600
    assert t1.primary_agent_id == "a1"

    t2 = out.iloc[1]
    assert (t2.n_reply_pairs, t2.n_unanswered, t2.n_agent_messages) == (0, 0, 1)
    assert pd.isna(t2.first_response_seconds)
    assert t2.primary_agent_id == "a2"  # fallback: most human messages when no reply

    t3 = out.iloc[2]
    assert (t3.n_reply_pairs, t3.n_unanswered) == (1, 1)
    assert pd.isna(t3.first_response_seconds) and pd.isna(t3.primary_agent_id)

    t4 = out.iloc[3]
    assert t4.first_response_seconds == 131400 and t4.first_response_business_seconds == 1800

    # new customer: t1 (c1's first thread) yes; t2 (c1 again) no; t3 on the customer list since
    # 2024; t4 ordered earlier; t5 ordered later -> new; t6 no customer id -> unknown
    assert out["is_new_customer"].tolist() == [True, False, False, False, True, pd.NA]
    assert str(out["is_new_customer"].dtype) == "boolean"
    assert str(out["first_response_seconds"].dtype) == "Int64"
    assert str(out["first_message_at"].dtype) == "datetime64[us, UTC]"


def test_earlier_thread_of_same_customer_on_another_channel(cal):
    msgs = frame(
        m("2025-02-11 09:00", "customer", thread="wa"),
        m("2025-02-10 09:00", "customer", thread="zz_mail"),
    )
    out = fct_thread(msgs, fct_reply_pair(msgs, cal))
    # zz_mail started first -> it is the new-customer thread, wa is not
    assert out.set_index("thread_id")["is_new_customer"].to_dict() == {"wa": False, "zz_mail": True}


def test_a_same_day_transaction_leaves_the_customer_new(cal):
    """The one rule (issue 13): local dates. An order at 08:00 local before a first chat at
    10:00 the same day does not make the customer old; one the day before does."""
    msgs = frame(m("2025-02-10 10:00", "customer", thread="t1", customer="c1"),
                 m("2025-02-10 10:00", "customer", thread="t2", customer="c2"))
    out = fct_thread(msgs, fct_reply_pair(msgs, cal), cal,
                     first_transaction={"c1": dt.date(2025, 2, 10), "c2": dt.date(2025, 2, 9)})
    assert out.set_index("thread_id")["is_new_customer"].to_dict() == {"t1": True, "t2": False}


def test_same_start_tie_goes_to_smaller_thread_id(cal):
    msgs = frame(m("2025-02-10 09:00", "customer", thread="b"), m("2025-02-10 09:00", "customer", thread="a"))
    out = fct_thread(msgs, fct_reply_pair(msgs, cal))
    assert out["is_new_customer"].tolist() == [True, False]


def test_first_queue_in_same_minute_uses_thread_order(cal):
    # C 09:00 (line 1), A 09:00 (line 2), C 09:00 (line 3), A 09:05: two queues with the same
    # question_at; the first one (0 s) is the thread's first response, not the 300 s one
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:00", "agent"),
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:05", "agent"),
    )
    pairs = fct_reply_pair(msgs, cal)
    out = fct_thread(msgs, pairs.iloc[::-1])  # pairs order must not matter
    assert out.iloc[0].first_response_seconds == 0
    assert out.iloc[0].n_reply_pairs == 2


def test_deterministic_under_row_shuffle(cal, msgs):
    pairs = fct_reply_pair(msgs, cal)
    expected = fct_thread(msgs, pairs, first_transaction={"c2": dt.date(2024, 5, 1)})
    for seed in range(3):
        shuffled = msgs.sample(frac=1, random_state=seed)
        got = fct_thread(shuffled, pairs.sample(frac=1, random_state=seed), first_transaction={"c2": dt.date(2024, 5, 1)})
        pd.testing.assert_frame_equal(got, expected)


def test_no_pairs(cal):
    msgs = frame(m("2025-02-10 09:00", "agent"))
    out = fct_thread(msgs, fct_reply_pair(msgs, cal))
    assert out["n_reply_pairs"].tolist() == [0] and pd.isna(out.iloc[0].first_response_seconds)
    out = fct_thread(msgs, pd.DataFrame())
    assert out["n_reply_pairs"].tolist() == [0]
