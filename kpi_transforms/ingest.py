"""Landing files in, deduplicated canonical messages in the warehouse out.

``ingest_paths`` is the one entry point used by the CLI and by the Airflow tasks. It is split
into the steps a DAG maps over: :func:`discover` lists files, :func:`parse_file` turns one file
into messages (and writes them to the lake), :func:`load_parsed` loads a batch of parsed files
in one transaction. Nothing is lost silently: every file ends as loaded, skipped (content seen
before) or rejected with a reason; every line as a message, a continuation or a quarantined row.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kpi_transforms.config import Config
from kpi_transforms.errors import RejectedFile
from kpi_transforms.model import (
    MESSAGE_COLUMNS,
    Roster,
    canonical_messages,
    make_thread_id,
    thread_key,
    to_arrow,
)
from kpi_transforms.parsers import whatsapp as wa
from kpi_transforms.parsers.canonical import parse_canonical
from kpi_transforms.parsers.zipsafe import extract_chat_texts
from kpi_transforms.warehouse import Warehouse

log = logging.getLogger(__name__)

# File kinds by extension. ``table`` files (.csv / .xlsx) are dispatched by their header:
# canonical messages, marketplace chat, sales report, customer list, customer_map or a manual
# override file (see :func:`detect_table_kind` and docs/INPUTS.md).
SUPPORTED = {
    ".txt": "whatsapp", ".zip": "whatsapp", ".csv": "table", ".xlsx": "table", ".jsonl": "canonical",
    ".parquet": "canonical", ".mbox": "email", ".eml": "email",
}
MAX_FILE_BYTES = 1024 * 1024 * 1024


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


@dataclasses.dataclass
class IngestReport:
    batch_id: str
    files: list[FileResult]
    affected_threads: list[str]

    @property
    def messages_new(self) -> int:
        return sum(f.messages_new for f in self.files)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Files under the given files / folders, sorted, hidden files and folders left out.
    A path that does not exist raises FileNotFoundError naming it."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                rel = file.relative_to(path)
                if file.is_file() and not any(part.startswith(".") for part in rel.parts):
                    found.append(file)
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    unique: dict[str, Path] = {}
    for file in found:
        unique.setdefault(str(file.resolve()), file)
    return list(unique.values())


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
    from kpi_transforms.parsers.email import parse_email

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


# Which parser reads a table, by the kind detect_table_kind names.
TABLE_KINDS = (
    "customer_map", "canonical", "marketplace", "manual_intent_label", "manual_case_resolution", "orders", "customer_list",
)


def _table_candidates(header: list[str]) -> list[tuple[str, int, list[str]]]:
    """(kind, columns recognised, missing required columns) for every table layout."""
    from kpi_transforms import customers, orders
    from kpi_transforms.parsers import canonical
    from kpi_transforms.parsers.marketplace import detect_marketplace

    out = []
    names = {str(h).strip().lower() for h in header}
    canon = {canonical.ALIASES.get(n, n) for n in names}
    known = set(canonical.REQUIRED) | set(canonical.OPTIONAL)
    out.append(("canonical", len(canon & known), [c for c in canonical.REQUIRED if c not in canon]))
    found = detect_marketplace(header)
    if found is not None:
        out.append(("marketplace", len(found.columns), [f"{found.map.columns[f][0]} ({f})" for f in found.missing]))
    if customers.is_customer_map(header):
        out.append(("customer_map", len(header), []))
    order_cols = orders.resolve_columns(header, orders.ORDER_COLUMNS)
    out.append(("orders", len(order_cols), [f"{orders.ORDER_COLUMNS[f][0]} ({f})" for f in orders.ORDER_REQUIRED if f not in order_cols]))
    list_cols = orders.resolve_columns(header, customers.LIST_COLUMNS)
    out.append(("customer_list", len(list_cols), [f"{customers.LIST_COLUMNS[f][0]} ({f})" for f in ("customer_id", "name") if f not in list_cols]))
    case_cols = orders.resolve_columns(header, orders.CASE_COLUMNS)
    case_missing = [m for m in ["thread_id"] if m not in case_cols]
    if "resolved_at" not in case_cols and "resolution" not in case_cols:
        case_missing.append("resolved_at")
    out.append(("manual_case_resolution", len(case_cols), case_missing))
    intent_cols = orders.resolve_columns(header, orders.INTENT_COLUMNS)
    intent_missing = [m for m in ["intent"] if m not in intent_cols]
    if "thread_id" not in intent_cols and "question_message_id" not in intent_cols:
        intent_missing.append("thread_id or question_message_id")
    out.append(("manual_intent_label", len(intent_cols), intent_missing))
    return out


def _table_header_score(cells: list[str]) -> int:
    """How well a row looks like a known header (used to skip title rows above it)."""
    return max((n for _kind, n, _missing in _table_candidates(cells)), default=0)


def detect_table_kind(header: list[str]) -> str:
    """The kind of a ``.csv`` / ``.xlsx`` from its header; RejectedFile naming the closest
    layout's missing columns when no layout is complete."""
    candidates = _table_candidates(header)
    complete = {kind for kind, n, missing in candidates if not missing and n > 0}
    for kind in TABLE_KINDS:
        if kind in complete:
            return kind
    kind, n, missing = max(candidates, key=lambda c: (c[1], -len(c[2])))
    shown = ", ".join(str(h) for h in header[:12])
    if n == 0:
        raise RejectedFile(
            f"unknown table layout (header: {shown}); expected canonical messages, a marketplace chat export, "
            "a sales report, a customer list, customer_map or a manual override file (see docs/INPUTS.md)"
        )
    if kind == "marketplace":
        from kpi_transforms.parsers.marketplace import detect_marketplace, missing_columns_reason

        raise RejectedFile(missing_columns_reason(detect_marketplace(header)))
    label = {"canonical": "canonical message file", "orders": "sales report", "customer_list": "customer list",
             "manual_case_resolution": "case-resolution file", "manual_intent_label": "intent-label file"}.get(kind, kind)
    raise RejectedFile(f"looks like a {label} but lacks column(s) {', '.join(missing)} (header: {shown}); see docs/INPUTS.md")


