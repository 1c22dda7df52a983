"""fct_reply_pair (SPEC 6) on tiny hand-made threads; expected values worked out in comments.

All times are Asia/Jakarta local (UTC+7, no DST). The week used has no Indonesian holiday:
Mon 2025-02-10 .. Fri 02-14, Sat 02-15, Sun 02-16, Mon 02-17, Tue 02-18; hours Mon-Fri 08-17.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kpi_transforms.core.calendar import BusinessCalendar, in_closed_period
from kpi_transforms.core.config import ClosedPeriod, Config
from kpi_transforms.facts.ordering import primary_agents
from kpi_transforms.facts.reply_pairs import PAIR_COLUMNS, fct_reply_pair
from tests.builders import frame, m, utc  # noqa: F401 - re-exported for older imports

TZ = "Asia/Jakarta"


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar.from_config(Config())


def test_simple_pair_calendar_vs_business_seconds(cal):
    # Mon 16:00 -> Tue 09:30: calendar 17.5 h = 63000 s; business Mon 16-17 (3600) + Tue 08-09:30
    # (5400) = 9000 s. Question is working, so effective start = question; deadline Tue 16:00.
    msgs = frame(m("2025-02-10 16:00", "customer"), m("2025-02-11 09:30", "agent", "a1"))
    out = fct_reply_pair(msgs, cal)
    assert list(out.columns) == list(PAIR_COLUMNS)
    assert len(out) == 1
    row = out.iloc[0]
    assert row.calendar_seconds == 63000
    assert row.business_seconds == 9000
    assert row.question_at == utc("2025-02-10 16:00")
    assert row.question_at_local == pd.Timestamp("2025-02-10 16:00")
    assert row.effective_start_at == utc("2025-02-10 16:00")
    assert row.sla_deadline_at == utc("2025-02-11 16:00")
    assert row.reply_at == utc("2025-02-11 09:30")
    assert row.within_24h and row.within_1_working_day
    assert row.status == "answered" and bool(row.is_valid)
    assert row.agent_id == "a1" and row.customer_id == "c1" and row.channel == "whatsapp"
    assert row.question_message_id == "t1-m0" and row.reply_message_id == "t1-m1"
    assert row.n_customer_messages == 1
    assert pd.isna(row.first_auto_reply_at)
    assert row.pair_id == "t1-m0"  # a queue is identified by its question message


def test_dtypes(cal):
    out = fct_reply_pair(frame(m("2025-02-10 16:00", "customer"), m("2025-02-11 09:30", "agent")), cal)
    assert str(out["question_at"].dtype) == "datetime64[us, UTC]"
    assert str(out["reply_at"].dtype) == "datetime64[us, UTC]"
    assert str(out["question_at_local"].dtype) == "datetime64[us]"
    assert str(out["calendar_seconds"].dtype) == "Int64"
    assert str(out["within_24h"].dtype) == "boolean"
    assert out["is_valid"].dtype == bool
    assert out["n_customer_messages"].dtype == np.int64


def test_saturday_night_question_counts_from_monday(cal):
    # Sat 22:00 -> effective start Mon 08:00, deadline Tue 08:00 (SPEC 5 / seed 001).
    # Reply Mon 10:00: calendar 36 h = 129600 s (> 24 h); business Mon 08-10 = 7200 s.
    msgs = frame(m("2025-02-15 22:00", "customer"), m("2025-02-17 10:00", "agent"))
    row = fct_reply_pair(msgs, cal).iloc[0]
    assert row.effective_start_at == utc("2025-02-17 08:00")
    assert row.sla_deadline_at == utc("2025-02-18 08:00")
    assert row.calendar_seconds == 129600
    assert row.business_seconds == 7200
    assert not row.within_24h
    assert row.within_1_working_day


def test_customer_auto_reply_customer_is_one_queue(cal):
    # C 09:00, bot 09:01, C 09:02, agent 09:10: one queue of 2 messages, auto-reply 09:01,
    # calendar = 10 min = 600 s from the first customer message.
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:01", "bot"),
        m("2025-02-10 09:02", "customer"),
        m("2025-02-10 09:10", "agent"),
    )
    out = fct_reply_pair(msgs, cal)
    assert len(out) == 1
    row = out.iloc[0]
    assert row.n_customer_messages == 2
    assert row.first_auto_reply_at == utc("2025-02-10 09:01")
    assert row.calendar_seconds == 600 and row.business_seconds == 600
    assert row.reply_message_id == "t1-m3"


def test_auto_reply_flag_on_agent_role_is_not_human(cal):
    # an agent-role message flagged is_auto_reply is a bot message: it neither closes the queue
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:01", "agent", "a1", auto=True),
        m("2025-02-10 09:30", "agent", "a1"),
    )
    row = fct_reply_pair(msgs, cal).iloc[0]
    assert row.first_auto_reply_at == utc("2025-02-10 09:01")
    assert row.reply_at == utc("2025-02-10 09:30") and row.calendar_seconds == 1800


def test_auto_reply_does_not_close_queue(cal):
    # C 09:00 then only a bot answer: unanswered, auto-reply recorded, reply columns null
    msgs = frame(m("2025-02-10 09:00", "customer"), m("2025-02-10 09:01", "bot"))
    row = fct_reply_pair(msgs, cal).iloc[0]
    assert row.status == "unanswered"
    assert row.first_auto_reply_at == utc("2025-02-10 09:01")
    assert pd.isna(row.reply_at) and pd.isna(row.reply_message_id)
    assert pd.isna(row.calendar_seconds) and pd.isna(row.business_seconds)
    assert not row.is_valid


def test_bot_before_the_queue_is_not_its_auto_reply(cal):
    # a welcome bot message before the customer writes is outside the queue
    msgs = frame(m("2025-02-10 08:59", "bot"), m("2025-02-10 09:00", "customer"), m("2025-02-10 09:05", "agent"))
    row = fct_reply_pair(msgs, cal).iloc[0]
    assert pd.isna(row.first_auto_reply_at)


def test_agent_initiated_message_starts_no_pair(cal):
    # A 09:00 (follow-up, no queue), C 09:05, A 09:07: one pair of 120 s
    msgs = frame(m("2025-02-10 09:00", "agent"), m("2025-02-10 09:05", "customer"), m("2025-02-10 09:07", "agent"))
    out = fct_reply_pair(msgs, cal)
    assert len(out) == 1
    assert out.iloc[0].question_message_id == "t1-m1" and out.iloc[0].calendar_seconds == 120
    # a thread of agent messages only has no pair at all
    assert len(fct_reply_pair(frame(m("2025-02-10 09:00", "agent"), m("2025-02-11 09:00", "agent")), cal)) == 0


def test_two_queues_two_replies(cal):
    # C 09:00 / A 09:10 -> 600 s; C 10:00 / A 10:30 -> 1800 s
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:10", "agent"),
        m("2025-02-10 10:00", "customer"),
        m("2025-02-10 10:30", "agent"),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["calendar_seconds"].tolist() == [600, 1800]
    assert out["reply_message_id"].tolist() == ["t1-m1", "t1-m3"]
    assert out["pair_id"].is_unique


def test_one_reply_closes_one_queue_only(cal):
    # C 09:00, A 09:10, A 09:11 (second agent message: no queue open, no pair), C 09:20 open
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:10", "agent"),
        m("2025-02-10 09:11", "agent"),
        m("2025-02-10 09:20", "customer"),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["status"].tolist() == ["answered", "unanswered"]
    assert out["reply_message_id"].iloc[0] == "t1-m1"
    assert out["question_message_id"].tolist() == ["t1-m0", "t1-m3"]


def test_unanswered_pending_until_horizon_passes_deadline(cal):
    # C Mon 10:00 unanswered. Deadline Tue 10:00 (next working day, same wall time), 24 h ends
    # Tue 10:00 too. Default horizon = last message = Mon 10:00 -> both pending (<NA>).
    msgs = frame(m("2025-02-10 09:00", "agent", "a7"), m("2025-02-10 10:00", "customer"))
    row = fct_reply_pair(msgs, cal).iloc[0]
    assert row.status == "unanswered"
    assert row.sla_deadline_at == utc("2025-02-11 10:00")
    assert pd.isna(row.within_24h) and pd.isna(row.within_1_working_day)
    assert row.agent_id == "a7"  # the thread's primary agent (its only human agent)
    # horizon exactly at the deadline: not passed yet
    row = fct_reply_pair(msgs, cal, data_horizon=utc("2025-02-11 10:00")).iloc[0]
    assert pd.isna(row.within_24h) and pd.isna(row.within_1_working_day)
    # one second later both are false
    row = fct_reply_pair(msgs, cal, data_horizon=utc("2025-02-11 10:00:01")).iloc[0]
    assert row.within_24h == False and row.within_1_working_day == False  # noqa: E712


def test_unanswered_24h_and_working_day_deadlines_differ(cal):
    # C Fri 10:00: 24 h ends Sat 10:00, working-day deadline Mon 10:00. Horizon Sun 12:00:
    # within_24h false, within_1_working_day still pending.
    msgs = frame(m("2025-02-14 10:00", "customer"))
    row = fct_reply_pair(msgs, cal, data_horizon=utc("2025-02-16 12:00")).iloc[0]
    assert row.sla_deadline_at == utc("2025-02-17 10:00")
    assert row.within_24h == False  # noqa: E712
    assert pd.isna(row.within_1_working_day)
    assert pd.isna(row.agent_id)  # no human agent in the thread


def test_same_minute_keeps_file_order(cal):
    # Android export, minute resolution: C line 1 and A line 2 both at 09:00 -> a pair of 0 s
    msgs = frame(m("2025-02-10 09:00", "customer", line=1), m("2025-02-10 09:00", "agent", line=2))
    for shuffled in (msgs, msgs.iloc[::-1]):
        out = fct_reply_pair(shuffled, cal)
        assert len(out) == 1
        assert out.iloc[0].calendar_seconds == 0 and out.iloc[0].business_seconds == 0
        assert bool(out.iloc[0].is_valid) and bool(out.iloc[0].within_24h)
    # the same two messages in the other file order: agent first (no pair), customer unanswered
    msgs = frame(m("2025-02-10 09:00", "customer", line=2), m("2025-02-10 09:00", "agent", line=1))
    out = fct_reply_pair(msgs, cal)
    assert out["status"].tolist() == ["unanswered"]


def test_file_seq_orders_before_source_line(cal):
    # same minute, the message from the earlier-ingested file (file_seq 1) comes first even
    # though its line number is larger
    msgs = frame(
        m("2025-02-10 09:00", "agent", line=1, file_seq=2),
        m("2025-02-10 09:00", "customer", line=50, file_seq=1),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["status"].tolist() == ["answered"] and out.iloc[0].calendar_seconds == 0


def test_deleted_system_and_card_messages_are_ignored(cal):
    # C 09:00; agent's deleted marker 09:01 does not close; system line 09:02; A 09:05 closes.
    # Then a customer's deleted message 09:06 and an FAQ-card click 09:07 open no queue.
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:01", "agent", type="deleted"),
        m("2025-02-10 09:02", "system", type="system"),
        m("2025-02-10 09:05", "agent"),
        m("2025-02-10 09:06", "customer", type="deleted"),
        m("2025-02-10 09:07", "customer", type="faq_card"),
    )
    out = fct_reply_pair(msgs, cal)
    assert len(out) == 1
    assert out.iloc[0].reply_message_id == "t1-m3" and out.iloc[0].calendar_seconds == 300


def test_deleted_customer_message_does_not_split_a_queue(cal):
    # C, C-deleted, C, A: the deleted marker is skipped, so it is one queue of 2 messages
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:01", "customer", type="deleted"),
        m("2025-02-10 09:02", "customer", type="media"),
        m("2025-02-10 09:03", "agent"),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["n_customer_messages"].tolist() == [2]


def test_welcome_and_faq_cards_only_give_no_queue(cal):
    # seed 004: welcome card + FAQ-card click, no customer content -> no queue at all
    msgs = frame(
        m("2025-02-10 09:00", "bot", type="welcome_card"),
        m("2025-02-10 09:01", "customer", type="faq_card"),
        m("2025-02-10 09:01", "bot", type="faq_card"),
    )
    assert len(fct_reply_pair(msgs, cal)) == 0


def test_question_inside_closed_period_is_invalid():
    # closed Wed 2025-02-12 08:00..12:59 (both ends inclusive: runs to 13:00)
    period = ClosedPeriod(dt.datetime(2025, 2, 12, 8, 0), dt.datetime(2025, 2, 12, 12, 59))
    cal = BusinessCalendar.from_config(Config(closed_periods=(period,)))
    msgs = frame(
        m("2025-02-12 12:59:30", "customer"),  # inside -> invalid, effective start 13:00
        m("2025-02-12 13:10", "agent"),
        m("2025-02-12 13:20", "customer"),  # after the period -> valid
        m("2025-02-12 13:30", "agent"),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["is_valid"].tolist() == [False, True]
    assert out["is_in_closed_period"].tolist() == [True, False]
    assert out.iloc[0].effective_start_at == utc("2025-02-12 13:00")
    # business seconds 13:00..13:10 = 600; calendar 12:59:30..13:10 = 630
    assert out.iloc[0].business_seconds == 600 and out.iloc[0].calendar_seconds == 630
    # an explicit closed_periods argument overrides the calendar's
    out = fct_reply_pair(msgs, cal, closed_periods=())
    assert out["is_valid"].tolist() == [True, True]


def test_in_closed_period_bounds():
    period = ClosedPeriod(dt.datetime(2025, 2, 12, 8, 0), dt.datetime(2025, 2, 12, 23, 59))
    t = np.array([utc(x).value // 10**9 for x in (
        "2025-02-12 07:59:59", "2025-02-12 08:00", "2025-02-12 23:59:59", "2025-02-13 00:00")])
    assert in_closed_period(t, [period], TZ).tolist() == [False, True, True, False]


def test_holiday_mode_question_is_invalid(cal):
    msgs = frame(
        m("2025-02-10 09:00", "customer", holiday=True),
        m("2025-02-10 09:05", "agent"),
        m("2025-02-10 10:00", "customer"),
        m("2025-02-10 10:05", "agent"),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["is_valid"].tolist() == [False, True]
    # no in_holiday_mode column at all: treated as all False
    out = fct_reply_pair(msgs.drop(columns="in_holiday_mode"), cal)
    assert out["is_valid"].tolist() == [True, True]


def test_primary_agent_tie_goes_to_first_replier(cal):
    # a2 replies first (09:05), a1 later (09:15): one reply each -> tie -> a2.
    # a1's extra follow-up message (09:16, no queue open) does not count as a reply.
    msgs = frame(
        m("2025-02-10 09:00", "customer"),
        m("2025-02-10 09:05", "agent", "a2"),
        m("2025-02-10 09:10", "customer"),
        m("2025-02-10 09:15", "agent", "a1"),
        m("2025-02-10 09:16", "agent", "a1"),
        m("2025-02-10 09:20", "customer"),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["agent_id"].tolist() == ["a2", "a1", "a2"]
    assert primary_agents(msgs).to_dict() == {"t1": "a2"}
    # with a second reply a1 has the most replies and owns the open queue
    more = frame(*[dict(r) for r in _rows_of(msgs)], m("2025-02-10 09:25", "agent", "a1"),
                 m("2025-02-10 09:30", "customer"))
    out = fct_reply_pair(more, cal)
    assert out["agent_id"].tolist() == ["a2", "a1", "a1", "a1"]
    # a given primary_agents series wins
    out = fct_reply_pair(msgs, cal, primary_agents=pd.Series({"t1": "boss"}))
    assert out["agent_id"].tolist() == ["a2", "a1", "boss"]


def _rows_of(msgs: pd.DataFrame) -> list[dict]:
    """Rebuild m() rows from a frame (to extend a scenario)."""
    return [
        m(str(r.sent_at_local), r.sender_role, None if pd.isna(r.agent_id) else r.agent_id,
          type=r.message_type, auto=bool(r.is_auto_reply), thread=r.thread_id)
        for r in msgs.itertuples()
    ]


def test_threads_are_independent_and_output_sorted(cal):
    # an open queue in thread t2 is not closed by an agent message in t1
    msgs = frame(
        m("2025-02-10 09:00", "customer", thread="t2"),
        m("2025-02-10 09:01", "customer", thread="t1"),
        m("2025-02-10 09:02", "agent", thread="t1"),
    )
    out = fct_reply_pair(msgs, cal)
    assert out["thread_id"].tolist() == ["t1", "t2"]
    assert out["status"].tolist() == ["answered", "unanswered"]


def test_deterministic_under_row_shuffle(cal):
    rows = []
    for thread in ("a", "b", "c"):
        rows += [
            m("2025-02-10 09:00", "customer", thread=thread),
            m("2025-02-10 09:00", "bot", thread=thread),
            m("2025-02-10 09:00", "customer", thread=thread),
            m("2025-02-10 09:03", "agent", "a1", thread=thread),
            m("2025-02-10 16:59", "customer", thread=thread),
            m("2025-02-11 08:01", "agent", "a2", thread=thread),
            m("2025-02-15 20:00", "customer", thread=thread),
        ]
    msgs = frame(*rows)
    expected = fct_reply_pair(msgs, cal)
    assert len(expected) == 9
    for seed in range(5):
        shuffled = msgs.sample(frac=1, random_state=seed)
        pd.testing.assert_frame_equal(fct_reply_pair(shuffled, cal), expected)
    # 16:59 -> next day 08:01: calendar 15 h 2 min = 54120 s, business 60 + 60 = 120 s
    assert expected.loc[expected.thread_id == "a", "business_seconds"].iloc[1] == 120
    assert expected.loc[expected.thread_id == "a", "calendar_seconds"].iloc[1] == 54120


def test_empty_input(cal):
    out = fct_reply_pair(frame(m("2025-02-10 09:00", "agent")).iloc[:0], cal)
    assert list(out.columns) == list(PAIR_COLUMNS) and len(out) == 0
    assert str(out["question_at"].dtype) == "datetime64[us, UTC]"
