"""The data horizon: up to when the warehouse holds every file that had landed.

``chatkpi_daily`` records each scan of the landing folder in ``audit.landing_scan``
(:func:`record_scan`). A scan that found nothing new is complete at once; one that found new
files becomes complete when they are committed (:func:`complete_scans`). The **horizon** is the
``scanned_at`` of the latest complete scan: every file that had landed by then is in the
warehouse (loaded, rejected, or already known).

A period (``2025-03``, ``2025-Q1``) is **ready** when the horizon has passed its end (local
midnight after its last day): the daily load that ran after the period closed has committed.
A computed period is **stale** when a batch committed after its KPIs changed facts inside it
(late data): :func:`stale_periods`. docs/DECISIONS.md, "Data horizon", says why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.periods import Period, _add_months, parse_period
from kpi_transforms.warehouse.engine import Warehouse


def _utc(value) -> dt.datetime | None:
    if value is None or value is pd.NaT or (not isinstance(value, dt.datetime) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def record_scan(
    warehouse: Warehouse,
    landing_dir: str,
    scanned_at: dt.datetime,
    files_new: int,
    files_known: int,
    *,
    run_id: str | None = None,
) -> str:
    """Record a scan of the landing folder (one transaction); return its id. With no new file
    the scan is complete at once and moves the horizon to ``scanned_at``."""
    scan_id = uuid.uuid4().hex
    complete = files_new == 0
    now = dt.datetime.now(dt.timezone.utc)
    warehouse.init()
    with warehouse.begin() as conn:
        warehouse.lock(conn, "ingest")
        warehouse.execute(
            conn,
            "insert into audit.landing_scan (scan_id, run_id, landing_dir, scanned_at, files_new, files_known,"
            " status, batch_id, completed_at) values (:id, :run, :dir, :at, :new, :known, :status, null, :done)",
            {"id": scan_id, "run": run_id, "dir": str(landing_dir), "at": scanned_at, "new": int(files_new),
             "known": int(files_known), "status": "complete" if complete else "pending", "done": now if complete else None},
        )
    return scan_id


def complete_scans(warehouse: Warehouse, run_id: str, batch_id: str | None) -> int:
    """Mark the pending scans of ``run_id`` complete (their new files are committed by
    ``batch_id``); return how many. Marking again changes nothing."""
    with warehouse.begin() as conn:
        warehouse.lock(conn, "ingest")
        return warehouse.execute(
            conn,
            "update audit.landing_scan set status = 'complete', batch_id = :b, completed_at = :now"
            " where run_id = :run and status = 'pending'",
            {"b": batch_id, "now": dt.datetime.now(dt.timezone.utc), "run": run_id},
        )


def data_horizon(warehouse: Warehouse) -> dt.datetime | None:
    """``scanned_at`` of the latest complete landing scan (UTC), or None before the first."""
    warehouse.init()
    return _utc(warehouse.scalar("select max(scanned_at) from audit.landing_scan where status = 'complete'"))


@dataclasses.dataclass(frozen=True)
class Readiness:
    period: str
    ready: bool
    needed: dt.datetime  # the period's end (UTC): the horizon must reach it
    horizon: dt.datetime | None

    @property
    def message(self) -> str:
        have = self.horizon.isoformat() if self.horizon else "none (no landing scan has committed yet)"
        verdict = "ready" if self.ready else "waiting for the daily load"
        return f"period {self.period} {verdict}: data horizon {have}, needed {self.needed.isoformat()}"


def period_readiness(warehouse: Warehouse, config: Config, period_text: str) -> Readiness:
    """Whether the daily loads covering the period have committed (see the module docstring)."""
    period = parse_period(period_text)
    _lo, needed = period.utc_bounds(config.timezone)
    horizon = data_horizon(warehouse)
    return Readiness(period.label, horizon is not None and horizon >= needed, needed, horizon)


# -- late data ------------------------------------------------------------------------------

_CHANGED_RANGE = """
with new as (
    select thread_id, min(sent_at) as first_new, min(sent_at_local) as lo, max(sent_at_local) as hi
    from marts.fct_message where batch_id = :b group by thread_id
), touched as (
    select min(p.question_at_local) as lo
    from marts.fct_reply_pair p join new n on n.thread_id = p.thread_id
    where p.question_at >= n.first_new or p.reply_at >= n.first_new
), files as (
    select min(first_local_at) as lo, max(last_local_at) as hi
    from audit.file_manifest where batch_id = :b and coalesce(messages_new, 0) = 0 and status = 'loaded'
)
select
    (select min(x) from (select lo as x from new union all select lo from touched union all select lo from files) u) as lo,
    (select max(x) from (select hi as x from new union all select hi from files) u) as hi
"""


def changed_range(warehouse: Warehouse, batch_id: str) -> tuple[dt.datetime, dt.datetime] | None:
    """The local time range whose facts ``batch_id`` changed: its new messages, the reply pairs
    of their threads that a new message asks or answers (an April reply closes a March
    question), and the date span of loaded files without new messages where the manifest
    records one (table files record none today). None when it changed nothing."""
    row = warehouse.read_df(_CHANGED_RANGE, {"b": batch_id}).iloc[0]
    if pd.isna(row["lo"]) or pd.isna(row["hi"]):
        return None
    lo, hi = pd.Timestamp(row["lo"]).to_pydatetime(), pd.Timestamp(row["hi"]).to_pydatetime()
    return (min(lo, hi), max(lo, hi))


def computed_periods(warehouse: Warehouse) -> pd.DataFrame:
    """Periods with KPI rows: ``period_type``, ``period_start``, ``computed_at`` (the oldest row)."""
    frame = warehouse.read_df(
        "select period_type, period_start, min(computed_at) as computed_at from marts.fct_kpi"
        " group by period_type, period_start order by period_start, period_type"
    )
    frame["computed_at"] = pd.to_datetime(frame["computed_at"], utc=True)
    return frame


def _label(period_type: str, start: dt.date) -> str:
    months = 1 if period_type == "month" else 3
    return Period(period_type, start, _add_months(start, months)).label


def stale_periods(warehouse: Warehouse, period_types: Sequence[str] = ("month", "quarter")) -> list[str]:
    """Computed periods (of ``period_types``) whose facts a batch committed after their KPIs
    changed: late data. Labels, oldest first, months before quarters of the same start."""
    warehouse.init()
    computed = computed_periods(warehouse)
    computed = computed[computed["period_type"].isin(list(period_types))]
    if computed.empty:
        return []
    batches = warehouse.read_df(
        "select batch_id, finished_at from audit.batch where finished_at > :t order by finished_at",
        {"t": computed["computed_at"].min().to_pydatetime()},
    )
    batches["finished_at"] = pd.to_datetime(batches["finished_at"], utc=True)
    stale: list[str] = []
    ranges = [(b.finished_at, changed_range(warehouse, b.batch_id)) for b in batches.itertuples(index=False)]
    for row in computed.itertuples(index=False):
        start = pd.Timestamp(row.period_start).date()
        end = _add_months(start, 1 if row.period_type == "month" else 3)
        lo_p, hi_p = dt.datetime.combine(start, dt.time()), dt.datetime.combine(end, dt.time())
        for finished_at, changed in ranges:
            if changed is None or finished_at <= row.computed_at:
                continue
            if changed[0] < hi_p and changed[1] >= lo_p:
                stale.append(_label(row.period_type, start))
                break
    return stale
