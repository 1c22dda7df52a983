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

import datetime as dt
import os
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from kpi_transforms.core.periods import Period, as_period, parse_period
from kpi_transforms.metrics.audit import (
    AUDIT_CHANNELS,
    SAMPLE_SCHEMA,
    SAMPLE_SIZE,
    VALIDATION_SCHEMA,
    SampleResult,
    draw_sample,
    sample_sha256,
)
from kpi_transforms.metrics.catalogue import AUDIT_KPI_CODES, KPI_CONTRACT, AUDIT_CODE_PARAMS, kpi_row
from kpi_transforms.metrics.review_sheet import (
    APPROVED_VALUES,
    COL_AGENT,
    COL_APPROVED,
    COL_INTENT,
    COL_INTENT_CONFIRMED,
    COL_NOTES,
    COL_PERIOD,
    COL_THREAD,
    COLUMN_WIDTHS,
    FROZEN,
    HEADER_ROW,
    INTENT_CONFIRM_WORDS,
    INTENT_VALUES,
    META_SHEET,
    SHEET_FORMAT,
    SHEET_TEXT,
    AuditSheetError,
    ImportResult,
    _cell_text,
    _excerpt,
    _line,
    _meta_hash,
    _text_cell,
    human_duration,
    row_height,
    read_review_sheet,
    write_metadata,
)
from kpi_transforms.warehouse.engine import Warehouse


def _local_bounds(period: Period) -> dict[str, dt.datetime]:
    return {"lo": dt.datetime.combine(period.start, dt.time()), "hi": dt.datetime.combine(period.end, dt.time())}


def audit_population(warehouse: Warehouse, period: Period | str, channels: Sequence[str] = AUDIT_CHANNELS) -> pd.DataFrame:
    """One row per (agent_id, thread_id): threads of ``channels`` whose primary agent is the
    agent and that have a customer queue whose question falls in the period."""
    period = as_period(period)
    frame = warehouse.read_df(
        "select t.primary_agent_id as agent_id, t.thread_id, t.channel from marts.fct_thread t"
        " where t.primary_agent_id is not null and t.thread_id in ("
        "   select p.thread_id from marts.fct_reply_pair p"
        "   where p.question_at_local >= :lo and p.question_at_local < :hi)",
        _local_bounds(period),
    )
    wanted = {c.lower() for c in channels}
    return frame[frame["channel"].isin(wanted)][["agent_id", "thread_id"]].reset_index(drop=True)


def read_sample(warehouse: Warehouse, period: Period | str) -> pd.DataFrame:
    period = as_period(period)
    return warehouse.read_df(
        "select * from audit.sample where period = :p order by agent_id, rank", {"p": period.label}
    )


def sample_threads(
    warehouse: Warehouse,
    period_text: Period | str,
    *,
    resample: bool = False,
    channels: Sequence[str] = AUDIT_CHANNELS,
    size: int = SAMPLE_SIZE,
) -> SampleResult:
    """Draw and store the period's sample, or reuse the stored one (unless ``resample``)."""
    period = as_period(period_text)
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


def _first_queues(warehouse: Warehouse, period: Period) -> pd.DataFrame:
    """Per sampled thread: its first queue whose question falls in the period."""
    pairs = warehouse.read_df(
        "select p.pair_id, p.thread_id, p.question_message_id, p.reply_message_id, p.question_at,"
        " p.question_at_local, p.reply_at, p.calendar_seconds, p.business_seconds, p.within_1_working_day, p.status, p.intent"
        " from marts.fct_reply_pair p join audit.sample s on s.thread_id = p.thread_id and s.period = :p"
        " where p.question_at_local >= :lo and p.question_at_local < :hi",
        {"p": period.label, **_local_bounds(period)},
    )
    if pairs.empty:
        return pairs
    pairs["question_at"] = pd.to_datetime(pairs["question_at"], utc=True)
    pairs = pairs.sort_values(["thread_id", "question_at", "pair_id"], kind="stable")
    return pairs.drop_duplicates("thread_id").reset_index(drop=True)


