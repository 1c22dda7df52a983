"""Complaint cases (SPEC 7) on tiny hand-made chats: resolution sources, the 30-day rule,
categories and repeats. Times are Asia/Jakarta local; Mon 2025-02-10 .. Fri 02-14 has no
holiday; hours Mon-Fri 08-17 (9 h = 32400 s a day)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.facts.cases import CASE_COLUMNS, fct_case, repeat_flags
from kpi_transforms.facts.keywords import load_keywords
from kpi_transforms.pipeline.facts import REPEAT_SQL, rebuild_facts
from kpi_transforms.pipeline.kpis import compute_period_kpis
from kpi_transforms.warehouse.engine import Warehouse
from tests.builders import chat, with_intents
from tests.builders import chat_frame as frame

TZ = "Asia/Jakarta"


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar.from_config(Config())


@pytest.fixture(scope="module")
def kw():
    return load_keywords()


def cases_of(msgs: pd.DataFrame, cal, kw, *, horizon: str | None = None, manual: pd.DataFrame | None = None) -> pd.DataFrame:
    pairs = with_intents(msgs, cal, kw)
    at = pd.Timestamp(horizon, tz=TZ) if horizon else None
    return fct_case(msgs, pairs, cal, kw, data_horizon=at, manual=manual).sort_values("opened_at").reset_index(drop=True)


def local(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).tz_convert(TZ).strftime("%Y-%m-%d %H:%M")


def test_resolved_by_an_agent_resolution_phrase(cal, kw):
    msgs = frame(chat(
        "2025-02-10 10:00 | Budi | Kak, mugnya datang pecah 2",
        "2025-02-10 10:10 | Lia | Mohon maaf kak, kami cek dulu",
        "2025-02-10 14:00 | Lia | Sudah kami kirim ulang 2 pcs ya",
    ))
    (case,) = cases_of(msgs, cal, kw).to_dict("records")
    assert list(cases_of(msgs, cal, kw).columns) == list(CASE_COLUMNS)
    assert case["category"] == "rusak" and case["agent_id"] == "lia"
    assert case["first_response_business_seconds"] == 600
    assert (case["resolution_source"], case["status"], local(case["resolved_at"])) == ("agent_phrase", "resolved", "2025-02-10 14:00")
    assert case["resolution_business_seconds"] == 4 * 3600
    assert case["resolution_message_id"] == "t1-m2"


def test_resolved_by_a_customer_confirmation_after_the_first_reply(cal, kw):
    msgs = frame(chat(
        # "sudah sampai" inside a complaint is no confirmation: the case opens (category kurang)
        "2025-02-10 10:00 | Budi | Barang sudah sampai tapi kurang 2",
        "2025-02-10 10:01 | Budi | oke terima kasih",  # before any reply: not a resolution
        "2025-02-10 10:30 | Lia | Mohon maaf, kekurangan kami kirim besok",
        "2025-02-11 09:00 | Budi | Oke sudah diterima, terima kasih",
    ))
    (case,) = cases_of(msgs, cal, kw).to_dict("records")
    assert case["category"] == "kurang"
    assert (case["resolution_source"], local(case["resolved_at"])) == ("customer_confirmation", "2025-02-11 09:00")
    assert case["resolution_business_seconds"] == 7 * 3600 + 3600  # Mon 10-17 + Tue 08-09


def test_open_then_unresolved_after_30_days_and_a_new_case_after_that(cal, kw):
    msgs = frame(chat(
        "2025-02-10 10:00 | Budi | paket saya belum sampai",        # case 1 opens (telat)
        "2025-02-10 10:05 | Lia | kami cek ke kurir",
        "2025-02-12 10:00 | Budi | barangnya juga rusak",            # case 1 is open: joins it
        "2025-02-12 10:05 | Lia | mohon maaf",
        "2025-03-12 10:01 | Lia | sudah kami kirim ulang",           # 30 x 24 h + 1 min: too late for case 1
        "2025-03-13 10:00 | Budi | kak, tumblernya pecah",           # after the 30 days: case 2
        "2025-03-13 10:05 | Lia | mohon maaf kak",
    ))
    cases = cases_of(msgs, cal, kw)
    assert len(cases) == 2
    first, second = cases.to_dict("records")
    assert (first["category"], first["status"], first["resolution_source"]) == ("telat", "unresolved", "unresolved")
    assert pd.isna(first["resolved_at"]) and local(first["closed_at"]) == "2025-03-12 10:00"
    assert (second["category"], second["status"]) == ("rusak", "open")
    assert pd.isna(second["resolution_source"])
    # with a data horizon only 10 days after the opening, case 1 would still be open
    early = cases_of(frame(chat("2025-02-10 10:00 | Budi | paket belum sampai", "2025-02-10 10:05 | Lia | maaf")), cal, kw,
                     horizon="2025-02-20 10:00")
    assert early["status"].tolist() == ["open"] and pd.isna(early.loc[0, "closed_at"])


def test_resolution_inside_the_30_days_counts_at_the_limit(cal, kw):
    msgs = frame(chat(
        "2025-02-10 10:00 | Budi | mug pecah",
        "2025-02-10 10:05 | Lia | maaf kak",
        "2025-03-12 10:00 | Lia | sudah kami ganti ya",   # exactly 30 x 24 h later: still inside
    ))
    (case,) = cases_of(msgs, cal, kw).to_dict("records")
    assert case["status"] == "resolved" and case["resolution_source"] == "agent_phrase"


@pytest.mark.parametrize(
    "case_ref, resolved_at, resolution, expected",
    [
        ("t1-m0", "2025-02-11 10:00", "resolved", ("resolved", "manual", "2025-02-11 10:00")),  # by case id
        ("2025-02-10 10:00", "2025-02-11 11:00", "resolved", ("resolved", "manual", "2025-02-11 11:00")),  # by opening time
        ("", "2025-02-11 12:00", "resolved", ("resolved", "manual", "2025-02-11 12:00")),  # the case open then
        ("", None, "unresolved", ("unresolved", "manual", "")),
    ],
)
def test_manual_resolution_wins(case_ref, resolved_at, resolution, expected, cal, kw):
    msgs = frame(chat(
        "2025-02-10 10:00 | Budi | mug pecah",
        "2025-02-10 10:05 | Lia | maaf kak, sudah kami ganti",  # the heuristic would resolve at 10:05
    ))
    local_at = pd.Timestamp(resolved_at) if resolved_at else pd.NaT
    manual = pd.DataFrame({
        "thread_id": ["t1"], "case_ref": [case_ref],
        "resolved_at": [local_at.tz_localize(TZ).tz_convert("UTC") if resolved_at else pd.NaT],
        "resolved_at_local": [local_at], "resolution": [resolution], "file_seq": [1], "source_line": [2],
    })
    (case,) = cases_of(msgs, cal, kw, manual=manual).to_dict("records")
    assert (case["status"], case["resolution_source"], local(case["resolved_at"])) == expected
    assert pd.isna(case["resolution_message_id"])


def test_manual_row_naming_no_case_is_ignored(cal, kw):
    msgs = frame(chat("2025-02-10 10:00 | Budi | mug pecah", "2025-02-10 10:05 | Lia | maaf kak"))
    manual = pd.DataFrame({"thread_id": ["t1"], "case_ref": ["no-such-case"], "resolved_at": [pd.Timestamp("2025-02-11", tz="UTC")],
                           "resolved_at_local": [pd.Timestamp("2025-02-11 07:00")], "resolution": ["resolved"],
                           "file_seq": [1], "source_line": [2]})
    (case,) = cases_of(msgs, cal, kw, manual=manual).to_dict("records")
    assert case["status"] == "open"


@pytest.mark.parametrize(
    "text, category",
    [("jumlahnya kurang 3", "kurang"), ("tumblernya cacat", "rusak"), ("salah kirim warna", "salah_kirim"),
     ("paket telat seminggu", "telat"), ("mau komplain soal pelayanan", "lainnya"),
     ("pecah dan kurang 1", "rusak")],  # several categories: the first listed in the yaml wins
)
def test_categories(text, category, cal, kw):
    msgs = frame(chat(f"2025-02-10 10:00 | Budi | {text}", "2025-02-10 10:05 | Lia | maaf"))
    assert cases_of(msgs, cal, kw)["category"].tolist() == [category]


def test_repeat_flags_same_customer_and_category_within_30_days():
    day = 86_400
    customer = pd.Series(["c1", "c1", "c1", "c1", "c2", None, None])
    category = pd.Series(["rusak", "rusak", "kurang", "rusak", "rusak", "rusak", "rusak"])
    opened = pd.Series([0, 30 * day, 31 * day, 61 * day, 1 * day, 2 * day, 3 * day]).to_numpy()
    ids = pd.Series([f"k{i}" for i in range(7)])
    # c1 rusak at day 0, 30 (repeat: exactly 30 x 24 h), 61 (31 days after the previous: no);
    # kurang is another category; c2 is another customer; cases without a customer never repeat
    assert repeat_flags(customer, category, opened, ids).tolist() == [False, True, False, False, False, False, False]


def test_repeat_flag_across_threads_in_the_warehouse(warehouse_url):
    warehouse = Warehouse(warehouse_url)
    warehouse.init()
    utc = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    rows = pd.DataFrame({
        "case_id": ["a", "b", "c", "d"], "thread_id": ["wa", "mail", "wa", "other"],
        "customer_id": ["c1", "c1", "c1", "c2"], "agent_id": ["lia"] * 4, "category": ["rusak", "rusak", "rusak", "rusak"],
        "opened_at": [utc("2025-02-01 03:00"), utc("2025-02-20 03:00"), utc("2025-04-01 03:00"), utc("2025-02-02 03:00")],
        "opened_at_local": pd.to_datetime(["2025-02-01 10:00", "2025-02-20 10:00", "2025-04-01 10:00", "2025-02-02 10:00"]),
        "status": ["resolved"] * 4, "is_repeat": [False] * 4, "is_in_closed_period": [False] * 4,
    })
    with warehouse.begin() as conn:
        warehouse.bulk_insert(conn, "marts.fct_case", pa.Table.from_pandas(rows, preserve_index=False))
        warehouse.execute(conn, REPEAT_SQL)
    flags = warehouse.read_df("select case_id, is_repeat from marts.fct_case order by case_id")
    warehouse.dispose()
    # b (e-mail thread) repeats a (WhatsApp) 19 days later; c is 40 days after b; d is another customer
    assert dict(zip(flags["case_id"], flags["is_repeat"].astype(bool))) == {"a": False, "b": True, "c": False, "d": False}


def test_repeat_flag_is_set_by_the_fact_build_and_only_read_by_the_kpi_step(tmp_path):
    """Issue 13: the fact build (every ingest, even one that rebuilds no thread) stores
    ``is_repeat``; the KPI step reads it and writes nothing but ``marts.fct_kpi``."""
    warehouse = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    warehouse.init()
    utc = lambda s: pd.Timestamp(s, tz="UTC")  # noqa: E731
    rows = pd.DataFrame({
        "case_id": ["a", "b"], "thread_id": ["wa", "mail"], "customer_id": ["c1", "c1"], "agent_id": ["lia"] * 2,
        "category": ["rusak", "rusak"], "opened_at": [utc("2025-02-01 03:00"), utc("2025-02-20 03:00")],
        "opened_at_local": pd.to_datetime(["2025-02-01 10:00", "2025-02-20 10:00"]),
        "status": ["resolved"] * 2, "is_repeat": [False] * 2, "is_in_closed_period": [False] * 2,
    })
    with warehouse.begin() as conn:
        warehouse.bulk_insert(conn, "marts.fct_case", pa.Table.from_pandas(rows, preserve_index=False))
    compute_period_kpis(warehouse, Config(), "2025-02")
    stored = warehouse.read_df("select case_id, is_repeat from marts.fct_case order by case_id")
    assert not stored["is_repeat"].astype(bool).any()  # the KPI step left the fact alone
    with warehouse.begin() as conn:
        assert rebuild_facts(warehouse, conn, [], Config()) == 0  # no thread to rebuild: flags still refreshed
    stored = warehouse.read_df("select case_id, is_repeat from marts.fct_case order by case_id")
    kpis = compute_period_kpis(warehouse, Config(), "2025-02")
    warehouse.dispose()
    assert dict(zip(stored["case_id"], stored["is_repeat"].astype(bool))) == {"a": False, "b": True}
    team = kpis[kpis["agent_id"].isna()].set_index("kpi_code")
    assert team.loc["repeat_complaint_rate", "value"] == 50.0
