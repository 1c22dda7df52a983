"""DAG hygiene (STYLE "Tests at three levels", 1): every DAG file imports without errors, has
tags, retries and an explicit timetable object, serialises for the scheduler, and parsing the
DAG folder touches no warehouse, connection, Variable or config file."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap

import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag
from chatkpi_plugins.callbacks import on_failure_callback
from chatkpi_plugins.runtime import WAREHOUSE_POOL
from chatkpi_plugins.timetable import AuditCalendarTimetable

from tests.airflow.conftest import DAGS, PLUGINS, ROOT

EXPECTED_DAGS = {"chatkpi_daily", "chatkpi_monthly", "chatkpi_quarterly", "chatkpi_recompute"}
TIME_SCHEDULED = sorted(EXPECTED_DAGS - {"chatkpi_recompute"})  # chatkpi_recompute runs on Assets


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == EXPECTED_DAGS
    assert {p.name for p in DAGS.glob("*.py")} == {f"{d}.py" for d in EXPECTED_DAGS}


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_tags_retries_callback_and_docs(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.tags and "chatkpi" in dag.tags
    assert dag.default_args.get("retries", 0) >= 1
    assert dag.default_args.get("on_failure_callback") is on_failure_callback
    assert all(task.retries >= 1 for task in dag.tasks)
    assert dag.doc_md and dag.doc_md.lstrip().startswith(f"# {dag_id}")
    assert dag.max_active_runs == 1


@pytest.mark.parametrize("dag_id", TIME_SCHEDULED)
def test_schedule_is_a_timetable_object(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert not isinstance(dag.schedule, str), "a bare cron string gives a zero-width data interval in Airflow 3"
    assert dag.schedule is dag.timetable
    assert dag.start_date == pendulum.datetime(2025, 1, 1, tz="Asia/Jakarta")


def test_daily_runs_at_one_local_with_a_one_day_interval(dagbag):
    from airflow.serialization.encoders import coerce_to_core_timetable

    timetable = coerce_to_core_timetable(dagbag.dags["chatkpi_daily"].timetable)
    info = timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=_restriction(pendulum.datetime(2025, 4, 1, tz="Asia/Jakarta")),
    )
    assert info.run_after.in_timezone("Asia/Jakarta").hour == 1
    assert info.data_interval.end - info.data_interval.start == dt.timedelta(days=1)
    assert info.data_interval.end == info.run_after
    assert dagbag.dags["chatkpi_daily"].catchup is False


def _restriction(earliest):
    from airflow.timetables.base import TimeRestriction

    return TimeRestriction(earliest=earliest, latest=None, catchup=True)


def test_audit_dags_use_the_audit_calendar(dagbag):
    assert dagbag.dags["chatkpi_monthly"].timetable == AuditCalendarTimetable(mode="monthly", hour=7)
    assert dagbag.dags["chatkpi_quarterly"].timetable == AuditCalendarTimetable(mode="quarterly", hour=7)
    assert dagbag.dags["chatkpi_monthly"].catchup is True
    assert dagbag.dags["chatkpi_quarterly"].catchup is True


def test_daily_wiring_maps_parsing_over_files(dagbag):
    dag = dagbag.dags["chatkpi_daily"]
    # issue 20 (docs/DECISIONS.md): extraction runs first, one mapped task per source / folder;
    # issue 17: alert_breaches beside retrain_intents; issue 20 round 3: prune_landed after the load
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:5] == ["plan_extract", "extract_source", "find_new_files", "stage_file", "load_batch"]
    assert sorted(order[5:]) == ["alert_breaches", "prune_landed", "retrain_intents"]
    prune = dag.get_task("prune_landed")
    assert prune.upstream_task_ids == {"load_batch"} and prune.trigger_rule == "none_failed" and prune.pool == WAREHOUSE_POOL
    alert = dag.get_task("alert_breaches")
    assert alert.upstream_task_ids == {"load_batch"} and alert.trigger_rule == "none_failed" and alert.pool == WAREHOUSE_POOL
    retrain = dag.get_task("retrain_intents")  # issue 14: after the facts, also when the load was skipped
    assert retrain.pool == WAREHOUSE_POOL and retrain.trigger_rule == "none_failed" and not retrain.outlets
    stage = dag.get_task("stage_file")
    assert stage.is_mapped if hasattr(stage, "is_mapped") else type(stage).__name__ == "MappedOperator"
    assert stage.pool != WAREHOUSE_POOL  # parsing never opens the warehouse: it may run in parallel
    assert dag.get_task("find_new_files").pool == WAREHOUSE_POOL
    load = dag.get_task("load_batch")
    assert load.pool == WAREHOUSE_POOL
    assert sorted(a.uri for a in load.outlets) == [
        "x-chatkpi://warehouse/marts.fct_message",
        "x-chatkpi://warehouse/marts.fct_reply_pair",
        "x-chatkpi://warehouse/marts.fct_thread",
    ]


@pytest.mark.parametrize("dag_id", ["chatkpi_monthly", "chatkpi_quarterly"])
def test_kpi_dags_write_through_the_pool_and_publish_fct_kpi(dagbag, dag_id):
    # docs/DECISIONS.md "The pipeline as steps": the KPI DAGs were one task; now compute_kpis is
    # one of the steps, still in the pool and still the one publisher of marts.fct_kpi.
    task = dagbag.dags[dag_id].get_task("compute_kpis")
    assert task.pool == WAREHOUSE_POOL
    assert [a.uri for a in task.outlets] == ["x-chatkpi://warehouse/marts.fct_kpi"]


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dags_serialise_for_the_scheduler(dagbag, dag_id):
    """The scheduler works on the serialised DAG; a custom timetable must be registered by the
    plugin under the import path the DAG file used."""
    from airflow.serialization.serialized_objects import DagSerialization

    dag = dagbag.dags[dag_id]
    restored = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    assert type(restored.timetable).__name__ == type(dag.timetable).__name__
    assert {t.task_id for t in restored.tasks} == {t.task_id for t in dag.tasks}


def test_plugin_registers_the_timetable_once():
    from airflow import plugins_manager

    registered = plugins_manager.get_timetables_plugins()
    assert registered == {"chatkpi_plugins.timetable.AuditCalendarTimetable": AuditCalendarTimetable}
    assert plugins_manager.get_import_errors() == {}
    # .airflowignore keeps the loader from importing the package's files under bare names
    assert not {"timetable", "callbacks", "tasks", "runtime", "demo_run"} & set(sys.modules)


PARSE_WITHOUT_SIDE_EFFECTS = textwrap.dedent(
    """
    import sys
    from unittest import mock

    def forbidden(what):
        def fail(*args, **kwargs):
            raise AssertionError(f"{what} called while parsing DAG files")
        return fail

    import sqlalchemy
    import airflow.sdk
    import kpi_transforms.core.config
    import kpi_transforms.warehouse.engine
    from airflow.dag_processing.dagbag import DagBag

    patches = [
        mock.patch("sqlalchemy.create_engine", forbidden("sqlalchemy.create_engine")),
        mock.patch.object(kpi_transforms.warehouse.engine.Warehouse, "__init__", forbidden("Warehouse()")),
        mock.patch.object(kpi_transforms.core.config, "load_config", forbidden("load_config")),
        mock.patch.object(airflow.sdk.Variable, "get", forbidden("Variable.get")),
        mock.patch.object(airflow.sdk.Connection, "get", forbidden("Connection.get")),
        mock.patch.object(airflow.sdk.BaseHook, "get_connection", forbidden("BaseHook.get_connection")),
        mock.patch("urllib.request.urlopen", forbidden("urlopen")),
    ]
    for p in patches:
        p.start()
    before = set(sys.modules)
    bag = DagBag(dag_folder=sys.argv[1])
    assert bag.import_errors == {}, bag.import_errors
    assert len(bag.dags) == 4, sorted(bag.dags)
    heavy = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("pandas", "duckdb", "pyarrow", "great_expectations")
                   or m in ("kpi_transforms.pipeline.ingest", "kpi_transforms.pipeline.kpis", "kpi_transforms.core.calendar"))
    assert not heavy, f"parsing imported heavy modules: {heavy}"
    print("parsed", sorted(bag.dags))
    """
)


def test_parsing_touches_no_warehouse_connection_variable_or_config(tmp_path):
    """In a fresh interpreter (so the plugin modules' own import-time code runs under the
    patches), parse the DAG folder with every outside access made to raise."""
    import os

    from tests.airflow.conftest import DEMO

    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATKPI_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(PLUGINS), str(ROOT)]),
        CHATKPI_CONFIG=str(DEMO / "chatkpi.yaml"),
        CHATKPI_WAREHOUSE_URL=f"duckdb:///{tmp_path / 'never-created.duckdb'}",
    )
    done = subprocess.run(
        [sys.executable, "-c", PARSE_WITHOUT_SIDE_EFFECTS, str(DAGS)],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "parsed ['chatkpi_daily', 'chatkpi_monthly', 'chatkpi_quarterly', 'chatkpi_recompute']" in done.stdout
    assert not (tmp_path / "never-created.duckdb").exists()


def test_each_dag_file_parses_fast(dagbag):
    stats = {s.file.rsplit("/", 1)[-1]: s.duration for s in dagbag.dagbag_stats}
    assert set(stats) == {f"{d}.py" for d in EXPECTED_DAGS}
    assert all(duration.total_seconds() < 5 for duration in stats.values()), stats


def test_landing_folder_is_resolved_at_run_time(monkeypatch):
    """Variable ``chatkpi_landing_dir`` (here through Airflow's environment secrets backend), else
    ``$CHATKPI_LANDING_DIR``, else the config's ``landing_dir``."""
    from chatkpi_plugins.runtime import landing_dir

    from kpi_transforms.core.config import Config

    config = Config(landing_dir="/from/config")
    monkeypatch.delenv("AIRFLOW_VAR_CHATKPI_LANDING_DIR", raising=False)
    monkeypatch.delenv("CHATKPI_LANDING_DIR", raising=False)
    assert landing_dir(config) == "/from/config"
    monkeypatch.setenv("CHATKPI_LANDING_DIR", "/from/env")
    assert landing_dir(config) == "/from/env"
    monkeypatch.setenv("AIRFLOW_VAR_CHATKPI_LANDING_DIR", "/from/variable")
    assert landing_dir(config) == "/from/variable"


def test_stage_folder_is_per_run(monkeypatch, tmp_path):
    from chatkpi_plugins.runtime import stage_dir

    from kpi_transforms.core.config import Config

    monkeypatch.delenv("CHATKPI_STAGE_DIR", raising=False)
    config = Config(lake_dir=str(tmp_path / "lake"))
    run = "scheduled__2025-04-07T18:00:00+00:00"
    assert stage_dir(config, run) == tmp_path / "lake" / "_stage" / "scheduled__2025-04-07T18_00_00_00_00"
    monkeypatch.setenv("CHATKPI_STAGE_DIR", str(tmp_path / "shared"))
    assert stage_dir(config, run).parent == tmp_path / "shared"
    assert stage_dir(config, "manual__x") != stage_dir(config, run)


# -- issue 16: pools, timeouts, caps, steps ------------------------------------------------------


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_warehouse_tasks_have_a_timeout_and_one_instance_per_dag(dagbag, dag_id):
    """A task holding the pool cannot hold it forever, and a backfill and a scheduled run of the
    same DAG never write at the same time."""
    pooled = [t for t in dagbag.dags[dag_id].tasks if t.pool == WAREHOUSE_POOL]
    assert pooled
    for task in pooled:
        assert task.execution_timeout is not None and task.execution_timeout <= dt.timedelta(hours=2), task.task_id
        if task.task_id != "wait_for_data":  # a sensor in reschedule mode holds nothing between pokes
            assert task.max_active_tis_per_dag == 1, task.task_id


def test_extraction_is_mapped_per_unit_and_a_failing_source_stops_nothing(dagbag):
    dag = dagbag.dags["chatkpi_daily"]
    extract = dag.get_task("extract_source")
    assert type(extract).__name__ == "MappedOperator" or getattr(extract, "is_mapped", False)
    assert extract.pool != WAREHOUSE_POOL  # extraction never opens the warehouse: plan_extract hands it the checkpoints
    assert extract.map_index_template == "{{ chatkpi_source }}" and extract.max_active_tis_per_dagrun == 2
    assert dag.get_task("plan_extract").pool == WAREHOUSE_POOL
    scan = dag.get_task("find_new_files")
    assert scan.upstream_task_ids == {"extract_source"} and scan.trigger_rule == "all_done"


def test_mapped_parsing_is_capped_and_named_after_the_file(dagbag):
    stage = dagbag.dags["chatkpi_daily"].get_task("stage_file")
    assert stage.max_active_tis_per_dagrun == 2
    assert stage.map_index_template == "{{ chatkpi_file }}"


def test_the_daily_load_outranks_the_kpi_runs_waiting_for_it(dagbag):
    """With the default `downstream` weight rule a sensor's weight is the sum of its own and its
    downstream tasks' weights (1 each): at most the size of its DAG."""
    daily = dagbag.dags["chatkpi_daily"]
    for dag_id in ("chatkpi_monthly", "chatkpi_quarterly"):
        dag = dagbag.dags[dag_id]
        assert {t.priority_weight for t in dag.tasks} == {1}
        for task_id in ("plan_extract", "extract_source", "find_new_files", "stage_file", "load_batch"):
            assert daily.get_task(task_id).priority_weight > len(dag.tasks), task_id


@pytest.mark.parametrize(("dag_id", "steps"), [
    ("chatkpi_monthly", ["wait_for_data", "compute_kpis", "compute_scorecards", "write_reports"]),
    ("chatkpi_quarterly", ["wait_for_data", "compute_kpis", "compute_scorecards", "draw_audit_sample", "write_reports"]),
])
def test_period_dags_are_the_pipeline_steps(dagbag, dag_id, steps):
    dag = dagbag.dags[dag_id]
    assert sorted(t.task_id for t in dag.tasks) == sorted(steps)
    wait = dag.get_task("wait_for_data")
    assert wait.mode == "reschedule" and wait.pool == WAREHOUSE_POOL and wait.poke_interval == 600
    assert dag.get_task("compute_kpis").upstream_task_ids == {"wait_for_data"}
    assert dag.get_task("write_reports").upstream_task_ids == set(steps[1:-1])
    if "draw_audit_sample" in steps:  # the sample refreshes the audit KPIs the scorecards weigh
        assert dag.get_task("compute_scorecards").upstream_task_ids == {"compute_kpis", "draw_audit_sample"}
    outlets = {t.task_id: [a.uri for a in t.outlets] for t in dag.tasks if t.outlets}
    assert outlets == {
        "compute_kpis": ["x-chatkpi://warehouse/marts.fct_kpi"],
        "compute_scorecards": ["x-chatkpi://warehouse/marts.fct_scorecard"],
        "write_reports": ["x-chatkpi://reports"],
        **({"draw_audit_sample": ["x-chatkpi://warehouse/audit.sample"]} if "draw_audit_sample" in steps else {}),
    }


def test_recompute_runs_on_the_fact_assets(dagbag):
    dag = dagbag.dags["chatkpi_recompute"]
    condition = dag.timetable.asset_condition
    assert type(condition).__name__ == "AssetAny"  # any one of the three starts a run
    uris = {a.uri for a in condition.objects}
    assert uris == {"x-chatkpi://warehouse/marts.fct_message", "x-chatkpi://warehouse/marts.fct_reply_pair",
                    "x-chatkpi://warehouse/marts.fct_thread"}
    assert {t.task_id for t in dag.tasks} == {"find_stale_periods", "recompute.compute_kpis", "recompute.compute_scorecards",
                                              "recompute.draw_audit_sample", "recompute.write_reports"}


def test_the_plugin_listens_for_component_start():
    from airflow import plugins_manager

    from chatkpi_plugins import pool_listener

    plugins, _ = plugins_manager._get_plugins()
    (chatkpi,) = [p for p in plugins if p.name == "chatkpi"]
    assert chatkpi.listeners == [pool_listener]
