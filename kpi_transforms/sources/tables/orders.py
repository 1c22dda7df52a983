"""Sales reports (orders) and the manual override files: row files that load into warehouse
tables merged on a natural key (SPEC 3, 7; docs/INPUTS.md).

A row file is a ``.csv`` / ``.xlsx`` read by :func:`kpi_transforms.parsers.marketplace.read_rows`
and recognised by its header. Its parser returns frames for one or more :class:`RowTable`\\ s;
:func:`kpi_transforms.ingest.merge_row_tables` merges them inside the ingest batch's
transaction: per natural key the row with the highest ``precedence`` wins (``file_seq`` = the
later-loaded file last), so loading the same content twice changes nothing.

Amounts (``amount_idr``) are read by pattern:

* both ``.`` and ``,`` present: the one that comes last is the decimal separator
  (``Rp 1.250.000,00`` and ``1,250,000.00`` are both 1 250 000);
* only dots: ``1.250.000`` / ``1.250`` (groups of three) are thousands (Indonesian); one dot
  followed by one or two digits (``12.5``) is a decimal point;
* only commas: ``1,250,000`` (groups of three) are thousands (English); one comma followed by
  one or two digits (``1250000,50``) is a decimal comma;
* ``Rp``, ``IDR``, spaces, a trailing ``,-`` / ``.-`` are ignored; ``(1.000)`` and ``-1.000`` are
  negative (refunds). Numbers from an ``.xlsx`` cell are used as they are.

Dates: ``dd/mm/yyyy`` (also ``-`` and ``.``; day first unless the file shows ``mm/dd`` by a
day > 12 in the second place), ISO ``yyyy-mm-dd``, ``12 Maret 2025`` / ``12 Mar 2025``, Excel
serial numbers and date cells.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.identity import is_phone_placeholder, normalise_email, normalise_name, normalise_phone
from kpi_transforms.sources.base import ParseResult, Source
from kpi_transforms.sources.tables.reader import Table, cell_text, header_key, parse_datetimes
from kpi_transforms.sources.tables.rows import (
    RowTable,
    _reasons_frame,
    match_columns,
    resolve_columns,
    row_result,
)

# -------------------------------------------------------------------------------------------
# Amounts and markets
# -------------------------------------------------------------------------------------------

_THOUSANDS_DOT = re.compile(r"^\d{1,3}(?:\.\d{3})+$")
_THOUSANDS_COMMA = re.compile(r"^\d{1,3}(?:,\d{3})+$")


def parse_amount(value: object) -> Decimal | None:
    """An IDR amount from a report cell (see the module docstring); None if not a number."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    text = str(value).strip()
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()").strip()
    if text.startswith("-"):  # -Rp 75.000
        negative, text = not negative, text[1:].strip()
    text = re.sub(r"(?i)^(?:rp\.?|idr)\s*|\s*(?:rp\.?|idr)$", "", text)
    text = re.sub(r"[\s\u00a0\u202f]", "", text)
    text = re.sub(r"[.,]-$", "", text)
    if text.startswith("-"):  # Rp -75.000
        negative, text = not negative, text[1:]
    if not text or not re.fullmatch(r"[\d.,]+", text) or not re.search(r"\d", text):
        return None
    if "." in text and "," in text:
        decimal_sep = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        whole, _, frac = text.rpartition(decimal_sep)
        if decimal_sep in whole or not re.fullmatch(r"\d{1,3}(?:" + re.escape(thousands) + r"\d{3})*", whole):
            return None
        number = whole.replace(thousands, "") + "." + frac
    elif "." in text:
        if _THOUSANDS_DOT.match(text):
            number = text.replace(".", "")
        elif re.fullmatch(r"\d+\.\d{1,2}", text):
            number = text
        else:
            return None
    elif "," in text:
        if _THOUSANDS_COMMA.match(text):
            number = text.replace(",", "")
        elif re.fullmatch(r"\d+,\d{1,2}", text):
            number = text.replace(",", ".")
        else:
            return None
    else:
        number = text
    try:
        amount = Decimal(number).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None
    return -amount if negative else amount


