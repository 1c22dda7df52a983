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


TERMINATE = """
import sys
import sqlalchemy as sa
from kpi_transforms import cli
from kpi_transforms.pipeline import ingest

real = ingest.rebuild_facts


def terminated(warehouse, conn, *a, **k):  # the server ends this backend mid-batch
    pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
    admin = sa.create_engine(sys.argv[1], isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as other:
        other.exec_driver_sql(f"select pg_terminate_backend({pid})")
    admin.dispose()
    return real(warehouse, conn, *a, **k)


ingest.rebuild_facts = terminated
sys.exit(cli.main(["--warehouse", sys.argv[2], "ingest", sys.argv[3], "--lake", sys.argv[4]]))
"""


@pytest.mark.postgres
def test_backend_terminated_mid_batch_is_one_line(pg_server, pg_url, tmp_path):
    from tests.hostile.make_corpus import GOOD

    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Chat WhatsApp dengan Pak Joko.txt").write_text(GOOD, encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", TERMINATE, pg_server, pg_url, str(landing), str(tmp_path / "lake")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "warehouse connection lost, the batch was rolled back" in done.stderr, done.stderr
    assert "PendingRollbackError" not in done.stderr and "Traceback" not in done.stderr


def test_a_bug_says_so(tmp_path):
    script = ("import sys\nfrom kpi_transforms import cli\n"
              "def boom(*a, **k):\n    raise KeyError('oops')\n"
              "cli.load_config = boom\nsys.exit(cli.main(['init']))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 70
    assert "Traceback" in done.stderr and done.stderr.strip().splitlines()[-1].startswith("chatkpi: internal error (a bug")


def test_keyword_override_file_uses_the_strict_loader(tmp_path):
    from kpi_transforms.facts import keywords

    bad = tmp_path / "kata.yaml"
    bad.write_text("intents: {}\nintents: {}\n")
    with pytest.raises(ConfigError, match="duplicate key 'intents'"):
        keywords._load(str(keywords.DEFAULT_KEYWORDS), str(bad), (0.0,))
