"""End-to-end ingestion: the same contents on DuckDB and PostgreSQL, idempotent, cumulative."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from kpi_transforms.core.config import load_config, parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

DEMO = Path(__file__).resolve().parents[1] / "kpi_transforms" / "demo_data"
COMPARE = [
    "message_id", "thread_id", "thread_name", "channel", "sent_at", "sent_at_local", "sender_name", "sender_role",
    "agent_id", "customer_id", "is_auto_reply", "message_type", "text", "source_file", "source_line", "file_seq",
]


def messages(url: str) -> pd.DataFrame:
    frame = Warehouse(url).read_df("select * from marts.fct_message")
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True).dt.tz_convert("UTC").astype("datetime64[us, UTC]")
    frame["sent_at_local"] = pd.to_datetime(frame["sent_at_local"]).astype("datetime64[us]")
    frame = frame[COMPARE].sort_values("message_id").reset_index(drop=True)
    return frame.astype({c: "object" for c in COMPARE if c not in ("sent_at", "sent_at_local")}).where(frame.notna(), None)


def demo_config():
    return load_config(DEMO / "chatkpi.yaml")


def ingest_demo(url: str, tmp_path: Path):
    config = demo_config()
    wh = Warehouse(url)
    reports = [ingest_paths([drop], config, wh, lake_dir=tmp_path / "lake") for drop in sorted((DEMO / "landing").iterdir())]
    return wh, reports


def test_demo_ingest_identical_on_duckdb_and_postgres(duckdb_url, pg_url, tmp_path):
    ingest_demo(duckdb_url, tmp_path / "d")
    ingest_demo(pg_url, tmp_path / "p")
    duck, pg = messages(duckdb_url), messages(pg_url)
    assert len(duck) > 50
    pd.testing.assert_frame_equal(duck, pg)


def test_demo_ingest_counts(warehouse_url, tmp_path):
    wh, (march, april) = ingest_demo(warehouse_url, tmp_path)
    by_name = {Path(f.source_file).name + (f"!{f.member}" if f.member else ""): f for f in march.files}
    budi = by_name["Chat WhatsApp dengan Budi Santoso.txt"]
    assert (budi.status, budi.messages_read, budi.messages_new, budi.messages_known) == ("loaded", 18, 18, 0)
    assert budi.layout.startswith("android")
    assert budi.lines_read == budi.header_lines + budi.continuation_lines + budi.quarantined_lines == 21
    zipped = by_name["WhatsApp Chat with Toko Sinar Jaya.zip!_chat.txt"]
    assert (zipped.status, zipped.chat_name, zipped.messages_read) == ("loaded", "Toko Sinar Jaya", 9)
    assert zipped.date_order == "mdy"
    crm = by_name["crm_email_messages.csv"]
    assert (crm.status, crm.messages_read, crm.quarantined_lines) == ("loaded", 4, 1)
    # April brings a cumulative re-export of Budi's chat: only the 4 new messages are new.
    (again,) = april.files
    assert (again.messages_read, again.messages_new, again.messages_known) == (22, 4, 18)
    budi_rows = wh.read_df(
        "select m.sender_role, m.message_type, m.text from marts.fct_message m join audit.file_manifest f"
        " on f.thread_id = m.thread_id where f.source_file like :name and f.member is null",
        {"name": "%2025-04%Budi%"},
    )
    assert len(budi_rows) == 22
    roles = budi_rows.groupby(["sender_role", "message_type"]).size().to_dict()
    assert roles == {
        ("agent", "text"): 9, ("bot", "text"): 1, ("customer", "deleted"): 1, ("customer", "media"): 1,
        ("customer", "text"): 9, ("system", "system"): 1,
    }
    rejected = wh.read_df("select source_line, reason from audit.rejected_row")
    assert rejected["source_line"].tolist() == [6]
    assert "sent_at" in rejected["reason"].iloc[0]


def test_ingest_twice_and_reverse_order_give_the_same_messages(warehouse_url, tmp_path):
    config = demo_config()
    wh = Warehouse(warehouse_url)
    drops = sorted((DEMO / "landing").iterdir())
    first = ingest_paths(drops, config, wh, lake_dir=tmp_path / "lake")
    once = messages(warehouse_url)
    second = ingest_paths(drops, config, wh, lake_dir=tmp_path / "lake")
    assert second.messages_new == 0
    assert {f.status for f in second.files} == {"skipped"}
    assert messages(warehouse_url).drop(columns=["file_seq"]).equals(once.drop(columns=["file_seq"]))
    assert first.count("rejected") == 0

    # The later cumulative export first, then the early one: same messages, once each.
    other = f"duckdb:///{tmp_path / 'reverse.duckdb'}"
    for drop in reversed(drops):
        ingest_paths([drop], config, Warehouse(other), lake_dir=tmp_path / "lake2")
    reverse = messages(other)
    cols = ["message_id", "thread_id", "sent_at", "sender_name", "sender_role", "text", "message_type"]
    assert reverse[cols].equals(once[cols])


def test_bad_line_and_bad_files_do_not_stop_the_batch(warehouse_url, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Chat WhatsApp dengan Andi.txt").write_text(
        "catatan sebelum header\n"
        "13/01/25 09.00 - Andi: Halo kak, harga mug brp?\n"
        "31/02/25 09.05 - Andi: tanggal mustahil\n"
        "13/01/25 09.10 - Lia Sales: Rp 25.000 kak\n",
        encoding="utf-8",
    )
    (landing / "garbage.txt").write_bytes(bytes(range(256)) * 40)
    (landing / "empty.txt").write_bytes(b"")
    (landing / "scan.pdf").write_bytes(b"%PDF-1.4")
    (landing / "broken.zip").write_bytes(b"PK\x03\x04truncated")
    config = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]})
    wh = Warehouse(warehouse_url)
    report = ingest_paths([landing], config, wh, lake_dir=tmp_path / "lake")
    status = {Path(f.source_file).name: (f.status, f.reason) for f in report.files}
    assert status["Chat WhatsApp dengan Andi.txt"][0] == "loaded"
    for name in ("garbage.txt", "empty.txt", "scan.pdf", "broken.zip"):
        assert status[name][0] == "rejected" and status[name][1], name
    assert "unsupported file type .pdf" in status["scan.pdf"][1]
    andi = next(f for f in report.files if f.source_file.endswith("Andi.txt"))
    assert (andi.messages_new, andi.quarantined_lines, andi.lines_read) == (2, 2, 4)
    rows = wh.read_df("select source_line, reason from audit.rejected_row order by source_line")
    assert rows["source_line"].tolist() == [1, 3]
    files = wh.read_df("select source_file, reason from audit.rejected_file")
    assert len(files) == 4
    # Re-running changes nothing and loses nothing.
    again = ingest_paths([landing], config, wh, lake_dir=tmp_path / "lake")
    assert again.messages_new == 0 and again.count("skipped") == 5
    assert len(wh.read_df("select * from audit.rejected_file")) == 4


def test_lake_partitions_by_local_month(duckdb_url, tmp_path):
    ingest_demo(duckdb_url, tmp_path)
    parts = sorted(p.name for p in (tmp_path / "lake" / "messages").iterdir())
    assert "local_month=2025-01" in parts and "local_month=2025-04" in parts
    import pyarrow.dataset as ds

    lake = ds.dataset(tmp_path / "lake" / "messages", partitioning="hive")
    table = lake.to_table()
    # The lake keeps every parsed batch (the April re-export repeats 18 messages).
    assert table.num_rows == len(messages(duckdb_url)) + 18
    # Every row sits in the partition of its local month, in local time order within a file.
    for fragment in lake.get_fragments():
        rows = fragment.to_table()
        month = fragment.path.split("local_month=")[1][:7]
        local = rows.column("sent_at_local").to_pandas()
        assert (local.dt.strftime("%Y-%m") == month).all()
        assert local.is_monotonic_increasing


def test_duckdb_message_table_migrates_to_no_index_and_stays_unique(tmp_path, monkeypatch):
    """V012 rebuilds marts.fct_message without DuckDB's primary-key index (docs/DECISIONS.md,
    "Message uniqueness on DuckDB"): a warehouse loaded before it keeps every row, and the
    ingest merge still never stores a message twice, also for overlapping cumulative exports."""
    import kpi_transforms.warehouse.engine as warehouse_module

    before = tmp_path / "sql"
    shutil.copytree(warehouse_module.SQL_DIR, before)
    (before / "migrations" / "V012__duckdb_message_heap.sql").unlink()
    url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    config = demo_config()
    drops = sorted((DEMO / "landing").iterdir())
    with monkeypatch.context() as patch:
        patch.setattr(warehouse_module, "SQL_DIR", before)
        ingest_paths(drops[:1], config, Warehouse(url), lake_dir=tmp_path / "lake")
    wh = Warehouse(url)
    march = messages(url)
    assert wh.scalar("select count(*) from information_schema.table_constraints"
                     " where table_name = 'fct_message' and constraint_type = 'PRIMARY KEY'") == 1

    assert wh.init() == ["V012__duckdb_message_heap.sql"]
    assert wh.scalar("select count(*) from information_schema.table_constraints"
                     " where table_name = 'fct_message' and constraint_type = 'PRIMARY KEY'") == 0
    pd.testing.assert_frame_equal(messages(url), march)
    assert wh.scalar("select count(*) from bi.v_messages") == len(march)

    # April's cumulative re-export of Budi's chat repeats 18 known messages: only 4 are added.
    report = ingest_paths(drops, config, wh, lake_dir=tmp_path / "lake")
    assert report.messages_new == 4
    assert wh.scalar("select count(*) - count(distinct message_id) from marts.fct_message") == 0
    assert wh.scalar("select count(*) from marts.fct_message") == len(march) + 4


def test_facts_from_the_batch_equal_facts_from_a_warehouse_read(tmp_path):
    """load_parsed hands its deduplicated rows to rebuild_facts, which takes new threads from
    them instead of reading them back: the facts must be those a plain re-read gives."""
    from kpi_transforms.pipeline.facts import rebuild_facts

    config = demo_config()
    drops = sorted((DEMO / "landing").iterdir())
    tables = {
        "marts.fct_reply_pair": "pair_id", "marts.fct_thread": "thread_id", "marts.fct_case": "case_id",
        "marts.fct_quote_response": "pair_id", "marts.fct_follow_up": "follow_up_id",
    }
    direct = Warehouse(f"duckdb:///{tmp_path / 'direct.duckdb'}")
    reread = Warehouse(f"duckdb:///{tmp_path / 'reread.duckdb'}")
    for drop in drops:
        report = ingest_paths([drop], config, direct, lake_dir=tmp_path / "lake1")
        assert report.affected_threads
        report = ingest_paths([drop], config, reread, lake_dir=tmp_path / "lake2", rebuild=False)
        with reread.begin() as conn:
            rebuild_facts(reread, conn, report.affected_threads, config)
    for table, key in tables.items():
        a = direct.read_df(f"select * from {table}").sort_values(key).reset_index(drop=True)
        b = reread.read_df(f"select * from {table}").sort_values(key).reset_index(drop=True)
        assert len(a) > 0 or table == "marts.fct_follow_up", table
        pd.testing.assert_frame_equal(a, b, obj=table)
