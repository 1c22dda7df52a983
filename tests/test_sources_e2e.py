"""End to end on DuckDB and PostgreSQL: one landing folder with WhatsApp, e-mail, marketplace
chats, a sales report, a customer list and the customer_map file. Asserts the linked customers,
the threads, and the reply pairs of e-mail and marketplace threads under SPEC 6 / seed 004."""

from __future__ import annotations

import io
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse
from tests.parsers.test_email_unit import MBOX

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFIG = parse_config(
    {
        "timezone": "Asia/Jakarta",
        "company_domains": ["souvenir-nusantara.co.id"],
        "agents": [
            {"id": "lia", "names": ["Lia Sales"], "emails": ["lia@souvenir-nusantara.co.id"]},
            {"id": "rina", "names": ["Rina CS"], "emails": ["rina@souvenir-nusantara.co.id"]},
        ],
    }
)


def _landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    (landing / "marketplace").mkdir(parents=True)
    (landing / "email").mkdir()
    (landing / "whatsapp").mkdir()
    (landing / "sales").mkdir()
    for name in ("tokopedia_detail_chat.csv", "shopee_chat.csv", "tiktok_chat.csv"):
        shutil.copy(FIXTURES / "marketplace" / name, landing / "marketplace" / name)
    for name in ("sales_report_2025q1.csv", "sales_report_2025q1_revisi.csv", "customer_map.csv"):
        shutil.copy(FIXTURES / "orders" / name, landing / "sales" / name)
    (landing / "email" / "inbox-2025-03.mbox").write_text(MBOX, encoding="utf-8")
    (landing / "whatsapp" / "Chat WhatsApp dengan +62 812-3456-7890.txt").write_text(
        "03/03/25 08.10 - +62 812-3456-7890: Pagi kak, mau tanya harga tumbler\n"
        "03/03/25 08.40 - Lia Sales: Pagi Pak Budi, Rp 35.000/pcs\n",
        encoding="utf-8",
    )
    (landing / "whatsapp" / "Chat WhatsApp dengan Toko Sinar Jaya.txt").write_text(
        "04/03/25 10.00 - Toko Sinar Jaya: Kak, stok mug ada?\n"
        "04/03/25 10.05 - Rina CS: Ada kak\n",
        encoding="utf-8",
    )
    # a second mapping file links a WhatsApp chat *name* to a customer of the list
    (landing / "sales" / "customer_map_nama_chat.csv").write_text("customer_id,name\nC-SINAR,Toko Sinar Jaya\n", encoding="utf-8")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Pelanggan"
    sheet.append(["ID Pelanggan", "Nama Pelanggan", "No. HP", "Email", "Transaksi Pertama"])
    sheet.append(["CUST-SARI", "Sari Wulandari (PT Maju Jaya)", "0811 222 333", "sari@majujaya.co.id", 44927])
    sheet.append(["C-001", "PT Maju Jaya", None, "purchasing@majujaya.co.id", "2023-01-01"])
    sheet.append(["C-SINAR", "Toko Sinar Jaya", "+62 813 1111 2222", None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    (landing / "sales" / "daftar_pelanggan.xlsx").write_bytes(buffer.getvalue())
    return landing


def _snapshot(wh: Warehouse) -> dict[str, pd.DataFrame]:
    out = {}
    for table, key in [("marts.dim_customer", "customer_id"), ("marts.fct_order", "order_id"), ("marts.fct_thread", "thread_id"),
                       ("marts.fct_reply_pair", "pair_id"), ("marts.fct_chat_rating", "rating_id"),
                       ("marts.map_customer_key", "customer_key")]:
        frame = wh.read_df(f"select * from {table}").drop(columns=["file_seq", "source_file"], errors="ignore")
        out[table] = frame.sort_values(key).reset_index(drop=True).astype(str)
    return out


def test_mixed_folder_links_customers_and_builds_threads(warehouse_url, tmp_path):
    landing = _landing(tmp_path)
    wh = Warehouse(warehouse_url)
    report = ingest_paths([landing], CONFIG, wh, lake_dir=tmp_path / "lake")
    kinds = {Path(f.source_file).name: (f.status, f.kind) for f in report.files}
    assert kinds == {
        "Chat WhatsApp dengan +62 812-3456-7890.txt": ("loaded", "whatsapp"),
        "Chat WhatsApp dengan Toko Sinar Jaya.txt": ("loaded", "whatsapp"),
        "inbox-2025-03.mbox": ("loaded", "email"),
        "shopee_chat.csv": ("loaded", "marketplace"),
        "tiktok_chat.csv": ("loaded", "marketplace"),
        "tokopedia_detail_chat.csv": ("loaded", "marketplace"),
        "customer_map.csv": ("loaded", "customer_map"),
        "customer_map_nama_chat.csv": ("loaded", "customer_map"),
        "daftar_pelanggan.xlsx": ("loaded", "customer_list"),
        "sales_report_2025q1.csv": ("loaded", "orders"),
        "sales_report_2025q1_revisi.csv": ("loaded", "orders"),
    }

    # -- linked customers ------------------------------------------------------------------
    dim = wh.read_df("select * from marts.dim_customer").set_index("customer_id")
    budi = dim.loc["CUST-BUDI"]
    assert (budi["n_threads"], budi["channels"], budi["n_orders"]) == (3, "email, marketplace, whatsapp", 2)
    assert (budi["phones"], budi["emails"]) == ("+6281234567890", "budi@gmail.com")
    assert budi["source_keys"] == "+6281234567890, budi@gmail.com, tokopedia:98765"
    assert str(budi["first_order_at"]) == "2025-02-03"
    sari = dim.loc["CUST-SARI"]
    assert (sari["n_threads"], sari["channels"], sari["name"]) == (1, "email", "Sari Wulandari (PT Maju Jaya)")
    assert str(sari["first_transaction_at"]) == "2023-01-01"  # from the customer list
    sinar = dim.loc["C-SINAR"]  # WhatsApp chat by its name (map) + an order by phone (the list's phone)
    assert (sinar["n_threads"], sinar["n_orders"], sinar["channels"], sinar["name"]) == (1, 1, "whatsapp", "Toko Sinar Jaya")
    assert sinar["source_keys"] == "+6281311112222, name:toko sinar jaya"

    threads = wh.read_df("select thread_name, channel, customer_id, n_reply_pairs, is_new_customer from marts.fct_thread")
    by_customer = threads.groupby("customer_id")["channel"].apply(lambda s: sorted(s)).to_dict()
    assert by_customer["CUST-BUDI"] == ["email", "marketplace", "whatsapp"]
    assert by_customer["CUST-SARI"] == ["email"]
    assert sorted(threads.loc[threads["channel"] == "marketplace", "customer_id"]) == [
        "CUST-BUDI", "shopee:andi_p", "shopee:citra.ayu", "shopee:eko_w", "tiktok:tt_8812", "tokopedia:55501",
    ]
    # Budi ordered on 3 Feb, before any chat; Sari's list says she bought in 2023: neither is new
    assert not threads.loc[threads["customer_id"].isin(["CUST-BUDI", "CUST-SARI"]), "is_new_customer"].any()
    assert threads.set_index("thread_name").loc["Dewi Lestari", "is_new_customer"]

    orders = wh.read_df("select order_id, customer_id, amount_idr from marts.fct_order order by order_id")
    assert orders["order_id"].tolist() == ["INV-2025-001", "INV-2025-002", "INV-2025-003", "INV-2025-006", "INV-2025-008"]
    owners = dict(zip(orders["order_id"], orders["customer_id"]))
    assert owners["INV-2025-001"] == "C-001" and owners["INV-2025-002"] == "CUST-BUDI"
    assert owners["INV-2025-003"] == "C-SINAR"  # phone in the list
    assert Decimal(str(orders.set_index("order_id").loc["INV-2025-002", "amount_idr"])) == Decimal("1300000")

    # -- reply pairs of e-mail and marketplace threads (SPEC 6, seed 004) --------------------
    pairs = wh.read_df(
        "select t.thread_name, p.channel, p.status, p.n_customer_messages, p.calendar_seconds, p.is_valid,"
        " p.is_in_closed_period, p.first_auto_reply_at, p.agent_id, p.customer_id"
        " from marts.fct_reply_pair p join marts.fct_thread t on t.thread_id = p.thread_id"
        " where p.channel in ('email', 'marketplace') order by t.thread_name, p.question_at"
    )
    got = {name: group.reset_index(drop=True) for name, group in pairs.groupby("thread_name")}
    assert "andi_p" not in got  # FAQ-card-only chat: no queue
    citra = got["citra.ayu"]  # opened during store holiday mode
    assert citra[["status", "is_valid", "is_in_closed_period"]].values.tolist() == [["answered", False, True]]
    eko = got["eko_w"]  # auto reply inside the queue does not close it
    assert eko[["status", "n_customer_messages", "is_valid", "agent_id"]].values.tolist() == [["answered", 2, True, "lia"]]
    assert int(eko["calendar_seconds"].iloc[0]) == 7230 and pd.notna(eko["first_auto_reply_at"].iloc[0])
    quote = got["Penawaran goodie bag 300 pcs"]
    assert quote[["status", "agent_id", "customer_id"]].values.tolist()[0] == ["answered", "rina", "CUST-SARI"]
    assert int(quote["calendar_seconds"].iloc[0]) == 5100
    tumbler = got["Tanya stok tumbler"]  # e-mail auto reply (Auto-Submitted) does not close the queue
    assert tumbler[["status", "n_customer_messages"]].values.tolist() == [["unanswered", 2]]
    assert pd.notna(tumbler["first_auto_reply_at"].iloc[0])
    budi_tokopedia = got["Budi Santoso"]
    assert budi_tokopedia[["status", "n_customer_messages", "agent_id"]].values.tolist()[0] == ["answered", 2, "rina"]
    assert int(budi_tokopedia["calendar_seconds"].iloc[0]) == 1788
    valid_marketplace = pairs[(pairs["channel"] == "marketplace") & pairs["is_valid"].astype(bool)]
    assert sorted(valid_marketplace["thread_name"]) == ["Budi Santoso", "Dewi Lestari", "Fajar", "eko_w"]

    ratings = wh.read_df("select stars from marts.fct_chat_rating order by stars")
    assert ratings["stars"].tolist() == [2, 3, 4, 5]
    rejected = wh.read_df("select source_file, reason from audit.rejected_row")
    assert len(rejected) == 5  # mbox message 3, shopee row 12, sales report rows 6, 7, 9


def test_mixed_folder_is_idempotent_and_order_independent(warehouse_url, tmp_path):
    landing = _landing(tmp_path)
    wh = Warehouse(warehouse_url)
    ingest_paths([landing], CONFIG, wh, lake_dir=tmp_path / "lake")
    first = _snapshot(wh)
    again = ingest_paths([landing], CONFIG, wh, lake_dir=tmp_path / "lake")
    assert {f.status for f in again.files} == {"skipped"}
    second = _snapshot(wh)
    for table in first:
        pd.testing.assert_frame_equal(first[table], second[table], obj=table)

    # the same files in reverse order, one batch per folder, into a fresh DuckDB warehouse
    other = Warehouse(f"duckdb:///{tmp_path / 'reverse.duckdb'}")
    for folder in sorted((p for p in landing.iterdir() if p.is_dir()), reverse=True):
        ingest_paths([folder], CONFIG, other, lake_dir=tmp_path / "lake-reverse")
    reverse = _snapshot(other)
    for table in ("marts.dim_customer", "marts.fct_order", "marts.map_customer_key", "marts.fct_chat_rating"):
        pd.testing.assert_frame_equal(first[table], reverse[table], obj=table)
    threads = ["thread_id", "customer_id", "n_reply_pairs", "is_new_customer"]
    pd.testing.assert_frame_equal(first["marts.fct_thread"][threads], reverse["marts.fct_thread"][threads])


@pytest.mark.parametrize("suffix", [".mbox", ".eml"])
def test_unusable_email_file_is_rejected_with_a_reason(duckdb_url, tmp_path, suffix):
    path = tmp_path / f"rusak{suffix}"
    path.write_bytes(b"From nobody Mon Mar  3 04:00:00 2025\n\x00\x01 bukan email\n" if suffix == ".mbox" else b"\x00\x01 bukan email\n")
    report = ingest_paths([path], CONFIG, Warehouse(duckdb_url), lake_dir=tmp_path / "lake")
    (result,) = report.files
    assert result.status == "rejected" and result.reason.startswith("no usable e-mail message")


def test_staged_path_used_by_the_dags_gives_the_same_warehouse(duckdb_url, tmp_path):
    """find_new_files -> stage_file (per file, Parquet artefacts) -> load_staged keeps e-mail
    threads that share a subject apart and carries the row tables."""
    from kpi_transforms.pipeline.staging import find_new_files, load_staged, stage_file

    landing = _landing(tmp_path)
    direct = Warehouse(duckdb_url)
    ingest_paths([landing], CONFIG, direct, lake_dir=tmp_path / "lake")
    staged = Warehouse(f"duckdb:///{tmp_path / 'staged.duckdb'}")
    found = find_new_files([landing], staged)
    folders = [stage_file(path, CONFIG, tmp_path / "stage", found["hints"]) for path in found["files"]]
    load_staged(folders, CONFIG, staged, lake_dir=tmp_path / "lake-staged")
    a, b = _snapshot(direct), _snapshot(staged)
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)
