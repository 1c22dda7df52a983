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
    assert done.stderr.strip() == "chatkpi: error: unknown config key 'busines_hours' (allowed: agents, auto_reply_patterns, business_hours, closed_periods, company_domains, extract, holidays, kpis, lake_dir, landing_dir, memory_budget_mb, plausible_from, thread_aliases, timezone, whatsapp, zip_limits)"
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    done = chatkpi("--warehouse", url, "report", "reply-durations", "--period", "2025-14", cwd=tmp_path)
    assert done.returncode == 2 and "unknown period format" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = chatkpi("--warehouse", "postgresql+psycopg2://nobody@127.0.0.1:1/none", "init", cwd=tmp_path)
    assert done.returncode == 2 and "cannot reach warehouse" in done.stderr
    done = chatkpi("--warehouse", url, "ingest", str(tmp_path / "missing"), cwd=tmp_path)
    assert done.returncode == 2 and "no such file or folder" in done.stderr


# --- issue 17 item 6: read commands, agents, versions, formats, progress -------------------
def _main(*args: str) -> int:
    from kpi_transforms.cli import main

    return main(list(args))


def test_read_commands_refuse_a_missing_or_empty_warehouse(tmp_path, capsys):
    missing = tmp_path / "typo.duckdb"
    for cmd in (["kpi", "--period", "2025-03"], ["report", "reply-durations", "--period", "2025-03"],
                ["scorecard", "--period", "2025-03"], ["breaches", "--now"], ["thread", "x"], ["intents", "review"]):
        assert _main("--warehouse", f"duckdb:///{missing}", *cmd) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"chatkpi: error: no warehouse at {missing}: check --warehouse, or load data first (chatkpi ingest PATH)"]
        assert not missing.exists() and list(tmp_path.iterdir()) == []
    empty = f"duckdb:///{tmp_path / 'empty.duckdb'}"
    assert _main("--warehouse", empty, "init") == 0
    capsys.readouterr()
    assert _main("kpi", "--period", "2025-03", "--warehouse", empty) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds no loaded files: run chatkpi ingest PATH first" in err[0]


def test_intents_evaluate_on_a_new_warehouse_scores_the_shipped_model(tmp_path, capsys):
    new = tmp_path / "new.duckdb"
    assert _main("--warehouse", f"duckdb:///{new}", "intents", "evaluate") == 0
    out = capsys.readouterr().out
    assert "dev split: 1530 queues, accuracy 95.8 %" in out and new.exists()


def test_a_reader_that_leaves_early_is_not_a_bug(tmp_path):
    done = subprocess.run(f"{Path(sys.executable).with_name('chatkpi')} --warehouse duckdb:///{tmp_path / 'w.duckdb'} intents evaluate | head -1",
                          shell=True, capture_output=True, text=True, cwd=tmp_path)
    assert done.stdout.startswith("bundled model ") and "internal error" not in done.stderr and "Traceback" not in done.stderr


def test_unknown_agent_version_options_after_and_kpi_formats(tmp_path, capsys):
    import json

    import pytest

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    cfg = str(DEMO / "chatkpi.yaml")
    # global options after the sub-command; plain progress lines (stdout is not a terminal)
    assert _main("ingest", str(DEMO / "landing" / "2025-03"), "--lake", str(tmp_path / "lake"), "--config", cfg, "--warehouse", url) == 0
    out = capsys.readouterr().out
    assert "[5/5] crm_email_messages.csv: parsed, 4 messages, 1 lines quarantined" in out
    assert "loading 5 file(s) into the warehouse" in out
    assert "    quarantined line 6: sent_at is not an ISO 8601 timestamp" in out
    assert _main("--warehouse", url, "--config", cfg, "report", "reply-durations", "--period", "2025-03", "--agent", "nobody") == 2
    assert capsys.readouterr().err.strip() == "chatkpi: error: unknown agent 'nobody' (known: lia, rina)"
    with pytest.raises(SystemExit) as done:
        _main("--version")
    assert done.value.code == 0 and capsys.readouterr().out.startswith("chatkpi 0.")

    assert _main("kpi", "--period", "2025-03", "--config", cfg, "--warehouse", url) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["kpi_code", "agent", "value", "unit"]
    avg = next(line for line in table if line.startswith("reply_duration_avg ") and "(team)" in line)
    assert avg.split()[2:4] == ["3.590,0", "minutes"]  # 215 400 s
    assert not any(" seconds " in line for line in table)
    assert _main("kpi", "--period", "2025-03", "--format", "csv", "--config", cfg, "--warehouse", url) == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert csv_lines[0] == "kpi_code,period_type,period_start,agent_id,value,unit,basis_count,note"
    assert "reply_duration_avg,month,2025-03-01,,215400.0,seconds,1," in csv_lines
    assert _main("kpi", "--period", "2025-03", "--format", "json", "--config", cfg, "--warehouse", url) == 0
    rows = json.loads(capsys.readouterr().out)
    team_avg = next(r for r in rows if r["kpi_code"] == "reply_duration_avg" and r["agent_id"] is None)
    assert team_avg == {"kpi_code": "reply_duration_avg", "period_type": "month", "period_start": "2025-03-01", "agent_id": None,
                        "value": 215400.0, "unit": "seconds", "basis_count": 1, "note": None}
    assert len(rows) == len(csv_lines) - 1
