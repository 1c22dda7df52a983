"""Audit sampling and validation (SPEC 10, seed 001): draw, review sheet, import, two KPIs.

Per period and agent the population is the threads of the audited channels (WhatsApp and
e-mail by default) whose primary agent is that agent and that have a customer queue in the
period. The sample is the 10 threads with the smallest ``sha256(period|agent_id|thread_id)``
(all when fewer): reproducible, and stable as data grows, because a thread's key never changes.
A stored sample is reused until a re-sample is asked for.

The review sheet (``.xlsx``) has one row per sampled thread: an excerpt of the thread's first
queue of the period and its reply, the reply time, the within-one-working-day flag, and empty
*Disetujui (Ya/Tidak)* and *Catatan* columns for the Head of Marketing. A very hidden,
protected metadata sheet carries the period, a hash of the sample and the thread ids, so an
edited or foreign sheet is rejected on import. Import merges into ``audit.validation``:
unchanged decisions are kept as they are, so importing the same sheet twice changes nothing.

KPIs (SPEC 8): ``response_validated_rate`` = % of reviewed sampled threads approved;
``response_speed_rate`` = % of reviewed sampled threads whose sampled queue was answered within
one working day *and* approved. Both say in ``note`` when the sheet is incomplete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from kpi_transforms.errors import ChatKpiError
from kpi_transforms.periods import Period, parse_period
from kpi_transforms.warehouse import Warehouse

AUDIT_CHANNELS: tuple[str, ...] = ("whatsapp", "email")
SAMPLE_SIZE = 10
AUDIT_KPI_CODES = ("response_validated_rate", "response_speed_rate")
SHEET_FORMAT = "chatkpi-audit-sheet/1"
META_SHEET = "_chatkpi"
EXCERPT_CHARS = 700

SAMPLE_SCHEMA = pa.schema(
    [
        ("period", pa.string()), ("period_type", pa.string()), ("period_start", pa.date32()),
        ("agent_id", pa.string()), ("thread_id", pa.string()), ("rank", pa.int64()), ("sort_key", pa.string()),
        ("population_size", pa.int64()), ("method", pa.string()), ("sampled_at", pa.timestamp("us", tz="UTC")),
    ]
)
VALIDATION_SCHEMA = pa.schema(
    [
        ("period", pa.string()), ("agent_id", pa.string()), ("thread_id", pa.string()), ("approved", pa.bool_()),
        ("notes", pa.string()), ("reviewed_at", pa.timestamp("us", tz="UTC")), ("sheet_sha256", pa.string()),
    ]
)
KPI_SCHEMA = pa.schema(
    [
        ("kpi_code", pa.string()), ("period_type", pa.string()), ("period_start", pa.date32()),
        ("agent_id", pa.string()), ("value", pa.float64()), ("unit", pa.string()),
        ("basis_count", pa.int64()), ("note", pa.string()), ("computed_at", pa.timestamp("us", tz="UTC")),
    ]
)


class AuditSheetError(ChatKpiError):
    """A review sheet cannot be imported; the message names the row and the problem."""


def _period(period: Period | str) -> Period:
    return parse_period(period) if isinstance(period, str) else period


def _local_bounds(period: Period) -> dict[str, dt.datetime]:
    return {"lo": dt.datetime.combine(period.start, dt.time()), "hi": dt.datetime.combine(period.end, dt.time())}


# -- sampling --------------------------------------------------------------------------------


def sample_key(period_label: str, agent_id: str, thread_id: str) -> str:
    """The sort key of a thread in the sample: sha256 hex of ``period|agent_id|thread_id``."""
    return hashlib.sha256(f"{period_label}|{agent_id}|{thread_id}".encode("utf-8")).hexdigest()


def audit_population(warehouse: Warehouse, period: Period | str, channels: Sequence[str] = AUDIT_CHANNELS) -> pd.DataFrame:
    """One row per (agent_id, thread_id): threads of ``channels`` whose primary agent is the
    agent and that have a customer queue whose question falls in the period."""
    period = _period(period)
    frame = warehouse.read_df(
        "select t.primary_agent_id as agent_id, t.thread_id, t.channel from marts.fct_thread t"
        " where t.primary_agent_id is not null and t.thread_id in ("
        "   select p.thread_id from marts.fct_reply_pair p"
        "   where p.question_at_local >= :lo and p.question_at_local < :hi)",
        _local_bounds(period),
    )
    wanted = {c.lower() for c in channels}
    return frame[frame["channel"].isin(wanted)][["agent_id", "thread_id"]].reset_index(drop=True)


def draw_sample(
    population: pd.DataFrame, period: Period | str, size: int = SAMPLE_SIZE, channels: Sequence[str] = AUDIT_CHANNELS
) -> pd.DataFrame:
    """The sample of a population: per agent the ``size`` threads with the smallest key."""
    period = _period(period)
    if population.empty:
        return pd.DataFrame(columns=SAMPLE_SCHEMA.names)
    frame = population[["agent_id", "thread_id"]].drop_duplicates().copy()
    frame["sort_key"] = [sample_key(period.label, a, t) for a, t in zip(frame["agent_id"], frame["thread_id"])]
    frame = frame.sort_values(["agent_id", "sort_key"], kind="stable")
    frame["rank"] = frame.groupby("agent_id").cumcount() + 1
    frame["population_size"] = frame.groupby("agent_id")["thread_id"].transform("size")
    frame = frame[frame["rank"] <= size].copy()
    frame["period"] = period.label
    frame["period_type"] = period.period_type
    frame["period_start"] = period.start
    frame["method"] = f"sha256(period|agent_id|thread_id) smallest {size}; channels {','.join(sorted(channels))}"
    frame["sampled_at"] = pd.Timestamp.now(tz="UTC")
    return frame[SAMPLE_SCHEMA.names].reset_index(drop=True)


def read_sample(warehouse: Warehouse, period: Period | str) -> pd.DataFrame:
    period = _period(period)
    return warehouse.read_df(
        "select * from audit.sample where period = :p order by agent_id, rank", {"p": period.label}
    )


@dataclasses.dataclass
class SampleResult:
    period: Period
    sample: pd.DataFrame
    reused: bool


def sample_threads(
    warehouse: Warehouse,
    period_text: Period | str,
    *,
    resample: bool = False,
    channels: Sequence[str] = AUDIT_CHANNELS,
    size: int = SAMPLE_SIZE,
) -> SampleResult:
    """Draw and store the period's sample, or reuse the stored one (unless ``resample``)."""
    period = _period(period_text)
    warehouse.init()
    stored = read_sample(warehouse, period)
    if not stored.empty and not resample:
        return SampleResult(period, stored, True)
    sample = draw_sample(audit_population(warehouse, period, channels), period, size, channels)
    with warehouse.begin() as conn:
        warehouse.lock(conn, "audit")
        warehouse.execute(conn, "delete from audit.sample where period = :p", {"p": period.label})
        warehouse.bulk_insert(conn, "audit.sample", pa.Table.from_pandas(sample, schema=SAMPLE_SCHEMA, preserve_index=False))
    store_audit_kpis(warehouse, period)  # a new sample changes what the reviewed rows mean
    return SampleResult(period, read_sample(warehouse, period), False)