MARKETS = {
    "local": "local", "lokal": "local", "domestik": "local", "domestic": "local", "dalamnegeri": "local",
    "dn": "local", "indonesia": "local", "id": "local",
    "international": "international", "internasional": "international", "ekspor": "international",
    "export": "international", "luarnegeri": "international", "ln": "international", "intl": "international",
    "": "local",
}


# -------------------------------------------------------------------------------------------
# Sales report
# -------------------------------------------------------------------------------------------

ORDER_COLUMNS: dict[str, tuple[str, ...]] = {
    "order_id": ("No. Pesanan", "No Pesanan", "Nomor Pesanan", "No. Order", "Nomor Order", "ID Pesanan", "No. Invoice",
                 "Nomor Invoice", "No. Faktur", "Nomor Faktur", "order_id", "order id", "order no", "order number",
                 "invoice_no", "invoice number"),
    "order_date": ("Tanggal", "Tanggal Pesanan", "Tgl Pesanan", "Tgl", "Tanggal Order", "Tanggal Transaksi", "Tanggal Invoice",
                   "order_date", "order date", "date", "invoice_date"),
    "amount": ("Total", "Total (Rp)", "Total Harga", "Total Pesanan", "Jumlah", "Jumlah (Rp)", "Nilai", "Nominal", "Omset",
               "Grand Total", "amount", "amount_idr", "total_amount", "order_total"),
    "market": ("Pasar", "Jenis Pasar", "Market", "Wilayah Pasar", "market"),
    "customer_id": ("ID Pelanggan", "Kode Pelanggan", "No. Pelanggan", "customer_id", "customer id", "customer_code"),
    "customer_name": ("Nama Pelanggan", "Pelanggan", "Nama Customer", "Customer", "Nama Pembeli", "customer_name", "customer name"),
    "phone": ("No. HP", "No HP", "Nomor HP", "Telepon", "No. Telepon", "No Telp", "Telp", "WhatsApp", "No. WA", "No WA",
              "phone", "customer_phone", "phone_number"),
    "email": ("Email", "E-mail", "Surel", "customer_email"),
    # optional product columns (issue 19: upsell / cross-sell) -> marts.fct_order_product
    "product": ("Produk", "Nama Produk", "Nama Barang", "Barang", "Item", "product", "product_name", "item_name"),
    "product_category": ("Kategori Produk", "Kategori Barang", "Kategori", "product_category", "category"),
}
ORDER_REQUIRED = ("order_id", "order_date", "amount")


def _product_lines(good: pd.DataFrame, product: pd.Series, category: pd.Series) -> pd.DataFrame:
    """The (order, product, category) lines of the kept rows that name a product or category,
    and for an order of the report none of whose rows does, one empty line (product and
    category null, line key ``order_id||``): the report lists the order without products. The
    lines of one report replace the order's stored lines as a whole (``PRODUCT_TABLE.group``),
    so the empty line records which report said so; readers skip it."""
    lines = pd.DataFrame({"order_id": good["order_id"].to_numpy(), "product": product.to_numpy(), "product_category": category.to_numpy(),
                          "report_as_of": good["report_as_of"].to_numpy(), "source_line": good["source_line"].to_numpy()})
    named = (lines["product"] != "") | (lines["product_category"] != "")
    listed = set(lines.loc[named, "order_id"])
    lines = lines[named | ~lines["order_id"].isin(listed)].copy()
    lines["product"] = lines["product"].replace("", None)
    lines["product_category"] = lines["product_category"].replace("", None)
    lines["line_key"] = (lines["order_id"] + "|" + lines["product_category"].fillna("").map(normalise_name) + "|"
                         + lines["product"].fillna("").map(normalise_name))
    return lines.reset_index(drop=True)