def _parse_table_unit(result: FileResult, data: bytes, suffix: str, config: Config, roster: Roster) -> None:
    from kpi_transforms import customers, orders
    from kpi_transforms.parsers.marketplace import parse_marketplace, read_rows

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
        result.tables = {orders.RATING_TABLE.name: parsed.ratings} if len(parsed.ratings) else None
        if len(parsed.threads) == 1:
            result.chat_name = parsed.threads[0][1]
        return
    parser = {
        "orders": orders.parse_orders, "customer_list": customers.parse_customer_list,
        "customer_map": customers.parse_customer_map, "manual_case_resolution": orders.parse_case_resolutions,
        "manual_intent_label": orders.parse_intent_labels,
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


def row_tables() -> dict[str, "object"]:
    """Every row table the loaders know (kpi_transforms.orders.RowTable), by table name."""
    from kpi_transforms import customers, orders

    return {spec.name: spec for spec in (*orders.ROW_TABLES, *customers.ROW_TABLES)}


def _sortable(values: pd.Series, kind: pa.DataType) -> pd.Series:
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
    if pa.types.is_integer(kind):
        return pd.to_numeric(values, errors="coerce").fillna(-1).astype("int64")
    return values.astype(str)


def merge_row_tables(warehouse: Warehouse, conn, parsed: list[FileResult], config: Config) -> list[str]:
    """Merge the row-table frames of the batch's loaded files into their tables, inside the
    caller's transaction; return the threads whose facts must be rebuilt.

    Per natural key the row with the highest (``precedence`` columns, ``file_seq``,
    ``source_line``) wins among the stored row and the batch's rows: stored rows that lose are
    deleted, winning batch rows inserted. Identity tables merge first (``RowTable.order``)."""
    specs = row_tables()
    pending: dict[str, list[pd.DataFrame]] = {}
    for result in parsed:
        if result.status != "parsed" or not result.tables:
            continue
        for name, frame in result.tables.items():
            if name not in specs:
                raise KeyError(f"no RowTable registered for {name}")
            pending.setdefault(name, []).append(frame.assign(source_file=result.label, file_seq=result.file_seq))
    if not pending:
        return []
    threads: set[str] = set()
    for name in sorted(pending, key=lambda n: (specs[n].order, n)):
        spec = specs[name]
        batch = pd.concat(pending[name], ignore_index=True)
        batch = pd.DataFrame({col: batch[col] if col in batch else None for col in spec.schema.names})
        order = [*spec.precedence, "file_seq", "source_line"]
        types = {field.name: field.type for field in spec.schema}
        ranked = batch.assign(**{f"__p{i}": _sortable(batch[c], types[c]) for i, c in enumerate(order)})
        pcols = [f"__p{i}" for i in range(len(order))]
        ranked = ranked.sort_values(pcols, kind="stable").drop_duplicates(spec.key, keep="last")
        with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", ranked[spec.key].astype(str).tolist()):
            stored = warehouse.read_df(
                f"select t.{spec.key}, {', '.join('t.' + c for c in order)} from {name} t"
                f" join staging.stg_row_key k on k.row_key = t.{spec.key}",
                conn=conn,
            )
        if len(stored):
            stored_rank = pd.DataFrame({f"__p{i}": _sortable(stored[c], types[c]) for i, c in enumerate(order)})
            stored_rank[spec.key] = stored[spec.key].astype(str).to_numpy()
            merged = ranked[[spec.key, *pcols]].assign(__new=True).astype({spec.key: str})
            both = pd.concat([stored_rank.assign(__new=False), merged], ignore_index=True)
            both = both.sort_values([*pcols, "__new"], kind="stable").drop_duplicates(spec.key, keep="last")
            winners_new = set(both.loc[both["__new"], spec.key])
        else:
            winners_new = set(ranked[spec.key].astype(str))
        winners = ranked[ranked[spec.key].astype(str).isin(winners_new)].drop(columns=pcols)
        if winners.empty:
            continue
        warehouse.delete_where_in(conn, name, spec.key, winners[spec.key].astype(str).tolist())
        warehouse.bulk_insert(conn, name, pa.Table.from_pandas(winners[spec.schema.names], schema=spec.schema, preserve_index=False))
        if spec.after_merge is not None:
            threads |= set(spec.after_merge(warehouse, conn, winners))
    from kpi_transforms.customers import refresh_customers

    refresh_customers(warehouse, conn, config)
    return sorted(threads)


def canonicalise(result: FileResult, config: Config, batch_id: str, roster: Roster | None = None) -> pd.DataFrame:
    """The parsed raw messages of one file as ``marts.fct_message`` rows."""
    roster = roster or Roster.from_config(config)
    frames = []
    if result.kind == "whatsapp" and result.messages is not None:
        frames.append(
            canonical_messages(
                result.messages, channel="whatsapp", thread_name=result.chat_name or "", config=config,
                source_file=result.label, file_seq=result.file_seq or 0, batch_id=batch_id, roster=roster,
            )
        )
    for channel, name, raw in result.threads or []:
        frames.append(
            canonical_messages(
                raw, channel=channel, thread_name=name, config=config, source_file=result.label,
                file_seq=result.file_seq or 0, batch_id=batch_id, roster=roster,
            )
        )
    if not frames:
        return pd.DataFrame(columns=MESSAGE_COLUMNS)
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def write_lake(messages: pd.DataFrame, lake_dir: str | Path, sha: str) -> str | None:
    """Write a file's messages to ``<lake>/messages/local_month=YYYY-MM/<sha>.parquet``.
    Same content, same file names: re-running overwrites instead of adding.

    Monthly partitions (docs/DECISIONS.md, "The lake"): a file per (export, day) meant 22,000
    small files for 200 chats of 500 messages, each costing about a millisecond of Parquet
    footer and file creation whatever its size. Rows inside a file are in local time order,
    so the row-group statistics of ``sent_at_local`` still let readers skip by day.

    One Arrow conversion for the whole file; each month is a zero-copy slice (rows sorted by
    local time only when they are not already), and the month files are encoded on two
    threads (zstd level 1: faster than snappy here and about half the size)."""
    if messages.empty:
        return None
    import concurrent.futures as cf

    import numpy as np
    import pyarrow.compute as pc

    writers = 2  # Parquet encoding releases the GIL: two month files are encoded at once
    root = Path(lake_dir) / "messages"
    table = to_arrow(messages)
    local = table.column("sent_at_local")
    if local.null_count:  # rows without a time have no partition (as before: left out)
        table = table.filter(pc.is_valid(local))
        local = table.column("sent_at_local")
    if table.num_rows == 0:
        return None
    micros = local.cast(pa.int64()).to_numpy()
    if (micros[1:] < micros[:-1]).any():
        order = np.argsort(micros, kind="stable")
        table, micros = table.take(pa.array(order)), micros[order]
    months = micros.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    starts = np.r_[0, np.flatnonzero(months[1:] != months[:-1]) + 1]
    ends = np.r_[starts[1:], len(months)]
    names = np.datetime_as_string(months[starts].astype("datetime64[M]"))
    name = f"{sha[:24]}.parquet"

    def write(k: int) -> None:
        part = root / f"local_month={names[k]}"
        part.mkdir(parents=True, exist_ok=True)
        piece = table.slice(int(starts[k]), int(ends[k] - starts[k]))
        pq.write_table(piece, part / name, compression="zstd", compression_level=1)

    if len(starts) == 1:
        write(0)
    else:
        with cf.ThreadPoolExecutor(min(writers, len(starts)), thread_name_prefix="chatkpi-lake") as pool:
            list(pool.map(write, range(len(starts))))
    return str(root)


def _known(warehouse: Warehouse) -> tuple[set[str], dict[str, str], int]:
    """Content hashes already processed, date-order decisions per thread, last file_seq."""
    with warehouse.begin() as conn:
        shas = set(warehouse.read_df("select file_sha256 from audit.file_manifest", conn=conn)["file_sha256"].tolist())
        shas |= set(warehouse.read_df("select file_sha256 from audit.rejected_file", conn=conn)["file_sha256"].tolist())
        orders = warehouse.read_df(
            "select thread_id, date_order, file_seq from audit.file_manifest"
            " where date_order_source in ('file', 'config') and thread_id is not null order by file_seq",
            conn=conn,
        )
        last_seq = warehouse.scalar("select coalesce(max(file_seq), 0) from audit.file_manifest", conn=conn)
    hints = dict(zip(orders["thread_id"], orders["date_order"]))
    return shas, hints, int(last_seq or 0)


def ingest_paths(
    paths: Sequence[str | Path],
    config: Config,
    warehouse: Warehouse,
    *,
    lake_dir: str | Path | None = None,
    progress: Callable[[FileResult], None] | None = None,
    rebuild: bool = True,
) -> IngestReport:
    """Discover, parse and load files in one batch (one warehouse transaction)."""
    warehouse.init()
    files = discover(paths)
    known_shas, hints, _ = _known(warehouse)
    parsed: list[FileResult] = []
    seen_in_batch: set[str] = set()
    for path in files:
        for result in parse_file(path, config, known_shas=known_shas | seen_in_batch, date_order_hints=hints):
            if result.status != "skipped":
                seen_in_batch.add(result.sha256)
            parsed.append(result)
    _second_pass_hints(parsed, config)
    return load_parsed(parsed, config, warehouse, lake_dir=lake_dir, progress=progress, rebuild=rebuild)


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


def load_parsed(
    parsed: list[FileResult],
    config: Config,
    warehouse: Warehouse,
    *,
    lake_dir: str | Path | None = None,
    progress: Callable[[FileResult], None] | None = None,
    rebuild: bool = True,
) -> IngestReport:
    """Load parsed files in one transaction: manifest, quarantine, staging, merge, facts.

    The data-quality gate (:mod:`kpi_transforms.quality`) checks the batch before the staging
    insert and the rebuilt facts before they replace the old ones. A failed gate raises
    :class:`~kpi_transforms.quality.DataQualityError` after the transaction rolled back (the
    warehouse is as before); its checks are then recorded in ``audit.dq_result`` in a
    transaction of their own and Data Docs are written to ``<lake>/../dq_docs``."""
    from kpi_transforms.quality import (
        DataQualityError,
        build_data_docs,
        docs_dir_for,
        dq_rows,
        quarantine_implausible,
        scrub_nul,
        validate_messages,
    )

    batch_id = uuid.uuid4().hex
    started = dt.datetime.now(dt.timezone.utc)
    lake = Path(lake_dir or config.lake_dir)
    roster = Roster.from_config(config)
    warehouse.init()
    dq_results: list = []

    lakes = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="chatkpi-lake")
    lake_writes: list[tuple[FileResult, concurrent.futures.Future]] = []
    try:
        with warehouse.begin() as conn:
            warehouse.lock(conn, "ingest")
            # Re-check under the lock: a concurrent ingest may have taken some files meanwhile.
            done = set(warehouse.read_df("select file_sha256 from audit.file_manifest", conn=conn)["file_sha256"])
            done |= set(warehouse.read_df("select file_sha256 from audit.rejected_file", conn=conn)["file_sha256"])
            seq = int(warehouse.scalar("select coalesce(max(file_seq), 0) from audit.file_manifest", conn=conn) or 0)

            frames: list[pd.DataFrame] = []
            for result in parsed:
                if result.status in ("parsed", "rejected"):
                    if result.sha256 in done:
                        result.status, result.reason = "skipped", "content already processed (same sha256)"
                    done.add(result.sha256)
                if result.status != "parsed":
                    continue
                seq += 1
                result.file_seq = seq
                messages = canonicalise(result, config, batch_id, roster)
                try:
                    # Dates the parser accepts but no export can hold (after ingest time + 1 day)
                    # are quarantined per line, so the gate below never sees them.
                    messages = quarantine_implausible(result, messages, started)
                except RejectedFile as exc:
                    seq -= 1
                    result.status, result.reason, result.file_seq, result.messages = "rejected", exc.reason, None, None
                    continue
                # NUL characters are valid UTF-8 but PostgreSQL text cannot store them.
                messages = scrub_nul(messages)
                result.rejected_rows = scrub_nul(result.rejected_rows)
                for name, table in (getattr(result, "tables", None) or {}).items():
                    result.tables[name] = scrub_nul(table)
                if result.chat_name:
                    result.chat_name = result.chat_name.replace("\x00", "\ufffd")
                result.messages = messages
                if not messages.empty:
                    result.first_local_at = messages["sent_at_local"].min().to_pydatetime()
                    result.last_local_at = messages["sent_at_local"].max().to_pydatetime()
                    if result.thread_id is None and messages["thread_id"].nunique() == 1:
                        result.thread_id = messages["thread_id"].iloc[0]
                # The lake file is encoded on a background thread (Parquet releases the GIL) while
                # the next file is canonicalised and the batch gated and merged; joined before commit.
                lake_writes.append((result, lakes.submit(write_lake, messages, lake, result.sha256)))
                result.messages = None  # the batch frame below is the only copy kept
                frames.append(messages)

            batch = _batch_frame(frames)
            in_batch_dup = _in_batch_duplicates(batch, frames)
            del frames
            affected: list[str] = []
            fresh = batch[~in_batch_dup] if in_batch_dup.any() else batch
            loaded = [r for r in parsed if r.status == "parsed"]
            if loaded:
                gate = validate_messages(fresh, loaded, in_batch_duplicates=int(in_batch_dup.sum()), now=started)
                dq_results.append(gate)
                if not gate.success:
                    raise DataQualityError(gate)
            if not batch.empty:
                existing = warehouse.merge_new(conn, "marts.fct_message", "staging.stg_message", to_arrow(fresh), "message_id")
                known = in_batch_dup | batch["message_id"].isin(existing)
                per_file = known.groupby(batch["file_seq"]).agg(["sum", "size"])
                for result in parsed:
                    if result.status == "parsed" and result.file_seq in per_file.index:
                        n_known, size = per_file.loc[result.file_seq]
                        result.messages_known, result.messages_new = int(n_known), int(size - n_known)
                affected = sorted(batch.loc[~known, "thread_id"].unique().tolist())
            del batch  # ``fresh`` (the deduplicated rows) gives the facts the threads that are new
            for result, write in lake_writes:
                result.lake_path = write.result()

            # -- row tables (orders, customer lists / map, manual overrides, chat ratings) ------
            # merged on their natural key; identity / order changes add the threads to rebuild.
            affected = sorted(set(affected) | set(merge_row_tables(warehouse, conn, parsed, config)))

            now = dt.datetime.now(dt.timezone.utc)
            _write_audit(warehouse, conn, parsed, batch_id, now)
            if rebuild:
                from kpi_transforms.facts import rebuild_facts

                rebuild_facts(warehouse, conn, affected, config, dq_results=dq_results, batch=fresh)
            del fresh
            if dq_results:
                warehouse.bulk_insert(conn, "audit.dq_result", dq_rows(dq_results, batch_id, now))
            warehouse.bulk_insert(
                conn,
                "audit.batch",
                pd.DataFrame(
                    {
                        "batch_id": [batch_id], "started_at": [started], "finished_at": [now],
                        "n_files": [len(parsed)], "n_loaded": [sum(r.status == "parsed" for r in parsed)],
                        "n_rejected": [sum(r.status == "rejected" for r in parsed)],
                        "n_skipped": [sum(r.status == "skipped" for r in parsed)],
                        "messages_new": [sum(r.messages_new for r in parsed)],
                    }
                ),
            )
    except DataQualityError as exc:
        # The batch transaction has rolled back: the previous facts stay visible. Record the
        # verdict in a transaction of its own, log it, and leave Data Docs for a person.
        results = dq_results if any(r is exc.result for r in dq_results) else [*dq_results, exc.result]
        try:
            with warehouse.begin() as conn:
                warehouse.bulk_insert(conn, "audit.dq_result", dq_rows(results, batch_id, dt.datetime.now(dt.timezone.utc)))
        except Exception as audit_error:  # noqa: BLE001 - never hide the gate's verdict behind this one
            log.warning("could not record the data-quality verdict of batch %s: %s", batch_id, audit_error)
        log.error("batch %s stopped by the data-quality gate, nothing was loaded:\n%s", batch_id, exc.result.summary())
        try:
            exc.docs = build_data_docs(results, docs_dir_for(lake), run_name=batch_id)
        except Exception as docs_error:  # noqa: BLE001 - the verdict matters more than its web pages
            log.warning("could not write Data Docs for batch %s: %s", batch_id, docs_error)
        raise
    finally:
        lakes.shutdown(wait=True)  # no lake write outlives the call, whatever happened
    for result in parsed:
        if result.status == "parsed":
            result.status = "loaded"
        if progress:
            progress(result)
    return IngestReport(batch_id=batch_id, files=parsed, affected_threads=affected)


