"""Issue 20, round 3: two extractions of one source never run at once (a ``flock`` per source in
the extract folder; two real processes), and the retention of extracted files deletes only
what the warehouse holds as loaded since ``keep_landed_days``, never an unloaded, quarantined
or pending file."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kpi_transforms import cli
from kpi_transforms.core.config import ConfigError, load_config, parse_config
from kpi_transforms.extract.checkpoints import read_checkpoints
from kpi_transforms.extract.common import JOURNAL_DIR, SourceBusy, lock_path, source_lock
from kpi_transforms.extract.settings import parse_extract_settings
from kpi_transforms.pipeline.extraction import extract_and_load, pending_path, prune_landed
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse
from tests.servers import landing_state, moto_s3, timing  # noqa: F401 - moto_s3 is a fixture
from tests.test_extract_imap import export_text

ROOT = Path(__file__).resolve().parents[1]
ENV = {"CHATKPI_S3_KEY": "testing", "CHATKPI_S3_SECRET": "testing", "AWS_EC2_METADATA_DISABLED": "true",
       "GX_ANALYTICS_ENABLED": "False"}
N_OBJECTS = 120


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


# -- the lock ------------------------------------------------------------------------------------

HOLDER = """
import sys, time
from kpi_transforms.extract.common import source_lock
with source_lock(sys.argv[1], sys.argv[2], sys.argv[3]):
    print("held", flush=True)
    time.sleep(600)
"""


def hold(folder: Path, kind: str, name: str) -> subprocess.Popen:
    """Another process holding one source's lock (until killed)."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder), kind, name], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_source_lock_is_exclusive_between_processes_and_dies_with_its_holder(tmp_path):
    holder = hold(tmp_path, "imap", "sales")
    try:
        started = time.monotonic()
        with pytest.raises(SourceBusy) as busy:
            with source_lock(tmp_path, "imap", "sales", wait=0.5):
                pass
        waited = time.monotonic() - started
        assert 0.5 <= waited < 5
        message = str(busy.value)
        assert message.startswith(f"imap source 'sales' is being extracted by pid {holder.pid} since ")
        assert message.endswith("(waited 0.5 s): try again when it ends") and "\n" not in message
        # another source, or the same name of another kind, is not held
        with source_lock(tmp_path, "imap", "arsip"), source_lock(tmp_path, "s3", "sales"):
            pass
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the kernel releases the lock
        holder.wait(timeout=30)
    with source_lock(tmp_path, "imap", "sales") as path:
        assert path == lock_path(tmp_path, "imap", "sales") == tmp_path / JOURNAL_DIR / "locks" / "imap-sales.lock"
        assert path.read_text().startswith(f"pid {os.getpid()} since ")
    assert path.read_text() == ""  # the holder's name goes with the lock


@pytest.fixture(scope="module")
def s3_bucket(moto_s3):  # noqa: F811
    client = moto_s3.client()
    name = f"chatkpi-lock-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=name)
    for i in range(N_OBJECTS):
        client.put_object(Bucket=name, Key=f"exports/{i % 5}/WhatsApp Chat with Pelanggan {i:04d}.txt",
                          Body=export_text(i, f"Pelanggan {i:04d}"))
    return name


