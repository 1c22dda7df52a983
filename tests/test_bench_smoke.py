"""``bench/run.py --quick`` runs every stage on 10 k generated messages and prints the table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_prints_every_stage(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--workdir", str(tmp_path / "bench")],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "| stage " in out and "| rows/s " in out and "| peak RSS MiB " in out
    stages = {line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")}
    expected = {"parse", "business_seconds", "reply_pairs", "thread_facts", "load_duckdb", "ingest", "increment"}
    if "PostgreSQL stages skipped" not in out:
        expected |= {"load_postgres"}
    assert expected <= stages, (expected - stages, out)
    assert "failed (exit" not in out, out
    # issue 18: the real command in fresh processes, beside the warm stages, with its ratios
    assert "The real commands as a user runs them" in out, out
    assert "| chatkpi ingest (demo drop)" in out and "| chatkpi ingest (facts included)" in out, out
