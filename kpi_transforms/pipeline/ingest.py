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
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.identity import Roster
from kpi_transforms.core.memory import Budget
from kpi_transforms.core.schema import MESSAGE_COLUMNS
from kpi_transforms.pipeline.email_threads import link_email_threads, store_email_rows
from kpi_transforms.pipeline.facts import rebuild_facts
from kpi_transforms.pipeline.lake import discard_lake, publish_lake, sweep_lake, write_lake_batch
from kpi_transforms.pipeline.row_tables import merge_row_tables
from kpi_transforms.quality.gate import (
    DataQualityError,
    build_data_docs,
    docs_dir_for,
    dq_rows,
    implausible_rows,
    quarantine_implausible,
    scrub_nul,
    validate_messages,
)
from kpi_transforms.sources.canonical import canonicalise_batch, to_arrow
from kpi_transforms.sources.registry import FileResult, parse_file, reread_under_order, settle_date_orders
from kpi_transforms.warehouse.engine import Warehouse

log = logging.getLogger(__name__)


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


def discover_with_roots(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """(file, landing folder it was found in) under the given files / folders, sorted, hidden
    files and folders left out. Symbolic links and special files (FIFOs, devices) are listed
    too, never followed into folders: parsing reports them as rejected with their reason
    (:mod:`kpi_transforms.sources.landing`). A path that does not exist raises
    FileNotFoundError naming it."""
    found: list[tuple[Path, Path]] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for folder, dirs, files in os.walk(path, followlinks=False):
                base = Path(folder)
                linked = [d for d in dirs if (base / d).is_symlink()]  # listed (and rejected), not entered
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in linked)
                for name in files + linked:
                    if not name.startswith("."):
                        found.append((base / name, path))
        elif path.exists() or path.is_symlink():
            found.append((path, path.parent))
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
    found.sort(key=lambda pair: str(pair[0]))
    unique: dict[str, tuple[Path, Path]] = {}
    for file, root in found:
        unique.setdefault(str(file.resolve()), (file, root))
    return list(unique.values())


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """The files of :func:`discover_with_roots`."""
    return [file for file, _root in discover_with_roots(paths)]


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
    on_parsed: Callable[[Path, list[FileResult], int], None] | None = None,
    before_commit: Callable[[Any, str], None] | None = None,
) -> IngestReport:
    """Discover, parse and load files in one batch (one warehouse transaction).
    ``on_parsed(path, results, n_files)`` is called as each discovered file is parsed."""
    warehouse.init()
    files = discover_with_roots(paths)
    known_shas, hints, _ = _known(warehouse)
    parsed: list[FileResult] = []
    known_or_seen = set(known_shas)  # grows with the batch (a union per file was O(files x known))
    budget = Budget.from_mb(config.memory_budget_mb)
    roster = Roster.from_config(config)
    for path, root in files:
        results = list(parse_file(path, config, known_shas=known_or_seen,
                                  date_order_hints=hints, root=root, budget=budget, roster=roster))
        for result in results:
            if result.status != "skipped":
                known_or_seen.add(result.sha256)
            parsed.append(result)
        if on_parsed:
            on_parsed(path, results, len(files))
    settle_date_orders(parsed, config)
    reloads = resettle_earlier_files(parsed, config, warehouse)
    parsed += [result for result, _seq in reloads]
    return load_parsed(parsed, config, warehouse, lake_dir=lake_dir, progress=progress, rebuild=rebuild,
                       reloads={result.sha256: seq for result, seq in reloads}, before_commit=before_commit)


def resettle_earlier_files(parsed: list[FileResult], config: Config, warehouse: Warehouse) -> list[tuple[FileResult, int]]:
    """Order independence across batches (issue 15): a file loaded in an earlier batch under the
    default day/month order of an ambiguous export is read again under the order an export of
    this batch settles for the same chat. Returns (re-read file, its original file_seq);
    :func:`load_parsed` replaces that file's messages, manifest and quarantine, and rebuilds
    its thread's facts, so the tables equal those of loading all files at once. A file that is
    gone or changed cannot be re-read: it keeps its messages and a warning is logged."""
    decided = {r.thread_id: r.date_order for r in parsed
               if r.status == "parsed" and r.thread_id and r.date_order_source in ("file", "config")}
    if not decided:
        return []
    earlier = warehouse.read_df(
        "select file_sha256, source_file, member, file_seq, thread_id, date_order from audit.file_manifest"
        " where date_order_source = 'default' and thread_id is not null order by file_seq"
    )
    out: list[tuple[FileResult, int]] = []
    for row in earlier.itertuples(index=False):
        order = decided.get(row.thread_id)
        if order is None or order == row.date_order:
            continue
        member = row.member if isinstance(row.member, str) else None
        result = reread_under_order(row.source_file, member, row.file_sha256, row.thread_id, order, config)
        if result is None:
            log.warning("%s was loaded reading dates %s; a later export settles %s, but the file is gone or changed:"
                        " its messages keep the old reading", row.source_file, row.date_order, order)
            continue
        out.append((result, int(row.file_seq)))
    return out


