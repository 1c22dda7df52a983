"""One door for every input file: the registered sources, the kind of a file (by its suffix,
or by its header for ``.csv`` / ``.xlsx`` sheets) and one :class:`FileResult` per file or zip
member. Nothing else in the package dispatches on a source's kind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.identity import Roster
from kpi_transforms.core.memory import Budget
from kpi_transforms.sources import email, flat, whatsapp, whatsapp_cloud
from kpi_transforms.sources.landing import read_regular, sha256_regular, unsafe_reason
from kpi_transforms.sources.base import ChatThread, HeaderMatch, ParseContext, ParseResult, Source
from kpi_transforms.sources.marketplace import parser as marketplace
from kpi_transforms.sources.tables import customers, manual, orders, ratings, surveys
from kpi_transforms.sources.tables.reader import read_rows
from kpi_transforms.sources.whatsapp.parser import chat_name_from_filename
from kpi_transforms.sources.zipsafe import extract_chat_texts

# Every source, in the order a sheet's header is matched (the first complete match wins).
SOURCES: tuple[Source, ...] = (
    whatsapp.SOURCE,
    email.SOURCE,
    surveys.SOURCE,  # before the customer tables: a survey sheet may carry their id / name columns
    customers.MAP_SOURCE,
    flat.SOURCE,
    marketplace.SOURCE,
    manual.INTENT_SOURCE,
    manual.CASE_SOURCE,
    orders.SOURCE,
    customers.LIST_SOURCE,
)
SHEET_SUFFIXES = (".csv", ".xlsx")
ARCHIVE_SUFFIXES = (".zip",)  # WhatsApp's "export chat with media": its chat texts are read as .txt
# Every row table a sheet can fill, by warehouse table name.
ROW_TABLES = {spec.name: spec for spec in (customers.KEY_TABLE, customers.LIST_TABLE, orders.ORDER_TABLE,
                                           ratings.RATING_TABLE, manual.CASE_TABLE, manual.INTENT_TABLE,
                                           surveys.SURVEY_TABLE, orders.PRODUCT_TABLE)}
MAX_FILE_BYTES = 1024 * 1024 * 1024
DEFERRED = "deferred to the next run: this batch has used its memory budget (config memory_budget_mb)"


def _by_suffix() -> dict[str, Source]:
    out = {}
    for source in SOURCES:
        for suffix in source.suffixes:
            out.setdefault(suffix, source)
    return out


BY_SUFFIX = _by_suffix()
SUPPORTED = sorted({*BY_SUFFIX, *SHEET_SUFFIXES, *ARCHIVE_SUFFIXES, *whatsapp_cloud.SOURCE.suffixes})


@dataclasses.dataclass
class FileResult:
    """What happened to one input file (or one chat member of a zip)."""

    source_file: str
    sha256: str
    status: str  # parsed | loaded | skipped | rejected
    member: str | None = None
    kind: str | None = None  # the source's name
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
    rejected_rows: pd.DataFrame | None = dataclasses.field(default=None, repr=False)
    threads: list[ChatThread] | None = dataclasses.field(default=None, repr=False)
    # row-table frames (table name -> rows) merged on their natural key by merge_row_tables
    tables: dict[str, pd.DataFrame] | None = dataclasses.field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.source_file}!{self.member}" if self.member else self.source_file

    def take(self, parsed: ParseResult) -> None:
        """Record a source's result."""
        self.layout = parsed.layout
        self.threads = list(parsed.threads)
        self.tables = {name: frame for name, frame in parsed.tables.items() if len(frame)} or None
        # an empty frame costs ~5 KiB of pandas objects per file held in a batch: None instead
        self.rejected_rows = parsed.rejected if parsed.rejected is not None and len(parsed.rejected) else None
        self.lines_read, self.header_lines = parsed.lines_read, parsed.header_lines
        self.continuation_lines, self.quarantined_lines = parsed.continuation_lines, parsed.quarantined_lines
        self.messages_read = parsed.messages_read
        self.date_order, self.date_order_source, self.ambiguous = parsed.date_order, parsed.date_order_source, parsed.ambiguous
        if parsed.chat_name is not None:
            self.chat_name = parsed.chat_name
        elif len(parsed.threads) == 1:
            self.chat_name = parsed.threads[0].name
        self.thread_id = parsed.thread_id


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _units(path: Path, config: Config, root: Path | None = None, budget: Budget | None = None) -> list[tuple[str | None, bytes, str]]:
    """(zip member or None, bytes, suffix that decides the source) for one input file.
    With a memory ``budget``, a text that cannot be ingested within it is rejected before it is
    parsed (a plain file by its size before it is read, a zip while it is decompressed)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise RejectedFile(f"unsupported file type {suffix or '(no extension)'}: expected one of {', '.join(SUPPORTED)}")
    if budget is not None and suffix not in ARCHIVE_SUFFIXES and unsafe_reason(path, root) is None:
        if reason := budget.too_big(path.stat().st_size, 0):
            raise RejectedFile(f"file {reason}")
    # a regular file inside the landing folder only: no symlink out of it, no FIFO or device
    data = read_regular(path, root, max_bytes=MAX_FILE_BYTES)
    if suffix in ARCHIVE_SUFFIXES:
        members = extract_chat_texts(data, max_member_bytes=config.max_zip_member_bytes, max_total_bytes=config.max_zip_total_bytes,
                                     too_big=budget.too_big if budget is not None else None)
        return [(member, content, ".txt") for member, content in members]
    if budget is not None and (reason := budget.too_big(len(data), data.count(b"\n"))):
        raise RejectedFile(f"file {reason}")
    return [(None, data, suffix)]


def parse_file(
    path: Path,
    config: Config,
    *,
    known_shas: set[str] = frozenset(),
    date_order_hints: dict[str, str] | None = None,
    root: Path | None = None,
    budget: Budget | None = None,
    roster: Roster | None = None,
) -> list[FileResult]:
    """Parse one input file (each chat member of a zip) with its source (no warehouse access).
    ``root`` is the landing folder the file was found in (default: its own folder): nothing is
    read through a symbolic link that leaves it (:mod:`kpi_transforms.sources.landing`).

    ``budget`` (the batch's memory budget): a text that cannot fit it is rejected; one that fits
    alone but not beside the batch's texts admitted before is deferred - ``skipped`` with that
    reason, not recorded anywhere, so the next run takes it. ``roster``: the config's
    :class:`Roster`, built once per batch by the caller (a few ms per file otherwise)."""
    results: list[FileResult] = []
    roster = roster or Roster.from_config(config)
    source_file = str(path)
    unsafe = unsafe_reason(path, root)
    if unsafe:  # keyed by its path: the target is never read, not even to hash it
        sha = content_sha256(f"not read: {source_file}".encode())
        return [FileResult(source_file, sha, "skipped" if sha in known_shas else "rejected", reason=unsafe)]
    try:
        units = _units(path, config, root, budget)
    except RejectedFile as exc:
        data_sha = sha256_regular(path) or content_sha256(source_file.encode())
        status = "skipped" if data_sha in known_shas else "rejected"
        return [FileResult(source_file, data_sha, status, reason=exc.reason)]
    except OSError as exc:
        return [FileResult(source_file, content_sha256(source_file.encode()), "rejected", reason=f"cannot read file: {exc.strerror or exc}")]

    archive_name = chat_name_from_filename(path.name)
    for member, data, suffix in units:
        sha = content_sha256(data)
        name_from_file = chat_name_from_filename(Path(member).name) if member else None
        name_from_file = name_from_file or archive_name
        result = FileResult(source_file, sha, "parsed", member=member)
        if sha in known_shas:
            result.status, result.reason = "skipped", "content already processed (same sha256)"
            results.append(result)
            continue
        if budget is not None and not budget.admit(len(data), data.count(b"\n")):
            result.status, result.reason = "skipped", DEFERRED
            results.append(result)
            continue
        context = ParseContext(config=config, roster=roster, suffix=suffix, path=source_file, member=member,
                               name_from_file=name_from_file, date_order_hints=date_order_hints or {})
        try:
            source, parsed = parse_unit(data, context)
            result.kind = source.name
            result.take(parsed)
        except RejectedFile as exc:
            result.status, result.reason = "rejected", exc.reason
        results.append(result)
    return results


def parse_unit(data: bytes, context: ParseContext) -> tuple[Source, ParseResult]:
    """The source of one file's bytes and what it makes of them (RejectedFile if none can)."""
    if context.suffix in SHEET_SUFFIXES:
        sheet = read_rows(data, context.suffix, score=header_score)
        source = sheet_source(sheet.header)
        return source, source.parse_sheet(sheet, data, context)
    if context.suffix in whatsapp_cloud.SOURCE.suffixes and whatsapp_cloud.looks_like_cloud_webhook(data):
        return whatsapp_cloud.SOURCE, whatsapp_cloud.SOURCE.parse(data, context)
    if context.suffix not in BY_SUFFIX:
        raise RejectedFile(f"a {context.suffix} file is read only as a WhatsApp Business Platform webhook archive"
                           " (payloads of object whatsapp_business_account); this one is not")
    source = BY_SUFFIX[context.suffix]
    return source, source.parse(data, context)


# -- sheets: recognised by their header -------------------------------------------------------


def header_matches(header: list[str]) -> list[tuple[Source, HeaderMatch]]:
    """Every sheet source's fit for a header row, in registry order."""
    out = []
    for source in SOURCES:
        if source.match is not None:
            found = source.match(header)
            if found is not None:
                out.append((source, found))
    return out


def header_score(cells: list[str]) -> int:
    """How well a row looks like a known header (used to skip title rows above it)."""
    return max((m.recognised for _s, m in header_matches(cells)), default=0)


def sheet_source(header: list[str]) -> Source:
    """The source of a ``.csv`` / ``.xlsx`` from its header; RejectedFile naming the closest
    layout's missing columns when no layout is complete."""
    matches = header_matches(header)
    for source, found in matches:
        if not found.missing and found.recognised > 0:
            return source
    shown = ", ".join(str(h) for h in header[:12])
    if not matches or max(m.recognised for _s, m in matches) == 0:
        labels = ", ".join(s.label for s in SOURCES if s.match is not None)
        raise RejectedFile(f"unknown table layout (header: {shown}); expected {labels} (see docs/INPUTS.md)")
    source, found = max(matches, key=lambda sm: (sm[1].recognised, -len(sm[1].missing)))
    if source.missing_reason is not None:
        raise RejectedFile(source.missing_reason(header))
    raise RejectedFile(f"looks like a {source.label} but lacks column(s) {', '.join(found.missing)} (header: {shown}); see docs/INPUTS.md")


def detect_table_kind(header: list[str]) -> str:
    """The name of the source that reads a sheet with this header."""
    return sheet_source(header).name


# -- date order settled across the files of a batch --------------------------------------------


def settle_date_orders(parsed: list[FileResult], config: Config) -> None:
    """Ambiguous exports take the date order of a decided export of the same chat in the
    batch, so the result does not depend on file order within a batch."""
    decided = {r.thread_id: r.date_order for r in parsed
               if r.status == "parsed" and r.thread_id and r.date_order_source in ("file", "config")}
    for result in parsed:
        if (
            result.status == "parsed" and result.ambiguous and result.date_order_source == "default"
            and result.thread_id in decided and decided[result.thread_id] != result.date_order
        ):
            context = ParseContext(config=config, roster=Roster.from_config(config), suffix=".txt", path=result.source_file,
                                   member=result.member, name_from_file=result.chat_name,
                                   date_order_hints={result.thread_id: decided[result.thread_id]})
            result.take(whatsapp.parse_export(_reread(result), context, force_hint=True))


def reread_under_order(source_file: str, member: str | None, sha: str, thread_id: str, order: str,
                       config: Config) -> FileResult | None:
    """An export loaded in an earlier batch under a default day/month order, read again under
    the order a later export of the same chat settled (issue 15). None when the file is gone or
    its content changed (its sha256 no longer matches)."""
    path = Path(source_file)
    try:
        data = read_regular(path, Path("/"))  # accepted when first loaded; still never a FIFO
        if member is not None:
            found = [c for m, c in extract_chat_texts(data, max_member_bytes=config.max_zip_member_bytes,
                                                      max_total_bytes=config.max_zip_total_bytes) if m == member]
            data = found[0] if found else b""
    except (OSError, RejectedFile):
        return None
    if content_sha256(data) != sha:
        return None
    name = (chat_name_from_filename(Path(member).name) if member else None) or chat_name_from_filename(path.name)
    context = ParseContext(config=config, roster=Roster.from_config(config), suffix=".txt", path=source_file,
                           member=member, name_from_file=name, date_order_hints={thread_id: order})
    result = FileResult(source_file, sha, "parsed", member=member, kind=whatsapp.SOURCE.name)
    try:
        result.take(whatsapp.parse_export(data, context, force_hint=True))
    except RejectedFile:
        return None
    return result if result.thread_id == thread_id and result.date_order == order else None


def _reread(result: FileResult) -> bytes:
    path = Path(result.source_file)
    data = read_regular(path, Path("/"))  # accepted when first read; still never a FIFO or device
    if result.member is None:
        return data
    for member, content in extract_chat_texts(data):
        if member == result.member:
            return content
    raise RejectedFile(f"zip member {result.member} vanished")
