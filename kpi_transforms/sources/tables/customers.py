"""The customer list and the customer mapping file: rows of ``marts.ref_customer_list`` and
``marts.map_customer_key``.
"""

from __future__ import annotations

import re

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.identity import is_phone_placeholder, normalise_email, normalise_name, normalise_phone
from kpi_transforms.sources.base import HeaderMatch, ParseResult, Source
from kpi_transforms.sources.tables.reader import Table, cell_text, header_key, parse_datetimes
from kpi_transforms.sources.tables.rows import (
    RowTable,
    _reasons_frame,
    match_columns,
    resolve_columns,
    row_result,
)

MAP_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customer_id",),
    "phone": ("phone",),
    "email": ("email",),
    "name": ("name",),
    "key": ("key",),
    "note": ("note",),
}
LIST_COLUMNS: dict[str, tuple[str, ...]] = {
    "customer_id": ("ID Pelanggan", "Kode Pelanggan", "No. Pelanggan", "customer_id", "customer id", "id"),
    "name": ("Nama Pelanggan", "Nama", "Nama Customer", "Nama Perusahaan", "customer_name", "name"),
    "phones": ("No. HP", "No HP", "Nomor HP", "Telepon", "No. Telepon", "Telp", "HP", "WhatsApp", "No. WA", "No WA",
               "phones", "phone", "phone_numbers"),
    "emails": ("Email", "E-mail", "Emails", "Surel", "email", "emails"),
    "first_transaction": ("Transaksi Pertama", "Tanggal Transaksi Pertama", "Tgl Transaksi Pertama", "Pelanggan Sejak",
                          "first_transaction_date", "first_transaction", "first_transaction_at", "first_order_date",
                          "customer_since"),
}
_SPLIT = re.compile(r"[,;/|\n]+")


# -------------------------------------------------------------------------------------------
# Detection and parsing of the mapping file and customer lists
def is_customer_map(header: list[str]) -> bool:
    """The mapping file: ``customer_id`` plus phone / email / name / key columns and nothing else."""
    keys = {header_key(h) for h in header if str(h).strip()}
    allowed = {header_key(n) for names in MAP_COLUMNS.values() for n in names}
    return "customerid" in keys and keys <= allowed and bool(keys & {"phone", "email", "name", "key"})


def source_key(value: str) -> str | None:
    """A key as threads and orders carry it: phones to +62..., e-mails lower-cased, ``name:``
    keys normalised, anything else (marketplace buyer keys, report ids) trimmed."""
    text = str(value or "").strip()
    if not text:
        return None
    if text.lower().startswith("name:"):
        return "name:" + normalise_name(text[5:])
    if (p := normalise_phone(text)) is not None:
        return p
    if (e := normalise_email(text)) is not None:
        return e
    return text


def parse_customer_map(table: Table, config: Config) -> ParseResult:
    """Rows of ``customer_map.csv`` -> ``marts.map_customer_key`` (rank 2: wins over lists)."""
    del config
    cols = resolve_columns(table.header, MAP_COLUMNS)
    frame = table.rows
    reasons = _reasons_frame(table)

    def text(field: str) -> pd.Series:
        return frame[cols[field]].map(cell_text) if field in cols else pd.Series("", index=frame.index, dtype=object)

    cid, phone, email, name, key = text("customer_id"), text("phone"), text("email"), text("name"), text("key")
    phone = phone.map(lambda v: "" if is_phone_placeholder(v) else v)
    reasons = reasons.where((reasons != "") | (cid != ""), "empty customer_id")
    bad_phone = (phone != "") & phone.map(lambda v: normalise_phone(v) is None)
    reasons = reasons.where((reasons != "") | ~bad_phone, phone.map(lambda v: f"phone {v!r} is not a phone number"))
    bad_email = (email != "") & email.map(lambda v: normalise_email(v) is None)
    reasons = reasons.where((reasons != "") | ~bad_email, email.map(lambda v: f"email {v!r} is not an e-mail address"))
    empty = (phone == "") & (email == "") & (name == "") & (key == "")
    reasons = reasons.where((reasons != "") | ~empty, "no phone, email, name or key to link")
    rows = []
    for i in frame.index[reasons == ""]:
        line = int(frame.at[i, "__line__"])
        links = [(cid[i], "id")]
        if phone[i]:
            links.append((normalise_phone(phone[i]), "phone"))
        if email[i]:
            links.append((normalise_email(email[i]), "email"))
        if name[i]:
            links.append(("name:" + normalise_name(name[i]), "name"))
        if key[i]:
            links.append((source_key(key[i]), "key"))
        for value, kind in links:
            rows.append({"customer_key": value, "customer_id": cid[i], "key_type": kind, "source_kind": "customer_map",
                         "source_rank": 2, "source_line": line})
    keys = pd.DataFrame(rows, columns=["customer_key", "customer_id", "key_type", "source_kind", "source_rank", "source_line"])
    return row_result(table, {"marts.map_customer_key": keys}, reasons)


