"""Issue 20's "done when", end to end through the pipeline: a real Dovecot on loopback (customers'
mail in INBOX, agents' answers in Sent, WhatsApp-export mails among them) and moto's S3 server,
extracted by the configured ``extract:`` sources and loaded in one batch with the checkpoints
(``chatkpi extract``). A second run fetches nothing and loads nothing twice; a
``chatkpi extract`` killed with SIGKILL halfway resumes from its checkpoint with nothing lost or
doubled in the landing folder or the warehouse.

The mailbox here is small (256 messages): the 10,000-message mailbox of
``tests/test_extract_imap.py`` proves the extraction at size, but loading 10,000 one-message
``.eml`` files costs about 0.1 s each in the e-mail parser and canonicaliser on this machine
(docs/PERFORMANCE.md), far beyond a test's minute.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kpi_transforms import cli
from kpi_transforms.core.config import load_config
from kpi_transforms.extract.checkpoints import read_checkpoints
from kpi_transforms.pipeline.extraction import extract_and_load, read_pending
from kpi_transforms.warehouse.engine import Warehouse
from tests.servers import Dovecot, dovecot_binary, landing_state, moto_s3, timing, unavailable  # noqa: F401 - fixtures
from tests.test_extract_imap import PASSWORD, USER, agent_mail, customer_mail, export_mail, export_text, flags

ROOT = Path(__file__).resolve().parents[1]
N_INBOX, N_SENT, N_EXPORTS = 150, 100, 6  # 256 messages
ENV = {"CHATKPI_IMAP_SALES_USERNAME": USER, "CHATKPI_IMAP_SALES_PASSWORD": PASSWORD,
       "CHATKPI_S3_KEY": "testing", "CHATKPI_S3_SECRET": "testing", "AWS_EC2_METADATA_DISABLED": "true",
       "GX_ANALYTICS_ENABLED": "False"}


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def mailbox(dovecot_binary):  # noqa: F811
    server = Dovecot(dovecot_binary, {USER: PASSWORD})
    started = time.perf_counter()
    inbox = [(customer_mail(i), flags(i)) for i in range(N_INBOX)]
    for k in range(N_EXPORTS):
        inbox.insert(10 + k * 25, (export_mail(k)[0], "S"))
    server.write_maildir(USER, "INBOX", inbox)
    server.write_maildir(USER, "Sent", [(agent_mail(i), "S") for i in range(N_SENT)])
    timing("e2e mailbox written (256 Maildir files)", time.perf_counter() - started)
    try:
        server.start()
    except RuntimeError as exc:
        server.cleanup()
        unavailable(str(exc))
    yield server
    server.cleanup()


def write_config(folder: Path, extract: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chatkpi.yaml"
    path.write_text(
        "timezone: Asia/Jakarta\ncompany_domains: [batiksekar.co.id]\n"
        "agents:\n  - {id: dewi, names: [Dewi CS], emails: [dewi@batiksekar.co.id]}\n"
        f"landing_dir: {folder / 'landing'}\nlake_dir: {folder / 'lake'}\nextract:\n{extract}",
        encoding="utf-8",
    )
    return path


def imap_config(folder: Path, server: Dovecot, batch_size: int = 100) -> Path:
    return write_config(folder, (
        "  imap:\n"
        f"    - {{name: sales, host: 127.0.0.1, port: {server.imaps_port}, security: ssl, ca_file: '{server.ca_file}',\n"
        f"       folders: [INBOX, Sent], batch_size: {batch_size},\n"
        "       username_env: CHATKPI_IMAP_SALES_USERNAME, password_env: CHATKPI_IMAP_SALES_PASSWORD}\n"
    ))


def warehouse_facts(url: str) -> dict:
    warehouse = Warehouse(url)
    try:
        return {
            "messages": sorted(warehouse.read_df("select message_id from marts.fct_message")["message_id"]),
            "files": int(warehouse.scalar("select count(*) from audit.file_manifest")),
            "rejected": int(warehouse.scalar("select count(*) from audit.rejected_file")),
            "pairs": int(warehouse.scalar("select count(*) from marts.fct_reply_pair")),
            "checkpoints": {(cp.folder, cp.last_uid) for cp in read_checkpoints(warehouse, "imap", "sales").values()},
        }
    finally:
        warehouse.dispose()


def kill_when(proc: subprocess.Popen, landed, at_least: int, timeout: float = 120) -> None:
    """SIGKILL ``proc`` as soon as ``landed()`` counts ``at_least`` files."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if landed() >= at_least:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the extraction finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


@pytest.fixture(scope="module")
def imap_reference(mailbox, tmp_path_factory):
    """One uninterrupted ``chatkpi extract`` of the whole mailbox into a fresh DuckDB."""
    folder = tmp_path_factory.mktemp("imap-reference")
    url = f"duckdb:///{folder / 'w.duckdb'}"
    os.environ.update(ENV)
    started = time.perf_counter()
    outcome = extract_and_load(load_config(imap_config(folder, mailbox)), Warehouse(url))
    seconds = time.perf_counter() - started
    timing("e2e imap extract + load, 256 messages", seconds)
    return folder, url, outcome, seconds


