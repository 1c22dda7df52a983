"""One door for every input file: its kind by extension (and header, for tables), the parser
of that kind, and one :class:`FileResult` per file or zip member.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.identity import Roster, make_thread_id, thread_key
from kpi_transforms.sources.email import parse_email
from kpi_transforms.sources.flat import parse_canonical
from kpi_transforms.sources.marketplace.parser import parse_marketplace
from kpi_transforms.sources.tables.customers import KEY_TABLE, LIST_TABLE, parse_customer_list, parse_customer_map
from kpi_transforms.sources.tables.detect import _table_header_score, detect_table_kind
from kpi_transforms.sources.tables.manual import CASE_TABLE, INTENT_TABLE, parse_case_resolutions, parse_intent_labels
from kpi_transforms.sources.tables.orders import ORDER_TABLE, parse_orders
from kpi_transforms.sources.tables.ratings import RATING_TABLE
from kpi_transforms.sources.tables.reader import read_rows
from kpi_transforms.sources.whatsapp import parser as wa
from kpi_transforms.sources.zipsafe import extract_chat_texts

# File kinds by extension. ``table`` files (.csv / .xlsx) are dispatched by their header:
# canonical messages, marketplace chat, sales report, customer list, customer_map or a manual
# override file (see :func:`detect_table_kind` and docs/INPUTS.md).
SUPPORTED = {
    ".txt": "whatsapp", ".zip": "whatsapp", ".csv": "table", ".xlsx": "table", ".jsonl": "canonical",
    ".parquet": "canonical", ".mbox": "email", ".eml": "email",
}
MAX_FILE_BYTES = 1024 * 1024 * 1024
# Every row table a table file can fill, by warehouse table name.
ROW_TABLES = {spec.name: spec for spec in (KEY_TABLE, LIST_TABLE, ORDER_TABLE, RATING_TABLE, CASE_TABLE, INTENT_TABLE)}


@dataclasses.dataclass
class FileResult:
    """What happened to one input file (or one chat member of a zip)."""

    source_file: str
    sha256: str
    status: str  # parsed | loaded | skipped | rejected
    member: str | None = None
    kind: str | None = None
    layout: str | None = None
    date_order: str | None = None
    date_order_source: str | None = None
    ambiguous: bool = False
    chat_name: str | None = None
    thread_id: str | None = None
    lines_read: int = 0
    header_lines: int = 0
    continuation_lines: int = 0
    quarantined_lines: int = 0
    messages_read: int = 0
    messages_new: int = 0
    messages_known: int = 0
    reason: str | None = None
    first_local_at: dt.datetime | None = None
    last_local_at: dt.datetime | None = None
    lake_path: str | None = None
    file_seq: int | None = None
    # in-memory results, not part of the report
    messages: pd.DataFrame | None = dataclasses.field(default=None, repr=False)
    rejected_rows: pd.DataFrame | None = dataclasses.field(default=None, repr=False)
    threads: list[tuple[str, str, pd.DataFrame]] | None = dataclasses.field(default=None, repr=False)
    # row-table frames (table name -> rows) merged on their natural key by merge_row_tables
    tables: dict[str, pd.DataFrame] | None = dataclasses.field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.source_file}!{self.member}" if self.member else self.source_file


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _units(path: Path, config: Config) -> list[tuple[str | None, bytes, str | None, str]]:
    """(member, bytes, chat name from the file name, kind) for one input file."""
    suffix = path.suffix.lower()
    kind = SUPPORTED.get(suffix)
    if kind is None:
        raise RejectedFile(f"unsupported file type {suffix or '(no extension)'}: expected one of {', '.join(sorted(SUPPORTED))}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RejectedFile(f"file is {size} bytes, larger than the {MAX_FILE_BYTES}-byte limit")
    data = path.read_bytes()
    if suffix == ".zip":
        members = extract_chat_texts(
            data, max_member_bytes=config.max_zip_member_bytes, max_total_bytes=config.max_zip_total_bytes
        )
        zip_name = wa.chat_name_from_filename(path.name)
        out = []
        for member, content in members:
            name = wa.chat_name_from_filename(Path(member).name) or zip_name
            out.append((member, content, name, "whatsapp"))
        return out
    name = wa.chat_name_from_filename(path.name) if kind == "whatsapp" else None
    return [(None, data, name, kind)]


def _participant_name(raw: pd.DataFrame, roster: Roster) -> str | None:
    """The chat name of an export whose file name does not carry it: the non-agent participant
    with the most messages (ties: the first to write)."""
    senders = raw["sender"].dropna()
    senders = senders[[roster.agent_of(s) is None for s in senders.tolist()]] if len(senders) else senders
    if senders.empty:
        return None
    counts = senders.value_counts(sort=False)
    first_seen = {s: i for i, s in reversed(list(enumerate(senders.tolist())))}
    return max(counts.index, key=lambda s: (counts[s], -first_seen[s]))


def parse_file(
    path: Path,
    config: Config,
    *,
    known_shas: set[str] = frozenset(),
    date_order_hints: dict[str, str] | None = None,
) -> list[FileResult]:
    """Parse one input file into raw messages per chat (no warehouse access)."""
    results: list[FileResult] = []
    roster = Roster.from_config(config)
    source = str(path)
    try:
        units = _units(path, config)
    except RejectedFile as exc:
        data_sha = _sha256(path.read_bytes()) if path.is_file() else _sha256(source.encode())
        status = "skipped" if data_sha in known_shas else "rejected"
        return [FileResult(source, data_sha, status, reason=exc.reason)]
    except OSError as exc:
        return [FileResult(source, _sha256(source.encode()), "rejected", reason=f"cannot read file: {exc.strerror or exc}")]

    for member, data, name_from_file, kind in units:
        sha = _sha256(data)
        result = FileResult(source, sha, "parsed", member=member, kind=kind, chat_name=name_from_file)
        if sha in known_shas:
            result.status = "skipped"
            result.reason = "content already processed (same sha256)"
            results.append(result)
            continue
        try:
            if kind == "whatsapp":
                _parse_whatsapp_unit(result, data, config, roster, date_order_hints or {})
            elif kind == "email":
                _parse_email_unit(result, data, path.suffix.lower(), config, roster)
            elif kind == "table":
                _parse_table_unit(result, data, path.suffix.lower(), config, roster)
            else:
                _parse_canonical_unit(result, data, path.suffix.lower(), config, roster)
        except RejectedFile as exc:
            result.status = "rejected"
            result.reason = exc.reason
            result.messages = None
        results.append(result)
    return results


def _parse_whatsapp_unit(result: FileResult, data: bytes, config: Config, roster: Roster, hints: dict[str, str]) -> None:
    parsed = wa.parse_whatsapp(data, date_order=config.whatsapp_date_order)
    name = result.chat_name or _participant_name(parsed.messages, roster)
    if name is None:
        stem = Path(result.member or result.source_file).stem
        name = stem
    key = thread_key(name, config)
    thread_id = make_thread_id("whatsapp", key)
    if parsed.ambiguous and config.whatsapp_date_order == "auto" and thread_id in hints:
        parsed = wa.parse_whatsapp(data, date_order="auto", date_order_hint=hints[thread_id])
    result.chat_name = name
    result.thread_id = thread_id
    result.layout = parsed.layout
    result.date_order = parsed.date_order
    result.date_order_source = parsed.date_order_source
    result.ambiguous = parsed.ambiguous
    result.lines_read = parsed.lines_read
    result.header_lines = parsed.header_lines
    result.continuation_lines = parsed.continuation_lines
    result.quarantined_lines = parsed.quarantined_lines
    result.rejected_rows = parsed.rejected
    result.messages = parsed.messages
    result.messages_read = len(parsed.messages)


def _parse_canonical_unit(result: FileResult, data: bytes, suffix: str, config: Config, roster: Roster) -> None:
    parsed = parse_canonical(data, suffix, config.timezone)
    result.layout = f"canonical {suffix}"
    result.lines_read = parsed.rows_read
    result.header_lines = parsed.rows_read - len(parsed.rejected)
    result.quarantined_lines = len(parsed.rejected)
    result.rejected_rows = parsed.rejected
    result.messages = None
    result.messages_read = sum(len(raw) for _c, _n, raw in parsed.threads)
    result.threads = parsed.threads


# -- e-mail and row files (.csv / .xlsx dispatched by header) ---------------------------------


def _parse_email_unit(result: FileResult, data: bytes, suffix: str, config: Config, roster: Roster) -> None:

    parsed = parse_email(data, config, kind="eml" if suffix == ".eml" else "mbox", roster=roster)
    if not parsed.records:
        reason = parsed.rejected["reason"].iloc[0] if len(parsed.rejected) else "no e-mail message"
        raise RejectedFile(f"no usable e-mail message: {reason}")
    result.layout = parsed.kind
    result.lines_read = parsed.lines_read
    result.header_lines = parsed.messages_read
    result.quarantined_lines = len(parsed.rejected)
    result.rejected_rows = parsed.rejected
    result.messages_read = parsed.messages_read
    result.threads = parsed.threads
    if len(parsed.threads) == 1:
        result.chat_name = parsed.threads[0][1]


def _parse_table_unit(result: FileResult, data: bytes, suffix: str, config: Config, roster: Roster) -> None:

    table = read_rows(data, suffix, score=_table_header_score)
    kind = detect_table_kind(table.header)
    result.kind = kind
    if kind == "canonical":
        if suffix != ".csv":
            raise RejectedFile("canonical message files are read as .csv, .jsonl or .parquet; save the sheet as CSV UTF-8")
        _parse_canonical_unit(result, data, suffix, config, roster)
        return
    result.layout = table.layout
    if kind == "marketplace":
        parsed = parse_marketplace(table, config)
        kept = parsed.rejected["reason"].str.contains("message kept", regex=False) if len(parsed.rejected) else pd.Series([], dtype=bool)
        result.layout = f"{parsed.marketplace} chat, {table.layout}"
        result.threads = parsed.threads
        result.messages_read = sum(len(raw) for _c, _n, raw in parsed.threads)
        result.lines_read = parsed.rows_read
        result.header_lines = result.messages_read
        result.quarantined_lines = int((~kept).sum())
        result.rejected_rows = parsed.rejected
        result.date_order, result.date_order_source = parsed.date_order, parsed.date_order_source
        result.tables = {RATING_TABLE.name: parsed.ratings} if len(parsed.ratings) else None
        if len(parsed.threads) == 1:
            result.chat_name = parsed.threads[0][1]
        return
    parser = {
        "orders": parse_orders, "customer_list": parse_customer_list,
        "customer_map": parse_customer_map, "manual_case_resolution": parse_case_resolutions,
        "manual_intent_label": parse_intent_labels,
    }[kind]
    parsed_rows = parser(table, config)
    result.tables = {name: frame for name, frame in parsed_rows.tables.items() if len(frame)}
    result.lines_read = parsed_rows.rows_read
    result.quarantined_lines = len(parsed_rows.rejected)
    result.header_lines = parsed_rows.rows_read - len(parsed_rows.rejected)
    result.rejected_rows = parsed_rows.rejected
    result.date_order, result.date_order_source = parsed_rows.date_order, parsed_rows.date_order_source
    if not result.tables:
        raise RejectedFile(f"no usable row ({len(parsed_rows.rejected)} quarantined)")


def _second_pass_hints(parsed: list[FileResult], config: Config) -> None:
    """Ambiguous exports take the date order of a decided export of the same chat in the
    batch, so the result does not depend on file order within a batch."""
    decided = {r.thread_id: r.date_order for r in parsed if r.status == "parsed" and r.thread_id and r.date_order_source in ("file", "config")}
    for result in parsed:
        if (
            result.status == "parsed" and result.ambiguous and result.date_order_source == "default"
            and result.thread_id in decided and decided[result.thread_id] != result.date_order
        ):
            data = _reread(result)
            again = wa.parse_whatsapp(data, date_order=config.whatsapp_date_order, date_order_hint=decided[result.thread_id])
            result.messages, result.rejected_rows = again.messages, again.rejected
            result.date_order, result.date_order_source = again.date_order, again.date_order_source
            result.quarantined_lines, result.header_lines = again.quarantined_lines, again.header_lines
            result.continuation_lines, result.messages_read = again.continuation_lines, len(again.messages)


def _reread(result: FileResult) -> bytes:
    path = Path(result.source_file)
    if result.member is None:
        return path.read_bytes()
    for member, content in extract_chat_texts(path.read_bytes()):
        if member == result.member:
            return content
    raise RejectedFile(f"zip member {result.member} vanished")
