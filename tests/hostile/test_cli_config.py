"""Issue 15 items 6 and 7: every config defect the attack run found is one line on stderr with
exit status 2; duplicate keys and negative zip limits are refused; a billion-laughs config is
refused before it grows; warehouse URL forms that the error text recommends work."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_transforms.core.config import ConfigError, load_config

CASES = {
    "agents-int": ("agents: 5\n", "agents: expected a list"),
    "closed-periods-int": ("closed_periods: 5\n", "closed_periods: expected a list"),
    "top-level-list": ("- a\n- b\n", "must be a YAML mapping"),
    "zip-limit-word": ("zip_limits:\n  max_member_bytes: lots\n", "zip_limits.max_member_bytes: 'lots'"),
    "zip-limit-negative": ("zip_limits:\n  max_total_bytes: -1\n", "zip_limits.max_total_bytes: -1"),
    "deep-nesting": ("agents: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels"),
    "holiday-country": ("holidays:\n  country: XX\n", "holidays.country: 'XX'"),
    "duplicate-key": ("timezone: Asia/Jakarta\ntimezone: Asia/Makassar\n", "duplicate key 'timezone' (lines 1 and 2)"),
    "duplicate-nested-key": ("agents:\n  - id: a\n    names: [x]\n    names: [y]\n", "duplicate key 'names'"),
    "agent-name-mapping": ("agents:\n  - id: a\n    names: [{x: 1}]\n", "agents[0].names[0]: expected a single value"),
}



def billion_laughs() -> str:
    """A config nesting anchors 10 deep under agents[0].names (1.3 KB, 10**10 leaves)."""
    anchors = ["    - &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        anchors.append(f"    - &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "agents:\n  - id: x\n    names:\n" + "\n".join(anchors) + "\n"


def chatkpi(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpi_transforms.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_defect_is_a_one_line_error(tmp_path, name):
    text, expected = CASES[name]
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(cfg)
    assert expected in str(caught.value)
    done = chatkpi("--config", str(cfg), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "init", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and expected in done.stderr, done.stderr


def test_non_utf8_config_is_a_one_line_error(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes("timezone: Asia/Jakarta # café\n".encode("latin-1"))
    done = chatkpi("--config", str(cfg), "init", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "is not UTF-8 text" in done.stderr, done.stderr


def test_billion_laughs_is_refused_without_growing(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(billion_laughs())
    assert cfg.stat().st_size < 1500
    # the attack run saw 7.6 GB; refusing must stay within the 1.5 GB worker budget (peak RSS
    # of the largest child so far, so every earlier CLI run of this module is under it too)
    done = chatkpi("--config", str(cfg), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "init", cwd=tmp_path)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert done.returncode == 2, done.stderr
    assert peak < 1536 * 2**20, peak
    assert "aliases expand to more than 100000 values" in done.stderr and done.stderr.count("\n") == 1


def test_anchors_within_limits_still_work(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("business_hours:\n  mon: &day [[\"08:00\", \"17:00\"]]\n  tue: *day\n")
    assert load_config(cfg).business_hours[1] == ((8 * 3600, 17 * 3600),)


@pytest.mark.parametrize("url, expected", [
    ("postgresql://nobody@127.0.0.1:1/none", "cannot reach warehouse"),
    ("postgres://nobody@127.0.0.1:1/none", "cannot reach warehouse"),
    ("postgresql+psycopg2://nobody@127.0.0.1:port/none", "is not a SQLAlchemy URL"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot use warehouse URL"),
])
def test_warehouse_url_forms(tmp_path, url, expected):
    done = chatkpi("--warehouse", url, "init", cwd=tmp_path)
    assert done.returncode == 2 and expected in done.stderr and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.postgres
def test_plain_postgresql_url_works(pg_url, tmp_path):
    plain = pg_url.replace("postgresql+psycopg2://", "postgresql://")
    done = chatkpi("--warehouse", plain, "init", cwd=tmp_path)
    assert done.returncode == 0 and "applied" in done.stdout, done.stderr
