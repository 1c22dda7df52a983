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

import dataclasses
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

import pandas as pd
import pyarrow as pa

from kpi_transforms.config import Config
from kpi_transforms.errors import RejectedFile
from kpi_transforms.identity import normalise_email, normalise_name, normalise_phone
from kpi_transforms.marketplace_maps import header_key
from kpi_transforms.parsers.marketplace import Table, cell_text, parse_datetimes


@dataclasses.dataclass(frozen=True)
class RowTable:
    """A warehouse table loaded from row files and merged on a natural key.

    ``precedence``: columns compared (as a tuple, then ``file_seq`` and ``source_line``) to
    pick the winning row per key among the stored row and the batch's rows.
    ``after_merge(warehouse, conn, winners)`` returns thread ids whose facts must be rebuilt.
    """

    name: str
    key: str
    schema: pa.Schema
    precedence: tuple[str, ...] = ()
    after_merge: Callable | None = None
    order: int = 50  # merge order inside a batch: identity tables first


def resolve_columns(header: list[str], spec: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """field -> header as written, matching accepted names after :func:`header_key`."""
    by_key: dict[str, str] = {}
    for column in header:
        by_key.setdefault(header_key(column), column)
    found = {}
    for field, names in spec.items():
        for name in names:
            if header_key(name) in by_key:
                found[field] = by_key[header_key(name)]
                break
    return found


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
}
ORDER_REQUIRED = ("order_id", "order_date", "amount")

ORDER_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()), ("order_date", pa.date32()), ("customer_id", pa.string()), ("customer_name", pa.string()),
        ("amount_idr", pa.decimal128(18, 2)), ("market", pa.string()), ("customer_key", pa.string()),
        ("customer_phone", pa.string()), ("customer_email", pa.string()), ("report_as_of", pa.date32()),
        ("source_file", pa.string()), ("source_line", pa.int64()), ("file_seq", pa.int64()),
    ]
)


def _reasons_frame(table: Table) -> pd.Series:
    frame = table.rows
    if "__error__" in frame:
        return frame["__error__"].astype(object).fillna("")
    return pd.Series("", index=frame.index, dtype=object)


def _raw_text(table: Table) -> pd.Series:
    frame = table.rows
    text = frame[table.header].map(cell_text).agg(" | ".join, axis=1) if len(frame) else pd.Series([], dtype=object)
    if "__raw__" in frame:
        text = frame["__raw__"].where(frame["__raw__"].notna(), text)
    return text.astype(str).str.slice(0, 500)


def _rejected(table: Table, reasons: pd.Series) -> pd.DataFrame:
    bad = reasons != ""
    return pd.DataFrame(
        {"source_line": table.rows.loc[bad, "__line__"].astype("int64"), "raw": _raw_text(table)[bad], "reason": reasons[bad]}
    ).reset_index(drop=True)


@dataclasses.dataclass
class ParsedRows:
    """A row file's table frames and quarantined rows."""

    kind: str
    tables: dict[str, pd.DataFrame]
    rejected: pd.DataFrame
    rows_read: int
    date_order: str | None = None
    date_order_source: str | None = None


def parse_orders(table: Table, config: Config) -> ParsedRows:
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
    phone = text("phone").map(lambda v: normalise_phone(v) if v else None)
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
    return ParsedRows("orders", {"marts.fct_order": good.reset_index(drop=True)}, _rejected(table, reasons), len(frame), order, source)


def _after_orders(warehouse, conn, winners: pd.DataFrame) -> list[str]:
    from kpi_transforms import customers

    customers.resolve_order_customers(warehouse, conn)
    keys = set(winners["customer_key"].dropna()) | set(winners["customer_phone"].dropna()) | set(winners["customer_email"].dropna())
    return customers.threads_of_keys(warehouse, conn, sorted(keys))


ORDER_TABLE = RowTable("marts.fct_order", "order_id", ORDER_SCHEMA, precedence=("report_as_of",), after_merge=_after_orders, order=20)


