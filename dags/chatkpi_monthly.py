"""# chatkpi_monthly

The month's KPIs (SPEC 8) and scorecards (SPEC 9) per agent and for the team, and its reports.
Grain: `marts.fct_kpi` one row per KPI, month and agent (team rows have a null `agent_id`);
`marts.fct_scorecard` one row per template, month, agent and KPI.

Runs on the first working day of each month at 07:00 Asia/Jakarta (business calendar of the
chatkpi config: weekends, public holidays, *cuti bersama*) for the previous calendar month: the
data interval runs from local midnight on the 1st to local midnight on the 1st of the next month,
and the logical date is its start. A manual run assesses the last month complete before its
logical date (`conf={"period": "2025-03"}` names one outright).

1. `wait_for_data` (sensor, reschedule mode): waits until the daily load that ran after the
   month ended has committed (the data horizon in `audit.landing_scan`); returns the period.
2. `compute_kpis` → `marts.fct_kpi` (Asset `x-chatkpi://warehouse/marts.fct_kpi`, extra: period).
3. `compute_scorecards` → `marts.fct_scorecard`.
4. `write_reports` → `chatkpi_<period>.html` / `.xlsx` in `$CHATKPI_REPORTS_DIR`.

Every step replaces the period's rows or files, so re-runs, clears and backfills are safe. Late
data for a month already computed is picked up by `chatkpi_recompute`.

Backfill March and April 2025 (unpause the DAG first): `airflow backfill create --dag-id
chatkpi_monthly --from-date 2025-03-01 --to-date 2025-04-30 --reprocess-behavior completed`.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag
from chatkpi_plugins.callbacks import on_failure_callback
from chatkpi_plugins.tasks import compute_kpis, compute_scorecards, wait_for_data, write_reports
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
    kpis = compute_kpis(wait_for_data())
    compute_scorecards(kpis) >> write_reports(kpis)


chatkpi_monthly()