def test_mailbox_extracted_and_loaded_once(imap_reference):
    folder, url, outcome, seconds = imap_reference
    assert outcome.errors == []
    assert sum(s["fetched"] for s in outcome.summaries) == N_INBOX + N_EXPORTS + N_SENT == 256
    report = outcome.report
    # 250 mails + 6 WhatsApp exports (.txt and .zip of one chat each)
    assert report.count("loaded") == 256 and report.count("rejected") == 0
    facts = warehouse_facts(url)
    assert len(facts["messages"]) == len(set(facts["messages"])) == N_INBOX + N_SENT + 3 * N_EXPORTS
    assert facts["checkpoints"] == {("INBOX", N_INBOX + N_EXPORTS), ("Sent", N_SENT)}
    assert facts["pairs"] > 0
    assert read_pending(folder / "landing" / "extract") == []


def test_second_run_fetches_nothing_and_loads_nothing_twice(mailbox, imap_reference, capsys):
    folder, url, _outcome, _seconds = imap_reference
    before = warehouse_facts(url)
    started = time.perf_counter()
    code = cli.main(["--config", str(folder / "chatkpi.yaml"), "--warehouse", url, "extract"])
    timing("e2e imap second run, nothing new", time.perf_counter() - started)
    out = capsys.readouterr().out
    assert code == 0
    assert "imap sales/INBOX: 0 fetched, 0 file(s) written" in out and "imap sales/Sent: 0 fetched, 0 file(s) written" in out
    assert warehouse_facts(url) == before


def test_killed_extract_resumes_from_its_checkpoint(mailbox, imap_reference, tmp_path):
    ref_folder, ref_url, _outcome, _seconds = imap_reference
    config = imap_config(tmp_path, mailbox, batch_size=2)  # a durable journal per 2 mails: slow enough to be killed halfway
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    inbox = tmp_path / "landing" / "extract" / "imap" / "sales" / "INBOX"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpi_transforms.cli", "--config", str(config), "--warehouse", url, "extract"],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    kill_when(proc, lambda: sum(1 for _ in inbox.glob("*.eml")) if inbox.is_dir() else 0, 60)
    partial = landing_state(tmp_path / "landing")
    reference = landing_state(ref_folder / "landing")
    assert 60 <= len(partial) < len(reference)
    assert all(reference.get(path) == digest for path, digest in partial.items())  # nothing half-written
    if (tmp_path / "w.duckdb").exists():
        assert warehouse_facts(url)["checkpoints"] == set()  # killed before any load: no checkpoint

    started = time.perf_counter()
    resumed = extract_and_load(load_config(config), Warehouse(url))
    timing("e2e imap resumed after SIGKILL", time.perf_counter() - started)
    inbox_run = next(s for s in resumed.summaries if s["unit"] == "imap sales/INBOX")
    assert inbox_run["landed"] >= len(partial) - 2  # the journal spared what was landed
    assert inbox_run["fetched"] <= N_INBOX + N_EXPORTS - len(partial) + 2
    assert landing_state(tmp_path / "landing") == reference  # nothing lost, nothing doubled
    assert warehouse_facts(url) == warehouse_facts(ref_url)  # same messages, files, pairs, checkpoints


# -- object storage ------------------------------------------------------------------------------

N_OBJECTS = 240


@pytest.fixture(scope="module")
def s3_bucket(moto_s3):  # noqa: F811
    client = moto_s3.client()
    name = f"chatkpi-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    for i in range(N_OBJECTS):
        client.put_object(Bucket=name, Key=f"exports/{i % 7}/WhatsApp Chat with Pelanggan {i:04d}.txt",
                          Body=export_text(i, f"Pelanggan {i:04d}"))
    return name


def s3_config(folder: Path, server, bucket: str) -> Path:
    return write_config(folder, (
        "  s3:\n"
        f"    - {{name: gudang, bucket: {bucket}, prefix: exports/, endpoint_url: '{server.endpoint_url}', region: us-east-1,\n"
        "       workers: 1, access_key_env: CHATKPI_S3_KEY, secret_key_env: CHATKPI_S3_SECRET}\n"
    ))


def test_s3_killed_extract_resumes_then_nothing_twice(moto_s3, s3_bucket, tmp_path):  # noqa: F811
    config = s3_config(tmp_path, moto_s3, s3_bucket)
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    landing = tmp_path / "landing" / "extract" / "s3" / "gudang"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpi_transforms.cli", "--config", str(config), "--warehouse", url, "extract"],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    kill_when(proc, lambda: sum(1 for _ in landing.rglob("*.txt")) if landing.is_dir() else 0, 60)
    partial = landing_state(tmp_path / "landing")
    assert 60 <= len(partial) < N_OBJECTS

    started = time.perf_counter()
    resumed = extract_and_load(load_config(config), Warehouse(url))
    timing("e2e s3 resumed after SIGKILL, 240 objects", time.perf_counter() - started)
    assert resumed.errors == []
    [run] = resumed.summaries
    assert run["landed"] == len(partial) and run["fetched"] == N_OBJECTS - len(partial)
    assert resumed.report.count("loaded") == N_OBJECTS and resumed.report.messages_new == 3 * N_OBJECTS
    warehouse = Warehouse(url)
    assert len(read_checkpoints(warehouse, "s3", "gudang")) == N_OBJECTS
    assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_OBJECTS
    warehouse.dispose()

    again = extract_and_load(load_config(config), Warehouse(url))
    assert [(s["fetched"], s["files"], s["landed"]) for s in again.summaries] == [(0, 0, 0)]
    assert again.report.messages_new == 0 and again.report.count("loaded") == 0
    warehouse = Warehouse(url)
    assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_OBJECTS
    assert warehouse.scalar("select count(distinct message_id) from marts.fct_message") == 3 * N_OBJECTS
    warehouse.dispose()