def sample_sha256(sample: pd.DataFrame) -> str:
    """A fingerprint of a stored sample (period, agent, thread, rank of every row)."""
    lines = sorted(f"{r.period}|{r.agent_id}|{r.thread_id}|{int(r.rank)}" for r in sample.itertuples(index=False))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


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


def _first_queues(warehouse: Warehouse, period: Period) -> pd.DataFrame:
    """Per sampled thread: its first queue whose question falls in the period."""
    pairs = warehouse.read_df(
        "select p.pair_id, p.thread_id, p.question_message_id, p.reply_message_id, p.question_at,"
        " p.question_at_local, p.reply_at, p.calendar_seconds, p.business_seconds, p.within_1_working_day, p.status"
        " from marts.fct_reply_pair p join audit.sample s on s.thread_id = p.thread_id and s.period = :p"
        " where p.question_at_local >= :lo and p.question_at_local < :hi",
        {"p": period.label, **_local_bounds(period)},
    )
    if pairs.empty:
        return pairs
    pairs["question_at"] = pd.to_datetime(pairs["question_at"], utc=True)
    pairs = pairs.sort_values(["thread_id", "question_at", "pair_id"], kind="stable")
    return pairs.drop_duplicates("thread_id").reset_index(drop=True)


def _excerpt(lines: list[str]) -> str:
    text = "\n".join(lines)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def review_rows(warehouse: Warehouse, period: Period | str, lang: str = "id") -> pd.DataFrame:
    """One row per sampled thread with what the reviewer needs to judge the reply."""
    period = _period(period)
    sample = read_sample(warehouse, period)
    firsts = _first_queues(warehouse, period)
    messages = warehouse.read_df(
        "select m.message_id, m.thread_id, m.thread_name, m.channel, m.sent_at, m.sent_at_local, m.sender_name,"
        " m.sender_role, m.message_type, m.text, m.file_seq, m.source_line"
        " from marts.fct_message m join audit.sample s on s.thread_id = m.thread_id and s.period = :p",
        {"p": period.label},
    )
    if not messages.empty:
        messages["sent_at"] = pd.to_datetime(messages["sent_at"], utc=True)
        messages = messages.sort_values(["thread_id", "sent_at", "file_seq", "source_line", "message_id"], kind="stable")
    by_thread = {k: g.reset_index(drop=True) for k, g in messages.groupby("thread_id", sort=False)} if len(messages) else {}
    first_by_thread = {r["thread_id"]: r for r in firsts.to_dict("records")}
    rows = []
    for s in sample.to_dict("records"):
        msgs = by_thread.get(s["thread_id"], pd.DataFrame(columns=messages.columns))
        q = first_by_thread.get(s["thread_id"])
        row: dict[str, Any] = {
            "period": s["period"], "agent_id": s["agent_id"], "thread_id": s["thread_id"], "rank": int(s["rank"]),
            "thread_name": msgs["thread_name"].iloc[0] if len(msgs) else "", "channel": msgs["channel"].iloc[0] if len(msgs) else "",
            "question_at_local": None, "question_excerpt": "", "reply_at_local": None, "reply_excerpt": "",
            "reply_human": "", "calendar_seconds": None, "business_seconds": None, "within_1_working_day": None,
        }
        if q is not None and len(msgs):
            ids = msgs["message_id"].tolist()
            start = ids.index(q["question_message_id"]) if q["question_message_id"] in ids else 0
            stop = ids.index(q["reply_message_id"]) if isinstance(q["reply_message_id"], str) and q["reply_message_id"] in ids else len(ids)
            queue = msgs.iloc[start:stop]
            queue = queue[(queue["sender_role"] == "customer") & ~queue["message_type"].isin(["system", "deleted"])]
            row["question_excerpt"] = _excerpt([_line(m) for m in queue.head(8).to_dict("records")])
            row["question_at_local"] = pd.Timestamp(q["question_at_local"]).to_pydatetime()
            if stop < len(ids):
                reply = msgs.iloc[stop]
                row["reply_excerpt"] = _excerpt([_line(reply.to_dict())])
                row["reply_at_local"] = pd.Timestamp(reply["sent_at_local"]).to_pydatetime()
                row["calendar_seconds"] = int(q["calendar_seconds"])
                row["business_seconds"] = int(q["business_seconds"])
                row["reply_human"] = human_duration(q["calendar_seconds"], lang)
            else:
                row["reply_human"] = "not answered" if lang == "en" else "belum dibalas"
            flag = q["within_1_working_day"]
            row["within_1_working_day"] = None if flag is None or pd.isna(flag) else bool(flag)
        rows.append(row)
    return pd.DataFrame(rows)


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
        "yes": "Ya", "no": "Tidak", "pending": "Menunggu",
        "columns": ["No", "Periode", "Agen", "Thread ID", "Nama thread", "Kanal", "Waktu pertanyaan (lokal)",
                    "Cuplikan pertanyaan", "Waktu balasan (lokal)", "Cuplikan balasan", "Durasi balas",
                    "Durasi balas (detik)", "Durasi jam kerja (detik)", "Dalam 1 hari kerja", "Disetujui (Ya/Tidak)", "Catatan"],
    },
    "en": {
        "sheet": "Audit", "title": "Reply audit sample — period {period}",
        "help": "Fill 'Disetujui (Ya/Tidak)' with Ya (approved) or Tidak (not approved), empty = not reviewed yet, and "
                "'Catatan' (notes) if needed. Do not change other columns: an edited sheet is rejected on import.",
        "yes": "Ya", "no": "Tidak", "pending": "Pending",
        "columns": ["No", "Period", "Agent", "Thread ID", "Thread name", "Channel", "Question at (local)",
                    "Question excerpt", "Reply at (local)", "Reply excerpt", "Reply time", "Reply time (seconds)",
                    "Business seconds", "Within 1 working day", "Disetujui (Ya/Tidak)", "Catatan"],
    },
}
HEADER_ROW = 3
COL_PERIOD, COL_AGENT, COL_THREAD, COL_APPROVED, COL_NOTES = 2, 3, 4, 15, 16
APPROVED_VALUES = {"ya": True, "tidak": False}


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


