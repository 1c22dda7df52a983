"""Sales reports and manual override files: Indonesian number and date formats, bad rows,
header detection, and the merge on order_id (latest report wins, in any load order)."""

from __future__ import annotations

import io
import shutil
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.sources.registry import detect_table_kind
from kpi_transforms.sources.registry import header_score as _table_header_score
from kpi_transforms.sources.tables.manual import parse_case_resolutions, parse_intent_labels
from kpi_transforms.sources.tables.orders import parse_amount, parse_orders
from kpi_transforms.sources.tables.reader import read_rows
from kpi_transforms.warehouse.engine import Warehouse

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "orders"
CONFIG = parse_config({})


def table(name: str, data: bytes | None = None, suffix: str = ".csv"):
    return read_rows(data if data is not None else (FIXTURES / name).read_bytes(), suffix, _table_header_score)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Rp 1.250.000,00", "1250000.00"),
        ("Rp1.250.000", "1250000.00"),
        ("1.250.000", "1250000.00"),
        ("1,250,000.00", "1250000.00"),
        ("1,250,000", "1250000.00"),
        ("IDR 1,250,000", "1250000.00"),
        ("1250000", "1250000.00"),
        ("1.250", "1250.00"),
        ("12.5", "12.50"),
        ("1250000,50", "1250000.50"),
        ("2.500.000,-", "2500000.00"),
        ("(1.000.000)", "-1000000.00"),
        ("-Rp 75.000", "-75000.00"),
        ("Rp 1 250 000", "1250000.00"),
        (1250000, "1250000.00"),
        (1250000.5, "1250000.50"),
    ],
)
def test_amount_formats(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["lunas", "", "1.2.3,4,5", "1,25,000", "12.345.67", "Rp", "1.250,000.00", None])
def test_not_amounts(text):
    assert parse_amount(text) is None


def test_sales_report_rows_title_row_and_quarantine():
    t = table("sales_report_2025q1.csv")
    assert detect_table_kind(t.header) == "orders"
    assert t.header_line == 2  # the title row above the header is skipped
    parsed = parse_orders(t, CONFIG)
    orders = parsed.tables["marts.fct_order"].set_index("order_id")
    assert sorted(orders.index) == ["INV-2025-001", "INV-2025-002", "INV-2025-003", "INV-2025-006"]
    assert orders.loc["INV-2025-001", "amount_idr"] == Decimal("7500000.00")
    assert orders.loc["INV-2025-003", "amount_idr"] == Decimal("1250000.00")
    assert str(orders.loc["INV-2025-003", "order_date"]) == "2025-03-05"  # ISO
    assert str(orders.loc["INV-2025-006", "order_date"]) == "2025-03-06"  # Excel serial 45722
    assert orders["market"].to_dict() == {
        "INV-2025-001": "local", "INV-2025-002": "local", "INV-2025-003": "international", "INV-2025-006": "international",
    }
    assert orders.loc["INV-2025-001", "customer_key"] == "C-001"  # the report's id wins
    assert orders.loc["INV-2025-002", "customer_key"] == "+6281234567890"  # else the phone
    assert orders.loc["INV-2025-006", "customer_key"] == "name:sari"  # else the name
    assert set(orders["report_as_of"].astype(str)) == {"2025-03-06"}
    reasons = dict(zip(parsed.rejected["source_line"], parsed.rejected["reason"]))
    assert reasons == {
        6: "order date: impossible date '31/02/2025' (read as dmy)",
        7: "amount 'lunas' is not a number",
        9: "market 'Asia' is not local / international (lokal / internasional)",
    }