def _batch_frame(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The files' canonical rows as one frame in (file_seq, source_line) order, the order that
    decides which copy of an in-batch duplicate is kept. Files come in file_seq order and a
    file's rows are almost always in line order already, so the sort (a full copy of the batch)
    runs only when needed."""
    if not frames:
        return pd.DataFrame(columns=MESSAGE_COLUMNS)
    batch = frames[0].reset_index(drop=True) if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    seq = batch["file_seq"].to_numpy(dtype="int64")
    line = batch["source_line"].to_numpy(dtype="int64")
    in_order = (seq[1:] > seq[:-1]) | ((seq[1:] == seq[:-1]) & (line[1:] >= line[:-1]))
    if not in_order.all():
        batch = batch.sort_values(["file_seq", "source_line"], kind="stable", ignore_index=True)
    return batch


def _in_batch_duplicates(batch: pd.DataFrame, frames: list[pd.DataFrame]) -> pd.Series:
    """Rows of ``batch`` whose message_id an earlier row of the batch has (keep the first).

    ``message_id`` hashes the thread and the occurrence index of identical messages within one
    file, so one file's ids never repeat and only files sharing a thread (two exports of one
    chat in a batch) can repeat each other: only their rows are compared (hashing 1 M ids took
    ~0.3 s for a batch that cannot have any). A repeat within one file could only be a hash
    collision; the gate's uniqueness check on the deduplicated rows would stop the batch."""
    dup = pd.Series(False, index=batch.index, dtype=bool)
    seen: set[str] = set()
    shared: set[str] = set()
    for frame in frames:
        threads = set(frame["thread_id"].unique().tolist())
        shared |= threads & seen
        seen |= threads
    if shared:
        rows = batch["thread_id"].isin(shared)
        dup[rows] = batch.loc[rows, "message_id"].duplicated(keep="first").to_numpy()
    return dup


