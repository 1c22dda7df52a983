"""The four DAGs under a real Airflow 3 scheduler (LocalExecutor, SQLite metadata, a throwaway
AIRFLOW_HOME; api-server, scheduler and dag-processor as child processes: realscheduler.py),
against an empty DuckDB warehouse and a landing folder holding the March 2025 drop.

The scenario of issue 16, point 1: unpause everything on a fresh deployment. The daily run
loads the drop while the monthly / quarterly catch-up starts; the KPI runs wait for the load
(data horizon) and compute 2025-Q1 from the loaded data: one KPI row per catalogue code for the
team and each agent, 265 of them with a value (not 3 as before). Then, with the same stack:

- a manual trigger through the CLI (``airflow dags trigger --logical-date 2025-04-08T07:00+07:00``)
  computes 2025-Q1, the period its logical date names;
- late data: April's cumulative re-export (and a file that cannot be used) lands, a manual daily
  run loads its 4 new messages (2025-03-28 .. 2025-04-08) and ``chatkpi_recompute`` recomputes the
  computed periods they touch;
- ``airflow tasks clear`` of the first ``load_batch``, long after its commit, succeeds and loads
  nothing.

Nothing creates the pool but the chatkpi plugin. The warehouse is read only after the stack
stopped (DuckDB allows one process at a time); while it runs, the test reads Airflow's metadata.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path

import pytest

from kpi_transforms.metrics.catalogue import KPI_CODES
from tests.airflow.conftest import DEMO
from tests.airflow.realscheduler import AirflowStack

# 2025-Q1 from the March drop: every catalogue code for the team and the two agents (issue 19
# grew the catalogue; DECISIONS.md, issue 19 section 14), 265 rows with a value.
Q1_KPIS = {"period": "2025-Q1", "rows": 3 * len(KPI_CODES), "with_value": 265}

pytestmark = pytest.mark.scheduler

Q1_START = "2024-12-31 17:00:00"  # 2025-01-01 00:00 Jakarta
JANUARY_START = "2024-12-31 17:00:00"
DAGS = ("chatkpi_daily", "chatkpi_monthly", "chatkpi_quarterly", "chatkpi_recompute")


def _run(stack: AirflowStack, dag_id: str, *, interval_start: str | None = None, run_type: str | None = None, after: int = 0):
    for i, run in enumerate(stack.runs(dag_id)):
        if i < after:
            continue
        if interval_start and not str(run["data_interval_start"] or "").startswith(interval_start):
            continue
        if run_type and run["run_type"] != run_type:
            continue
        return run
    return None


def _finished(stack: AirflowStack, dag_id: str, **kw):
    def check():
        failed = stack.failed_tasks()
        if failed:
            raise AssertionError(f"failed tasks: {failed}\n{stack.tail('scheduler')}")
        run = _run(stack, dag_id, **kw)
        return run if run and run["state"] in ("success", "failed") else None

    return check


def _secs(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    parse = lambda s: dt.datetime.fromisoformat(str(s).replace("Z", "+00:00"))  # noqa: E731
    return round((parse(end) - parse(start)).total_seconds(), 1)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    started = time.monotonic()
    work = tmp_path_factory.mktemp("scheduler-e2e")
    landing = work / "landing"
    shutil.copytree(DEMO / "landing" / "2025-03", landing / "2025-03")
    url = f"duckdb:///{work / 'warehouse' / 'chatkpi.duckdb'}"
    chatkpi_env = {
        "CHATKPI_CONFIG": str(DEMO / "chatkpi.yaml"),
        "CHATKPI_WAREHOUSE_URL": url,
        "CHATKPI_LANDING_DIR": str(landing),
        "CHATKPI_STAGE_DIR": str(work / "stage"),
        "CHATKPI_REPORTS_DIR": str(work / "reports"),
        # Airflow 3.3 races a reschedule shorter than the task process's exit (~5 s here): the
        # scheduler then takes the finished poke for an external kill. Production pokes: 600 s.
        "CHATKPI_WAIT_POKE_SECONDS": "20",
    }
    out: dict = {"work": work, "url": url}
    with AirflowStack(work, chatkpi_env) as stack:
        out["stack"] = stack
        stack.wait("the dag-processor to serialise the DAGs",
                   lambda: len(stack.sql("select dag_id from serialized_dag")) >= len(DAGS), timeout=120)
        out["pool"] = stack.wait("the plugin to create the pool",
                                 lambda: stack.sql("select slots from slot_pool where pool = 'chatkpi_warehouse'"), timeout=60)
        stack.cli("dags", "unpause", "--treat-dag-id-as-regex", "-y", "^chatkpi_")
        out["unpaused_at"] = time.monotonic()
        # 2. meanwhile an operator triggers 2025-Q1 through the CLI, naming it by a logical date
        stack.cli("dags", "trigger", "chatkpi_quarterly", "--logical-date", "2025-04-08T07:00:00+07:00")

        # 1. fresh deployment: everything catches up, the KPI runs wait for the daily load
        out["daily"] = stack.wait("the daily run", _finished(stack, "chatkpi_daily"), timeout=600)  # generous: a loaded CI machine
        out["q1"] = stack.wait("quarterly 2025-Q1", _finished(stack, "chatkpi_quarterly", interval_start=Q1_START, run_type="scheduled"), timeout=300)
        out["manual"] = stack.wait("the manual quarterly run", _finished(stack, "chatkpi_quarterly", run_type="manual"), timeout=300)
        out["january"] = stack.wait("monthly 2025-01", _finished(stack, "chatkpi_monthly", interval_start=JANUARY_START), timeout=300)
        out["first_ready_s"] = round(time.monotonic() - out["unpaused_at"], 1)
        stack.cli("dags", "pause", "--treat-dag-id-as-regex", "-y", "^chatkpi_(monthly|quarterly)$")

        # 3. late data: April's re-export lands (and a file that cannot be used); the daily load
        # makes chatkpi_recompute run
        shutil.copytree(DEMO / "landing" / "2025-04", landing / "2025-04")
        (landing / "2025-04" / "broken.txt").write_bytes(b"hello\x00\x01\x02\xff\xfe binary")
        n_daily, n_recompute = len(stack.runs("chatkpi_daily")), len(stack.runs("chatkpi_recompute"))
        stack.cli("dags", "trigger", "chatkpi_daily")
        out["late_daily"] = stack.wait("the late daily run", _finished(stack, "chatkpi_daily", after=n_daily), timeout=600)
        out["recompute"] = stack.wait("the recompute run", _finished(stack, "chatkpi_recompute", after=n_recompute), timeout=300)

        out["xcom"] = {
            "q1_kpis": stack.xcom("chatkpi_quarterly", out["q1"]["run_id"], "compute_kpis"),
            "q1_wait": stack.xcom("chatkpi_quarterly", out["q1"]["run_id"], "wait_for_data"),
            "manual_wait": stack.xcom("chatkpi_quarterly", out["manual"]["run_id"], "wait_for_data"),
            "manual_kpis": stack.xcom("chatkpi_quarterly", out["manual"]["run_id"], "compute_kpis"),
            "daily_load": stack.xcom("chatkpi_daily", out["daily"]["run_id"], "load_batch"),
            "late_load": stack.xcom("chatkpi_daily", out["late_daily"]["run_id"], "load_batch"),
            "late_stage": [(t["rendered_map_index"], t["state"]) for t in stack.task_instances("chatkpi_daily", out["late_daily"]["run_id"])
                           if t["task_id"] == "stage_file"],
            "stale": stack.xcom("chatkpi_recompute", out["recompute"]["run_id"], "find_stale_periods"),
        }
        out["tis"] = {
            name: stack.task_instances(dag_id, out[name]["run_id"])
            for name, dag_id in (("daily", "chatkpi_daily"), ("q1", "chatkpi_quarterly"), ("january", "chatkpi_monthly"),
                                 ("manual", "chatkpi_quarterly"), ("recompute", "chatkpi_recompute"))
        }
        out["recompute_kpis"] = {
            ti["rendered_map_index"]: stack.xcom("chatkpi_recompute", out["recompute"]["run_id"], "recompute.compute_kpis", ti["map_index"])
            for ti in out["tis"]["recompute"] if ti["task_id"] == "recompute.compute_kpis"
        }
        out["load_log"] = stack.task_log("chatkpi_daily", out["daily"]["run_id"], "load_batch")
        out["late_load_log"] = stack.task_log("chatkpi_daily", out["late_daily"]["run_id"], "load_batch")

        # 4. clearing the first load after its commit: it succeeds and loads nothing
        first_load = ("chatkpi_daily", out["daily"]["run_id"], "load_batch")
        logical = dt.datetime.fromisoformat(out["daily"]["logical_date"][:19])  # UTC; a window around that run only
        stack.cli("tasks", "clear", "chatkpi_daily", "--task-regex", "load_batch", "--yes",
                  "--start-date", f"{logical - dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%S}+00:00",
                  "--end-date", f"{logical + dt.timedelta(hours=1):%Y-%m-%dT%H:%M:%S}+00:00")
        stack.wait("the cleared load", lambda: stack.sql(
            "select try_number from task_instance where dag_id = ? and run_id = ? and task_id = ? and state = 'success'"
            " and try_number = 2", first_load), timeout=180)
        out["cleared_load"] = stack.xcom(*first_load)
        out["cleared_load_log"] = stack.task_log(*first_load, attempt=2)

        out["asset_extras"] = stack.sql(
            "select a.uri, e.extra from asset_event e join asset a on a.id = e.asset_id order by e.id"
        )
    out["wall_s"] = round(time.monotonic() - started, 1)
    summary = {
        "wall_s": out["wall_s"], "unpause_to_first_periods_s": out["first_ready_s"],
        "daily_run_s": _secs(out["daily"]["start_date"], out["daily"]["end_date"]),
        "tasks": {name: [(t["task_id"], t["rendered_map_index"] or t["map_index"], t["state"], t["duration"]) for t in tis]
                  for name, tis in out["tis"].items()},
    }
    (work / "timings.json").write_text(json.dumps(summary, indent=1, default=str), encoding="utf-8")
    print("\nscheduler e2e timings:", json.dumps(summary, indent=1, default=str))
    return out


def warehouse_rows(url: str, sql: str, params: dict | None = None):
    from kpi_transforms.warehouse.engine import Warehouse

    warehouse = Warehouse(url)
    try:
        return warehouse.read_df(sql, params or {})
    finally:
        warehouse.dispose()


def test_the_plugin_creates_the_pool(scenario):
    assert scenario["pool"] == [(1,)]  # DuckDB: one writer


def test_every_run_succeeded(scenario):
    for name in ("daily", "q1", "january", "manual", "late_daily", "recompute"):
        assert scenario[name]["state"] == "success", name


def test_kpi_runs_wait_for_the_daily_load(scenario):
    """Issue 16, point 1: 2025-Q1 is computed from the loaded data (:data:`Q1_KPIS`),
    after the daily load committed, although both were started together."""
    assert scenario["xcom"]["q1_kpis"] == Q1_KPIS
    assert scenario["xcom"]["q1_wait"] == "2025-Q1"
    load_end = next(t["end_date"] for t in scenario["tis"]["daily"] if t["task_id"] == "load_batch")
    kpi_start = next(t["start_date"] for t in scenario["tis"]["q1"] if t["task_id"] == "compute_kpis")
    assert kpi_start > load_end
    # the sensor had to wait: it poked (was rescheduled) before the load committed
    wait = next(t for t in scenario["tis"]["q1"] if t["task_id"] == "wait_for_data")
    assert wait["state"] == "success"
    q1 = warehouse_rows(scenario["url"], "select count(*) as n, count(value) as v from marts.fct_kpi"
                        " where period_type = 'quarter' and period_start = date '2025-01-01'")
    assert (int(q1["n"][0]), int(q1["v"][0])) == (Q1_KPIS["rows"], Q1_KPIS["with_value"])


def test_every_step_ran_as_its_own_task(scenario):
    steps = [t["task_id"] for t in scenario["tis"]["q1"]]
    assert set(steps) == {"wait_for_data", "compute_kpis", "compute_scorecards", "draw_audit_sample", "write_reports"}
    assert {t["task_id"] for t in scenario["tis"]["january"]} == {"wait_for_data", "compute_kpis", "compute_scorecards", "write_reports"}
    cards = warehouse_rows(scenario["url"], "select count(*) as n from marts.fct_scorecard where period_start = date '2025-01-01' and period_type = 'quarter'")
    assert int(cards["n"][0]) > 0
    sample = warehouse_rows(scenario["url"], "select count(*) as n from audit.sample where period = '2025-Q1'")
    assert int(sample["n"][0]) > 0
    reports = Path(scenario["work"]) / "reports"
    assert {p.name for p in reports.iterdir()} >= {"chatkpi_2025-Q1.html", "chatkpi_2025-Q1.xlsx", "audit_2025-Q1.xlsx",
                                                    "chatkpi_2025-01.html", "chatkpi_2025-01.xlsx"}


def test_manual_trigger_computes_the_period_of_its_logical_date(scenario):
    """Issue 16, point 2, through `airflow dags trigger --logical-date` and the scheduler."""
    manual = scenario["manual"]
    assert manual["run_type"] == "manual" and manual["logical_date"].startswith("2025-04-08 00:00:00")
    assert scenario["xcom"]["manual_wait"] == "2025-Q1"
    assert scenario["xcom"]["manual_kpis"] == Q1_KPIS


def test_mapped_parse_tasks_are_named_after_their_files(scenario):
    names = sorted(t["rendered_map_index"] for t in scenario["tis"]["daily"] if t["task_id"] == "stage_file")
    assert names == sorted(p.name for p in (DEMO / "landing" / "2025-03").iterdir())


def test_load_log_is_quiet_and_asset_events_carry_periods(scenario):
    log = scenario["load_log"]
    assert "Skipping registering" not in log and "Multiple declarations" not in log
    assert len(log.splitlines()) < 40
    extras = [(uri, json.loads(extra) if isinstance(extra, str) else extra) for uri, extra in scenario["asset_extras"]]
    kpi_periods = {e["period"] for uri, e in extras if uri == "x-chatkpi://warehouse/marts.fct_kpi"}
    assert {"2025-Q1", "2025-01"} <= kpi_periods
    first_load = next(e for uri, e in extras if uri == "x-chatkpi://warehouse/marts.fct_message")
    assert first_load["periods"] == ["2025-01", "2025-02", "2025-03", "2025-Q1"]
    assert first_load["loaded"] == 5 and first_load["rejected"] == 0


def test_late_data_recomputes_the_periods_it_touches(scenario):
    """April's re-export adds 4 messages from 2025-03-28 to 2025-04-08: chatkpi_recompute
    recomputes the computed periods they touch (2025-Q1 at least), after the late batch."""
    late = scenario["xcom"]["late_load"]
    assert late["messages_new"] == 4 and late["periods"] == ["2025-03", "2025-04", "2025-Q1", "2025-Q2"]
    stale = scenario["xcom"]["stale"]
    assert "2025-Q1" in stale and set(stale) <= set(late["periods"])
    assert "2025-01" not in stale  # computed, but the late batch did not touch it
    assert set(scenario["recompute_kpis"]) == set(stale)  # mapped tasks named after the period
    assert scenario["recompute_kpis"]["2025-Q1"] == Q1_KPIS
    after = warehouse_rows(
        scenario["url"],
        "select (select min(computed_at) from marts.fct_kpi where period_type = 'quarter' and period_start = date '2025-01-01')"
        " > (select max(finished_at) from audit.batch) as recomputed_after_the_late_batch")
    assert bool(after["recomputed_after_the_late_batch"][0])
    scans = warehouse_rows(scenario["url"], "select status, count(*) as n from audit.landing_scan group by status")
    assert dict(zip(scans["status"], scans["n"])) == {"complete": 2}


def test_a_rejected_file_is_visible_where_an_operator_looks(scenario):
    """Issue 16, point 5 (4 of the brief): the mapped task is named after the file and says it
    was rejected; load_batch logs a warning line (and posts it to chatkpi_alerts when set)."""
    stage = dict(scenario["xcom"]["late_stage"])
    assert stage["Chat WhatsApp dengan Budi Santoso.txt"] == "success"
    (broken,) = [name for name in stage if name.startswith("broken.txt")]
    assert broken.startswith("broken.txt (rejected: not UTF-8 or UTF-16 (binary data)")
    late = scenario["xcom"]["late_load"]
    assert late["rejected"] == 1 and late["rejected_files"][0]["file"] == "broken.txt"
    assert "chatkpi WARNING dag=chatkpi_daily" in scenario["late_load_log"]
    assert "rejected 1 file(s): broken.txt (not UTF-8 or UTF-16 (binary data)" in scenario["late_load_log"]
    rejected = warehouse_rows(scenario["url"], "select count(*) as n from audit.rejected_file")
    assert int(rejected["n"][0]) == 1


def test_clearing_a_committed_load_changes_nothing(scenario):
    """Issue 16, point 3, through `airflow tasks clear` and the scheduler: the stage folder is
    gone, the retry succeeds, loads nothing and writes no batch."""
    cleared = scenario["cleared_load"]
    assert cleared["already_committed"] is True and cleared["loaded"] == 0
    assert cleared["batch_id"] == scenario["xcom"]["daily_load"]["batch_id"]
    assert "already committed" in scenario["cleared_load_log"]
    batches = warehouse_rows(scenario["url"], "select count(*) as n from audit.batch")
    assert int(batches["n"][0]) == 2  # the first load and the late one
