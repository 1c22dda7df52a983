"""The audit review sheet (``.xlsx``): what the Head of Marketing fills in, and reading it back
with its integrity checks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd

from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.core.periods import Period

SHEET_FORMAT = "chatkpi-audit-sheet/2"  # layout 2 (issue 17); /1 sheets still import
SHEET_FORMAT_V1 = "chatkpi-audit-sheet/1"
META_SHEET = "_chatkpi"
EXCERPT_CHARS = 700


class AuditSheetError(ChatKpiError):
    """A review sheet cannot be imported; the message names the row and the problem."""


# -- review rows -------------------------------------------------------------------------------


def human_duration(seconds: float | None, lang: str = "id") -> str:
    """``2 jam 15 menit``, ``1 hari 3 jam``, ``45 detik`` (two largest units)."""
    if seconds is None or pd.isna(seconds):
        return ""
    units = (("hari", "d", 86400), ("jam", "h", 3600), ("menit", "min", 60), ("detik", "s", 1))
    left, parts = int(round(float(seconds))), []
    for word_id, word_en, size in units:
        if left >= size or (size == 1 and not parts):
            parts.append(f"{left // size} {word_en if lang == 'en' else word_id}")
            left %= size
    return " ".join(parts[:2])


def _excerpt(lines: list[str]) -> str:
    text = "\n".join(lines)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _line(message: dict[str, Any]) -> str:
    when = pd.Timestamp(message["sent_at_local"]).strftime("%d/%m %H.%M")
    text = message["text"] if isinstance(message["text"], str) else ""
    if message["message_type"] == "media" and not text:
        text = "<media>"
    return f"[{when}] {message['sender_name'] or ''}: {text}"


# -- the review sheet --------------------------------------------------------------------------

SHEET_TEXT = {
    "id": {
        "sheet": "Audit", "title": "Audit sampel balasan — periode {period}",
        "help": "Isi kolom 'Disetujui (Ya/Tidak)' dengan Ya atau Tidak (kosong = belum diperiksa) dan 'Catatan' bila perlu. "
                "Jangan ubah kolom lain: lembar yang diubah ditolak saat impor (chatkpi audit import).",
        "standard": "Sesuai standar perusahaan = balasan sopan, menjawab yang ditanyakan pelanggan, informasi produk / harga "
                    "benar, dan dalam 1 hari kerja (atau alasannya jelas).",
        "yes": "Ya", "no": "Tidak", "pending": "Menunggu",
        "reviewer": "Pemeriksa", "date": "Tanggal periksa", "pending_review": "Belum diperiksa", "total": "Jumlah",
        "columns": ["No", "Agen", "Nama thread", "Kanal", "Waktu pertanyaan (lokal)", "Cuplikan pertanyaan", "Cuplikan balasan",
                    "Disetujui (Ya/Tidak)", "Catatan", "Intent (sistem)", "Intent benar (Ya / complaint / quote_request / order / other)",
                    "Durasi balas", "Dalam 1 hari kerja", "Waktu balasan (lokal)", "Periode", "Thread ID",
                    "Durasi balas (detik)", "Durasi jam kerja (detik)"],
    },
    "en": {
        "sheet": "Audit", "title": "Reply audit sample — period {period}",
        "help": "Fill 'Disetujui (Ya/Tidak)' with Ya (approved) or Tidak (not approved), empty = not reviewed yet, and "
                "'Catatan' (notes) if needed. Do not change other columns: an edited sheet is rejected on import.",
        "standard": "Up to the company standard = a polite reply that answers what the customer asked, with correct product / "
                    "price information, within 1 working day (or with a clear reason).",
        "yes": "Ya", "no": "Tidak", "pending": "Pending",
        "reviewer": "Reviewer", "date": "Review date", "pending_review": "Not reviewed", "total": "Total",
        "columns": ["No", "Agent", "Thread name", "Channel", "Question at (local)", "Question excerpt", "Reply excerpt",
                    "Disetujui (Ya/Tidak)", "Catatan", "Intent (system)", "Intent confirmed (Ya / complaint / quote_request / order / other)",
                    "Reply time", "Within 1 working day", "Reply at (local)", "Period", "Thread ID",
                    "Reply time (seconds)", "Business seconds"],
    },
}
HEADER_ROW = 3
# Layout 2 (issue 17): the decision, the notes and the intent cells right after the two
# excerpts, so a reviewer sees the conversation and what to fill together; reference columns
# after them.
COL_AGENT, COL_APPROVED, COL_NOTES, COL_PERIOD, COL_THREAD = 2, 8, 9, 15, 16
# Issue 14: the intent stored for the row's queue, and the cell where the reviewer confirms it
# (the same intent, or "Ya") or corrects it (another intent); empty = not reviewed.
COL_INTENT, COL_INTENT_CONFIRMED = 10, 11
N_COLUMNS = 18
COLUMN_WIDTHS = [5, 8, 18, 9, 14, 42, 42, 13, 30, 15, 22, 14, 11, 14, 9, 20, 11, 11]
WRAPPED = {3: 18, 6: 42, 7: 42, 9: 30}  # column -> width in characters, for the row heights
FROZEN = "D4"  # the header rows and No / agent / thread name stay in view both ways
# Sheets of layout 1 (format /1: 16 columns, or 18 with the intent columns) still import: their
# cells are read into layout-2 order. V1_ORDER[i] is the layout-1 column of layout-2 column i + 1.
V1_ORDER = [1, 3, 5, 6, 7, 8, 10, 15, 16, 17, 18, 11, 14, 9, 2, 4, 12, 13]
V1_NOTES = 16
V1_COLUMNS = {
    "id": ["No", "Periode", "Agen", "Thread ID", "Nama thread", "Kanal", "Waktu pertanyaan (lokal)",
           "Cuplikan pertanyaan", "Waktu balasan (lokal)", "Cuplikan balasan", "Durasi balas",
           "Durasi balas (detik)", "Durasi jam kerja (detik)", "Dalam 1 hari kerja", "Disetujui (Ya/Tidak)", "Catatan",
           "Intent (sistem)", "Intent benar (Ya / complaint / quote_request / order / other)"],
    "en": ["No", "Period", "Agent", "Thread ID", "Thread name", "Channel", "Question at (local)",
           "Question excerpt", "Reply at (local)", "Reply excerpt", "Reply time", "Reply time (seconds)",
           "Business seconds", "Within 1 working day", "Disetujui (Ya/Tidak)", "Catatan",
           "Intent (system)", "Intent confirmed (Ya / complaint / quote_request / order / other)"],
}
APPROVED_VALUES = {"ya": True, "tidak": False}
INTENT_VALUES = ("complaint", "quote_request", "order", "other")
INTENT_CONFIRM_WORDS = ("ya", "yes", "ok", "benar")  # = the stored intent is right


def _meta_hash(meta: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 of the sheet's metadata with the warehouse's sheet key: a forger who edits
    the hidden sheet cannot recompute it (an unkeyed hash of public fields could be; issue 15)."""
    body = {k: meta[k] for k in ("format", "period", "sample_sha256", "lang", "rows", "pairs") if k in meta}
    return hmac.new(key, json.dumps(body, sort_keys=True, ensure_ascii=True).encode("utf-8"), hashlib.sha256).hexdigest()