def load_parsed(
    parsed: list[FileResult],
    config: Config,
    warehouse: Warehouse,
    *,
    lake_dir: str | Path | None = None,
    progress: Callable[[FileResult], None] | None = None,
    rebuild: bool = True,
    reloads: dict[str, int] | None = None,
    before_commit: Callable[[Any, str], None] | None = None,
) -> IngestReport:
    """Load parsed files in one transaction: manifest, quarantine, staging, merge, facts.
    ``before_commit(conn, batch_id)`` runs last inside that transaction (extraction
    checkpoints are staged there, so they commit with the batch or not at all).

    ``reloads`` maps the sha256 of files loaded before and read again (see
    :func:`resettle_earlier_files`) to their original ``file_seq``: their old rows are replaced.

    The data-quality gate (:mod:`kpi_transforms.quality`) checks the batch before the staging
    insert and the rebuilt facts before they replace the old ones. A failed gate raises
    :class:`~kpi_transforms.quality.DataQualityError` after the transaction rolled back (the
    warehouse is as before); its checks are then recorded in ``audit.dq_result`` in a
    transaction of their own and Data Docs are written to ``<lake>/../dq_docs``."""

    batch_id = uuid.uuid4().hex
    started = dt.datetime.now(dt.timezone.utc)
    lake = Path(lake_dir or config.lake_dir)
    roster = Roster.from_config(config)
    warehouse.init()
    dq_results: list = []

    lakes = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="chatkpi-lake")
    committed = False
    try:
        with warehouse.begin() as conn:
            warehouse.lock(conn, "ingest")
            # Re-check under the lock: a concurrent ingest may have taken some files meanwhile.
            done = set(warehouse.read_df("select file_sha256 from audit.file_manifest", conn=conn)["file_sha256"])
            done |= set(warehouse.read_df("select file_sha256 from audit.rejected_file", conn=conn)["file_sha256"])
            seq = int(warehouse.scalar("select coalesce(max(file_seq), 0) from audit.file_manifest", conn=conn) or 0)
            # lake files of a killed ingest: publish them if its batch committed, else delete
            sweep_lake(lake, lambda b: bool(warehouse.scalar("select count(*) from audit.batch where batch_id = :b", {"b": b}, conn=conn)),
                       keep=batch_id)

            # e-mail threads across files and batches (issue 14): conversation keys before ids
            fresh_files = [r for r in parsed if r.status == "parsed" and r.sha256 not in done]
            rethreaded, email_rows, email_refs = link_email_threads(warehouse, conn, fresh_files, batch_id)
            reloads = reloads or {}
            reloaded_threads: set[str] = set()
            loading: list[FileResult] = []  # the files to canonicalise, in batch order
            first_seq = seq
            for result in parsed:
                reload_seq = reloads.get(result.sha256) if result.status == "parsed" else None
                if reload_seq is not None:
                    # read again under the settled date order: its old rows go, its seq stays
                    for sql in ("delete from marts.fct_message where file_seq = :s",):
                        warehouse.execute(conn, sql, {"s": reload_seq})
                    warehouse.execute(conn, "delete from audit.file_manifest where file_sha256 = :h", {"h": result.sha256})
                    warehouse.execute(conn, "delete from audit.rejected_row where file_sha256 = :h", {"h": result.sha256})
                    reloaded_threads.add(result.thread_id)
                    result.file_seq = reload_seq
                else:
                    if result.status in ("parsed", "rejected"):
                        if result.sha256 in done:
                            result.status, result.reason = "skipped", "content already processed (same sha256)"
                        done.add(result.sha256)
                    if result.status != "parsed":
                        continue
                    seq += 1
                    result.file_seq = seq
                loading.append(result)
            # One canonicalising pass over the whole batch (issue 18 item 2), then the per-file
            # steps on each file's rows: implausible dates, NULs, first / last local time.
            messages = _canonical_rows(loading, set(reloads), first_seq, config, batch_id, roster, started)
            pieces = _file_pieces(messages, loading)
            # The lake files are encoded on a background thread (Parquet releases the GIL) while
            # the batch is gated and merged; joined before commit.
            lake_write = lakes.submit(write_lake_batch, messages.copy(deep=False),
                                      [(r.sha256, lo, hi) for r, lo, hi in pieces], lake, batch_id)
            batch = _batch_frame([messages])
            del messages
            in_batch_dup = _in_batch_duplicates(batch)
            affected: list[str] = []
            fresh = batch[~in_batch_dup] if in_batch_dup.any() else batch
            loaded = [r for r in parsed if r.status == "parsed"]
            if loaded:
                gate = validate_messages(fresh, loaded, in_batch_duplicates=int(in_batch_dup.sum()), now=started,
                                         plausible_from=config.plausible_from)
                dq_results.append(gate)
                if not gate.success:
                    raise DataQualityError(gate)
            if not batch.empty:
                # One Arrow chunk per column: the concatenated files' frames give one chunk per
                # file, and DuckDB scanning 20,000 tiny chunks ran out of memory (issue 15 item 5).
                rows = to_arrow(fresh).combine_chunks()
                existing = warehouse.merge_new(conn, "marts.fct_message", "staging.stg_message", rows, "message_id")
                del rows
                known = in_batch_dup | batch["message_id"].isin(existing)
                per_file = known.groupby(batch["file_seq"]).agg(["sum", "size"])
                counts = dict(zip(per_file.index.tolist(), zip(per_file["sum"].tolist(), per_file["size"].tolist())))
                for result in parsed:
                    if result.status == "parsed" and result.file_seq in counts:
                        n_known, size = counts[result.file_seq]
                        result.messages_known, result.messages_new = int(n_known), int(size - n_known)
                affected = sorted(batch.loc[~known, "thread_id"].unique().tolist())
            del batch  # ``fresh`` (the deduplicated rows) gives the facts the threads that are new
            for (result, _lo, _hi), path in zip(pieces, lake_write.result()):
                result.lake_path = path

            # -- row tables (orders, customer lists / map, manual overrides, chat ratings) ------
            # merged on their natural key; identity / order changes add the threads to rebuild.
            affected = sorted(set(affected) | set(merge_row_tables(warehouse, conn, parsed, config)) | set(rethreaded) | reloaded_threads)
            store_email_rows(warehouse, conn, email_rows, email_refs, {r.sha256 for r in parsed if r.status == "parsed"})

            now = dt.datetime.now(dt.timezone.utc)
            _write_audit(warehouse, conn, parsed, batch_id, now)
            if rebuild:

                rebuild_facts(warehouse, conn, affected, config, dq_results=dq_results, batch=fresh)
            del fresh
            if dq_results:
                warehouse.bulk_insert(conn, "audit.dq_result", dq_rows(dq_results, batch_id, now))
            if before_commit is not None:
                before_commit(conn, batch_id)
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
        committed = True
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
        if not committed:
            discard_lake(lake, batch_id)  # rolled back (gate, error): none of its lake files may stay
    publish_lake(lake, batch_id)  # committed: its lake files move into place
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


