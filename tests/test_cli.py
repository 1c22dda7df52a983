"""The chatkpi command line: exit codes, one-line errors, the per-file summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[1] / "kpi_transforms" / "demo_data"


def chatkpi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpi_transforms.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_ingest_and_report(tmp_path):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    cfg = str(DEMO / "chatkpi.yaml")
    done = chatkpi("--config", cfg, "--warehouse", url, "ingest", str(DEMO / "landing" / "2025-03"), "--lake", str(tmp_path / "lake"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Chat WhatsApp dengan Budi Santoso.txt" in done.stdout
    assert "android" in done.stdout
    assert "1 lines quarantined" in done.stdout
    report = chatkpi("--config", cfg, "--warehouse", url, "report", "reply-durations", "--period", "2025-Q1", "--format", "md", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "| Metrik | Hasil | Satuan | Dasar Perhitungan | Catatan |" in report.stdout
    assert "Rata-rata durasi balas sales" in report.stdout


def test_errors_are_one_line_with_status_2(tmp_path):
    bad_cfg = tmp_path / "c.yaml"
    bad_cfg.write_text("busines_hours: {}\n")
    done = chatkpi("--config", str(bad_cfg), "init", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "chatkpi: error: unknown config key 'busines_hours' (allowed: agents, auto_reply_patterns, business_hours, closed_periods, company_domains, holidays, lake_dir, landing_dir, plausible_from, thread_aliases, timezone, whatsapp, zip_limits)"
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    done = chatkpi("--warehouse", url, "report", "reply-durations", "--period", "2025-14", cwd=tmp_path)
    assert done.returncode == 2 and "unknown period format" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = chatkpi("--warehouse", "postgresql+psycopg2://nobody@127.0.0.1:1/none", "init", cwd=tmp_path)
    assert done.returncode == 2 and "cannot reach warehouse" in done.stderr
    done = chatkpi("--warehouse", url, "ingest", str(tmp_path / "missing"), cwd=tmp_path)
    assert done.returncode == 2 and "no such file or folder" in done.stderr