def review_rows(warehouse: Warehouse, period: Period | str, lang: str = "id") -> pd.DataFrame:
    """One row per sampled thread with what the reviewer needs to judge the reply."""
    period = as_period(period)
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
            "pair_id": None, "intent": None,
        }
        if q is not None and len(msgs):
            ids = msgs["message_id"].tolist()
            start = ids.index(q["question_message_id"]) if q["question_message_id"] in ids else 0
            stop = ids.index(q["reply_message_id"]) if isinstance(q["reply_message_id"], str) and q["reply_message_id"] in ids else len(ids)
            queue = msgs.iloc[start:stop]
            queue = queue[(queue["sender_role"] == "customer") & ~queue["message_type"].isin(["system", "deleted"])]
            row["question_excerpt"] = _excerpt([_line(m) for m in queue.head(8).to_dict("records")])
            row["question_at_local"] = pd.Timestamp(q["question_at_local"]).to_pydatetime()
            row["pair_id"], row["intent"] = q["pair_id"], q["intent"] if isinstance(q["intent"], str) else None
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


def write_review_sheet(warehouse: Warehouse, period: Period | str, out: str | Path, lang: str = "id") -> Path:
    """Write the review sheet of the period's stored sample to ``out`` (.xlsx)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    period = as_period(period)
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
    last = HEADER_ROW + len(rows)
    unlocked = Protection(locked=False)
    top = Alignment(wrap_text=True, vertical="top")
    to_fill = (COL_APPROVED, COL_NOTES, COL_INTENT_CONFIRMED)
    # rows 1-2: title, the standard and how to fill in (A-G); reviewer and date (H-I); summary (J-O)
    ws.cell(1, 1, t["title"].format(period=period.label)).font = Font(bold=True, size=13)
    ws.cell(2, 1, t["standard"] + "\n" + t["help"]).alignment = top
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=7)
    ws.row_dimensions[2].height = 48
    for row, label in ((1, t["reviewer"]), (2, t["date"])):
        ws.cell(row, 8, label).font = Font(bold=True)
        ws.cell(row, 8).alignment = top
        field = ws.cell(row, 9)
        field.protection = unlocked
        field.fill = PatternFill("solid", fgColor="FFF2CC")
        field.alignment = top
    ws.cell(2, 9).number_format = "dd/mm/yyyy"
    col = get_column_letter(COL_APPROVED)
    span = f"{col}{HEADER_ROW + 1}:{col}{max(last, HEADER_ROW + 1)}"
    summary = ((1, 10, t["yes"], f'=COUNTIF({span},"{t["yes"]}")'), (1, 13, t["no"], f'=COUNTIF({span},"{t["no"]}")'),
               (2, 10, t["pending_review"], "=N2-K1-N1"), (2, 13, t["total"], len(rows)))
    for row, c, label, formula in summary:
        ws.cell(row, c, label).font = Font(bold=True)
        ws.cell(row, c).alignment = top
        ws.cell(row, c + 1, formula).alignment = top
        if label != t["total"]:
            pct = ws.cell(row, c + 2, f"=IF($N$2=0,0,{get_column_letter(c + 1)}{row}/$N$2)")
            pct.number_format = "0.0%"
            pct.alignment = top
    for c, name in enumerate(t["columns"], start=1):
        cell = ws.cell(HEADER_ROW, c, name)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FFF2CC" if c in to_fill else "DDEBF7")
        cell.alignment = top
    for i, r in enumerate(rows.to_dict("records"), start=1):
        n = HEADER_ROW + i
        flag = r["within_1_working_day"]
        values = [i, r["agent_id"], r["thread_name"], r["channel"], r["question_at_local"], r["question_excerpt"],
                  r["reply_excerpt"], None, None, r["intent"], None, r["reply_human"],
                  t["pending"] if flag is None else (t["yes"] if flag else t["no"]), r["reply_at_local"], r["period"],
                  r["thread_id"], r["calendar_seconds"], r["business_seconds"]]
        for c, value in enumerate(values, start=1):
            cell = ws.cell(n, c)
            _text_cell(cell, value)
            cell.alignment = top
            if isinstance(value, dt.datetime):
                cell.number_format = "dd/mm/yyyy hh:mm"
            elif isinstance(value, int) and c > 1:
                cell.number_format = "#,##0"
        ws.row_dimensions[n].height = row_height(values)
        for c in to_fill:
            ws.cell(n, c).protection = unlocked
            ws.cell(n, c).fill = PatternFill("solid", fgColor="FFFBEA")
    if len(rows):
        dv = DataValidation(type="list", formula1='"Ya,Tidak"', allow_blank=True, showErrorMessage=True,
                            errorTitle="Ya / Tidak", error="Isi Ya atau Tidak, atau kosongkan. / Use Ya or Tidak, or leave empty.")
        ws.add_data_validation(dv)
        dv.add(f"{col}{HEADER_ROW + 1}:{col}{last}")
    for c, width in enumerate(COLUMN_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.freeze_panes = FROZEN
    # printing: landscape A4, everything up to the reply time on one page width, the header
    # repeated; the reference columns (period, ids, seconds) are left out of print
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_area = f"A1:{get_column_letter(13)}{max(last, HEADER_ROW)}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.formatCells = False

    meta = {
        "format": SHEET_FORMAT, "period": period.label, "sample_sha256": sample_sha256(sample), "lang": lang,
        "rows": [[int(i), str(r["agent_id"]), str(r["thread_id"])] for i, r in enumerate(rows.to_dict("records"), start=1)],
        # the queue whose intent each row shows (issue 14), by thread id
        "pairs": {str(r["thread_id"]): r["pair_id"] for r in rows.to_dict("records") if isinstance(r["pair_id"], str)},
    }
    meta["content_sha256"] = _meta_hash(meta, sheet_key(warehouse))
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


def sheet_key(warehouse: Warehouse) -> bytes:
    """The secret that signs review sheets: ``$CHATKPI_AUDIT_KEY`` when set, else the
    warehouse's own key (``audit.sheet_key``, made on first use)."""
    from_env = os.environ.get("CHATKPI_AUDIT_KEY")
    if from_env:
        return from_env.encode("utf-8")
    warehouse.init()
    found = warehouse.scalar("select key_hex from audit.sheet_key where key_id = 1")
    if found:
        return bytes.fromhex(found)
    with warehouse.begin() as conn:
        warehouse.lock(conn, "audit")
        if not warehouse.scalar("select count(*) from audit.sheet_key", conn=conn):
            warehouse.execute(conn, "insert into audit.sheet_key values (1, :k, current_timestamp)", {"k": secrets.token_hex(32)})
    return bytes.fromhex(warehouse.scalar("select key_hex from audit.sheet_key where key_id = 1"))


