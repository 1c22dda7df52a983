"""Extraction as pipeline steps (issue 20, phase B): the configured sources' units, one
extraction per unit into the extract landing folder, and the checkpoints that commit only with
the batch that loaded their files.

A *unit* is one IMAP folder of one mailbox or one S3 source (bucket / prefix): the daily DAG
maps one task over each, the CLI runs them one after the other. A unit's run

1. starts from the committed checkpoints (read by :func:`plan_units`, carried in the unit so the
   extraction itself never opens the warehouse and units run in parallel),
2. lands its files (:func:`kpi_transforms.extract.imap.extract_imap` /
   :func:`~kpi_transforms.extract.s3.extract_s3`), and
3. writes its *pending* proposal — the proposed checkpoints and the files they stand for — to
   ``<extract dir>/.chatkpi-extract/pending/<unit>.json`` (atomic, hidden from the ingest).

:func:`stage_ready_checkpoints` runs inside the load transaction (``load_parsed``'s
``before_commit``): every pending proposal whose files' content the warehouse now holds
(loaded, skipped as known, or quarantined) is staged into ``audit.extract_checkpoint``, so a
batch that fails or rolls back leaves the old checkpoints and the proposal waiting; the next
run extracts the same messages again and the content hashes make that harmless. Proposals are
removed only after the commit (:func:`clear_pending`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from kpi_transforms.core.config import Config, ConfigError
from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.extract.checkpoints import read_checkpoints, stage_checkpoints
from kpi_transforms.extract.common import (
    JOURNAL_DIR,
    Checkpoint,
    ExtractError,
    ExtractResult,
    atomic_write_text,
    safe_component,
    sha256,
    source_lock,
    source_locks,
)
from kpi_transforms.extract.imap import ImapCredentials, extract_imap
from kpi_transforms.extract.s3 import extract_s3, make_client
from kpi_transforms.extract.settings import ExtractSettings, parse_extract_settings
from kpi_transforms.pipeline.ingest import IngestReport, ingest_paths
from kpi_transforms.pipeline.staging import content_known
from kpi_transforms.warehouse.engine import Warehouse

log = logging.getLogger(__name__)

PENDING_DIR = "pending"


def extract_settings(config: Config) -> ExtractSettings:
    """The config's ``extract:`` section, validated (ConfigError naming the key)."""
    return parse_extract_settings(config.extract or None)


def extract_dir(config: Config, settings: ExtractSettings | None = None, landing_dir: str | Path | None = None) -> Path:
    """Where extracted files land: ``extract.landing_dir``, else ``<landing folder>/extract``
    (``landing_dir`` overrides the config's landing folder, as the DAG's Variable does)."""
    settings = settings if settings is not None else extract_settings(config)
    if settings.landing_dir:
        return Path(settings.landing_dir)
    return Path(landing_dir or config.landing_dir) / "extract"


# -- units ----------------------------------------------------------------------------------------


def unit_label(unit: dict) -> str:
    """``imap sales/INBOX`` or ``s3 gudang``: how logs, task names and messages call a unit."""
    return f"{unit['kind']} {unit['source']}" + (f"/{unit['folder']}" if unit.get("folder") else "")


def units_of(settings: ExtractSettings, only: Iterable[str] | None = None) -> list[dict]:
    """One unit per IMAP folder of every mailbox and one per S3 source, in config order
    (``only``: these source names; an unknown name is a ConfigError)."""
    wanted = set(only or ())
    names = {s.name for s in settings.imap} | {s.name for s in settings.s3}
    unknown = sorted(wanted - names)
    if unknown:
        raise ConfigError(f"extract: no source named {unknown[0]!r} (configured: {', '.join(sorted(names)) or 'none'})")
    units = [{"kind": "imap", "source": s.name, "folder": f} for s in settings.imap for f in s.folders]
    units += [{"kind": "s3", "source": s.name, "folder": None} for s in settings.s3]
    return [u for u in units if not wanted or u["source"] in wanted]


def plan_units(warehouse: Warehouse, settings: ExtractSettings, only: Iterable[str] | None = None) -> list[dict]:
    """The units with their committed checkpoints (JSON-able, for an orchestrator to hand to
    :func:`extract_unit` without the extraction opening the warehouse)."""
    warehouse.init()
    out = []
    units = units_of(settings, only)
    known = known_content(warehouse) if any(unit["kind"] == "imap" for unit in units) else []
    for unit in units:
        stored = read_checkpoints(warehouse, unit["kind"], unit["source"], folder=unit["folder"])
        planned = {**unit, "checkpoints": [dataclasses.asdict(cp) for cp in stored.values()]}
        if unit["kind"] == "imap":
            # a UIDVALIDITY change re-reads the folder: mail already loaded is not landed again
            planned["known_sha256"] = known
        out.append(planned)
    return out


