"""Manual overrides written by people: intent labels and complaint-case resolutions (they
always win over the rules).
"""

from __future__ import annotations

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.timezone import localize
from kpi_transforms.sources.base import HeaderMatch, ParseResult, Source
from kpi_transforms.sources.tables.reader import Table, cell_text, header_key, parse_datetimes
from kpi_transforms.sources.tables.rows import RowTable, _reasons_frame, resolve_columns, row_result

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


def parse_case_resolutions(table: Table, config: Config) -> ParseResult:
    """Rows of a manual case-resolution file -> ``marts.manual_case_resolution``."""

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
    return row_result(table, {"marts.manual_case_resolution": out}, reasons)


def parse_intent_labels(table: Table, config: Config) -> ParseResult:
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
    return row_result(table, {"marts.manual_intent_label": out}, reasons)


CASE_TABLE = RowTable("marts.manual_case_resolution", "override_key", order=40)
INTENT_TABLE = RowTable("marts.manual_intent_label", "label_key", order=40)


def _case_match(header: list[str]) -> HeaderMatch:
    found = resolve_columns(header, CASE_COLUMNS)
    missing = [m for m in ["thread_id"] if m not in found]
    if "resolved_at" not in found and "resolution" not in found:
        missing.append("resolved_at")
    return HeaderMatch(len(found), missing)


def _intent_match(header: list[str]) -> HeaderMatch:
    found = resolve_columns(header, INTENT_COLUMNS)
    missing = [m for m in ["intent"] if m not in found]
    if "thread_id" not in found and "question_message_id" not in found:
        missing.append("thread_id or question_message_id")
    return HeaderMatch(len(found), missing)


CASE_SOURCE = Source(
    name="manual_case_resolution", label="case-resolution file", match=_case_match,
    parse_sheet=lambda table, _data, context: parse_case_resolutions(table, context.config),
)
INTENT_SOURCE = Source(
    name="manual_intent_label", label="intent-label file", match=_intent_match,
    parse_sheet=lambda table, _data, context: parse_intent_labels(table, context.config),
)
