"""Landing files in, deduplicated canonical messages in the warehouse out.

``ingest_paths`` is the one entry point used by the CLI and by the Airflow tasks. It is split
into the steps a DAG maps over: :func:`discover` lists files, :func:`parse_file` turns one file
into messages (and writes them to the lake), :func:`load_parsed` loads a batch of parsed files
in one transaction. Nothing is lost silently: every file ends as loaded, skipped (content seen
before) or rejected with a reason; every line as a message, a continuation or a quarantined row.
"""

from __future__ import annotations

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

SUPPORTED = {".txt": "whatsapp", ".zip": "whatsapp", ".csv": "canonical", ".jsonl": "canonical", ".parquet": "canonical"}
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
    return pd.concat(frames, ignore_index=True)


def write_lake(messages: pd.DataFrame, lake_dir: str | Path, sha: str) -> str | None:
    """Write a file's messages to ``<lake>/messages/local_date=YYYY-MM-DD/<sha>.parquet``.
    Same content, same file names: re-running overwrites instead of adding."""
    if messages.empty:
        return None
    root = Path(lake_dir) / "messages"
    local_date = messages["sent_at_local"].dt.strftime("%Y-%m-%d")
    table = to_arrow(messages)
    for day, index in local_date.groupby(local_date, sort=True).groups.items():
        part = root / f"local_date={day}"
        part.mkdir(parents=True, exist_ok=True)
        rows = pa.array(messages.index.get_indexer(index))
        pq.write_table(table.take(rows), part / f"{sha[:24]}.parquet")
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
    """Load parsed files in one transaction: manifest, quarantine, staging, merge, facts."""
    batch_id = uuid.uuid4().hex
    started = dt.datetime.now(dt.timezone.utc)
    lake = Path(lake_dir or config.lake_dir)
    roster = Roster.from_config(config)
    warehouse.init()

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
            result.messages = messages
            if not messages.empty:
                result.first_local_at = messages["sent_at_local"].min().to_pydatetime()
                result.last_local_at = messages["sent_at_local"].max().to_pydatetime()
                if result.thread_id is None and messages["thread_id"].nunique() == 1:
                    result.thread_id = messages["thread_id"].iloc[0]
            result.lake_path = write_lake(messages, lake, result.sha256)
            frames.append(messages)

        batch = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=MESSAGE_COLUMNS)
        affected: list[str] = []
        if not batch.empty:
            batch = batch.sort_values(["file_seq", "source_line"], kind="stable")
            in_batch_dup = batch["message_id"].duplicated(keep="first")
            warehouse.execute(conn, "delete from staging.stg_message")
            warehouse.bulk_insert(conn, "staging.stg_message", to_arrow(batch[~in_batch_dup]))
            existing = set(
                warehouse.read_df(
                    "select s.message_id from staging.stg_message s join marts.fct_message m on m.message_id = s.message_id",
                    conn=conn,
                )["message_id"]
            )
            known = in_batch_dup | batch["message_id"].isin(existing)
            per_file = known.groupby(batch["file_seq"]).agg(["sum", "size"])
            for result in parsed:
                if result.status == "parsed" and result.file_seq in per_file.index:
                    n_known, size = per_file.loc[result.file_seq]
                    result.messages_known, result.messages_new = int(n_known), int(size - n_known)
            warehouse.execute(
                conn,
                "insert into marts.fct_message select s.* from staging.stg_message s"
                " where not exists (select 1 from marts.fct_message m where m.message_id = s.message_id)"
            )
            warehouse.execute(conn, "delete from staging.stg_message")
            affected = sorted(set(batch.loc[~known, "thread_id"]))

        now = dt.datetime.now(dt.timezone.utc)
        _write_audit(warehouse, conn, parsed, batch_id, now)
        if rebuild:
            from kpi_transforms.facts import rebuild_facts

            rebuild_facts(warehouse, conn, affected, config)
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
    for result in parsed:
        if result.status == "parsed":
            result.status = "loaded"
        if progress:
            progress(result)
    return IngestReport(batch_id=batch_id, files=parsed, affected_threads=affected)


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

_SCALAR_FIELDS = [f.name for f in dataclasses.fields(FileResult) if f.name not in ("messages", "rejected_rows", "threads")]


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
            frames = [raw.assign(__channel__=ch, __thread__=name) for ch, name, raw in result.threads]
            pd.concat(frames, ignore_index=True).to_parquet(folder / f"{i}-threads.parquet", index=False)
            item["threads_file"] = f"{i}-threads.parquet"
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
            result.threads = [
                (str(ch), str(name), group.drop(columns=["__channel__", "__thread__"]).reset_index(drop=True))
                for (ch, name), group in frame.groupby(["__channel__", "__thread__"], sort=True)
            ]
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
