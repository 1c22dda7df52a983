"""# chatkpi_monthly

The month's KPIs (SPEC 8) per agent and for the team, in `marts.fct_kpi` (`period_type` =
`month`). Grain: one row per KPI, period and agent (team rows have a null `agent_id`).

Runs on the first working day of each month at 07:00 Asia/Jakarta (business calendar of the
chatkpi config: weekends, public holidays, *cuti bersama*) for the previous calendar month: the
data interval runs from local midnight on the 1st to local midnight on the 1st of the next month,
and the logical date is its start. `compute_kpis` derives the period (`2025-03`) from the
interval start in local time and replaces that period's rows, so re-runs and backfills are safe.
Publishes the Asset `x-chatkpi://warehouse/marts.fct_kpi`.

Backfill March and April 2025: `airflow backfill create --dag-id chatkpi_monthly
--from-date 2025-03-01 --to-date 2025-04-30 --reprocess-behavior completed`.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag
from chatkpi_plugins.callbacks import on_failure_callback
from chatkpi_plugins.tasks import compute_kpis
from chatkpi_plugins.timetable import AuditCalendarTimetable


@dag(
    schedule=AuditCalendarTimetable(mode="monthly", hour=7),
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Jakarta"),
    catchup=True,
    max_active_runs=1,
    tags=["chatkpi", "kpi", "monthly"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": dt.timedelta(minutes=10),
                  "on_failure_callback": on_failure_callback},
    doc_md=__doc__,
)
def chatkpi_monthly():
    compute_kpis()


chatkpi_monthly()
