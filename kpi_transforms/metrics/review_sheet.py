"""The audit review sheet (``.xlsx``): what the Head of Marketing fills in, and reading it back
with its integrity checks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.core.periods import Period

SHEET_FORMAT = "chatkpi-audit-sheet/2"
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
                    "Disetujui (Ya/Tidak)", "Catatan", "Durasi balas", "Dalam 1 hari kerja", "Waktu balasan (lokal)",
                    "Periode", "Thread ID", "Durasi balas (detik)", "Durasi jam kerja (detik)"],
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
                    "Disetujui (Ya/Tidak)", "Catatan", "Reply time", "Within 1 working day", "Reply at (local)",
                    "Period", "Thread ID", "Reply time (seconds)", "Business seconds"],
    },
}
# Layout 2 (issue 17): the decision and the notes right after the two excerpts, so a reviewer
# sees the conversation and the decision cells together; reference columns after them.
HEADER_ROW = 3
COL_AGENT, COL_APPROVED, COL_NOTES, COL_PERIOD, COL_THREAD = 2, 8, 9, 13, 14
COLUMN_WIDTHS = [5, 8, 18, 9, 14, 42, 42, 13, 30, 14, 11, 14, 9, 20, 11, 11]
WRAPPED = {6: 42, 7: 42, 9: 30, 3: 18}  # column -> width in characters, for the row heights
FROZEN = "D4"  # the header rows and No / agent / thread name stay in view both ways
# Sheets of layout 1 (format /1, exported before issue 17) still import: their cells are read
# into layout-2 order. V1_ORDER[i] is the layout-1 column of layout-2 column i + 1.
SHEET_FORMAT_V1 = "chatkpi-audit-sheet/1"
V1_ORDER = [1, 3, 5, 6, 7, 8, 10, 15, 16, 11, 14, 9, 2, 4, 12, 13]
V1_COLUMNS = {
    "id": ["No", "Periode", "Agen", "Thread ID", "Nama thread", "Kanal", "Waktu pertanyaan (lokal)",
           "Cuplikan pertanyaan", "Waktu balasan (lokal)", "Cuplikan balasan", "Durasi balas",
           "Durasi balas (detik)", "Durasi jam kerja (detik)", "Dalam 1 hari kerja", "Disetujui (Ya/Tidak)", "Catatan"],
    "en": ["No", "Period", "Agent", "Thread ID", "Thread name", "Channel", "Question at (local)",
           "Question excerpt", "Reply at (local)", "Reply excerpt", "Reply time", "Reply time (seconds)",
           "Business seconds", "Within 1 working day", "Disetujui (Ya/Tidak)", "Catatan"],
}
APPROVED_VALUES = {"ya": True, "tidak": False}


def row_height(values: list[Any]) -> float:
    """Points for a row whose wrapped cells hold ``values`` (by column): 15 pt a line, the
    tallest cell wins, at most 409 pt (Excel's limit)."""
    lines = 1
    for col, width in WRAPPED.items():
        text = values[col - 1] if isinstance(values[col - 1], str) else ""
        n = sum(max(1, -(-len(part) // width)) for part in text.split("\n")) if text else 1
        lines = max(lines, n)
    return float(min(409, 15 * lines + 3))


def _meta_hash(meta: dict[str, Any]) -> str:
    body = {k: meta[k] for k in ("format", "period", "sample_sha256", "lang", "rows")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode("utf-8")).hexdigest()


META_ROW, META_CHUNK = 5, 30000  # an Excel cell holds at most 32767 characters


def write_metadata(ws, meta: dict[str, Any]) -> None:
    """The metadata JSON in column B from row 5 down, in chunks a cell can hold."""
    text = json.dumps(meta, sort_keys=True)
    for i in range(0, len(text), META_CHUNK):
        ws.cell(META_ROW + i // META_CHUNK, 1, "metadata")
        ws.cell(META_ROW + i // META_CHUNK, 2, text[i:i + META_CHUNK])


def read_metadata(ws) -> str:
    parts, row = [], META_ROW
    while ws.cell(row, 1).value == "metadata":
        parts.append(str(ws.cell(row, 2).value or ""))
        row += 1
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

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def summary(self) -> str:
        return (
            f"audit sheet for {self.period.label}: {self.reviewed} of {self.rows} rows reviewed; "
            f"{self.inserted} new, {self.updated} changed, {self.unchanged} unchanged decisions (audit.validation)"
        )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_review_sheet(path: str | Path) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    """(metadata, rows, file sha256) of a filled review sheet; structural problems raise
    :class:`AuditSheetError` naming the row."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.is_file():
        raise AuditSheetError(f"review sheet {str(path)!r} does not exist")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        wb = load_workbook(path, data_only=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure means: not a usable .xlsx
        raise AuditSheetError(f"{path.name} is not a readable .xlsx file ({type(exc).__name__})") from exc
    if META_SHEET not in wb.sheetnames:
        raise AuditSheetError(f"{path.name} is not a chatkpi review sheet: its metadata sheet is missing")
    try:
        meta = json.loads(read_metadata(wb[META_SHEET]))
    except (TypeError, ValueError) as exc:
        raise AuditSheetError(f"{path.name}: the metadata sheet was edited (unreadable)") from exc
    if (not isinstance(meta, dict) or meta.get("format") not in (SHEET_FORMAT, SHEET_FORMAT_V1)
            or meta.get("content_sha256") != _meta_hash(meta)):
        raise AuditSheetError(f"{path.name}: the metadata sheet was edited (its hash does not match)")
    lang = meta["lang"] if meta.get("lang") in SHEET_TEXT else "id"
    v1 = meta["format"] == SHEET_FORMAT_V1
    columns = V1_COLUMNS[lang] if v1 else SHEET_TEXT[lang]["columns"]
    ws = wb[SHEET_TEXT[lang]["sheet"]] if SHEET_TEXT[lang]["sheet"] in wb.sheetnames else wb.worksheets[0]
    header = [_cell_text(ws.cell(HEADER_ROW, c).value) for c in range(1, len(columns) + 1)]
    if header != columns:
        raise AuditSheetError(f"{path.name}: row {HEADER_ROW}: the column headers were changed or moved")
    expected = meta["rows"]
    rows = []
    n = HEADER_ROW + 1
    while n <= ws.max_row:
        cells = [ws.cell(n, c).value for c in range(1, len(columns) + 1)]
        if all(_cell_text(v) == "" for v in cells):
            n += 1
            continue
        rows.append({"row": n, "cells": [cells[c - 1] for c in V1_ORDER] if v1 else cells})
        n += 1
    errors = []
    for i, exp in enumerate(expected):
        if i >= len(rows) or rows[i]["row"] != HEADER_ROW + 1 + i:
            errors.append(f"row {HEADER_ROW + 1 + i}: missing (the sheet was exported with thread {exp[2]} here)")
    for extra in rows[len(expected):]:
        errors.append(f"row {extra['row']}: not part of the exported sheet")
    if errors:
        raise AuditSheetError(f"{path.name}: " + "; ".join(errors))
    return meta, rows, digest
