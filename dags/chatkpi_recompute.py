"""# chatkpi_recompute

Late data: recomputes the months and quarters whose facts changed after their KPIs were
computed. Triggered by the fact Assets that `chatkpi_daily`'s `load_batch` publishes (any of
`x-chatkpi://warehouse/marts.fct_message`, `.../marts.fct_reply_pair`, `.../marts.fct_thread`).

1. `find_stale_periods`: the periods with KPI rows older than a batch that changed facts inside
   them (new messages, reply pairs they ask or answer, loaded table files): `2025-03`, `2025-Q1`.
   Periods not computed yet are left to their own monthly / quarterly run.
2. `recompute` (mapped per period, named after it): `compute_kpis` → `draw_audit_sample`
   (quarters; a stored sample is kept, never redrawn) → `compute_scorecards` → `write_reports`:
   the same step tasks as the monthly and quarterly DAGs.

A load that changed no computed period ends green with the mapped tasks skipped.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import dag, task_group
from chatkpi_plugins.callbacks import on_failure_callback
from chatkpi_plugins.tasks import (
    FACT_ASSETS,
    compute_kpis,
    compute_scorecards,
    draw_audit_sample,
    find_stale_periods,
    write_reports,
)


@task_group
def recompute(period: str):
    kpis = compute_kpis(period)
    sample = draw_audit_sample(kpis)  # quarters only (skipped for months)
    reports = write_reports(kpis)
    sample >> compute_scorecards(kpis) >> reports
    sample >> reports


@dag(
    schedule=FACT_ASSETS[0] | FACT_ASSETS[1] | FACT_ASSETS[2],
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Jakarta"),
    catchup=False,
    max_active_runs=1,
    tags=["chatkpi", "kpi", "late-data"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": dt.timedelta(minutes=10),
                  "on_failure_callback": on_failure_callback},
    doc_md=__doc__,
)
def chatkpi_recompute():
    recompute.expand(period=find_stale_periods())


chatkpi_recompute()
