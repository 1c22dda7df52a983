"""The pipeline steps (kpi_transforms.pipeline.steps) and the data horizon
(kpi_transforms.pipeline.readiness): readiness of a period, late data, and steps that are
transactions (a retry after a commit changes nothing)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kpi_transforms.core.config import load_config
from kpi_transforms.metrics.catalogue import KPI_CODES
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.pipeline.staging import find_new_files, stage_file
from kpi_transforms.pipeline.readiness import (
    complete_scans,
    data_horizon,
    period_readiness,
    record_scan,
    stale_periods,
)
from kpi_transforms.pipeline.steps import (
    audit_sample_step,
    batch_periods,
    kpi_step,
    load_step,
    report_step,
    scorecard_step,
)
from kpi_transforms.warehouse.engine import Warehouse

DEMO = Path(__file__).resolve().parents[1] / "kpi_transforms" / "demo_data"
UTC = dt.timezone.utc


@pytest.fixture
def config(tmp_path):
    import dataclasses

    return dataclasses.replace(load_config(DEMO / "chatkpi.yaml"), lake_dir=str(tmp_path / "lake"))


@pytest.fixture
def warehouse(tmp_path):
    wh = Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    yield wh
    wh.dispose()


def counts(wh: Warehouse) -> dict:
    tables = ["marts.fct_message", "marts.fct_reply_pair", "marts.fct_thread", "audit.file_manifest", "audit.batch",
              "audit.rejected_file", "audit.rejected_row"]
    return {t: int(wh.scalar(f"select count(*) from {t}")) for t in tables}


def stage_drop(drop: Path, config, warehouse, folder: Path) -> tuple[list[str], list[str]]:
    found = find_new_files([drop], warehouse)
    folders = [stage_file(f, config, folder, found["hints"]) for f in found["files"]]
    shas = [item["sha256"] for f in folders for item in json.loads((Path(f) / "result.json").read_text())]
    return folders, shas


def test_horizon_moves_only_with_complete_scans(warehouse, config):
    assert data_horizon(warehouse) is None
    march = period_readiness(warehouse, config, "2025-03")
    assert not march.ready and march.needed == dt.datetime(2025, 3, 31, 17, tzinfo=UTC)
    assert "none (no landing scan has committed yet)" in march.message

    # new files found on 1 April 01:00 Jakarta: pending until their batch commits
    scanned = dt.datetime(2025, 3, 31, 18, 0, 5, tzinfo=UTC)
    record_scan(warehouse, "/landing", scanned, files_new=3, files_known=0, run_id="run-1")
    assert data_horizon(warehouse) is None and not period_readiness(warehouse, config, "2025-03").ready
    assert complete_scans(warehouse, "run-1", "batch-1") == 1
    assert complete_scans(warehouse, "run-1", "batch-1") == 0  # again: nothing to do
    assert data_horizon(warehouse) == scanned
    assert period_readiness(warehouse, config, "2025-03").ready
    assert period_readiness(warehouse, config, "2025-Q1").ready
    assert not period_readiness(warehouse, config, "2025-04").ready  # April has not ended at that scan

    # a scan that found nothing new is complete at once
    later = dt.datetime(2025, 4, 30, 18, tzinfo=UTC)
    record_scan(warehouse, "/landing", later, files_new=0, files_known=5)
    assert data_horizon(warehouse) == later and period_readiness(warehouse, config, "2025-04").ready


def test_load_step_retry_after_commit_changes_nothing(warehouse, config, tmp_path):
    """Issue 16, point 3: the old load_batch removed the stage folder after the commit, so a
    retry failed on result.json. The step now sees its files processed and loads nothing."""
    stage = tmp_path / "stage" / "run-1"
    stage.mkdir(parents=True)
    folders, shas = stage_drop(DEMO / "landing" / "2025-03", config, warehouse, stage)
    record_scan(warehouse, "/landing", dt.datetime.now(UTC), len(folders), 0, run_id="run-1")
    first = load_step(folders, shas, config, warehouse, run_id="run-1")
    assert first["already_committed"] is False and first["messages_new"] == 60 and first["rejected"] == 0
    assert first["periods"] == ["2025-01", "2025-02", "2025-03", "2025-Q1"]
    before = counts(warehouse)
    horizon = data_horizon(warehouse)
    assert horizon is not None

    shutil.rmtree(stage)  # what the task does right after the commit
    again = load_step(folders, shas, config, warehouse, run_id="run-1")
    assert again["already_committed"] is True and again["batch_id"] == first["batch_id"]
    assert counts(warehouse) == before  # not even an audit.batch row
    assert data_horizon(warehouse) == horizon


def test_load_step_completes_the_scan_when_the_first_try_died_after_the_commit(warehouse, config, tmp_path):
    folders, shas = stage_drop(DEMO / "landing" / "2025-03", config, warehouse, tmp_path / "stage")
    scanned = dt.datetime.now(UTC)
    record_scan(warehouse, "/landing", scanned, len(folders), 0, run_id="run-2")
    load_step(folders, shas, config, warehouse)  # committed, but the scan was not completed
    assert data_horizon(warehouse) is None
    load_step(folders, shas, config, warehouse, run_id="run-2")
    assert data_horizon(warehouse) == scanned


def test_late_data_makes_computed_periods_stale(warehouse, config):
    ingest_paths([DEMO / "landing" / "2025-03"], config, warehouse)
    for period in ("2025-Q1", "2025-03", "2025-04"):
        kpi_step(warehouse, config, period)
    assert stale_periods(warehouse) == []

    # April's cumulative re-export: 4 new messages, 2025-03-28 .. 2025-04-08
    report = ingest_paths([DEMO / "landing" / "2025-04"], config, warehouse)
    assert report.messages_new == 4
    assert batch_periods(warehouse, report.batch_id) == ["2025-03", "2025-04", "2025-Q1", "2025-Q2"]
    assert stale_periods(warehouse) == ["2025-Q1", "2025-03", "2025-04"]  # 2025-Q2 was never computed
    assert kpi_step(warehouse, config, "2025-03") == {"period": "2025-03", "rows": 3 * len(KPI_CODES), "with_value": 163}
    assert stale_periods(warehouse) == ["2025-Q1", "2025-04"]
    assert stale_periods(warehouse, period_types=("quarter",)) == ["2025-Q1"]


def test_period_steps_rerun_to_the_same_rows_and_files(warehouse, config, tmp_path):
    ingest_paths([DEMO / "landing" / "2025-03"], config, warehouse)
    assert kpi_step(warehouse, config, "2025-Q1") == {"period": "2025-Q1", "rows": 3 * len(KPI_CODES), "with_value": 265}
    kpis = warehouse.read_df("select kpi_code, agent_id, value from marts.fct_kpi order by 1, 2")
    sample = audit_sample_step(warehouse, "2025-Q1")  # the DAG's order: the sample, then the scorecards
    assert sample["threads"] > 0 and sample["reused"] is False
    cards = scorecard_step(warehouse, config, "2025-Q1")
    assert cards["rows"] > 0 and cards["period"] == "2025-Q1"
    out = tmp_path / "reports"
    stamp = pd.Timestamp("2025-04-02 08:00", tz=config.timezone)  # the header's time, else a minute may pass
    written = report_step(warehouse, config, "2025-Q1", out, generated_at=stamp)
    assert sorted(Path(p).name for p in written["paths"]) == ["audit_2025-Q1.xlsx", "chatkpi_2025-Q1.html", "chatkpi_2025-Q1.xlsx"]
    html = (out / "chatkpi_2025-Q1.html").read_text(encoding="utf-8")

    # everything again: same rows, the stored sample kept, the same report, no stray files
    assert kpi_step(warehouse, config, "2025-Q1") == {"period": "2025-Q1", "rows": 3 * len(KPI_CODES), "with_value": 265}
    assert warehouse.read_df("select kpi_code, agent_id, value from marts.fct_kpi order by 1, 2").equals(kpis)
    assert audit_sample_step(warehouse, "2025-Q1") == {**sample, "reused": True}
    assert scorecard_step(warehouse, config, "2025-Q1")["rows"] == cards["rows"]
    report_step(warehouse, config, "2025-Q1", out, generated_at=stamp)
    assert (out / "chatkpi_2025-Q1.html").read_text(encoding="utf-8") == html
    assert sorted(p.name for p in out.iterdir()) == ["audit_2025-Q1.xlsx", "chatkpi_2025-Q1.html", "chatkpi_2025-Q1.xlsx"]

    # a month has no audit sample, so no review sheet
    assert [Path(p).name for p in report_step(warehouse, config, "2025-03", out)["paths"]] == ["chatkpi_2025-03.html", "chatkpi_2025-03.xlsx"]
