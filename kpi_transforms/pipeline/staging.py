"""Staged ingest, the steps an Airflow DAG maps over: find new files (reads the warehouse) ->
stage each file (parse into a folder of JSON + Parquet, no warehouse access) -> load the staged
files in one transaction. Tasks pass only paths and counts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.memory import Budget
from kpi_transforms.pipeline.ingest import IngestReport, _known, discover_with_roots, load_parsed, resettle_earlier_files
from kpi_transforms.sources.landing import read_regular, unsafe_reason
from kpi_transforms.sources.registry import MAX_FILE_BYTES, FileResult, content_sha256, parse_file, settle_date_orders
from kpi_transforms.sources.zipsafe import extract_chat_texts
from kpi_transforms.warehouse.engine import Warehouse

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
    for path, root in discover_with_roots(paths):
        if _content_known(path, known_shas, root):
            skipped += 1
        else:
            files.append(str(path))
    return {"files": files, "hints": hints, "skipped": skipped}


def _content_known(path: Path, known_shas: set[str], root: Path | None = None) -> bool:
    """Whether the warehouse has seen this file's content. The manifest keys a zip export by
    its chat members, so a zip is known when all its chat members are (or, for a zip that was
    rejected as a whole, when the archive itself is). A symlink out of the landing folder or a
    special file is never read: it is known when its rejection (keyed by path) is."""
    if unsafe_reason(path, root):
        return content_sha256(f"not read: {path}".encode()) in known_shas
    try:
        data = read_regular(path, root, max_bytes=MAX_FILE_BYTES)
    except (RejectedFile, OSError):
        return False
    if content_sha256(data) in known_shas:
        return True
    if path.suffix.lower() != ".zip":
        return False
    try:
        members = extract_chat_texts(data)
    except RejectedFile:
        return False
    return bool(members) and all(content_sha256(content) in known_shas for _name, content in members)


def content_known(path: Path, known_shas: set[str], root: Path | None = None) -> bool:
    """Whether the warehouse has seen this file's content (see :func:`_content_known`); the
    extraction steps ask it of the files a checkpoint proposal stands for."""
    return _content_known(path, known_shas, root)


def stage_file(path: str | Path, config: Config, stage_dir: str | Path, hints: dict[str, str] | None = None) -> str:
    """Parse one file into ``<stage_dir>/<sha256>/`` (JSON metadata + Parquet frames) and
    return that folder. Re-staging the same content overwrites the same folder."""
    import json

    path = Path(path)
    # the landing folder bounds where a symlink may point (issue 15); elsewhere the file's folder
    landing = Path(os.path.abspath(config.landing_dir))
    root = landing if landing in Path(os.path.abspath(path)).parents else None
    # One file per task process: what cannot be ingested within the memory budget is rejected.
    budget = Budget.from_mb(config.memory_budget_mb, defer=False)
    results = parse_file(path, config, date_order_hints=hints or {}, root=root, budget=budget)
    key = content_sha256((str(path.resolve()) + "|" + "|".join(r.sha256 for r in results)).encode())[:32]
    folder = Path(stage_dir) / key
    folder.mkdir(parents=True, exist_ok=True)
    meta = []
    for i, result in enumerate(results):
        item = {name: getattr(result, name) for name in _SCALAR_FIELDS}
        for name in ("first_local_at", "last_local_at"):
            item[name] = item[name].isoformat() if item[name] else None
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
    folders: Sequence[str | Path], config: Config, warehouse: Warehouse, *, lake_dir: str | Path | None = None,
    before_commit: Callable[[Any, str], None] | None = None,
) -> IngestReport:
    """Load staged files in one batch (same as :func:`load_parsed`), in path order (as
    :func:`~kpi_transforms.pipeline.ingest.ingest_paths` discovers them, whatever order the
    folders come in), re-reading earlier files whose date order this batch settles. ``before_commit`` as in
    :func:`load_parsed`."""
    parsed: list[FileResult] = []
    for folder in folders:
        parsed.extend(read_staged(folder))
    parsed.sort(key=lambda r: r.source_file)  # stable: a zip's members keep their order
    settle_date_orders(parsed, config)
    reloads = resettle_earlier_files(parsed, config, warehouse)
    parsed += [result for result, _seq in reloads]
    return load_parsed(parsed, config, warehouse, lake_dir=lake_dir, reloads={r.sha256: seq for r, seq in reloads},
                       before_commit=before_commit)