def known_content(warehouse: Warehouse) -> list[str]:
    """The content hashes the warehouse has processed (loaded or rejected), sorted."""
    with warehouse.begin() as conn:
        loaded = warehouse.read_df("select file_sha256 from audit.file_manifest", conn=conn)["file_sha256"]
        rejected = warehouse.read_df("select file_sha256 from audit.rejected_file", conn=conn)["file_sha256"]
    return sorted(set(loaded.tolist()) | set(rejected.tolist()))


def source_of(settings: ExtractSettings, unit: dict):
    """The configured source object of a unit."""
    pool = settings.imap if unit["kind"] == "imap" else settings.s3
    for source in pool:
        if source.name == unit["source"]:
            return source
    raise ExtractError(f"{unit_label(unit)}: the source is no longer configured")


def pending_path(out_dir: Path, unit: dict) -> Path:
    key = f"{unit['kind']}-{unit['source']}-{sha256(str(unit.get('folder') or '').encode())[:12]}"
    return Path(out_dir) / JOURNAL_DIR / PENDING_DIR / (safe_component(key) + ".json")


def extract_unit(
    unit: dict,
    settings: ExtractSettings,
    out_dir: str | Path,
    *,
    imap_credentials: ImapCredentials | None = None,
    s3_keys: tuple[str, str] | None = None,
    lock_wait: float | None = 0.0,
) -> dict[str, Any]:
    """Extract one unit into ``out_dir`` from the checkpoints it carries (:func:`plan_units`)
    and write its pending proposal. Credentials: the caller's (an Airflow connection), else
    the environment variables the source names. Returns a JSON-able summary; raises
    :class:`ExtractError` (redacted, naming the unit) when the source cannot be read.

    The unit's source lock (:func:`~kpi_transforms.extract.common.source_lock`) is held for the
    whole extraction and the proposal's write, waiting up to ``lock_wait`` seconds for another
    run of the same source (:class:`~kpi_transforms.extract.common.SourceBusy` after that);
    ``lock_wait=None``: the caller holds it already."""
    out_dir = Path(out_dir)
    if lock_wait is not None:
        with source_lock(out_dir, unit["kind"], unit["source"], wait=lock_wait):
            return extract_unit(unit, settings, out_dir, imap_credentials=imap_credentials, s3_keys=s3_keys, lock_wait=None)
    source = source_of(settings, unit)
    checkpoints = [Checkpoint(**cp) for cp in unit.get("checkpoints", [])]
    started = time.perf_counter()
    if unit["kind"] == "imap":
        source = dataclasses.replace(source, folders=(unit["folder"],))
        result = extract_imap(source, out_dir, checkpoints, credentials=imap_credentials,
                              known_sha256=unit.get("known_sha256", ()))
    else:
        client = make_client(source, access_key=s3_keys[0], secret_key=s3_keys[1]) if s3_keys else None
        result = extract_s3(source, out_dir, checkpoints, client=client)
    write_pending(out_dir, unit, result)
    return summary(unit, result, time.perf_counter() - started)


def summary(unit: dict, result: ExtractResult, seconds: float) -> dict[str, Any]:
    return {
        "unit": unit_label(unit), "fetched": result.fetched, "files": len(result.files), "landed": len(result.landed),
        "duplicates": result.duplicates, "problems": list(result.problems), "seconds": round(seconds, 2),
    }


def describe(result: dict[str, Any]) -> str:
    """One line for a unit's summary (logs, the command line)."""
    return (f"{result['unit']}: {result['fetched']} fetched, {result['files']} file(s) written, {result['landed']} landed earlier, "
            f"{result['duplicates']} duplicate(s), {len(result['problems'])} skipped in {result['seconds']} s")


def write_pending(out_dir: Path, unit: dict, result: ExtractResult) -> Path:
    """Record a unit's proposed checkpoints and the files they stand for (paths relative to
    ``out_dir``), replacing an older proposal of the same unit (the new one covers it: it
    started from the same committed checkpoint)."""
    files = sorted({str(Path(p).resolve().relative_to(out_dir.resolve())) for p in result.all_files})
    path = pending_path(out_dir, unit)
    atomic_write_text(path, json.dumps({
        "unit": {k: unit.get(k) for k in ("kind", "source", "folder")},
        "checkpoints": [dataclasses.asdict(cp) for cp in result.checkpoints],
        "files": files,
    }, ensure_ascii=False))
    return path


def read_pending(out_dir: str | Path) -> list[tuple[Path, dict]]:
    folder = Path(out_dir) / JOURNAL_DIR / PENDING_DIR
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            log.warning("unreadable extraction proposal %s left alone", path)
    return out