def _write_audit(warehouse: Warehouse, conn, parsed: list[FileResult], batch_id: str, now: dt.datetime) -> None:
    manifest, rejected_files, rejected_rows = [], [], []
    seen_rejected: set[str] = set()
    for r in parsed:
        if r.status == "parsed":
            manifest.append(
                {
                    "file_sha256": r.sha256, "file_seq": r.file_seq, "source_file": r.source_file, "member": r.member,
                    "batch_id": batch_id, "status": "loaded", "source_kind": r.kind, "layout": r.layout,
                    "date_order": r.date_order, "date_order_source": r.date_order_source, "thread_id": r.thread_id,
                    "chat_name": r.chat_name, "lines_read": r.lines_read, "header_lines": r.header_lines,
                    "continuation_lines": r.continuation_lines, "quarantined_lines": r.quarantined_lines,
                    "messages_read": r.messages_read, "messages_new": r.messages_new, "messages_known": r.messages_known,
                    "first_local_at": r.first_local_at, "last_local_at": r.last_local_at, "lake_path": r.lake_path,
                    "loaded_at": now,
                }
            )
            if r.rejected_rows is not None and len(r.rejected_rows):
                rows = r.rejected_rows.copy()
                rows["file_sha256"], rows["source_file"], rows["batch_id"] = r.sha256, r.label, batch_id
                rejected_rows.append(rows.drop_duplicates("source_line"))
        elif r.status == "rejected" and r.sha256 not in seen_rejected:
            seen_rejected.add(r.sha256)
            rejected_files.append(
                {"file_sha256": r.sha256, "source_file": r.source_file, "member": r.member, "batch_id": batch_id,
                 "reason": r.reason or "rejected", "rejected_at": now}
            )
    if manifest:
        schema = pa.schema(
            [("file_sha256", pa.string()), ("file_seq", pa.int64()), ("source_file", pa.string()), ("member", pa.string()),
             ("batch_id", pa.string()), ("status", pa.string()), ("source_kind", pa.string()), ("layout", pa.string()),
             ("date_order", pa.string()), ("date_order_source", pa.string()), ("thread_id", pa.string()),
             ("chat_name", pa.string()), ("lines_read", pa.int64()), ("header_lines", pa.int64()),
             ("continuation_lines", pa.int64()), ("quarantined_lines", pa.int64()), ("messages_read", pa.int64()),
             ("messages_new", pa.int64()), ("messages_known", pa.int64()), ("first_local_at", pa.timestamp("us")),
             ("last_local_at", pa.timestamp("us")), ("lake_path", pa.string()), ("loaded_at", pa.timestamp("us", tz="UTC"))]
        )
        warehouse.bulk_insert(conn, "audit.file_manifest", pa.Table.from_pylist(manifest, schema=schema))
    if rejected_files:
        schema = pa.schema(
            [("file_sha256", pa.string()), ("source_file", pa.string()), ("member", pa.string()), ("batch_id", pa.string()),
             ("reason", pa.string()), ("rejected_at", pa.timestamp("us", tz="UTC"))]
        )
        warehouse.bulk_insert(conn, "audit.rejected_file", pa.Table.from_pylist(rejected_files, schema=schema))
    if rejected_rows:
        rows = pd.concat(rejected_rows, ignore_index=True)[["file_sha256", "source_file", "source_line", "batch_id", "raw", "reason"]]
        rows = rows.drop_duplicates(["file_sha256", "source_line"])
        schema = pa.schema(
            [("file_sha256", pa.string()), ("source_file", pa.string()), ("source_line", pa.int64()),
             ("batch_id", pa.string()), ("raw", pa.string()), ("reason", pa.string())]
        )
        warehouse.bulk_insert(conn, "audit.rejected_row", pa.Table.from_pandas(rows, schema=schema, preserve_index=False))


