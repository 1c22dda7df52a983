"""Customer identity (SPEC 4): the customer_map file and customer lists, key normalisation,
resolution of thread and order keys, dim_customer, and new-customer flags."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.sources.tables.customers import is_customer_map, parse_customer_list, parse_customer_map, source_key
from kpi_transforms.sources.registry import detect_table_kind
from kpi_transforms.sources.registry import header_score as _table_header_score
from kpi_transforms.sources.tables.reader import read_rows
from kpi_transforms.warehouse.engine import Warehouse

ORDERS = Path(__file__).resolve().parent / "fixtures" / "orders"
CONFIG = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"], "emails": ["lia@souvenir-nusantara.co.id"]}],
                       "company_domains": ["souvenir-nusantara.co.id"]})


def _xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_customer_map_detection_is_strict():
    assert is_customer_map(["customer_id", "phone", "email", "name", "key", "note"])
    assert is_customer_map(["Customer_ID", "Phone"])
    assert not is_customer_map(["customer_id", "note"])  # nothing to link
    assert not is_customer_map(["customer_id", "name", "phone", "first_transaction_date"])  # a customer list
    assert detect_table_kind(["customer_id", "phone", "email", "name"]) == "customer_map"
    assert detect_table_kind(["ID Pelanggan", "Nama Pelanggan", "No. HP", "Email", "Transaksi Pertama"]) == "customer_list"


@pytest.mark.parametrize(
    "value, key",
    [
        ("0812-3456-7890", "+6281234567890"),
        ("62 812 3456 7890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("Budi@Gmail.COM", "budi@gmail.com"),
        ("name:  Budi  SANTOSO ", "name:budi santoso"),
        ("tokopedia:98765", "tokopedia:98765"),
        ("", None),
    ],
)
def test_source_keys(value, key):
    assert source_key(value) == key


def test_parse_customer_map():
    table = read_rows((ORDERS / "customer_map.csv").read_bytes(), ".csv", _table_header_score)
    parsed = parse_customer_map(table, CONFIG)
    keys = parsed.tables["marts.map_customer_key"]
    assert keys[["customer_key", "customer_id", "key_type"]].values.tolist() == [
        ["CUST-BUDI", "CUST-BUDI", "id"], ["+6281234567890", "CUST-BUDI", "phone"], ["budi@gmail.com", "CUST-BUDI", "email"],
        ["CUST-BUDI", "CUST-BUDI", "id"], ["tokopedia:98765", "CUST-BUDI", "key"],
        ["CUST-SARI", "CUST-SARI", "id"], ["sari@majujaya.co.id", "CUST-SARI", "email"],
    ]
    assert set(keys["source_rank"]) == {2}


def test_parse_customer_list_xlsx_with_several_phones_and_bad_rows():
    data = _xlsx([
        ["Daftar Pelanggan 2025"],
        ["ID Pelanggan", "Nama Pelanggan", "No. HP", "Email", "Transaksi Pertama"],
        ["C-001", "PT Maju Jaya", "0811-111-222 / 0812 3333 4444", "purchasing@majujaya.co.id; sari@majujaya.co.id", "15/06/2023"],
        ["C-002", "Toko Sinar Jaya", None, None, 44927],
        ["C-003", "Eko", "bukan nomor", None, None],
        [None, "Tanpa ID", "0813 0000 1111", None, None],
        ["C-004", "Fajar", None, None, "31/02/2024"],
    ])
    table = read_rows(data, ".xlsx", _table_header_score)
    parsed = parse_customer_list(table, CONFIG)
    attrs = parsed.tables["marts.ref_customer_list"]
    assert attrs[["customer_id", "name"]].values.tolist() == [["C-001", "PT Maju Jaya"], ["C-002", "Toko Sinar Jaya"]]
    assert [str(d) for d in attrs["first_transaction_at"]] == ["2023-06-15", "2023-01-01"]
    keys = parsed.tables["marts.map_customer_key"]
    assert keys.loc[keys["customer_id"] == "C-001", "customer_key"].tolist() == [
        "C-001", "+62811111222", "+6281233334444", "purchasing@majujaya.co.id", "sari@majujaya.co.id",
    ]
    assert set(keys["source_rank"]) == {1}
    reasons = dict(zip(parsed.rejected["source_line"], parsed.rejected["reason"]))
    assert reasons == {
        5: "phone 'bukan nomor' is not a phone number",
        6: "empty customer id",
        7: "first transaction: impossible date '31/02/2024' (read as dmy)",
    }


WA_BUDI = (
    "03/03/25 08.10 - +62 812-3456-7890: Pagi kak, mau tanya harga tumbler\n"
    "03/03/25 08.40 - Lia Sales: Pagi Pak Budi, Rp 35.000/pcs\n"
)
EMAIL_BUDI = (
    "From: Budi <BUDI@gmail.com>\nTo: lia@souvenir-nusantara.co.id\nSubject: Pesanan tumbler\n"
    "Date: Wed, 5 Mar 2025 10:00:00 +0700\nMessage-ID: <b9@gmail.com>\n\nJadi pesan 100 pcs ya kak.\n"
)


def test_linking_and_a_mapping_loaded_later_relinks_existing_threads(warehouse_url, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Chat WhatsApp dengan +62 812-3456-7890.txt").write_text(WA_BUDI, encoding="utf-8")
    (landing / "pesanan.eml").write_text(EMAIL_BUDI, encoding="utf-8")
    wh = Warehouse(warehouse_url)
    ingest_paths([landing], CONFIG, wh, lake_dir=tmp_path / "lake")
    threads = wh.read_df("select channel, customer_id, is_new_customer from marts.fct_thread order by channel")
    # without a mapping: the phone and the address are two customers
    assert threads.values.tolist() == [["email", "budi@gmail.com", True], ["whatsapp", "+6281234567890", True]]

    mapping = tmp_path / "batch2"
    mapping.mkdir()
    (mapping / "customer_map.csv").write_text(
        "customer_id,phone,email\nCUST-BUDI,0812-3456-7890,budi@gmail.com\n", encoding="utf-8"
    )
    (mapping / "penjualan.csv").write_text(
        "No. Pesanan,Tanggal,No. HP,Total,Pasar\nINV-9,01/03/2025,0812 3456 7890,Rp 3.500.000,lokal\n", encoding="utf-8"
    )
    report = ingest_paths([mapping], CONFIG, wh, lake_dir=tmp_path / "lake")
    assert sorted(f.kind for f in report.files) == ["customer_map", "orders"]
    threads = wh.read_df("select channel, customer_id, is_new_customer from marts.fct_thread order by channel")
    # both threads now belong to CUST-BUDI; he ordered on 1 March, before his first chat: not new
    assert threads.values.tolist() == [["email", "CUST-BUDI", False], ["whatsapp", "CUST-BUDI", False]]
    pairs = wh.read_df("select distinct customer_id from marts.fct_reply_pair")
    assert pairs["customer_id"].tolist() == ["CUST-BUDI"]
    dim = wh.read_df("select * from marts.dim_customer").set_index("customer_id")
    row = dim.loc["CUST-BUDI"]
    assert (row["n_threads"], row["n_orders"], row["channels"]) == (2, 1, "email, whatsapp")
    assert (row["phones"], row["emails"]) == ("+6281234567890", "budi@gmail.com")
    assert str(row["first_order_at"]) == "2025-03-01"
    assert row["source_keys"] == "+6281234567890, budi@gmail.com"
    order = wh.read_df("select customer_id from marts.fct_order")
    assert order["customer_id"].tolist() == ["CUST-BUDI"]
    # raw source keys stay on the messages
    raw = wh.read_df("select distinct customer_id from marts.fct_message order by customer_id")
    assert raw["customer_id"].tolist() == ["+6281234567890", "budi@gmail.com"]


def test_mapping_wins_over_customer_list(duckdb_url, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Chat WhatsApp dengan +62 812-3456-7890.txt").write_text(WA_BUDI, encoding="utf-8")
    (landing / "pelanggan.xlsx").write_bytes(_xlsx([
        ["ID Pelanggan", "Nama Pelanggan", "No. HP", "Transaksi Pertama"],
        ["C-LIST", "Budi (daftar)", "081234567890", "2024-01-10"],
    ]))
    (landing / "customer_map.csv").write_text("customer_id,phone\nCUST-BUDI,+62 812 3456 7890\n", encoding="utf-8")
    wh = Warehouse(duckdb_url)
    ingest_paths([landing], CONFIG, wh, lake_dir=tmp_path / "lake")
    keys = wh.read_df("select customer_key, customer_id, source_kind from marts.map_customer_key order by customer_key")
    assert keys.values.tolist() == [
        ["+6281234567890", "CUST-BUDI", "customer_map"], ["C-LIST", "C-LIST", "customer_list"], ["CUST-BUDI", "CUST-BUDI", "customer_map"],
    ]
    thread = wh.read_df("select customer_id, is_new_customer from marts.fct_thread")
    assert thread.values.tolist() == [["CUST-BUDI", True]]
    dim = wh.read_df("select customer_id, name, n_threads from marts.dim_customer order by customer_id")
    assert dim.values.tolist() == [["C-LIST", "Budi (daftar)", 0], ["CUST-BUDI", "+62 812-3456-7890", 1]]


def test_incremental_dim_customer_equals_a_full_rebuild(warehouse_url, tmp_path):
    """rebuild_facts refreshes only the dim_customer rows of the customers its threads touch
    (a daily batch must not cost what the warehouse holds); after every batch the table is the
    same as a rebuild of every customer."""
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.customers import build_dim_customer, stale_customers

    demo = Path(__file__).resolve().parents[1] / "kpi_transforms" / "demo_data"
    config = load_config(demo / "chatkpi.yaml")
    wh = Warehouse(warehouse_url)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "Chat WhatsApp dengan +62 812-3456-7890.txt").write_text(WA_BUDI, encoding="utf-8")
    columns = ["customer_id", "name", "phones", "emails", "n_threads", "n_orders", "channels", "source_keys"]
    for drop in [*sorted((demo / "landing").iterdir()), extra]:
        report = ingest_paths([drop], config, wh, lake_dir=tmp_path / "lake")
        assert report.count("rejected") == 0
        with wh.begin() as conn:
            stored = wh.read_df("select * from marts.dim_customer", conn=conn)
            full = build_dim_customer(wh, conn)
            assert stale_customers(wh, conn, []) == []  # nothing drifted
        got = stored[columns].sort_values("customer_id").reset_index(drop=True).astype(object)
        want = full[columns].sort_values("customer_id").reset_index(drop=True).astype(object)
        assert len(got) > 3
        assert got.where(got.notna(), None).values.tolist() == want.where(want.notna(), None).values.tolist()
    assert "+6281234567890" in set(stored["customer_id"])