# -- checkpoints commit with the batch -------------------------------------------------------------


def stage_ready_checkpoints(warehouse: Warehouse, conn, out_dir: str | Path, *, batch_id: str | None = None) -> list[Path]:
    """Inside the caller's transaction ``conn``: stage the checkpoints of every pending proposal
    whose files are all still there and all known to the warehouse (as that transaction sees
    it); return the proposals staged (remove them with :func:`clear_pending` after the commit).
    A proposal with a missing or unloaded file waits."""
    pending = read_pending(out_dir)
    if not pending:
        return []
    known = set(warehouse.read_df("select file_sha256 from audit.file_manifest", conn=conn)["file_sha256"])
    known |= set(warehouse.read_df("select file_sha256 from audit.rejected_file", conn=conn)["file_sha256"])
    ready, proposed = [], []
    for path, proposal in pending:
        files = [Path(out_dir) / rel for rel in proposal.get("files", [])]
        if all(f.is_file() and content_known(f, known) for f in files):
            ready.append(path)
            proposed.extend(Checkpoint(**cp) for cp in proposal.get("checkpoints", []))
        else:
            log.info("extraction proposal %s waits: not all its files are loaded", path.name)
    stage_checkpoints(warehouse, conn, proposed, batch_id=batch_id)
    return ready