def parse_orders(table: Table, config: Config) -> ParseResult:
    """Rows of a sales report -> ``marts.fct_order`` rows (without source_file / file_seq)."""
    cols = resolve_columns(table.header, ORDER_COLUMNS)
    missing = [f for f in ORDER_REQUIRED if f not in cols]
    if missing:
        raise RejectedFile(f"sales report lacks column(s) {', '.join(f'{ORDER_COLUMNS[f][0]} ({f})' for f in missing)}")
    frame = table.rows
    if frame.empty:
        raise RejectedFile("no rows")
    reasons = _reasons_frame(table)

    def text(field: str) -> pd.Series:
        return frame[cols[field]].map(cell_text) if field in cols else pd.Series("", index=frame.index, dtype=object)

    order_id = text("order_id")
    reasons = reasons.where((reasons != "") | (order_id != ""), "empty order id")
    local, date_reasons, order, source = parse_datetimes(frame[cols["order_date"]], config.timezone)
    reasons = reasons.where(reasons != "", date_reasons.map(lambda r: f"order date: {r}" if r else ""))
    amounts = frame[cols["amount"]].map(parse_amount)
    reasons = reasons.where(
        (reasons != "") | amounts.notna(), frame[cols["amount"]].map(lambda v: f"amount {cell_text(v)!r} is not a number")
    )
    market_raw = text("market")
    market = market_raw.map(lambda v: MARKETS.get(header_key(v)))
    reasons = reasons.where(
        (reasons != "") | market.notna(), market_raw.map(lambda v: f"market {v!r} is not local / international (lokal / internasional)")
    )
    phone_raw = text("phone").map(lambda v: "" if is_phone_placeholder(v) else v)
    phone = phone_raw.map(lambda v: normalise_phone(v) if v else None)
    # a phone that cannot be parsed is never dropped silently: the row is quarantined with it
    bad_phone = (phone_raw != "") & phone.isna()
    reasons = reasons.where((reasons != "") | ~bad_phone, phone_raw.map(lambda v: f"phone {v!r} is not a phone number"))
    email = text("email").map(lambda v: normalise_email(v) if v else None)
    given = text("customer_id")
    name = text("customer_name")
    name_key = name.map(lambda v: "name:" + normalise_name(v) if v else None)
    key = given.where(given != "", None)
    key = key.where(key.notna(), phone).where(lambda s: s.notna(), email).where(lambda s: s.notna(), name_key)

    ok = reasons == ""
    good = pd.DataFrame(
        {
            "order_id": order_id[ok],
            "order_date": local[ok].dt.normalize().dt.date,
            "customer_id": None,
            "customer_name": name[ok].where(name[ok] != "", None),
            "amount_idr": amounts[ok],
            "market": market[ok],
            "customer_key": key[ok],
            "customer_phone": phone[ok],
            "customer_email": email[ok],
            "source_line": frame.loc[ok, "__line__"].astype("int64"),
        }
    )
    as_of = max(good["order_date"]) if len(good) else None
    good["report_as_of"] = as_of
    tables = {"marts.fct_order": good.reset_index(drop=True)}
    if "product" in cols or "product_category" in cols:
        tables["marts.fct_order_product"] = _product_lines(good, text("product")[ok], text("product_category")[ok])
    return row_result(table, tables, reasons, order, source)


ORDER_TABLE = RowTable("marts.fct_order", "order_id", precedence=("report_as_of",), order=20)
PRODUCT_TABLE = RowTable("marts.fct_order_product", "line_key", precedence=("report_as_of",), order=21, group="order_id")


SOURCE = Source(
    name="orders", label="sales report", match=lambda header: match_columns(header, ORDER_COLUMNS, ORDER_REQUIRED),
    parse_sheet=lambda table, _data, context: parse_orders(table, context.config),
)