# -------------------------------------------------------------------------------------------
# Manual overrides: case resolutions and intent labels
# -------------------------------------------------------------------------------------------

CASE_COLUMNS: dict[str, tuple[str, ...]] = {
    "thread_id": ("thread_id", "ID Thread", "ID Percakapan Internal"),
    "case_ref": ("case_ref", "case_id", "ID Kasus", "Kasus", "case_opened_at", "Dibuka"),
    "resolved_at": ("resolved_at", "Diselesaikan", "Tanggal Selesai", "Waktu Selesai", "Selesai"),
    "resolution": ("resolution", "Status Kasus", "Resolusi"),
    "note": ("note", "notes", "Catatan", "Keterangan"),
}
INTENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "thread_id": ("thread_id", "ID Thread"),
    "question_message_id": ("question_message_id", "pair_id", "message_id", "ID Pesan", "ID Pertanyaan"),
    "intent": ("intent", "label", "Label Intent", "Maksud", "Kategori Pesan"),
    "note": ("note", "notes", "Catatan", "Keterangan"),
}
INTENTS = {
    "complaint": "complaint", "komplain": "complaint", "keluhan": "complaint",
    "quoterequest": "quote_request", "quote": "quote_request", "penawaran": "quote_request", "permintaanharga": "quote_request",
    "order": "order", "pesanan": "order", "other": "other", "lainnya": "other", "lain": "other",
}
RESOLUTIONS = {"resolved": "resolved", "selesai": "resolved", "terselesaikan": "resolved", "": "resolved",
               "unresolved": "unresolved", "tidakselesai": "unresolved", "belumselesai": "unresolved"}

CASE_SCHEMA = pa.schema(
    [
        ("override_key", pa.string()), ("thread_id", pa.string()), ("case_ref", pa.string()),
        ("resolved_at", pa.timestamp("us", tz="UTC")), ("resolved_at_local", pa.timestamp("us")), ("resolution", pa.string()),
        ("note", pa.string()), ("source_file", pa.string()), ("source_line", pa.int64()), ("file_seq", pa.int64()),
    ]
)
INTENT_SCHEMA = pa.schema(
    [
        ("label_key", pa.string()), ("thread_id", pa.string()), ("question_message_id", pa.string()), ("intent", pa.string()),
        ("note", pa.string()), ("source_file", pa.string()), ("source_line", pa.int64()), ("file_seq", pa.int64()),
    ]
)


def parse_case_resolutions(table: Table, config: Config) -> ParsedRows:
    """Rows of a manual case-resolution file -> ``marts.manual_case_resolution``."""
    from kpi_transforms.model import localize

    cols = resolve_columns(table.header, CASE_COLUMNS)
    frame = table.rows
    reasons = _reasons_frame(table)

    def text(field: str) -> pd.Series:
        return frame[cols[field]].map(cell_text) if field in cols else pd.Series("", index=frame.index, dtype=object)

    thread = text("thread_id")
    reasons = reasons.where((reasons != "") | (thread != ""), "empty thread_id")
    resolution_raw = text("resolution")
    resolution = resolution_raw.map(lambda v: RESOLUTIONS.get(header_key(v)))
    reasons = reasons.where((reasons != "") | resolution.notna(), resolution_raw.map(lambda v: f"resolution {v!r} is not resolved / unresolved"))
    when_raw = frame[cols["resolved_at"]] if "resolved_at" in cols else pd.Series(None, index=frame.index, dtype=object)
    local, when_reasons, _o, _s = parse_datetimes(when_raw, config.timezone)
    needs_time = resolution == "resolved"
    reasons = reasons.where((reasons != "") | ~needs_time | (when_reasons == ""), when_reasons.map(lambda r: f"resolved_at: {r}"))
    ok = reasons == ""
    local_ok = local[ok].reset_index(drop=True)
    case_ref = text("case_ref")[ok].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "override_key": (thread[ok].reset_index(drop=True) + "|" + case_ref),
            "thread_id": thread[ok].reset_index(drop=True),
            "case_ref": case_ref,
            "resolved_at": localize(local_ok.fillna(pd.Timestamp("1970-01-01")), config.timezone).where(local_ok.notna()),
            "resolved_at_local": local_ok,
            "resolution": resolution[ok].reset_index(drop=True),
            "note": text("note")[ok].reset_index(drop=True).replace("", None),
            "source_line": frame.loc[ok, "__line__"].astype("int64").reset_index(drop=True),
        }
    )
    return ParsedRows("manual_case_resolution", {"marts.manual_case_resolution": out}, _rejected(table, reasons), len(frame))