def _canonical_rows(
    files: list[FileResult], reloaded: set[str], first_seq: int, config: Config, batch_id: str, roster: Roster,
    started: dt.datetime,
) -> pd.DataFrame:
    """The canonical rows of the files being loaded, file after file, as the per-file steps
    left them: one :func:`canonicalise_batch` pass, then the dates no export can hold
    quarantined (found over the whole batch; only the files with such rows go through
    :func:`quarantine_implausible`, which rejects a file left with none: the files after it take
    its ``file_seq``, as when they were numbered one by one), NULs replaced, and each file's
    first / last local time and single thread noted on its :class:`FileResult`."""
    messages = canonicalise_batch(files, config, batch_id, roster)
    if messages.empty:
        for result in files:
            _scrub_file(result)
        return messages
    pieces = _file_pieces(messages, files)
    bad = implausible_rows(messages, started, config.plausible_from)
    if bad.any():
        keep = ~bad
        for result, lo, hi in pieces:
            if not bad[lo:hi].any():
                continue
            try:
                # Dates the parser accepts but no export can hold (after ingest time + 1 day)
                # are quarantined per line, so the gate never sees them.
                kept = quarantine_implausible(result, messages.iloc[lo:hi].reset_index(drop=True), started,
                                              config.plausible_from)
            except RejectedFile as exc:
                result.status, result.reason, result.file_seq, result.threads = "rejected", exc.reason, None, None
                keep[lo:hi] = False
                continue
            if len(kept) != int(keep[lo:hi].sum()):
                raise RuntimeError(f"{result.label}: the batch and the file disagree on its implausible dates")
        messages = messages[keep].reset_index(drop=True)
        if any(r.status == "rejected" and r.sha256 not in reloaded for r in files):
            renumber = {}
            next_seq = first_seq
            for result in files:
                if result.status == "parsed" and result.sha256 not in reloaded:
                    next_seq += 1
                    renumber[result.file_seq] = next_seq
                    result.file_seq = next_seq
            if renumber and not messages.empty:
                old = messages["file_seq"].to_numpy(dtype="int64")
                messages["file_seq"] = _remap(old, renumber)
    # NUL characters are valid UTF-8 but PostgreSQL text cannot store them.
    messages = scrub_nul(messages)
    for result in files:
        if result.status == "parsed":
            _scrub_file(result)
    for result, lo, hi in _file_pieces(messages, files):
        local = messages["sent_at_local"].to_numpy(dtype="datetime64[us]")[lo:hi]
        result.first_local_at = pd.Timestamp(local.min()).to_pydatetime()
        result.last_local_at = pd.Timestamp(local.max()).to_pydatetime()
        if result.thread_id is None:
            threads = messages["thread_id"].iloc[lo:hi]
            if threads.nunique() == 1:
                result.thread_id = threads.iloc[0]
    return messages