def test_sales_report_xlsx_with_date_cells_numbers_and_english_headers():
    import datetime as dt

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["order_id", "date", "customer_name", "phone", "amount", "market"])
    sheet.append(["SO-1", dt.datetime(2025, 4, 2), "Budi", "0812 3456 7890", 1250000, "local"])
    sheet.append(["SO-2", 45750, "Sari", None, "Rp 3.000.000", "international"])
    sheet.append(["SO-3", "2025/04/31", "Eko", None, 100, "local"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    t = table("x.xlsx", buffer.getvalue(), ".xlsx")
    assert detect_table_kind(t.header) == "orders"
    parsed = parse_orders(t, CONFIG)
    orders = parsed.tables["marts.fct_order"].set_index("order_id")
    assert orders["order_date"].astype(str).to_dict() == {"SO-1": "2025-04-02", "SO-2": "2025-04-03"}
    assert orders.loc["SO-2", "amount_idr"] == Decimal("3000000.00")
    assert parsed.rejected["source_line"].tolist() == [4]


def test_sales_report_without_an_amount_column_is_rejected_by_name():
    with pytest.raises(RejectedFile, match=r"sales report but lacks column\(s\) Total \(amount\)"):
        detect_table_kind(["No. Pesanan", "Tanggal", "Nama Pelanggan"])


def test_manual_case_resolutions_and_intent_labels():
    t = table("case_resolutions.csv")
    assert detect_table_kind(t.header) == "manual_case_resolution"
    cases = parse_case_resolutions(t, CONFIG)
    frame = cases.tables["marts.manual_case_resolution"]
    assert frame["override_key"].tolist() == ["wh_0123456789abcdef|", "wh_0123456789abcdef|2025-03-20"]
    assert frame["resolution"].tolist() == ["resolved", "unresolved"]
    assert str(frame["resolved_at"].iloc[0]) == "2025-03-05 08:00:00+00:00"
    assert cases.rejected["reason"].tolist() == ["empty thread_id"]
    t = table("intent_labels.csv")
    assert detect_table_kind(t.header) == "manual_intent_label"
    labels = parse_intent_labels(t, CONFIG)
    frame = labels.tables["marts.manual_intent_label"]
    assert frame[["label_key", "intent"]].values.tolist() == [["thread:wh_0123456789abcdef", "complaint"], ["9f3a0c", "quote_request"]]
    assert "curhat" in labels.rejected["reason"].iloc[0]


def _orders(url: str) -> pd.DataFrame:
    frame = Warehouse(url).read_df("select order_id, order_date, amount_idr, market, customer_id, source_file from marts.fct_order order by order_id")
    frame["order_date"] = frame["order_date"].astype(str)
    frame["amount_idr"] = frame["amount_idr"].map(lambda v: Decimal(str(v)).quantize(Decimal("0.01")))
    frame["source_file"] = frame["source_file"].map(lambda p: Path(p).name)
    return frame


def test_orders_merge_on_order_id_latest_report_wins_in_any_order(warehouse_url, tmp_path):
    first, revised = FIXTURES / "sales_report_2025q1.csv", FIXTURES / "sales_report_2025q1_revisi.csv"
    wh = Warehouse(warehouse_url)
    report = ingest_paths([first], CONFIG, wh, lake_dir=tmp_path / "lake")
    (result,) = report.files
    assert (result.status, result.kind, result.lines_read, result.header_lines, result.quarantined_lines) == ("loaded", "orders", 7, 4, 3)
    ingest_paths([revised], CONFIG, wh, lake_dir=tmp_path / "lake")
    forward = _orders(warehouse_url)
    assert len(forward) == 5
    budi = forward.set_index("order_id").loc["INV-2025-002"]
    assert (budi["amount_idr"], budi["source_file"]) == (Decimal("1300000.00"), "sales_report_2025q1_revisi.csv")
    # loading the same content again changes nothing
    again = ingest_paths([first, revised], CONFIG, wh, lake_dir=tmp_path / "lake")
    assert again.count("skipped") == 2
    pd.testing.assert_frame_equal(_orders(warehouse_url), forward)
    rejected = wh.read_df("select source_line, reason from audit.rejected_row order by source_line")
    assert rejected["source_line"].tolist() == [6, 7, 9]

    # the other order: the revised report (later as-of date) still wins
    other = tmp_path / "other.duckdb"
    url2 = f"duckdb:///{other}"
    ingest_paths([revised], CONFIG, Warehouse(url2), lake_dir=tmp_path / "lake2")
    ingest_paths([first], CONFIG, Warehouse(url2), lake_dir=tmp_path / "lake2")
    pd.testing.assert_frame_equal(_orders(url2), forward)


def test_one_batch_with_both_reports_and_a_copy(tmp_path, duckdb_url):
    landing = tmp_path / "landing"
    landing.mkdir()
    for f in FIXTURES.glob("sales_report_*.csv"):
        shutil.copy(f, landing / f.name)
    shutil.copy(FIXTURES / "sales_report_2025q1.csv", landing / "copy_of_report.csv")
    report = ingest_paths([landing], CONFIG, Warehouse(duckdb_url), lake_dir=tmp_path / "lake")
    assert sorted(f.status for f in report.files) == ["loaded", "loaded", "skipped"]
    assert _orders(duckdb_url).set_index("order_id").loc["INV-2025-002", "amount_idr"] == Decimal("1300000.00")


def test_sales_report_phone_that_is_not_a_number_is_quarantined_not_dropped():
    """Issue 14: a phone cell that cannot be parsed used to become "no phone" silently (the order
    then linked by name, or not at all). It is quarantined with its reason; placeholders such as
    ``-`` mean "no phone" and are not errors."""
    data = (
        "No. Pesanan,Tanggal,Nama Pelanggan,No. HP,Total,Pasar\n"
        "INV-1,01/03/2025,Budi,(0812) 3456-7890,1.000.000,lokal\n"
        "INV-2,02/03/2025,Maju,(021) 555-1234,1.000.000,lokal\n"
        "INV-3,03/03/2025,Sari,0812-34,1.000.000,lokal\n"
        "INV-4,04/03/2025,Eko,telp kantor,1.000.000,lokal\n"
        "INV-5,05/03/2025,Dewi,-,1.000.000,lokal\n"
    ).encode()
    parsed = parse_orders(table("x.csv", data), CONFIG)
    orders = parsed.tables["marts.fct_order"].set_index("order_id")
    assert orders["customer_key"].to_dict() == {"INV-1": "+6281234567890", "INV-2": "+62215551234", "INV-5": "name:dewi"}
    assert dict(zip(parsed.rejected["source_line"], parsed.rejected["reason"])) == {
        4: "phone '0812-34' is not a phone number", 5: "phone 'telp kantor' is not a phone number",
    }