def parse_intent_labels(table: Table, config: Config) -> ParsedRows:
    """Rows of a manual intent-label file -> ``marts.manual_intent_label``."""
    cols = resolve_columns(table.header, INTENT_COLUMNS)
    frame = table.rows
    reasons = _reasons_frame(table)

    def text(field: str) -> pd.Series:
        return frame[cols[field]].map(cell_text) if field in cols else pd.Series("", index=frame.index, dtype=object)

    thread, question = text("thread_id"), text("question_message_id")
    reasons = reasons.where((reasons != "") | (thread != "") | (question != ""), "neither thread_id nor question_message_id")
    intent_raw = text("intent")
    intent = intent_raw.map(lambda v: INTENTS.get(header_key(v)))
    reasons = reasons.where(
        (reasons != "") | intent.notna(), intent_raw.map(lambda v: f"intent {v!r} is not complaint / quote_request / order / other")
    )
    ok = reasons == ""
    key = question.where(question != "", "thread:" + thread)
    out = pd.DataFrame(
        {
            "label_key": key[ok],
            "thread_id": thread[ok].replace("", None),
            "question_message_id": question[ok].replace("", None),
            "intent": intent[ok],
            "note": text("note")[ok].replace("", None),
            "source_line": frame.loc[ok, "__line__"].astype("int64"),
        }
    ).reset_index(drop=True)
    return ParsedRows("manual_intent_label", {"marts.manual_intent_label": out}, _rejected(table, reasons), len(frame))


def _after_manual(warehouse, conn, winners: pd.DataFrame) -> list[str]:
    """Threads whose facts a manual file changes: named directly, or through the question
    message of a labelled queue. Manual files always win, also when they arrive after the chat."""
    threads = set(winners["thread_id"].dropna()) if "thread_id" in winners else set()
    if "question_message_id" in winners:
        questions = sorted(set(winners["question_message_id"].dropna()))
        if questions:
            threads |= set(_threads_of_messages(warehouse, conn, questions))
    known = set(warehouse.read_df("select distinct thread_id from marts.fct_thread", conn=conn)["thread_id"])
    return sorted(threads & known)


def _threads_of_messages(warehouse, conn, message_ids: list[str]) -> list[str]:
    with warehouse.staged_keys(conn, "staging.stg_thread_key", "thread_id", message_ids):
        return warehouse.read_df(
            "select distinct m.thread_id from marts.fct_message m join staging.stg_thread_key k on k.thread_id = m.message_id",
            conn=conn,
        )["thread_id"].tolist()


CASE_TABLE = RowTable("marts.manual_case_resolution", "override_key", CASE_SCHEMA, after_merge=_after_manual, order=40)
INTENT_TABLE = RowTable("marts.manual_intent_label", "label_key", INTENT_SCHEMA, after_merge=_after_manual, order=40)
RATING_SCHEMA = pa.schema(
    [
        ("rating_id", pa.string()), ("thread_id", pa.string()), ("channel", pa.string()),
        ("rated_at", pa.timestamp("us", tz="UTC")), ("rated_at_local", pa.timestamp("us")), ("stars", pa.int16()),
        ("source_file", pa.string()), ("source_line", pa.int64()), ("file_seq", pa.int64()),
    ]
)
RATING_TABLE = RowTable("marts.fct_chat_rating", "rating_id", RATING_SCHEMA, order=30)
ROW_TABLES = (ORDER_TABLE, CASE_TABLE, INTENT_TABLE, RATING_TABLE)
