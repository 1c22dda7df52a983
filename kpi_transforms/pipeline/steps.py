"""The pipeline as explicit steps, each one function an orchestrator runs as one task that
publishes one Asset (docs/OPERATIONS.md, "The pipeline, step by step"):

1. :func:`load_step` — load + facts, one transaction (``marts.fct_*`` of the batch's threads)
2. :func:`kpi_step` — a period's KPIs (``marts.fct_kpi``)
3. :func:`scorecard_step` — its scorecards (``marts.fct_scorecard``) and
   :func:`audit_sample_step` — its audit sample (``audit.sample``; quarters)
4. :func:`report_step` — its HTML and ``.xlsx`` reports and the review sheet (files)

Every step is a transaction or writes whole files atomically, and is safe to run again: a
retry after a commit changes nothing (the load finds its files processed; a period's rows are
replaced by the same rows; a stored audit sample is reused; report files are replaced).
Each returns a small JSON-able summary (counts, labels, paths), never a DataFrame.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.periods import _add_months, parse_period
from kpi_transforms.pipeline.audit import read_sample, sample_threads, write_review_sheet
from kpi_transforms.pipeline.extraction import clear_pending, commit_ready_checkpoints, committing_checkpoints
from kpi_transforms.pipeline.kpis import compute_period_kpis
from kpi_transforms.pipeline.readiness import changed_range, complete_scans
from kpi_transforms.pipeline.reports import collect_report_data
from kpi_transforms.pipeline.scorecards import compute_scorecards
from kpi_transforms.pipeline.staging import load_staged
from kpi_transforms.present.html import render_html
from kpi_transforms.present.xlsx import write_xlsx
from kpi_transforms.warehouse.engine import Warehouse


def processed_shas(warehouse: Warehouse, shas: Sequence[str]) -> set[str]:
    """Which of ``shas`` the warehouse has processed (loaded or rejected)."""
    wanted = sorted(set(shas))
    if not wanted:
        return set()
    done = set(warehouse.read_df("select file_sha256 from audit.file_manifest")["file_sha256"])
    done |= set(warehouse.read_df("select file_sha256 from audit.rejected_file")["file_sha256"])
    return done & set(wanted)


def _batches_of(warehouse: Warehouse, shas: Sequence[str]) -> list[str]:
    frame = warehouse.read_df(
        "select batch_id, file_sha256 from audit.file_manifest union all select batch_id, file_sha256 from audit.rejected_file"
    )
    return sorted(set(frame.loc[frame["file_sha256"].isin(set(shas)), "batch_id"]))


def load_step(
    folders: Sequence[str | Path],
    staged_shas: Sequence[str],
    config: Config,
    warehouse: Warehouse,
    *,
    run_id: str | None = None,
    lake_dir: str | Path | None = None,
    extract_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Load staged files and rebuild the facts of their threads in one transaction, then
    complete the run's landing scans (the data horizon moves).

    ``staged_shas`` are the content hashes the stage step parsed. When the warehouse has
    processed all of them already — a retry or a clear after the commit, or another ingest that
    took them — nothing is loaded and nothing is written but the scan completion (which a first
    try may not have reached): the stage folders are not even read, so a retry works after they
    were removed. Returns counts, the batch id, the rejected files with their reasons and the
    periods whose facts changed.

    With ``extract_dir``, the pending extraction proposals whose files the batch holds
    (:mod:`kpi_transforms.pipeline.extraction`) stage their checkpoints inside the load
    transaction: they commit with the batch or not at all (``checkpoints``: how many)."""
    warehouse.init()
    shas = list(staged_shas)
    if shas and processed_shas(warehouse, shas) == set(shas):
        batches = _batches_of(warehouse, shas)
        committed = commit_ready_checkpoints(warehouse, extract_dir, batch_id=batches[-1] if batches else None) if extract_dir else 0
        if run_id:
            complete_scans(warehouse, run_id, batches[-1] if batches else None)
        return {"already_committed": True, "batch_id": batches[-1] if batches else None, "loaded": 0, "skipped": len(shas),
                "rejected": 0, "messages_new": 0, "affected_threads": 0, "rejected_files": [], "periods": [],
                "checkpoints": committed}
    hook, ready = committing_checkpoints(warehouse, extract_dir) if extract_dir else (None, [])
    report = load_staged(list(folders), config, warehouse, lake_dir=lake_dir, before_commit=hook)
    clear_pending(ready)
    if run_id:
        complete_scans(warehouse, run_id, report.batch_id)
    rejected = [
        {"file": Path(r.source_file).name + (f"!{r.member}" if r.member else ""), "reason": r.reason}
        for r in report.files if r.status == "rejected"
    ]
    return {
        "already_committed": False,
        "batch_id": report.batch_id,
        **{status: report.count(status) for status in ("loaded", "skipped", "rejected")},
        "messages_new": report.messages_new,
        "affected_threads": len(report.affected_threads),
        "rejected_files": rejected,
        "periods": batch_periods(warehouse, report.batch_id),
        "checkpoints": len(ready),
    }