def write_review_sheet(warehouse: Warehouse, period: Period | str, out: str | Path, lang: str = "id") -> Path:
    """Write the review sheet of the period's stored sample to ``out`` (.xlsx)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    period = _period(period)
    sample = read_sample(warehouse, period)
    if sample.empty:
        raise AuditSheetError(
            f"no sampled thread for period {period.label}: no sample drawn yet (chatkpi audit sample --period {period.label}),"
            " or no thread of the audited channels has a customer queue in the period"
        )
    rows = review_rows(warehouse, period, lang)
    t = SHEET_TEXT[lang]
    wb = Workbook()
    ws = wb.active
    ws.title = t["sheet"]
    ws.cell(1, 1, t["title"].format(period=period.label)).font = Font(bold=True, size=13)
    ws.cell(2, 1, t["help"]).alignment = Alignment(wrap_text=False)
    for col, name in enumerate(t["columns"], start=1):
        cell = ws.cell(HEADER_ROW, col, name)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7" if col < COL_APPROVED else "FFF2CC")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)
    for i, r in enumerate(rows.to_dict("records"), start=1):
        n = HEADER_ROW + i
        flag = r["within_1_working_day"]
        values = [i, r["period"], r["agent_id"], r["thread_id"], r["thread_name"], r["channel"], r["question_at_local"],
                  r["question_excerpt"], r["reply_at_local"], r["reply_excerpt"], r["reply_human"], r["calendar_seconds"],
                  r["business_seconds"], t["pending"] if flag is None else (t["yes"] if flag else t["no"]), None, None]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(n, col)
            _text_cell(cell, value)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
        ws.cell(n, COL_APPROVED).protection = unlocked
        ws.cell(n, COL_NOTES).protection = unlocked
    last = HEADER_ROW + len(rows)
    if len(rows):
        dv = DataValidation(type="list", formula1='"Ya,Tidak"', allow_blank=True, showErrorMessage=True,
                            errorTitle="Ya / Tidak", error="Isi Ya atau Tidak, atau kosongkan. / Use Ya or Tidak, or leave empty.")
        ws.add_data_validation(dv)
        dv.add(f"{get_column_letter(COL_APPROVED)}{HEADER_ROW + 1}:{get_column_letter(COL_APPROVED)}{last}")
    for col, width in enumerate([5, 9, 10, 22, 22, 10, 17, 50, 17, 50, 16, 12, 12, 12, 14, 40], start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(HEADER_ROW + 1, 1)
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.formatCells = False

    meta = {
        "format": SHEET_FORMAT, "period": period.label, "sample_sha256": sample_sha256(sample), "lang": lang,
        "rows": [[int(i), str(r["agent_id"]), str(r["thread_id"])] for i, r in enumerate(rows.to_dict("records"), start=1)],
    }
    meta["content_sha256"] = _meta_hash(meta)
    ms = wb.create_sheet(META_SHEET)
    ms.cell(1, 1, "format")
    ms.cell(1, 2, SHEET_FORMAT)
    ms.cell(2, 1, "period")
    ms.cell(2, 2, period.label)
    ms.cell(3, 1, "sample_sha256")
    ms.cell(3, 2, meta["sample_sha256"])
    ms.cell(4, 1, "generated_at")
    ms.cell(4, 2, pd.Timestamp.now(tz="UTC").isoformat())
    write_metadata(ms, meta)
    ms.sheet_state = "veryHidden"
    ms.protection.sheet = True
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


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
    if not isinstance(meta, dict) or meta.get("format") != SHEET_FORMAT or meta.get("content_sha256") != _meta_hash(meta):
        raise AuditSheetError(f"{path.name}: the metadata sheet was edited (its hash does not match)")
    lang = meta["lang"] if meta.get("lang") in SHEET_TEXT else "id"
    ws = wb[SHEET_TEXT[lang]["sheet"]] if SHEET_TEXT[lang]["sheet"] in wb.sheetnames else wb.worksheets[0]
    header = [_cell_text(ws.cell(HEADER_ROW, c).value) for c in range(1, len(SHEET_TEXT[lang]["columns"]) + 1)]
    if header != SHEET_TEXT[lang]["columns"]:
        raise AuditSheetError(f"{path.name}: row {HEADER_ROW}: the column headers were changed or moved")
    expected = meta["rows"]
    rows = []
    n = HEADER_ROW + 1
    while n <= ws.max_row:
        cells = [ws.cell(n, c).value for c in range(1, COL_NOTES + 1)]
        if all(_cell_text(v) == "" for v in cells):
            n += 1
            continue
        rows.append({"row": n, "cells": cells})
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


def import_review_sheet(warehouse: Warehouse, path: str | Path, *, expect_period: str | None = None) -> ImportResult:
    """``chatkpi audit import``: validate a filled review sheet and merge its decisions into
    ``audit.validation``; then refresh the period's two audit KPIs in ``marts.fct_kpi``."""
    path = Path(path)
    meta, rows, digest = read_review_sheet(path)
    period = parse_period(meta["period"])
    name = path.name
    if expect_period is not None and parse_period(expect_period).label != period.label:
        raise AuditSheetError(f"{name} is the sheet of period {period.label}, not {parse_period(expect_period).label} (different period)")
    warehouse.init()
    sample = read_sample(warehouse, period)
    if sample.empty:
        raise AuditSheetError(f"{name}: no audit sample for period {period.label} in this warehouse (different period or warehouse)")
    known = {(a, t) for a, t in zip(sample["agent_id"], sample["thread_id"])}
    errors: list[str] = []
    decisions = []
    for exp, row in zip(meta["rows"], rows):
        n, cells = row["row"], row["cells"]
        _, agent, thread = exp
        got_period, got_agent, got_thread = (_cell_text(cells[c - 1]) for c in (COL_PERIOD, COL_AGENT, COL_THREAD))
        if got_period != period.label:
            errors.append(f"row {n}: period {got_period!r} differs from the sheet's period {period.label} (different period)")
            continue
        if (got_agent, got_thread) != (agent, thread):
            errors.append(f"row {n}: agent/thread id edited ({got_agent}/{got_thread}; exported as {agent}/{thread})")
            continue
        if (agent, thread) not in known:
            errors.append(f"row {n}: unknown thread {thread!r}: not in the audit sample of {period.label} for agent {agent}")
            continue
        raw = cells[COL_APPROVED - 1]
        text = _cell_text(raw)
        if isinstance(raw, bool) or (text and text.lower() not in APPROVED_VALUES):
            errors.append(f"row {n}: {text!r} in 'Disetujui (Ya/Tidak)': write Ya or Tidak, or leave it empty")
            continue
        notes = _cell_text(cells[COL_NOTES - 1]) or None
        if text:
            decisions.append({"agent_id": agent, "thread_id": thread, "approved": APPROVED_VALUES[text.lower()], "notes": notes})
    if errors:
        raise AuditSheetError(f"{name} rejected: " + "; ".join(errors))
    if sample_sha256(sample) != meta["sample_sha256"]:
        raise AuditSheetError(
            f"{name}: the audit sample of {period.label} was drawn again after this sheet was made; export a new sheet"
        )

    now = pd.Timestamp.now(tz="UTC")
    inserted = updated = unchanged = 0
    with warehouse.begin() as conn:
        warehouse.lock(conn, "audit")
        existing = warehouse.read_df(
            "select agent_id, thread_id, approved, notes from audit.validation where period = :p", {"p": period.label}, conn
        )
        before = {(r["agent_id"], r["thread_id"]): (bool(r["approved"]), r["notes"] if isinstance(r["notes"], str) else None)
                  for r in existing.to_dict("records")}
        new_rows = []
        for d in decisions:
            key = (d["agent_id"], d["thread_id"])
            if key in before and before[key] == (d["approved"], d["notes"]):
                unchanged += 1
                continue
            if key in before:
                updated += 1
                warehouse.execute(conn, "delete from audit.validation where period = :p and agent_id = :a and thread_id = :t",
                                  {"p": period.label, "a": key[0], "t": key[1]})
            else:
                inserted += 1
            new_rows.append({"period": period.label, **d, "reviewed_at": now, "sheet_sha256": digest})
        if new_rows:
            warehouse.bulk_insert(conn, "audit.validation",
                                  pa.Table.from_pylist(new_rows, schema=VALIDATION_SCHEMA))
    result = ImportResult(period, digest, len(rows), len(decisions), inserted, updated, unchanged)
    if result.changed or not _has_audit_kpis(warehouse, period):
        store_audit_kpis(warehouse, period)
    return result