def write_config(folder: Path, server, bucket: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chatkpi.yaml"
    path.write_text(
        "timezone: Asia/Jakarta\ncompany_domains: [batiksekar.co.id]\nagents:\n  - {id: dewi, names: [Dewi CS]}\n"
        f"landing_dir: {folder / 'landing'}\nlake_dir: {folder / 'lake'}\nextract:\n{extra}"
        "  s3:\n"
        f"    - {{name: gudang, bucket: {bucket}, prefix: exports/, endpoint_url: '{server.endpoint_url}', region: us-east-1,\n"
        "       workers: 1, access_key_env: CHATKPI_S3_KEY, secret_key_env: CHATKPI_S3_SECRET}\n",
        encoding="utf-8",
    )
    return path


def chatkpi(config: Path, url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kpi_transforms.cli", "--config", str(config), "--warehouse", url, "extract", *args],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_extractions_of_one_source_never_run_together(moto_s3, s3_bucket, tmp_path):  # noqa: F811
    """A ``chatkpi extract`` started while another extracts the same source exits 2 with one
    line and touches nothing; one started with ``--wait`` runs after it and finds nothing new."""
    config = write_config(tmp_path, moto_s3, s3_bucket)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    lock = lock_path(tmp_path / "landing" / "extract", "s3", "gudang")
    first = chatkpi(config, url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if lock.is_file() and lock.read_text().startswith("pid "):
            break
        time.sleep(0.02)
    assert first.poll() is None, "the first extraction ended before the second could start"
    landed_before = landing_state(tmp_path / "landing")

    second = chatkpi(config, url)  # --wait 0: refuses at once
    _out, err = second.communicate(timeout=120)
    assert second.returncode == 2
    [line] = err.strip().splitlines()
    assert re.fullmatch(rf"chatkpi: error: s3 source 'gudang' is being extracted by pid {first.pid} since "
                        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; not started: try again when it ends", line), line
    assert landing_state(tmp_path / "landing").items() >= landed_before.items()  # the refused run deleted nothing
    third = chatkpi(config, url, "--wait", "300")  # started while the first still runs: it waits
    time.sleep(0.5)
    assert third.poll() is None or first.poll() is not None

    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert f"s3 gudang: {N_OBJECTS} fetched, {N_OBJECTS} file(s) written" in out1
    assert len(landed_before) < N_OBJECTS  # the second came while the first was landing
    out3, err3 = third.communicate(timeout=300)
    assert third.returncode == 0, err3
    assert "s3 gudang: 0 fetched, 0 file(s) written, 0 landed earlier" in out3

    warehouse = Warehouse(url)
    try:
        assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_OBJECTS
        assert warehouse.scalar("select count(distinct message_id) from marts.fct_message") == 3 * N_OBJECTS
        assert warehouse.scalar("select count(*) from audit.file_manifest") == N_OBJECTS
        assert len(read_checkpoints(warehouse, "s3", "gudang")) == N_OBJECTS
    finally:
        warehouse.dispose()
    assert len([p for p in landing_state(tmp_path / "landing") if p.startswith("extract/s3/")]) == N_OBJECTS


# -- retention -----------------------------------------------------------------------------------


def test_keep_landed_days_is_validated():
    assert parse_extract_settings({"keep_landed_days": 30}).keep_landed_days == 30
    assert parse_extract_settings({}).keep_landed_days is None
    for bad in (-1, "30", True, 1.5):
        with pytest.raises(ConfigError, match="extract.keep_landed_days: expected a whole number of days >= 0"):
            parse_extract_settings({"keep_landed_days": bad})


def test_prune_deletes_only_what_was_loaded_long_enough_ago(tmp_path):
    config = parse_config({"timezone": "Asia/Jakarta", "agents": [{"id": "dewi", "names": ["Dewi CS"]}],
                           "landing_dir": str(tmp_path / "landing"), "lake_dir": str(tmp_path / "lake")})
    out = tmp_path / "landing" / "extract"
    base = out / "s3" / "gudang"
    loaded = []
    for i in range(6):
        path = base / f"{i}" / f"etag{i}" / f"WhatsApp Chat with Pelanggan {i}.txt"
        path.parent.mkdir(parents=True)
        path.write_bytes(export_text(i, f"Pelanggan {i}"))
        loaded.append(path)
    copy = base / "9" / "etag9" / "WhatsApp Chat with Pelanggan 0.txt"  # a second copy of loaded content
    copy.parent.mkdir(parents=True)
    copy.write_bytes(loaded[0].read_bytes())
    bad = base / "bad" / "etagb" / "WhatsApp Chat with Rusak.txt"  # quarantined as a whole
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"\xff\xfe\x00garbage that is no chat\n" * 3)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    warehouse = Warehouse(url)
    report = ingest_paths([out], config, warehouse)
    assert report.count("loaded") == 6 and report.count("rejected") == 1 and report.count("skipped") == 1
    # landed after the load: not loaded yet
    fresh = base / "7" / "etag7" / "WhatsApp Chat with Pelanggan 7.txt"
    fresh.parent.mkdir(parents=True)
    fresh.write_bytes(export_text(7, "Pelanggan 7"))
    # loaded, but a pending proposal (its checkpoint not committed yet) still names it
    pending = pending_path(out, {"kind": "s3", "source": "gudang", "folder": None})
    pending.parent.mkdir(parents=True, exist_ok=True)
    pending.write_text(json.dumps({"unit": {}, "checkpoints": [], "files": [str(loaded[5].relative_to(out))]}))
    outside = out / "manual" / "WhatsApp Chat with Pelanggan 1.txt"  # not an extractor's folder
    outside.parent.mkdir(parents=True)
    outside.write_bytes(loaded[1].read_bytes())
    messages = warehouse.scalar("select count(*) from marts.fct_message")

    now = dt.datetime.now(dt.timezone.utc)
    soon = prune_landed(warehouse, out, 30, now=now + dt.timedelta(days=29))
    assert (soon.deleted, soon.kept_recent, soon.kept_not_loaded, soon.kept_in_use) == (0, 6, 2, 1)
    later = prune_landed(warehouse, out, 30, now=now + dt.timedelta(days=31))
    assert (later.deleted, later.kept_recent, later.kept_not_loaded, later.kept_in_use) == (6, 0, 2, 1)
    assert later.bytes_freed == sum(len(export_text(i, f"Pelanggan {i}")) for i in range(5)) + len(export_text(0, "Pelanggan 0"))
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and JOURNAL_DIR not in p.parts)
    assert left == sorted(str(p.relative_to(out)) for p in (bad, fresh, loaded[5], outside))
    assert not (base / "0").exists() and not (base / "9").exists()  # emptied folders go too
    assert warehouse.scalar("select count(*) from marts.fct_message") == messages  # the warehouse is untouched
    assert "pruned 6 landed file(s) loaded more than 30 day(s) ago" in later.line()
    with pytest.raises(ConfigError, match="keep_landed_days"):
        prune_landed(warehouse, out, -1)
    # an extraction of the source running in another process: prune waits for it, then gives up
    holder = hold(out, "s3", "gudang")
    try:
        with pytest.raises(SourceBusy, match=f"s3 source 'gudang' is being extracted by pid {holder.pid}"):
            prune_landed(warehouse, out, 0, lock_wait=0.3)
        assert fresh.is_file() and loaded[5].is_file()
    finally:
        holder.kill()
        holder.wait(timeout=30)
    warehouse.dispose()


def test_cli_prune_after_the_load_then_a_second_run_fetches_and_loads_nothing(moto_s3, s3_bucket, tmp_path, capsys):  # noqa: F811
    config = write_config(tmp_path, moto_s3, s3_bucket, "  keep_landed_days: 0\n")
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    started = time.perf_counter()
    assert cli.main(["--config", str(config), "--warehouse", url, "extract", "--prune"]) == 0
    timing(f"s3 extract + load + prune, {N_OBJECTS} objects", time.perf_counter() - started)
    out = capsys.readouterr().out
    assert f"s3 gudang: {N_OBJECTS} fetched, {N_OBJECTS} file(s) written" in out
    assert f"pruned {N_OBJECTS} landed file(s) loaded more than 0 day(s) ago" in out
    assert not [p for p in landing_state(tmp_path / "landing") if p.startswith("extract/s3/")]

    # the checkpoints, not the files, say what was fetched: nothing comes back, nothing loads twice
    assert cli.main(["--config", str(config), "--warehouse", url, "extract", "--prune", "--keep-days", "3"]) == 0
    out = capsys.readouterr().out
    assert "s3 gudang: 0 fetched, 0 file(s) written, 0 landed earlier" in out
    assert "pruned 0 landed file(s) loaded more than 3 day(s) ago" in out
    warehouse = Warehouse(url)
    try:
        assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_OBJECTS
        assert warehouse.scalar("select count(*) from audit.file_manifest") == N_OBJECTS
        assert warehouse.scalar("select sum(n_loaded) from audit.batch") == N_OBJECTS
    finally:
        warehouse.dispose()

    # without a retention, --prune is refused with one line (nothing deleted)
    bare = write_config(tmp_path / "bare", moto_s3, s3_bucket)
    assert cli.main(["--config", str(bare), "--warehouse", url, "extract", "--no-load", "--prune"]) == 2
    assert capsys.readouterr().err.strip() == (
        "chatkpi: error: extract --prune: set extract.keep_landed_days in the config, or give --keep-days"
    )
    assert cli.main(["--config", str(config), "--warehouse", url, "extract", "--keep-days", "3"]) == 2
    assert "--keep-days needs --prune" in capsys.readouterr().err
    assert load_config(config).extract["keep_landed_days"] == 0
