"""SLA breaches and transcripts (issue 17 item 1): `chatkpi breaches`, `chatkpi thread` and the
bi views with the same rows and keys. "Now" is the clock or --as-of, never the last message."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from kpi_transforms.cli import main
from kpi_transforms.core.periods import parse_period
from kpi_transforms.pipeline.breaches import find_breaches, parse_as_of, thread_transcript
from kpi_transforms.present.breaches import render_transcript
from kpi_transforms.warehouse.engine import Warehouse
from tests.test_bi_views import DEMO, demo_duckdb, demo_postgres, demo_url  # noqa: F401 - fixtures

UTC = dt.timezone.utc
DEWI_OPEN = "40249f4852afeec4f60b16bbd57cc2db"  # 22/02/2025 10.10, never answered
LATE_ANSWER = "aff6d692c9a46315484e5e32004c83cc"  # Fri 24/01/2025 16.55, answered Mon 27/01 08.15
BUDI_OPEN = "c514819027f286a6cef3ad54d9edc8bb"  # 08/04/2025 13.30, never answered


def test_as_of_is_local_without_an_offset():
    assert parse_as_of("2025-02-25T09:00", "Asia/Jakarta") == dt.datetime(2025, 2, 25, 2, 0, tzinfo=UTC)
    assert parse_as_of("2025-02-25T09:00+00:00", "Asia/Jakarta") == dt.datetime(2025, 2, 25, 9, 0, tzinfo=UTC)


def test_breaches_as_of_a_clock(demo_url):
    wh = Warehouse(demo_url)
    # 25/02/2025 09.00 WIB: Dewi's refund question waits since Saturday 22/02, deadline Mon 24/02 10.10.
    found = find_breaches(wh, now=dt.datetime(2025, 2, 25, 2, 0, tzinfo=UTC), period=parse_period("2025-Q1"))
    assert list(found.open["pair_id"]) == [DEWI_OPEN]
    row = found.open.iloc[0]
    assert row["overdue_seconds"] == 22 * 3600 + 50 * 60  # 24/02 03.10 UTC -> 25/02 02.00 UTC
    assert row["waiting_seconds"] == 2 * 86400 + 22 * 3600 + 50 * 60
    assert (row["agent_id"], row["channel"], row["thread_name"]) == ("rina", "whatsapp", "Dewi Lestari")
    assert row["excerpt"] == "Kak, acaranya batal, saya mau refund DP"
    assert len(row["customer_key"]) == 16 and row["customer_key"] != "Dewi Lestari"
    assert list(found.late["pair_id"]) == [LATE_ANSWER]
    assert found.late.iloc[0]["overdue_seconds"] == 159344  # deadline Sat 25/01 12.00, answer Mon 08.15.44
    # Before Monday's answer the same queue was open: a re-run with --as-of sees it so.
    before = find_breaches(wh, now=dt.datetime(2025, 1, 26, 2, 0, tzinfo=UTC))
    assert list(before.open["pair_id"]) == [LATE_ANSWER] and before.open.iloc[0]["overdue_seconds"] == 21 * 3600
    assert before.late.empty
    # The clock, not the last message: today every never-answered queue is open.
    today = find_breaches(wh)
    assert list(today.open["pair_id"]) == [DEWI_OPEN, BUDI_OPEN]
    assert today.late.empty  # the late answer is older than the 7-day window
    assert list(find_breaches(wh, agent_id="lia").open["pair_id"]) == [BUDI_OPEN]
    # The bi view lists the same queues with the same keys at the query's clock.
    view = wh.read_df("select breach_kind, pair_id, thread_id, customer_key, overdue_seconds from bi.v_sla_breaches")
    assert set(view.loc[view["breach_kind"] == "open", "pair_id"]) == {DEWI_OPEN, BUDI_OPEN}
    assert set(view.loc[view["breach_kind"] == "late", "pair_id"]) == {LATE_ANSWER}
    keys = today.open.set_index("pair_id")["customer_key"]
    assert all(keys[p] == k for p, k in zip(view["pair_id"], view["customer_key"]) if p in keys)
    wh.dispose()


def test_transcript_marks_the_pairs(demo_url):
    wh = Warehouse(demo_url)
    t = thread_transcript(wh, LATE_ANSWER)  # a pair_id finds its thread
    assert t.thread["thread_id"] == "wh_9f706292091ccd0a"
    assert list(t.messages["position"]) == list(range(1, len(t.messages) + 1))
    text = render_transcript(t)
    lines = text.splitlines()
    assert sum(line.startswith("▶ Q") for line in lines) == len(t.pairs) == 3
    assert sum(line.startswith("◀ A") for line in lines) == 3
    late = next(line for line in lines if line.startswith("◀ A3"))
    assert late.startswith("◀ A3  27/01/2025 08.15") and late.endswith("[4 jam 4 menit, TERLAMBAT]")
    view = wh.read_df("select count(*) as n from bi.v_transcript where thread_id = 'wh_9f706292091ccd0a'")
    assert int(view["n"].iloc[0]) == len(t.messages)
    wh.dispose()


def test_cli_breaches_and_thread(demo_duckdb, capsys):
    cfg = str(DEMO / "chatkpi.yaml")
    args = ["--config", cfg, "--warehouse", demo_duckdb]
    assert main([*args, "breaches", "--period", "2025-Q1", "--as-of", "2025-02-25T09:00"]) == 0
    out = capsys.readouterr().out
    assert "Antrean terbuka melewati batas 1 hari kerja (1) — per 25/02/2025 09.00, periode 2025-Q1" in out
    row = next(line for line in out.splitlines() if line.startswith("1 ") and "Dewi" in line)
    assert row.split()[1:6] == ["22/02/2025", "10.10", "22", "jam", "50"]
    assert "Jawaban terlambat (melewati batas 1 hari kerja) (1)" in out
    assert main([*args, "breaches", "--format", "json", "--as-of", "2025-02-25T09:00+07:00"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["now"] == "2025-02-25T02:00:00+00:00"
    assert [(b["breach_kind"], b["pair_id"], b["overdue_seconds"]) for b in data["breaches"]] == [("open", DEWI_OPEN, 82200)]
    assert main([*args, "breaches", "--format", "csv", "--agent", "lia", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("breach_kind,pair_id,thread_id,") and len(lines) == 2 and BUDI_OPEN in lines[1]
    assert main([*args, "breaches", "--agent", "lia", "--format", "md", "--lang", "en"]) == 0
    md = capsys.readouterr().out
    assert "## Open queues past the 1-working-day deadline (1)" in md and "| No | Waiting since | Overdue by |" in md
    assert main([*args, "thread", "wh_9f706292091ccd0a"]) == 0
    assert "TERLAMBAT" in capsys.readouterr().out
    assert main([*args, "thread", "nope"]) == 2
    assert "no thread or queue 'nope'" in capsys.readouterr().err
    assert main([*args, "breaches", "--as-of", "yesterday"]) == 2
    assert "is not an ISO 8601 time" in capsys.readouterr().err