def import_review_sheet(warehouse: Warehouse, path: str | Path, *, expect_period: str | None = None) -> ImportResult:
    """``chatkpi audit import``: validate a filled review sheet and merge its decisions into
    ``audit.validation``; then refresh the period's two audit KPIs in ``marts.fct_kpi``."""
    path = Path(path)
    warehouse.init()
    meta, rows, digest = read_review_sheet(path, sheet_key(warehouse))
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
    intents: list[dict[str, str]] = []
    first_row: dict[tuple[str, str], int] = {}
    for exp, row in zip(meta["rows"], rows):
        n, cells = row["row"], row["cells"]
        _, agent, thread = exp
        if (agent, thread) in first_row:  # a sheet lists each sampled thread once
            errors.append(f"row {n}: thread {thread!r} of agent {agent} already on row {first_row[(agent, thread)]} (duplicated row)")
            continue
        first_row[(agent, thread)] = n
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
        confirmed = _cell_text(cells[COL_INTENT_CONFIRMED - 1]).lower() if len(cells) >= COL_INTENT_CONFIRMED else ""
        if confirmed:
            stored = _cell_text(cells[COL_INTENT - 1]).lower()
            pair_id = meta.get("pairs", {}).get(thread)
            intent = stored if confirmed in INTENT_CONFIRM_WORDS else confirmed
            if intent not in INTENT_VALUES or pair_id is None:
                errors.append(f"row {n}: {confirmed!r} in the intent column: write {', '.join(INTENT_VALUES)} (or Ya to confirm"
                              " the shown intent), or leave it empty" if pair_id is not None else
                              f"row {n}: an intent was given but the row has no queue of the period")
                continue
            intents.append({"pair_id": pair_id, "thread_id": thread, "intent": intent})
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
        _store_intent_reviews(warehouse, conn, period, intents, now, digest)
    result = ImportResult(period, digest, len(rows), len(decisions), inserted, updated, unchanged, intents=len(intents))
    if result.changed or not _has_audit_kpis(warehouse, period):
        store_audit_kpis(warehouse, period)
    return result