def _remap(values: np.ndarray, mapping: dict[int, int]) -> np.ndarray:
    keys = np.array(sorted(mapping), dtype=np.int64)
    targets = np.array([mapping[k] for k in keys.tolist()], dtype=np.int64)
    at = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
    hit = keys[at] == values
    return np.where(hit, targets[at], values)


def _scrub_file(result: FileResult) -> None:
    """A loaded file's other parts (quarantined lines, row tables, chat name) without NULs;
    its raw frames are not needed again (canonical rows from here on)."""
    result.rejected_rows = scrub_nul(result.rejected_rows)
    for name, table in (getattr(result, "tables", None) or {}).items():
        result.tables[name] = scrub_nul(table)
    if result.chat_name:
        result.chat_name = result.chat_name.replace("\x00", "\ufffd")
    result.threads = None


def _file_pieces(messages: pd.DataFrame, files: list[FileResult]) -> list[tuple[FileResult, int, int]]:
    """(file, first row, end row) of each loaded file with rows in ``messages``, whose rows
    come file after file (each file's own ``file_seq``)."""
    if messages.empty:
        return []
    seqs = messages["file_seq"].to_numpy(dtype="int64")
    starts = np.r_[0, np.flatnonzero(seqs[1:] != seqs[:-1]) + 1]
    ends = np.r_[starts[1:], len(seqs)]
    by_seq = {r.file_seq: r for r in files if r.status == "parsed"}
    return [(by_seq[seq], lo, hi) for seq, lo, hi in zip(seqs[starts].tolist(), starts.tolist(), ends.tolist())]


def _in_batch_duplicates(batch: pd.DataFrame) -> pd.Series:
    """Rows of ``batch`` whose message_id an earlier row of the batch has (keep the first).

    ``message_id`` hashes the thread and the occurrence index of identical messages within one
    file, so one file's ids never repeat and only files sharing a thread (two exports of one
    chat in a batch) can repeat each other: only their rows are compared (hashing 1 M ids took
    ~0.3 s for a batch that cannot have any). A repeat within one file could only be a hash
    collision; the gate's uniqueness check on the deduplicated rows would stop the batch."""
    dup = pd.Series(False, index=batch.index, dtype=bool)
    if batch.empty:
        return dup
    threads = pa.array(batch["thread_id"].array)
    if isinstance(threads, pa.ChunkedArray):
        threads = threads.combine_chunks()
    seqs = batch["file_seq"].to_numpy(dtype="int64")
    change = np.ones(len(seqs), dtype=bool)  # where a run of one file's one thread starts
    if len(seqs) > 1:
        same_thread = pc.fill_null(pc.equal(threads.slice(1), threads.slice(0, len(seqs) - 1)), False)
        change[1:] = (seqs[1:] != seqs[:-1]) | ~np.asarray(same_thread.to_numpy(zero_copy_only=False), dtype=bool)
    heads = np.flatnonzero(change)
    files_of: dict[str, set[int]] = {}
    for thread, seq in zip(threads.take(pa.array(heads)).to_pylist(), seqs[heads].tolist()):
        files_of.setdefault(thread, set()).add(seq)
    shared = {thread for thread, seqs_of in files_of.items() if len(seqs_of) > 1}
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