def batch_periods(warehouse: Warehouse, batch_id: str) -> list[str]:
    """The months and quarters whose facts ``batch_id`` changed (see
    :func:`kpi_transforms.pipeline.readiness.changed_range`), oldest first."""
    changed = changed_range(warehouse, batch_id)
    if changed is None:
        return []
    months, day = [], dt.date(changed[0].year, changed[0].month, 1)
    while day <= changed[1].date():
        months.append(day)
        day = _add_months(day, 1)
    quarters = sorted({dt.date(m.year, (m.month - 1) // 3 * 3 + 1, 1) for m in months})
    return [f"{m:%Y-%m}" for m in months] + [f"{q.year}-Q{(q.month - 1) // 3 + 1}" for q in quarters]


def kpi_step(warehouse: Warehouse, config: Config, period_text: str) -> dict[str, Any]:
    """Compute the period's KPIs and replace its ``marts.fct_kpi`` rows (one transaction)."""
    period = parse_period(period_text)
    frame = compute_period_kpis(warehouse, config, period.label)
    return {"period": period.label, "rows": len(frame), "with_value": int(frame["value"].notna().sum())}


def scorecard_step(warehouse: Warehouse, config: Config, period_text: str) -> dict[str, Any]:
    """Score every template from the period's KPIs and replace its ``marts.fct_scorecard`` rows."""
    result = compute_scorecards(warehouse, config, parse_period(period_text).label)
    return {"period": result.period.label, "rows": len(result.rows), "templates": sorted(t.name for t in result.templates)}


def audit_sample_step(warehouse: Warehouse, period_text: str) -> dict[str, Any]:
    """Draw the period's audit sample, or keep the stored one (SPEC 10: reused until a
    re-sample is asked for, so late data never redraws it)."""
    result = sample_threads(warehouse, parse_period(period_text).label)
    return {"period": result.period.label, "threads": len(result.sample), "reused": bool(result.reused)}


def _atomic_write(path: Path, write) -> Path:
    """Write through a temporary file in the same folder and rename it over ``path``, so a
    reader (or a retry) never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def report_step(
    warehouse: Warehouse, config: Config, period_text: str, out_dir: str | Path, *, lang: str = "id",
    generated_at: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Write the period's scorecard report (``chatkpi_<period>.html`` and ``.xlsx``) and, when
    the period has an audit sample, its review sheet (``audit_<period>.xlsx``) to ``out_dir``,
    from the stored KPIs, scorecards and sample. Reads the warehouse only; each file is replaced
    whole. ``generated_at`` fixes the header's time stamp (now, unless given)."""
    period = parse_period(period_text)
    out = Path(out_dir)
    data = collect_report_data(warehouse, config, period.label, lang=lang, generated_at=generated_at)  # the stored scorecards
    paths = [
        _atomic_write(out / f"chatkpi_{period.label}.html", lambda p: p.write_text(render_html(data, focus="scorecard"), encoding="utf-8")),
        _atomic_write(out / f"chatkpi_{period.label}.xlsx", lambda p: write_xlsx(data, p)),
    ]
    if not read_sample(warehouse, period).empty:
        paths.append(_atomic_write(out / f"audit_{period.label}.xlsx", lambda p: write_review_sheet(warehouse, period, p, lang=lang)))
    return {"period": period.label, "paths": [str(p) for p in paths]}