# -- staged ingest: the steps an Airflow DAG maps over -------------------------------------
#
# find_new_files (one task, reads the warehouse) -> stage_file (mapped per file, no warehouse
# access; writes an artifact folder) -> load_staged (one task, one transaction). Tasks pass
# only paths and counts.

_SCALAR_FIELDS = [f.name for f in dataclasses.fields(FileResult) if f.name not in ("messages", "rejected_rows", "threads", "tables")]


def find_new_files(paths: Sequence[str | Path], warehouse: Warehouse) -> dict:
    """Files under ``paths`` whose content the warehouse has not seen, plus the date-order hints
    per thread, as plain JSON-able data: ``{"files": [...], "hints": {...}, "skipped": n}``."""
    warehouse.init()
    known_shas, hints, _ = _known(warehouse)
    files, skipped = [], 0
    for path in discover(paths):
        if _content_known(path, known_shas):
            skipped += 1
        else:
            files.append(str(path))
    return {"files": files, "hints": hints, "skipped": skipped}


def _content_known(path: Path, known_shas: set[str]) -> bool:
    """Whether the warehouse has seen this file's content. The manifest keys a zip export by
    its chat members, so a zip is known when all its chat members are (or, for a zip that was
    rejected as a whole, when the archive itself is)."""
    data = path.read_bytes()
    if _sha256(data) in known_shas:
        return True
    if path.suffix.lower() != ".zip":
        return False
    try:
        members = extract_chat_texts(data)
    except RejectedFile:
        return False
    return bool(members) and all(_sha256(content) in known_shas for _name, content in members)