# -- KPIs ---------------------------------------------------------------------------------------


def audit_kpis(warehouse: Warehouse, period: Period | str) -> pd.DataFrame:
    """``response_validated_rate`` and ``response_speed_rate`` per sampled agent and for the
    team (agent_id null), as ``marts.fct_kpi`` rows of the period."""
    period = _period(period)
    sample = read_sample(warehouse, period)
    now = pd.Timestamp.now(tz="UTC")

    def row(code: str, agent: str | None, value: float | None, basis: int, note: str | None) -> dict[str, Any]:
        return {"kpi_code": code, "period_type": period.period_type, "period_start": period.start, "agent_id": agent,
                "value": value, "unit": "percent", "basis_count": basis, "note": note, "computed_at": now}

    if sample.empty:
        note = f"no data: no sample validated (no audit sample drawn for {period.label})"
        return pd.DataFrame([row(c, None, None, 0, note) for c in AUDIT_KPI_CODES], columns=KPI_SCHEMA.names)
    validations = warehouse.read_df("select agent_id, thread_id, approved from audit.validation where period = :p", {"p": period.label})
    firsts = _first_queues(warehouse, period)
    frame = sample[["agent_id", "thread_id"]].merge(validations, on=["agent_id", "thread_id"], how="left")
    fast = firsts[["thread_id", "within_1_working_day"]] if len(firsts) else pd.DataFrame(columns=["thread_id", "within_1_working_day"])
    frame = frame.merge(fast, on="thread_id", how="left")
    frame["reviewed"] = frame["approved"].notna()
    frame["ok"] = frame["approved"].fillna(False).astype(bool) & frame["reviewed"]
    frame["ok_fast"] = frame["ok"] & frame["within_1_working_day"].fillna(False).astype(bool)
    out = []
    groups: list[tuple[str | None, pd.DataFrame]] = [(None, frame)] + [(a, g) for a, g in frame.groupby("agent_id", sort=True)]
    for agent, g in groups:
        sampled, reviewed = len(g), int(g["reviewed"].sum())
        if reviewed == 0:
            note = f"no data: no sample validated (0 of {sampled} reviewed)"
            out += [row(c, agent, None, 0, note) for c in AUDIT_KPI_CODES]
            continue
        note = f"{reviewed} of {sampled} reviewed" if reviewed < sampled else None
        out.append(row("response_validated_rate", agent, 100.0 * int(g["ok"].sum()) / reviewed, reviewed, note))
        out.append(row("response_speed_rate", agent, 100.0 * int(g["ok_fast"].sum()) / reviewed, reviewed, note))
    return pd.DataFrame(out, columns=KPI_SCHEMA.names)


