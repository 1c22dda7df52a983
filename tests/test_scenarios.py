"""Golden scenarios (tests/scenarios/<case>): CLI ingest on DuckDB and PostgreSQL, pair by pair."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from kpi_transforms.cli import main
from kpi_transforms.warehouse.engine import Warehouse

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
CASES = sorted(p.name for p in SCENARIOS.iterdir() if p.is_dir())
TIME_COLUMNS = ["question_at_local", "first_auto_reply_at_local", "reply_at_local", "effective_start_at_local", "sla_deadline_at_local"]


def expected_pairs(case: Path) -> pd.DataFrame:
    text = "\n".join(line for line in (case / "expected.csv").read_text().splitlines() if not line.startswith("#"))
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    return frame


def input_batches(case: Path) -> list[list[str]]:
    subdirs = sorted(p for p in case.iterdir() if p.is_dir())
    if subdirs:
        return [[str(f) for f in sorted(d.iterdir())] for d in subdirs]
    return [[str(f) for f in sorted(case.iterdir()) if f.name not in ("config.yaml", "expected.csv")]]


def actual_pairs(url: str, timezone: str = "Asia/Jakarta") -> pd.DataFrame:
    frame = Warehouse(url).read_df(
        "select p.*, t.thread_name as thread from marts.fct_reply_pair p join marts.fct_thread t on t.thread_id = p.thread_id"
    )
    out = pd.DataFrame({"thread": frame["thread"].astype(str)})
    pairs = {
        "question_at_local": "question_at", "first_auto_reply_at_local": "first_auto_reply_at", "reply_at_local": "reply_at",
        "effective_start_at_local": "effective_start_at", "sla_deadline_at_local": "sla_deadline_at",
    }
    for local, utc in pairs.items():
        values = pd.to_datetime(frame[utc], utc=True).dt.tz_convert(timezone).dt.strftime("%Y-%m-%d %H:%M:%S")
        out[local] = values.fillna("")
    for col in ("n_customer_messages", "calendar_seconds", "business_seconds"):
        out[col] = frame[col].map(lambda v: "" if pd.isna(v) else str(int(v)))
    for col in ("within_24h", "within_1_working_day", "is_valid"):
        out[col] = frame[col].map(lambda v: "" if pd.isna(v) else str(bool(v)).lower())
    out["status"] = frame["status"].astype(str)
    return out


@pytest.mark.parametrize("case", CASES)
def test_scenario(case, warehouse_url, tmp_path, capsys):
    folder = SCENARIOS / case
    args = ["--config", str(folder / "config.yaml"), "--warehouse", warehouse_url]
    for batch in input_batches(folder):
        assert main([*args, "ingest", *batch, "--lake", str(tmp_path / "lake")]) == 0
    captured = capsys.readouterr()
    assert captured.out.count(" 0 rejected;") == len(input_batches(folder)), captured.out
    expected = expected_pairs(folder)
    actual = actual_pairs(warehouse_url)
    columns = [c for c in expected.columns]
    if "thread" not in columns:
        actual = actual.drop(columns=["thread"])
    key = ["thread", "question_at_local"] if "thread" in columns else ["question_at_local"]
    got = actual[columns].sort_values(key, kind="stable").reset_index(drop=True)
    want = expected.sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
