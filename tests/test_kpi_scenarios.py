"""Golden KPI scenarios (tests/kpi_scenarios/<kpi>): CLI ``ingest`` then ``kpi --period`` on
DuckDB and PostgreSQL, compared with ``expected.csv`` row by row.

``expected.csv`` columns: ``period`` (2025-01 or 2025-Q1), ``kpi_code``, ``agent_id`` (empty =
the team row), ``value`` (empty = null), ``unit``, ``basis_count`` and optionally ``note`` (a
text the stored note must contain). Lines starting with ``#`` hold the hand computation. Only
the listed rows are compared; every KPI code must exist for the team in every period run.

An optional ``audit_validation.csv`` (``period``, ``thread_name``, ``approved``) runs
``chatkpi audit sample --period P`` after the ingest and stores the Head of Marketing's
decisions in ``audit.validation`` (what ``chatkpi audit import`` stores from the review sheet).
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import pandas as pd
import pytest

from kpi_transforms.cli import main
from kpi_transforms.metrics.catalogue import KPI_CODES
from kpi_transforms.warehouse.engine import Warehouse

SCENARIOS = Path(__file__).resolve().parent / "kpi_scenarios"
CASES = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir() and (p / "expected.csv").is_file())


def expected_rows(case: Path) -> pd.DataFrame:
    text = "\n".join(line for line in (case / "expected.csv").read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def input_batches(case: Path) -> list[list[str]]:
    """Numbered subfolders are consecutive ingest batches; otherwise one batch of all files."""
    subdirs = sorted(p for p in case.iterdir() if p.is_dir())
    if subdirs:
        return [[str(f) for f in sorted(d.iterdir())] for d in subdirs]
    skip = ("config.yaml", "expected.csv", "audit_validation.csv")
    return [[str(f) for f in sorted(case.iterdir()) if f.name not in skip]]


def store_validations(args: list[str], url: str, validations: pd.DataFrame) -> None:
    """Sample each period through the CLI, then record the review decisions."""
    for period in sorted(set(validations["period"])):
        assert main([*args, "audit", "sample", "--period", period]) == 0
    warehouse = Warehouse(url)
    try:
        with warehouse.begin() as conn:
            for row in validations.itertuples(index=False):
                sampled = warehouse.read_df(
                    "select s.agent_id, s.thread_id from audit.sample s join marts.fct_thread t on t.thread_id = s.thread_id"
                    " where s.period = :p and t.thread_name = :n", {"p": row.period, "n": row.thread_name}, conn=conn)
                assert len(sampled) == 1, f"{row.thread_name} is not in the {row.period} sample"
                warehouse.execute(
                    conn,
                    "insert into audit.validation (period, agent_id, thread_id, approved, notes, reviewed_at, sheet_sha256)"
                    " values (:p, :a, :t, :ok, null, current_timestamp, 'test')",
                    {"p": row.period, "a": sampled["agent_id"].iloc[0], "t": sampled["thread_id"].iloc[0],
                     "ok": row.approved.strip().lower() in ("true", "ya", "yes", "1")},
                )
    finally:
        warehouse.dispose()


def test_every_catalogue_kpi_has_a_scenario():
    covered = set()
    for case in CASES:
        covered |= set(expected_rows(SCENARIOS / case)["kpi_code"])
    assert set(KPI_CODES) - covered == set()


@pytest.mark.parametrize("case", CASES)
def test_kpi_scenario(case, warehouse_url, tmp_path):
    folder = SCENARIOS / case
    args = ["--config", str(folder / "config.yaml"), "--warehouse", warehouse_url]
    for batch in input_batches(folder):
        assert main([*args, "ingest", *batch, "--lake", str(tmp_path / "lake")]) == 0
    if (folder / "audit_validation.csv").is_file():
        store_validations(args, warehouse_url, pd.read_csv(folder / "audit_validation.csv", dtype=str))
    expected = expected_rows(folder)
    for period in sorted(set(expected["period"])):
        assert main([*args, "kpi", "--period", period]) == 0
    warehouse = Warehouse(warehouse_url)
    try:
        rejected = warehouse.read_df("select source_file, reason from audit.rejected_file")
        quarantined = warehouse.read_df("select source_file, source_line, reason from audit.rejected_row")
        actual = warehouse.read_df("select kpi_code, period_type, period_start, agent_id, value, unit, basis_count, note from marts.fct_kpi")
    finally:
        warehouse.dispose()
    assert rejected.empty and quarantined.empty, f"input not fully loaded:\n{rejected}\n{quarantined}"
    actual["period_start"] = pd.to_datetime(actual["period_start"]).dt.strftime("%Y-%m-%d")
    actual["agent"] = actual["agent_id"].where(actual["agent_id"].notna(), "")
    problems = []
    for period in sorted(set(expected["period"])):
        ptype, start = _period_key(period)
        team = actual[(actual["period_type"] == ptype) & (actual["period_start"] == start) & (actual["agent"] == "")]
        missing = set(KPI_CODES) - set(team["kpi_code"])
        if missing:
            problems.append(f"{period}: team rows missing for {sorted(missing)}")
    for row in expected.itertuples(index=False):
        ptype, start = _period_key(row.period)
        got = actual[(actual["period_type"] == ptype) & (actual["period_start"] == start)
                     & (actual["kpi_code"] == row.kpi_code) & (actual["agent"] == row.agent_id)]
        where = f"{row.period} {row.kpi_code} agent={row.agent_id or '(team)'}"
        if len(got) != 1:
            problems.append(f"{where}: {len(got)} rows")
            continue
        g = got.iloc[0]
        if row.value == "":
            if not pd.isna(g["value"]):
                problems.append(f"{where}: value {g['value']} (expected null)")
        elif pd.isna(g["value"]) or not math.isclose(float(g["value"]), float(row.value), rel_tol=1e-9, abs_tol=1e-6):
            problems.append(f"{where}: value {g['value']} (expected {row.value}); note {g['note']!r}")
        if g["unit"] != row.unit:
            problems.append(f"{where}: unit {g['unit']} (expected {row.unit})")
        if int(g["basis_count"]) != int(row.basis_count):
            problems.append(f"{where}: basis_count {g['basis_count']} (expected {row.basis_count})")
        wanted_note = getattr(row, "note", "")
        if wanted_note and (not isinstance(g["note"], str) or wanted_note not in g["note"]):
            problems.append(f"{where}: note {g['note']!r} lacks {wanted_note!r}")
    assert not problems, "\n".join(problems)


def _period_key(period: str) -> tuple[str, str]:
    year, part = period.split("-")
    if part.upper().startswith("Q"):
        return "quarter", f"{year}-{(int(part[1:]) - 1) * 3 + 1:02d}-01"
    return "month", f"{year}-{part}-01"