def _store_intent_reviews(warehouse: Warehouse, conn: Any, period: Period, intents: list[dict[str, str]], now: pd.Timestamp,
                          digest: str) -> None:
    """Merge the confirmed / corrected intents into ``audit.intent_review`` (one row per queue;
    an unchanged intent keeps its row, so a re-import changes nothing). The next
    ``chatkpi intents train`` learns from them."""
    if not intents:
        return
    keys = [i["pair_id"] for i in intents]
    with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", keys):
        before = warehouse.read_df("select r.pair_id, r.intent from audit.intent_review r"
                                   " join staging.stg_row_key k on k.row_key = r.pair_id", conn=conn)
    known = dict(zip(before["pair_id"], before["intent"]))
    changed = [i for i in intents if known.get(i["pair_id"]) != i["intent"]]
    if not changed:
        return
    warehouse.delete_where_in(conn, "audit.intent_review", "pair_id", [i["pair_id"] for i in changed])
    warehouse.bulk_insert(conn, "audit.intent_review", pd.DataFrame(
        [{**i, "period": period.label, "reviewed_at": now, "sheet_sha256": digest} for i in changed],
        columns=["pair_id", "thread_id", "period", "intent", "reviewed_at", "sheet_sha256"]))


# -- KPIs ---------------------------------------------------------------------------------------


def audit_kpis(warehouse: Warehouse, period: Period | str) -> pd.DataFrame:
    """``response_validated_rate`` and ``response_speed_rate`` per sampled agent and for the
    team (agent_id null), as ``marts.fct_kpi`` rows of the period."""
    period = as_period(period)
    sample = read_sample(warehouse, period)
    now = pd.Timestamp.now(tz="UTC")

    def row(code: str, agent: str | None, value: float | None, basis: int, note: str | None) -> dict[str, Any]:
        return kpi_row(code, period.period_type, period.start, agent, value, basis, note, now)

    if sample.empty:
        note = f"no data: no sample validated (no audit sample drawn for {period.label})"
        return pd.DataFrame([row(c, None, None, 0, note) for c in AUDIT_KPI_CODES], columns=KPI_CONTRACT.names)
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
    return pd.DataFrame(out, columns=KPI_CONTRACT.names)


def _has_audit_kpis(warehouse: Warehouse, period: Period) -> bool:
    n = warehouse.scalar(
        "select count(*) from marts.fct_kpi where period_type = :t and period_start = :s"
        " and kpi_code in (:audit_code_0, :audit_code_1)",
        {"t": period.period_type, "s": period.start, **AUDIT_CODE_PARAMS},
    )
    return bool(n)


def store_audit_kpis(warehouse: Warehouse, period: Period | str) -> pd.DataFrame:
    """Replace just the two audit KPI codes of the period in ``marts.fct_kpi`` (one transaction).
    Agents with other KPI rows in the period but no sampled thread get a null row with a note,
    as ``compute_period_kpis`` writes them."""
    period = as_period(period)
    frame = audit_kpis(warehouse, period)
    with warehouse.begin() as conn:
        warehouse.lock(conn, "kpi")
        others = warehouse.read_df(
            "select distinct agent_id from marts.fct_kpi where period_type = :t and period_start = :s and agent_id is not null"
            " and kpi_code not in (:audit_code_0, :audit_code_1)",
            {"t": period.period_type, "s": period.start, **AUDIT_CODE_PARAMS}, conn,
        )
        missing = sorted(set(others["agent_id"]) - set(frame["agent_id"].dropna()))
        if missing:
            note = "no data: no sample validated (no thread of this agent in the audit sample)"
            extra = pd.DataFrame(
                [kpi_row(c, period.period_type, period.start, a, None, 0, note, frame["computed_at"].iloc[0])
                 for a in missing for c in AUDIT_KPI_CODES],
                columns=KPI_CONTRACT.names,
            )
            frame = pd.concat([frame, extra], ignore_index=True)
        warehouse.execute(
            conn,
            "delete from marts.fct_kpi where period_type = :t and period_start = :s"
            " and kpi_code in (:audit_code_0, :audit_code_1)",
            {"t": period.period_type, "s": period.start, **AUDIT_CODE_PARAMS},
        )
        warehouse.bulk_insert(conn, "marts.fct_kpi", KPI_CONTRACT.arrow_table(frame))
    return frame