def stage_file(path: str | Path, config: Config, stage_dir: str | Path, hints: dict[str, str] | None = None) -> str:
    """Parse one file into ``<stage_dir>/<sha256>/`` (JSON metadata + Parquet frames) and
    return that folder. Re-staging the same content overwrites the same folder."""
    import json

    path = Path(path)
    results = parse_file(path, config, date_order_hints=hints or {})
    key = _sha256((str(path.resolve()) + "|" + "|".join(r.sha256 for r in results)).encode())[:32]
    folder = Path(stage_dir) / key
    folder.mkdir(parents=True, exist_ok=True)
    meta = []
    for i, result in enumerate(results):
        item = {name: getattr(result, name) for name in _SCALAR_FIELDS}
        for name in ("first_local_at", "last_local_at"):
            item[name] = item[name].isoformat() if item[name] else None
        if result.messages is not None:
            result.messages.to_parquet(folder / f"{i}-messages.parquet", index=False)
            item["messages_file"] = f"{i}-messages.parquet"
        if result.rejected_rows is not None:
            result.rejected_rows.to_parquet(folder / f"{i}-rejected.parquet", index=False)
            item["rejected_file"] = f"{i}-rejected.parquet"
        if result.threads:
            frames = [raw.assign(__channel__=ch, __thread__=name, __thread_no__=k) for k, (ch, name, raw) in enumerate(result.threads)]
            pd.concat(frames, ignore_index=True).to_parquet(folder / f"{i}-threads.parquet", index=False)
            item["threads_file"] = f"{i}-threads.parquet"
        if result.tables:
            item["tables_files"] = {}
            for k, (name, frame) in enumerate(sorted(result.tables.items())):
                frame.to_parquet(folder / f"{i}-table-{k}.parquet", index=False)
                item["tables_files"][name] = f"{i}-table-{k}.parquet"
        meta.append(item)
    (folder / "result.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return str(folder)


def read_staged(folder: str | Path) -> list[FileResult]:
    """The FileResults of a folder written by :func:`stage_file`."""
    import json

    folder = Path(folder)
    results = []
    for item in json.loads((folder / "result.json").read_text(encoding="utf-8")):
        kwargs = {name: item.get(name) for name in _SCALAR_FIELDS}
        for name in ("first_local_at", "last_local_at"):
            kwargs[name] = dt.datetime.fromisoformat(kwargs[name]) if kwargs[name] else None
        result = FileResult(**kwargs)
        if item.get("messages_file"):
            result.messages = pd.read_parquet(folder / item["messages_file"])
        if item.get("rejected_file"):
            result.rejected_rows = pd.read_parquet(folder / item["rejected_file"])
        if item.get("threads_file"):
            frame = pd.read_parquet(folder / item["threads_file"])
            if "__thread_no__" not in frame.columns:  # staged before threads were numbered
                frame["__thread_no__"] = frame.groupby(["__channel__", "__thread__"], sort=True).ngroup()
            result.threads = [
                (str(group["__channel__"].iloc[0]), str(group["__thread__"].iloc[0]),
                 group.drop(columns=["__channel__", "__thread__", "__thread_no__"]).reset_index(drop=True))
                for _k, group in frame.groupby("__thread_no__", sort=True)
            ]
        if item.get("tables_files"):
            result.tables = {name: pd.read_parquet(folder / file) for name, file in item["tables_files"].items()}
        results.append(result)
    return results


def load_staged(
    folders: Sequence[str | Path], config: Config, warehouse: Warehouse, *, lake_dir: str | Path | None = None
) -> IngestReport:
    """Load staged files in one batch (same as :func:`load_parsed`), in the order given."""
    parsed: list[FileResult] = []
    for folder in folders:
        parsed.extend(read_staged(folder))
    _second_pass_hints(parsed, config)
    return load_parsed(parsed, config, warehouse, lake_dir=lake_dir)
