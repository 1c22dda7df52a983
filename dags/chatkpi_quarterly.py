"""# chatkpi_quarterly

The quarter's KPIs (SPEC 8, seed 001's quarterly assessment) and scorecards per agent and for
the team, the quarter's audit sample (SPEC 10) and its reports. Grain: `marts.fct_kpi` one row
per KPI, quarter and agent (team rows have a null `agent_id`).

Runs on the first working day of January, April, July and October at 07:00 Asia/Jakarta
(business calendar of the chatkpi config) for the previous calendar quarter: Q1 2025 runs on
Tuesday 8 April 2025 (1 April Idul Fitri, 2-7 April *cuti bersama*) with the data interval
2025-01-01 00:00 to 2025-04-01 00:00 local; the logical date is the interval start. A manual
run assesses the last quarter complete before its logical date (`airflow dags trigger
chatkpi_quarterly --logical-date 2025-04-08T07:00:00+07:00` computes 2025-Q1;
`conf={"period": "2025-Q1"}` names one outright).

1. `wait_for_data` (sensor, reschedule mode): waits until the daily load that ran after the
   quarter ended has committed (the data horizon in `audit.landing_scan`); returns the period.
2. `compute_kpis` → `marts.fct_kpi` (Asset extra: the period and row counts).
3. `draw_audit_sample` → `audit.sample` (a stored sample is kept; refreshes the two audit KPIs),
   then `compute_scorecards` → `marts.fct_scorecard` (seed 001's template weighs the audit KPIs).
4. `write_reports` → `chatkpi_<period>.html` / `.xlsx` and the review sheet `audit_<period>.xlsx`.

Every step replaces the period's rows or files, so re-runs, clears and backfills are safe.

Backfill Q1 2025 (unpause the DAG first): `airflow backfill create --dag-id chatkpi_quarterly
--from-date 2025-01-01 --to-date 2025-03-31 --reprocess-behavior completed`.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag
from chatkpi_plugins.callbacks import on_failure_callback
from chatkpi_plugins.tasks import compute_kpis, compute_scorecards, draw_audit_sample, wait_for_data, write_reports
from chatkpi_plugins.timetable import AuditCalendarTimetable


@dag(
    schedule=AuditCalendarTimetable(mode="quarterly", hour=7),
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Jakarta"),
    catchup=True,
    max_active_runs=1,
    tags=["chatkpi", "kpi", "quarterly"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": dt.timedelta(minutes=10),
                  "on_failure_callback": on_failure_callback},
    doc_md=__doc__,
)
def chatkpi_quarterly():
    kpis = compute_kpis(wait_for_data())
    sample = draw_audit_sample(kpis)  # before the scorecards: it refreshes the audit KPIs they weigh
    reports = write_reports(kpis)
    sample >> compute_scorecards(kpis) >> reports
    sample >> reports


chatkpi_quarterly()