def clear_pending(paths: Iterable[Path]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def commit_ready_checkpoints(warehouse: Warehouse, out_dir: str | Path, *, batch_id: str | None = None) -> int:
    """Commit, in a transaction of its own, the proposals whose files the warehouse already
    holds (a run that found nothing new, a retried load after its commit); returns how many."""
    if not read_pending(out_dir):
        return 0
    warehouse.init()
    with warehouse.begin() as conn:
        ready = stage_ready_checkpoints(warehouse, conn, out_dir, batch_id=batch_id)
    clear_pending(ready)
    return len(ready)


def committing_checkpoints(warehouse: Warehouse, out_dir: str | Path) -> tuple[Callable[[Any, str], None], list[Path]]:
    """A ``before_commit`` hook for :func:`~kpi_transforms.pipeline.ingest.load_parsed` that stages
    the ready proposals in the batch's transaction, and the list it fills (clear after commit)."""
    ready: list[Path] = []

    def hook(conn, batch_id: str) -> None:
        ready.extend(stage_ready_checkpoints(warehouse, conn, out_dir, batch_id=batch_id))

    return hook, ready


# -- the command line's whole run ----------------------------------------------------------------


@dataclasses.dataclass
class ExtractOutcome:
    summaries: list[dict] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    report: IngestReport | None = None
    checkpoints_committed: int = 0
    pruned: PruneReport | None = None


def extract_and_load(
    config: Config,
    warehouse: Warehouse,
    *,
    only: Sequence[str] | None = None,
    load: bool = True,
    lake_dir: str | Path | None = None,
    lock_wait: float = 0.0,
    prune: bool = False,
    keep_days: int | None = None,
) -> ExtractOutcome:
    """Every configured unit (or those of the sources ``only`` names), one after the other; a
    unit that fails is recorded in ``errors`` and the others go on. Then, with ``load``, one
    batch of the extract folder's new files, the ready checkpoints committed inside it; then,
    with ``prune``, the retention (:func:`prune_landed`, ``keep_days`` else the config's
    ``extract.keep_landed_days``). ConfigError for a bad ``extract:`` section or no source at all.

    The locks of all the sources it extracts are taken first and held to the end (load
    included): when another run holds one, :class:`~kpi_transforms.extract.common.SourceBusy`
    is raised after ``lock_wait`` seconds and nothing has been fetched."""
    settings = extract_settings(config)
    if not settings.imap and not settings.s3:
        raise ConfigError("extract: no imap or s3 source is configured")
    out_dir = extract_dir(config, settings)
    days = keep_days if keep_days is not None else settings.keep_landed_days
    if prune and days is None:
        raise ConfigError("extract --prune: set extract.keep_landed_days in the config, or give --keep-days")
    outcome = ExtractOutcome()
    units = units_of(settings, only)
    with source_locks(out_dir, {(u["kind"], u["source"]) for u in units}, wait=lock_wait):
        for unit in plan_units(warehouse, settings, only):
            try:
                outcome.summaries.append(extract_unit(unit, settings, out_dir, lock_wait=None))
            except ChatKpiError as exc:
                outcome.errors.append(f"{unit_label(unit)}: {exc}")
                log.error("extraction of %s failed: %s", unit_label(unit), exc)
        if load:
            out_dir.mkdir(parents=True, exist_ok=True)
            hook, ready = committing_checkpoints(warehouse, out_dir)
            outcome.report = ingest_paths([out_dir], config, warehouse, lake_dir=lake_dir, before_commit=hook)
            clear_pending(ready)
            outcome.checkpoints_committed = len(ready)
    if prune:
        outcome.pruned = prune_landed(warehouse, out_dir, days, lock_wait=lock_wait)
    return outcome


# -- retention of landed files ---------------------------------------------------------------------

LANDED_KINDS = ("imap", "s3")  # the extractors' sub-folders of the extract folder


@dataclasses.dataclass
class PruneReport:
    """What :func:`prune_landed` did with the extracted files older than the retention."""

    keep_days: int
    deleted: int = 0
    bytes_freed: int = 0
    kept_not_loaded: int = 0  # content not (yet) in the manifest as loaded, or quarantined
    kept_recent: int = 0  # loaded less than keep_days ago
    kept_in_use: int = 0  # named by a pending proposal or an extraction journal

    def line(self) -> str:
        return (f"pruned {self.deleted} landed file(s) loaded more than {self.keep_days} day(s) ago "
                f"({self.bytes_freed / 2**20:.1f} MiB); kept {self.kept_recent} loaded recently, "
                f"{self.kept_not_loaded} not loaded, {self.kept_in_use} in use by a pending extraction")


def _files_in_use(out_dir: Path) -> set[Path]:
    """The files the pending proposals and the extraction journals name: a resumed run or a
    waiting checkpoint still counts on them."""
    names: set[str] = set()
    for _path, proposal in read_pending(out_dir):
        names.update(proposal.get("files", []))
    journals = out_dir / JOURNAL_DIR
    for path in journals.glob("*.json") if journals.is_dir() else []:
        try:
            names.update(json.loads(path.read_text(encoding="utf-8")).get("files", []))
        except (OSError, ValueError, AttributeError):
            continue
    return {(out_dir / name).resolve() for name in names}


def prune_landed(
    warehouse: Warehouse,
    out_dir: str | Path,
    keep_days: int,
    *,
    now: dt.datetime | None = None,
    lock_wait: float = 0.0,
) -> PruneReport:
    """Delete the extracted files (``<extract dir>/imap/…``, ``<extract dir>/s3/…``) whose
    content the warehouse holds as *loaded* since at least ``keep_days`` days
    (``audit.file_manifest.loaded_at``; a zip when all its chat members are). Never deleted:
    content not loaded yet or quarantined (``audit.rejected_file``: a person may need the file),
    files a pending proposal or an extraction journal names, anything outside those two
    sub-folders, links and special files. Each source's folder is pruned under its source lock
    (waiting up to ``lock_wait`` seconds), so a running extraction is never pruned under;
    folders left empty are removed."""
    if keep_days is None or int(keep_days) < 0:
        raise ConfigError(f"extract.keep_landed_days: expected a number of days >= 0, got {keep_days!r}")
    out_dir = Path(out_dir)
    report = PruneReport(int(keep_days))
    now = now or dt.datetime.now(dt.timezone.utc)
    cutoff = now - dt.timedelta(days=int(keep_days))
    warehouse.init()
    loaded = set(warehouse.read_df(
        "select file_sha256 from audit.file_manifest where status = 'loaded' and loaded_at <= :cutoff", {"cutoff": cutoff}
    )["file_sha256"])
    recent = set(warehouse.read_df(
        "select file_sha256 from audit.file_manifest where status = 'loaded' and loaded_at > :cutoff", {"cutoff": cutoff}
    )["file_sha256"])
    for kind in LANDED_KINDS:
        root = out_dir / kind
        for source_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()) if root.is_dir() else []:
            with source_lock(out_dir, kind, source_dir.name, wait=lock_wait):
                in_use = _files_in_use(out_dir)  # read under the lock: a finished run's proposal is final
                _prune_folder(source_dir, loaded, loaded | recent, in_use, report)
    log.info("%s", report.line())
    return report


def _prune_folder(folder: Path, loaded: set[str], any_loaded: set[str], in_use: set[Path], report: PruneReport) -> None:
    for current, dirs, files in os.walk(folder, topdown=False, followlinks=False):
        base = Path(current)
        for name in files:
            path = base / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue  # temporaries belong to the extractor, links are never followed
            if path.resolve() in in_use:
                report.kept_in_use += 1
            elif content_known(path, loaded):
                size = path.stat().st_size
                path.unlink()
                report.deleted += 1
                report.bytes_freed += size
            elif content_known(path, any_loaded):
                report.kept_recent += 1
            else:
                report.kept_not_loaded += 1
        if base != folder:
            try:
                base.rmdir()  # only when empty
            except OSError:
                pass
