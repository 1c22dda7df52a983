"""# chatkpi_quarterly

The quarter's KPIs (SPEC 8, seed 001's quarterly assessment) per agent and for the team, in
`marts.fct_kpi` (`period_type` = `quarter`). Grain: one row per KPI, quarter and agent (team
rows have a null `agent_id`).

Runs on the first working day of January, April, July and October at 07:00 Asia/Jakarta
(business calendar of the chatkpi config) for the previous calendar quarter: Q1 2025 runs on
Tuesday 8 April 2025 (1 April Idul Fitri, 2-7 April *cuti bersama*) with the data interval
2025-01-01 00:00 to 2025-04-01 00:00 local; the logical date is the interval start.
`compute_kpis` derives the period (`2025-Q1`) from the interval start in local time and replaces
that period's rows, so re-runs and backfills are safe. Publishes the Asset
`x-chatkpi://warehouse/marts.fct_kpi`.

Backfill Q1 2025: `airflow backfill create --dag-id chatkpi_quarterly --from-date 2025-01-01
--to-date 2025-03-31 --reprocess-behavior completed`.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag
from chatkpi_plugins.callbacks import on_failure_callback
from chatkpi_plugins.tasks import compute_kpis
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
    compute_kpis()


chatkpi_quarterly()
