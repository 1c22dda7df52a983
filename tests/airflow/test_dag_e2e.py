"""End to end through Airflow: ``dag.test()`` of the daily DAG over a copy of the sample landing
folder against a DuckDB file, a re-run that must change nothing, then the quarterly DAG for
2025-Q1. The DAG runs happen in child processes (``chatkpi_plugins.demo_run``) with a
throwaway ``AIRFLOW_HOME`` and SQLite metadata migrated once per session."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest
from chatkpi_plugins.demo_run import run_steps

from tests.airflow.conftest import DEMO

pytestmark = pytest.mark.airflow

DAILY_DATE = "2025-04-01T01:00:00+07:00"
COUNTS = {
    "messages": "select count(*) from marts.fct_message",
    "reply_pairs": "select count(*) from marts.fct_reply_pair",
    "threads": "select count(*) from marts.fct_thread",
    "files": "select count(*) from audit.file_manifest",
    "rejected_rows": "select count(*) from audit.rejected_row",
    "batches": "select count(*) from audit.batch",
}


def warehouse_counts(url: str) -> dict[str, int]:
    from kpi_transforms.warehouse.engine import Warehouse

    warehouse = Warehouse(url)
    try:
        return {name: int(warehouse.scalar(sql)) for name, sql in COUNTS.items()}
    finally:
        warehouse.dispose()


def airflow_rows(env: dict, sql: str, params: tuple = ()) -> list[tuple]:
    db = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def asset_events(env: dict, uri: str) -> int:
    return airflow_rows(
        env, "select count(*) from asset_event e join asset a on a.id = e.asset_id where a.uri = ?", (uri,)
    )[0][0]


@pytest.fixture(scope="module")
def e2e(airflow_session, tmp_path_factory):
    """Run daily, daily again (same logical date), then quarterly 2025-Q1; snapshot between."""
    env, workdir = airflow_session
    url = env["CHATKPI_WAREHOUSE_URL"]
    landing = workdir / "landing"
    shutil.copytree(DEMO / "landing" / "2025-03", landing)

    # what the CLI path (kpi_transforms.ingest.ingest_paths) gives for the same folder
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.ingest import ingest_paths
    from kpi_transforms.warehouse.engine import Warehouse

    reference_dir = tmp_path_factory.mktemp("cli-reference")
    reference_url = f"duckdb:///{reference_dir / 'reference.duckdb'}"
    ingest_paths([landing], load_config(DEMO / "chatkpi.yaml"), Warehouse(reference_url), lake_dir=reference_dir / "lake")

    result = {"reference": warehouse_counts(reference_url)}
    for name, step in [
        ("daily", ("chatkpi_daily", DAILY_DATE, str(landing))),
        ("rerun", ("chatkpi_daily", DAILY_DATE, str(landing))),
        ("quarterly", ("chatkpi_quarterly", "2025-Q1")),
    ]:
        done = run_steps([step], env, cwd=workdir, capture=True)
        result[name] = {
            "returncode": done.returncode,
            "output": done.stdout + done.stderr,
            "counts": warehouse_counts(url),
            "fact_events": asset_events(env, "x-chatkpi://warehouse/marts.fct_message"),
        }
    result.update(env=env, workdir=workdir, url=url)
    return result


def test_daily_run_loads_what_the_cli_loads(e2e):
    daily = e2e["daily"]
    assert daily["returncode"] == 0, daily["output"][-4000:]
    assert "chatkpi_daily" in daily["output"] and ": success in" in daily["output"]
    assert "stage_file success x5" in daily["output"]  # one mapped parse task per landing file
    assert "retrain_intents success" in daily["output"]
    assert "not retrained (no installation labels: the bundled model is current)" in daily["output"]
    reference = e2e["reference"]
    assert reference["messages"] == 60
    assert daily["counts"] == reference
    assert daily["fact_events"] == 1


def test_daily_run_cleans_its_stage_folder(e2e):
    stage_root = Path(e2e["workdir"]) / "lake" / "_stage"
    assert not stage_root.exists() or not any(stage_root.iterdir())
    assert any((Path(e2e["workdir"]) / "lake" / "messages").rglob("*.parquet"))


DATA_COUNTS = ("messages", "reply_pairs", "threads", "files", "rejected_rows")


def test_rerunning_the_daily_run_adds_nothing(e2e):
    rerun = e2e["rerun"]
    assert rerun["returncode"] == 0, rerun["output"][-4000:]
    assert "'loaded': 0" in rerun["output"] or "load_batch skipped" in rerun["output"]
    assert {k: rerun["counts"][k] for k in DATA_COUNTS} == {k: e2e["daily"]["counts"][k] for k in DATA_COUNTS}


def test_rerunning_the_daily_run_finds_no_new_file(e2e):
    rerun = e2e["rerun"]
    assert "0 new file(s), 5 already processed" in rerun["output"]
    assert "load_batch skipped" in rerun["output"] and "stage_file skipped" in rerun["output"]
    # issue 14: the intent retrain runs after a skipped load too, and skips itself (no labels)
    assert "retrain_intents success" in rerun["output"]
    assert rerun["counts"] == e2e["daily"]["counts"]  # not even an audit.batch row
    assert rerun["fact_events"] == e2e["daily"]["fact_events"]  # nothing new: no asset event


def test_quarterly_run_computes_q1_2025(e2e):
    quarterly = e2e["quarterly"]
    assert quarterly["returncode"] == 0, quarterly["output"][-4000:]
    assert "period 2025-Q1:" in quarterly["output"]

    (run,) = airflow_rows(
        e2e["env"], "select data_interval_start, data_interval_end, state from dag_run where dag_id = 'chatkpi_quarterly'"
    )
    assert run[0].startswith("2024-12-31 17:00:00") and run[1].startswith("2025-03-31 17:00:00")
    assert run[2] == "success"

    from kpi_transforms.warehouse.engine import Warehouse

    warehouse = Warehouse(e2e["url"])
    try:
        rows = warehouse.read_df(
            "select kpi_code, agent_id, value, unit, basis_count from marts.fct_kpi"
            " where period_type = 'quarter' and period_start = :start",
            {"start": dt.date(2025, 1, 1)},
        )
        other_periods = warehouse.scalar(
            "select count(*) from marts.fct_kpi where not (period_type = 'quarter' and period_start = :start)",
            {"start": dt.date(2025, 1, 1)},
        )
    finally:
        warehouse.dispose()
    assert len(rows) > 0 and other_periods == 0
    team = rows[rows["agent_id"].isna() & (rows["kpi_code"] == "response_rate_1wd")]
    assert len(team) == 1
    assert team["unit"].iloc[0] == "percent"
    assert 0 <= team["value"].iloc[0] <= 100 and team["basis_count"].iloc[0] > 0
    assert set(rows["agent_id"].dropna()) <= {"lia", "rina"}
    assert asset_events(e2e["env"], "x-chatkpi://warehouse/marts.fct_kpi") == 1