# Limits of an importable sheet: a real one holds a few hundred rows of excerpts (issue 15: a
# 960 KB file of 1 M x 16 cells took 5.6 GB in load_workbook).
MAX_SHEET_FILE_BYTES = 20 * 1024 * 1024
MAX_SHEET_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_EXTRA_ROWS = 1000  # rows read past the exported ones (an extra filled row is an error)
MAX_META_ROWS = 200  # metadata chunks of 30,000 characters


def _header_ok(header: list[str], columns: list[str], v1: bool = False) -> bool:
    """The exported headers; a layout-1 sheet exported before the intent columns existed is read as it was."""
    return header == columns or (v1 and header == columns[:V1_NOTES] + [""] * (len(columns) - V1_NOTES))


def row_height(values: list[Any]) -> float:
    """Points for a row whose wrapped cells hold ``values`` (by column): 15 pt a line, the
    tallest cell wins, at most 409 pt (Excel's limit)."""
    lines = 1
    for col, width in WRAPPED.items():
        text = values[col - 1] if isinstance(values[col - 1], str) else ""
        n = sum(max(1, -(-len(part) // width)) for part in text.split("\n")) if text else 1
        lines = max(lines, n)
    return float(min(409, 15 * lines + 3))


META_ROW, META_CHUNK = 5, 30000  # an Excel cell holds at most 32767 characters


def write_metadata(ws, meta: dict[str, Any]) -> None:
    """The metadata JSON in column B from row 5 down, in chunks a cell can hold."""
    text = json.dumps(meta, sort_keys=True)
    for i in range(0, len(text), META_CHUNK):
        ws.cell(META_ROW + i // META_CHUNK, 1, "metadata")
        ws.cell(META_ROW + i // META_CHUNK, 2, text[i:i + META_CHUNK])


def read_metadata(ws) -> str:
    """The metadata JSON written by :func:`write_metadata` (one pass over at most
    :data:`MAX_META_ROWS` rows; works on read-only worksheets)."""
    parts = []
    for label, value in ws.iter_rows(min_row=META_ROW, max_row=META_ROW + MAX_META_ROWS - 1, max_col=2, values_only=True):
        if label != "metadata":
            break
        parts.append(str(value or ""))
    return "".join(parts)


def _text_cell(cell, value) -> None:
    """Write text that is never taken for a formula (a customer may write '=...')."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


# -- import ------------------------------------------------------------------------------------


@dataclasses.dataclass
class ImportResult:
    period: Period
    sheet_sha256: str
    rows: int
    reviewed: int
    inserted: int
    updated: int
    unchanged: int
    intents: int = 0  # queues whose intent the reviewer confirmed or corrected (audit.intent_review)

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def summary(self) -> str:
        return (
            f"audit sheet for {self.period.label}: {self.reviewed} of {self.rows} rows reviewed; "
            f"{self.inserted} new, {self.updated} changed, {self.unchanged} unchanged decisions (audit.validation)"
            + (f"; {self.intents} intent(s) confirmed or corrected (audit.intent_review)" if self.intents else "")
        )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _check_size(path: Path, data: bytes) -> None:
    """Refuse a sheet too large to be a review sheet before openpyxl expands it."""
    if len(data) > MAX_SHEET_FILE_BYTES:
        raise AuditSheetError(f"{path.name} is {len(data)} bytes, more than a review sheet's limit of {MAX_SHEET_FILE_BYTES}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise AuditSheetError(f"{path.name} is not a readable .xlsx file ({type(exc).__name__})") from None
    if unpacked > MAX_SHEET_UNPACKED_BYTES:
        raise AuditSheetError(
            f"{path.name} unpacks to {unpacked} bytes, more than a review sheet's limit of {MAX_SHEET_UNPACKED_BYTES}"
        )


def read_review_sheet(path: str | Path, key: bytes) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(metadata, rows, file sha256) of a filled review sheet; structural problems raise
    :class:`AuditSheetError` naming the row. ``key`` is the warehouse's sheet key (HMAC).

    Linear in the sheet's size and bounded: the workbook is read once, streaming (read-only
    mode), only the exported rows plus :data:`MAX_EXTRA_ROWS` are looked at, and files larger
    than the limits above are refused before they are expanded."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.is_file():
        raise AuditSheetError(f"review sheet {str(path)!r} does not exist")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    _check_size(path, data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure means: not a usable .xlsx
        raise AuditSheetError(f"{path.name} is not a readable .xlsx file ({type(exc).__name__})") from exc
    try:
        return _read_sheet(wb, path, key) + (digest,)
    finally:
        wb.close()


def _read_sheet(wb, path: Path, key: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if META_SHEET not in wb.sheetnames:
        raise AuditSheetError(f"{path.name} is not a chatkpi review sheet: its metadata sheet is missing")
    try:
        meta = json.loads(read_metadata(wb[META_SHEET]))
    except (TypeError, ValueError) as exc:
        raise AuditSheetError(f"{path.name}: the metadata sheet was edited (unreadable)") from exc
    if (not isinstance(meta, dict) or meta.get("format") not in (SHEET_FORMAT, SHEET_FORMAT_V1)
            or not hmac.compare_digest(str(meta.get("content_sha256")), _meta_hash(meta, key))):
        raise AuditSheetError(f"{path.name}: the metadata sheet was edited (its hash does not match)")
    lang = meta["lang"] if meta.get("lang") in SHEET_TEXT else "id"
    ws = wb[SHEET_TEXT[lang]["sheet"]] if SHEET_TEXT[lang]["sheet"] in wb.sheetnames else wb.worksheets[0]
    v1 = meta["format"] == SHEET_FORMAT_V1
    columns = V1_COLUMNS[lang] if v1 else SHEET_TEXT[lang]["columns"]
    expected = meta["rows"]
    width = len(columns)
    last = HEADER_ROW + len(expected) + MAX_EXTRA_ROWS
    header: list[str] = []
    rows = []
    for n, values in enumerate(ws.iter_rows(min_row=HEADER_ROW, max_row=last, max_col=max(width, N_COLUMNS), values_only=True),
                               start=HEADER_ROW):
        values = list(values) + [None] * (max(width, N_COLUMNS) - len(values))
        if n == HEADER_ROW:
            header = [_cell_text(v) for v in values[:width]]
            if not _header_ok(header, columns, v1):
                raise AuditSheetError(f"{path.name}: row {HEADER_ROW}: the column headers were changed or moved")
            continue
        cells = values[:N_COLUMNS]
        if all(_cell_text(v) == "" for v in cells):
            continue
        rows.append({"row": n, "cells": [cells[c - 1] for c in V1_ORDER] if v1 else cells})
        if len(rows) > len(expected):
            break  # the first row that is not part of the sheet is reported; no need to read on
    if not _header_ok(header, columns, v1):
        raise AuditSheetError(f"{path.name}: row {HEADER_ROW}: the column headers were changed or moved")
    errors = []
    for i, exp in enumerate(expected):
        if i >= len(rows) or rows[i]["row"] != HEADER_ROW + 1 + i:
            errors.append(f"row {HEADER_ROW + 1 + i}: missing (the sheet was exported with thread {exp[2]} here)")
    for extra in rows[len(expected):]:
        errors.append(f"row {extra['row']}: not part of the exported sheet")
    if errors:
        raise AuditSheetError(f"{path.name}: " + "; ".join(errors))
    return meta, rows