def _has_audit_kpis(warehouse: Warehouse, period: Period) -> bool:
    n = warehouse.scalar(
        "select count(*) from marts.fct_kpi where period_type = :t and period_start = :s"
        " and kpi_code in ('response_validated_rate', 'response_speed_rate')",
        {"t": period.period_type, "s": period.start},
    )
    return bool(n)


def store_audit_kpis(warehouse: Warehouse, period: Period | str) -> pd.DataFrame:
    """Replace just the two audit KPI codes of the period in ``marts.fct_kpi`` (one transaction).
    Agents with other KPI rows in the period but no sampled thread get a null row with a note,
    as ``compute_period_kpis`` writes them."""
    period = _period(period)
    frame = audit_kpis(warehouse, period)
    with warehouse.begin() as conn:
        warehouse.lock(conn, "kpi")
        others = warehouse.read_df(
            "select distinct agent_id from marts.fct_kpi where period_type = :t and period_start = :s and agent_id is not null"
            " and kpi_code not in ('response_validated_rate', 'response_speed_rate')",
            {"t": period.period_type, "s": period.start}, conn,
        )
        missing = sorted(set(others["agent_id"]) - set(frame["agent_id"].dropna()))
        if missing:
            note = "no data: no sample validated (no thread of this agent in the audit sample)"
            extra = pd.DataFrame(
                [{"kpi_code": c, "period_type": period.period_type, "period_start": period.start, "agent_id": a, "value": None,
                  "unit": "percent", "basis_count": 0, "note": note, "computed_at": frame["computed_at"].iloc[0]}
                 for a in missing for c in AUDIT_KPI_CODES],
                columns=KPI_SCHEMA.names,
            )
            frame = pd.concat([frame, extra], ignore_index=True)
        warehouse.execute(
            conn,
            "delete from marts.fct_kpi where period_type = :t and period_start = :s"
            " and kpi_code in ('response_validated_rate', 'response_speed_rate')",
            {"t": period.period_type, "s": period.start},
        )
        warehouse.bulk_insert(conn, "marts.fct_kpi", pa.Table.from_pandas(frame, schema=KPI_SCHEMA, preserve_index=False))
    return frame


def render_sample(result: SampleResult) -> str:
    """A short table of the sample: per agent the population and the sampled threads."""
    s = result.sample
    head = f"audit sample {result.period.label}: " + ("reused the stored sample" if result.reused else "drawn now")
    if s.empty:
        return head + "\n(no threads with a customer queue in the period on the audited channels)"
    lines = [head, f"{'agent':<12} {'population':>10} {'sampled':>8}  threads (rank order)"]
    for agent, g in s.groupby("agent_id", sort=True):
        lines.append(f"{agent:<12} {int(g['population_size'].iloc[0]):>10} {len(g):>8}  {', '.join(g.sort_values('rank')['thread_id'])}")
    return "\n".join(lines)