def parse_customer_list(table: Table, config: Config) -> ParseResult:
    """Rows of a customer list -> ``marts.ref_customer_list`` attributes plus id / phone /
    e-mail keys (rank 1) in ``marts.map_customer_key``."""
    cols = resolve_columns(table.header, LIST_COLUMNS)
    missing = [f for f in ("customer_id", "name") if f not in cols]
    if missing:
        raise RejectedFile(f"customer list lacks column(s) {', '.join(f'{LIST_COLUMNS[f][0]} ({f})' for f in missing)}")
    frame = table.rows
    if frame.empty:
        raise RejectedFile("no rows")
    reasons = _reasons_frame(table)

    def text(field: str) -> pd.Series:
        return frame[cols[field]].map(cell_text) if field in cols else pd.Series("", index=frame.index, dtype=object)

    cid, name = text("customer_id"), text("name")
    reasons = reasons.where((reasons != "") | (cid != ""), "empty customer id")
    phones = text("phones").map(lambda v: [p.strip() for p in _SPLIT.split(v) if not is_phone_placeholder(p)])
    emails = text("emails").map(lambda v: [e.strip() for e in _SPLIT.split(v) if e.strip()])
    bad_phone = phones.map(lambda ps: next((p for p in ps if normalise_phone(p) is None), None))
    reasons = reasons.where((reasons != "") | bad_phone.isna(), bad_phone.map(lambda p: f"phone {p!r} is not a phone number"))
    bad_email = emails.map(lambda es: next((e for e in es if normalise_email(e) is None), None))
    reasons = reasons.where((reasons != "") | bad_email.isna(), bad_email.map(lambda e: f"email {e!r} is not an e-mail address"))
    if "first_transaction" in cols:
        raw = frame[cols["first_transaction"]]
        first, first_reasons, _o, _s = parse_datetimes(raw, config.timezone)
        given = raw.map(cell_text) != ""
        reasons = reasons.where((reasons != "") | ~given | (first_reasons == ""), first_reasons.map(lambda r: f"first transaction: {r}"))
    else:
        first = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    ok = reasons == ""
    attributes = pd.DataFrame(
        {
            "customer_id": cid[ok],
            "name": name[ok].replace("", None),
            "first_transaction_at": first[ok].map(lambda t: t.date() if pd.notna(t) else None),
            "source_line": frame.loc[ok, "__line__"].astype("int64"),
        }
    ).reset_index(drop=True)
    rows = []
    for i in frame.index[ok]:
        line = int(frame.at[i, "__line__"])
        links = [(cid[i], "id")] + [(normalise_phone(p), "phone") for p in phones[i]] + [(normalise_email(e), "email") for e in emails[i]]
        for value, kind in links:
            rows.append({"customer_key": value, "customer_id": cid[i], "key_type": kind, "source_kind": "customer_list",
                         "source_rank": 1, "source_line": line})
    keys = pd.DataFrame(rows, columns=["customer_key", "customer_id", "key_type", "source_kind", "source_rank", "source_line"])
    return row_result(table, {"marts.ref_customer_list": attributes, "marts.map_customer_key": keys}, reasons)


KEY_TABLE = RowTable("marts.map_customer_key", "customer_key", precedence=("source_rank",), order=10)
LIST_TABLE = RowTable("marts.ref_customer_list", "customer_id", order=11)


MAP_SOURCE = Source(
    name="customer_map", label="customer map", match=lambda header: HeaderMatch(len(header), []) if is_customer_map(header) else None,
    parse_sheet=lambda table, _data, context: parse_customer_map(table, context.config),
)
LIST_SOURCE = Source(
    name="customer_list", label="customer list",
    match=lambda header: match_columns(header, LIST_COLUMNS, ("customer_id", "name")),
    parse_sheet=lambda table, _data, context: parse_customer_list(table, context.config),
)
