"""IMAP extraction against a real Dovecot on loopback (tests/servers.py) holding a 10,000-message
mailbox with WhatsApp-export mails: incremental runs, a killed run resumed, a UIDVALIDITY
change, read-only access, TLS modes and credentials that never leak."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.extract.common import Checkpoint, ExtractError
from kpi_transforms.extract.imap import (
    ImapCredentials,
    ImapSource,
    extract_imap,
    whatsapp_chat_from_subject,
)
from kpi_transforms.sources.registry import parse_file
from tests.servers import Dovecot, dovecot_binary, landing_state, timing  # noqa: F401 - dovecot_binary is a fixture

USER, PASSWORD = "sales@batiksekar.co.id", "Rahasia-Imap-7Qv!x9"
UV_USER, UV_PASSWORD = "arsip@batiksekar.co.id", "Arsip-Pw-5kT2#"
N_INBOX, N_SENT, N_EXPORTS = 7_000, 2_960, 40  # 10,000 messages
CONFIG = parse_config({"timezone": "Asia/Jakarta", "agents": [{"id": "dewi", "names": ["Dewi CS"]}],
                       "company_domains": ["batiksekar.co.id"]})
ROOT = Path(__file__).resolve().parents[1]


# -- the mailbox ---------------------------------------------------------------------------------


def customer_mail(i: int) -> bytes:
    day, minute = 1 + i % 28, i % 600
    return (
        f"From: Pelanggan {i} <pelanggan{i}@contoh-{i % 97}.co.id>\n"
        f"To: Sales Batik Sekar <{USER}>\n"
        f"Subject: Tanya harga batik tulis #{i}\n"
        f"Date: Mon, {day:02d} Sep 2025 {8 + minute // 60:02d}:{minute % 60:02d}:00 +0700\n"
        f"Message-ID: <q{i}@contoh-{i % 97}.co.id>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"Selamat siang kak,\n\nMohon info harga kain batik tulis motif parang untuk {10 + i % 90} potong.\n"
        "Apakah bisa kirim ke Surabaya minggu ini?\n\nTerima kasih,\nPelanggan\n"
    ).encode()


def agent_mail(i: int) -> bytes:
    day, minute = 1 + i % 28, i % 600 + 30
    return (
        f"From: Dewi CS <dewi@batiksekar.co.id>\nTo: <pelanggan{i}@contoh-{i % 97}.co.id>\n"
        f"Subject: Re: Tanya harga batik tulis #{i}\n"
        f"Date: Mon, {day:02d} Sep 2025 {8 + minute // 60:02d}:{minute % 60:02d}:00 +0700\n"
        f"Message-ID: <a{i}@batiksekar.co.id>\nIn-Reply-To: <q{i}@contoh-{i % 97}.co.id>\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
        f"Selamat siang kak, harga Rp {150 + i % 50}.000 per potong, bisa kirim hari Kamis.\n"
    ).encode()


def export_text(k: int, name: str) -> bytes:
    return (
        f"03/09/25 09.{k % 60:02d} - {name}: Selamat pagi kak, pesanan no {k} sudah dikirim?\n"
        f"03/09/25 09.{(k + 5) % 60:02d} - Dewi CS: Pagi kak, sudah kami kirim kemarin ya\n"
        f"03/09/25 10.{k % 60:02d} - {name}: Baik, terima kasih\n"
    ).encode()


def zipped(member: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return buf.getvalue()


def export_mail(k: int) -> tuple[bytes, str, str]:
    """An "Export chat -> e-mail" mail; returns (raw, expected landed file name, chat name)."""
    variant = k % 4
    name = f"Pelanggan WA {k:02d}" if variant != 1 else f"+62 812-3456-{7000 + k}"
    if variant == 0:  # Android, Indonesian: attachment named after the chat
        subject, filename, payload = f"Chat WhatsApp dengan {name}", f"Chat WhatsApp dengan {name}.txt", export_text(k, name)
        landed = filename
    elif variant == 1:  # attachment without the chat name: the subject gives it
        subject, filename, payload = f"WhatsApp Chat with {name}", "chat.txt", export_text(k, name)
        landed = f"WhatsApp Chat with {name}.txt"
    elif variant == 2:  # iOS zip named after the chat, _chat.txt inside
        subject, filename = f"WhatsApp Chat - {name}", f"WhatsApp Chat - {name}.zip"
        payload, landed = zipped("_chat.txt", export_text(k, name)), filename
    else:  # forwarded zip with a neutral name
        subject, filename = f"Fwd: Chat WhatsApp dengan {name}", "export.zip"
        payload, landed = zipped("_chat.txt", export_text(k, name)), f"Chat WhatsApp dengan {name}.zip"
    kind = "text/plain; charset=utf-8" if filename.endswith(".txt") else "application/zip"
    body = base64.encodebytes(payload).decode()
    raw = (
        f"From: Pemilik Toko <owner@batiksekar.co.id>\nTo: {USER}\nSubject: {subject}\n"
        f"Date: Wed, 03 Sep 2025 11:{k % 60:02d}:00 +0700\nMessage-ID: <wa{k}@batiksekar.co.id>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b0undary"\n\n'
        "--b0undary\nContent-Type: text/plain; charset=utf-8\n\nRiwayat chat terlampir.\n"
        f'--b0undary\nContent-Type: {kind}; name="{filename}"\nContent-Transfer-Encoding: base64\n'
        f'Content-Disposition: attachment; filename="{filename}"\n\n{body}--b0undary--\n'
    ).encode()
    return raw, landed, name


def flags(i: int) -> str:
    return "FS" if i % 7 == 0 else ("S" if i % 3 == 0 else "")


@pytest.fixture(scope="module")
def dovecot(dovecot_binary):  # noqa: F811 - the imported fixture
    server = Dovecot(dovecot_binary, {USER: PASSWORD, UV_USER: UV_PASSWORD})
    started = time.perf_counter()
    inbox = [(customer_mail(i), flags(i)) for i in range(N_INBOX)]
    exports = [export_mail(k) for k in range(N_EXPORTS)]
    # the export mails sit between customer mails, as they would in a real mailbox
    for k, (raw, _landed, _name) in enumerate(exports):
        inbox.insert(100 + k * 150, (raw, "S"))
    server.write_maildir(USER, "INBOX", inbox)
    server.write_maildir(USER, "Sent", [(agent_mail(i), "S") for i in range(N_SENT)])
    timing("imap mailbox written (10,000 Maildir files)", time.perf_counter() - started)
    try:
        server.start()
    except RuntimeError as exc:
        server.cleanup()
        from tests.servers import unavailable

        unavailable(str(exc))
    timing("dovecot start-up", server.startup_seconds)
    server.exports = exports
    yield server
    server.cleanup()


def source(server: Dovecot, **kwargs) -> ImapSource:
    base = dict(name="sales", host="127.0.0.1", port=server.imaps_port, security="ssl", ca_file=str(server.ca_file),
                folders=("INBOX", "Sent"))
    base.update(kwargs)
    return ImapSource(**base)


CREDS = ImapCredentials(USER, PASSWORD)


def imap_flags(server: Dovecot, user: str, password: str, folder: str) -> dict[str, tuple[str, ...]]:
    import imaplib
    import re
    import ssl

    client = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=ssl.create_default_context(cafile=str(server.ca_file)))
    client.login(user, password)
    client.select(folder, readonly=True)
    _typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
    client.logout()
    out = {}
    for item in data:
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", item)
        out[m.group(1).decode()] = tuple(sorted(f for f in m.group(2).decode().split() if f != "\\Recent"))
    return out


@pytest.fixture(scope="module")
def first_run(dovecot, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing-first")
    before = {f: imap_flags(dovecot, USER, PASSWORD, f) for f in ("INBOX", "Sent")}
    names_before = dovecot.maildir_names(USER, "INBOX") | dovecot.maildir_names(USER, "Sent")
    started = time.perf_counter()
    result = extract_imap(source(dovecot), landing, credentials=CREDS)
    seconds = time.perf_counter() - started
    timing("imap first run, 10,000 messages", seconds, files=len(result.files))
    return landing, result, before, names_before


# -- tests ---------------------------------------------------------------------------------------


def test_first_run_lands_every_message_once(dovecot, first_run):
    landing, result, _before, _names = first_run
    assert result.fetched == N_INBOX + N_EXPORTS + N_SENT == 10_000
    assert len(result.files) == 10_000 and result.duplicates == 0 and result.landed == []
    state = landing_state(landing)
    assert len(state) == 10_000 and len(set(state.values())) == 10_000
    inbox = [p for p in state if p.startswith("imap/sales/INBOX/")]
    sent = [p for p in state if p.startswith("imap/sales/Sent/")]
    wa = [p for p in state if p.startswith("imap/sales/whatsapp/")]
    assert (len(inbox), len(sent), len(wa)) == (N_INBOX, N_SENT, N_EXPORTS)
    # each .eml is the message's raw bytes as the server sends them (CRLF line ends)
    raw = customer_mail(0).replace(b"\n", b"\r\n")
    assert f"imap/sales/INBOX/{hashlib.sha256(raw).hexdigest()[:24]}.eml" in state
    assert {cp.folder: (cp.last_uid, cp.object_key) for cp in result.checkpoints} == {
        "INBOX": (N_INBOX + N_EXPORTS, ""), "Sent": (N_SENT, "")
    }
    assert all(cp.source_kind == "imap" and cp.source_name == "sales" and cp.uidvalidity for cp in result.checkpoints)


@pytest.mark.slow
def test_the_10k_mailbox_loads_in_one_batch_with_its_checkpoints(dovecot, first_run, tmp_path):
    """Issue 20's "done when" at size: ``chatkpi extract`` (a child process, the product's
    memory settings: DuckDB's 512 MB ``memory_limit``, the 1.5 GB budget) over the 10,000
    landed messages of the first run (copied with its journal, so nothing is fetched twice)
    loads all of them and the WhatsApp exports in one batch and commits both folders'
    checkpoints with it. Runs before the tests that add mail to the mailbox."""
    import shutil

    from kpi_transforms.extract.checkpoints import read_checkpoints
    from kpi_transforms.warehouse.engine import Warehouse

    landing, _result, _before, _names = first_run
    extract = tmp_path / "landing" / "extract"
    shutil.copytree(landing, extract)
    config = tmp_path / "chatkpi.yaml"
    config.write_text(
        "timezone: Asia/Jakarta\ncompany_domains: [batiksekar.co.id]\n"
        "agents:\n  - {id: dewi, names: [Dewi CS], emails: [dewi@batiksekar.co.id]}\n"
        f"landing_dir: {tmp_path / 'landing'}\nlake_dir: {tmp_path / 'lake'}\nextract:\n  imap:\n"
        f"    - {{name: sales, host: 127.0.0.1, port: {dovecot.imaps_port}, security: ssl, ca_file: '{dovecot.ca_file}',\n"
        "       folders: [INBOX, Sent], username_env: CHATKPI_IMAP_SALES_USERNAME, password_env: CHATKPI_IMAP_SALES_PASSWORD}\n",
        encoding="utf-8",
    )
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {k: v for k, v in os.environ.items() if k not in ("CHATKPI_DUCKDB_MEMORY_LIMIT", "CHATKPI_WAREHOUSE_URL")}
    env.update(CHATKPI_IMAP_SALES_USERNAME=USER, CHATKPI_IMAP_SALES_PASSWORD=PASSWORD, GX_ANALYTICS_ENABLED="False")
    started = time.perf_counter()
    with open(tmp_path / "out.txt", "w") as stdout, open(tmp_path / "err.txt", "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "kpi_transforms.cli", "--config", str(config), "--warehouse", url, "extract"],
                                cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        _pid, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    out, err = (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()
    peak_mib = usage.ru_maxrss / 1024
    timing("imap 10,000 landed mails loaded in one batch (chatkpi extract)", seconds, peak_rss_mib=round(peak_mib))
    assert proc.returncode == 0, err[-3000:]
    assert f"imap sales/INBOX: 0 fetched, 0 file(s) written, {N_INBOX + N_EXPORTS} landed earlier" in out
    assert f"imap sales/Sent: 0 fetched, 0 file(s) written, {N_SENT} landed earlier" in out
    assert "2 checkpoint proposal(s) committed with batch" in out
    assert peak_mib < 1536, f"peak RSS {peak_mib:.0f} MiB over the default memory budget"
    warehouse = Warehouse(url)
    try:
        counts = warehouse.read_df(
            "select source_kind, count(*) as files, sum(messages_new) as messages from audit.file_manifest group by 1 order by 1"
        )
        assert {r.source_kind: (r.files, r.messages) for r in counts.itertuples()} == {
            "email": (N_INBOX + N_SENT, N_INBOX + N_SENT), "whatsapp": (N_EXPORTS, 3 * N_EXPORTS)
        }
        assert warehouse.scalar("select count(*) from audit.rejected_file") == 0
        assert warehouse.scalar("select count(*) from audit.batch") == 1
        assert warehouse.scalar("select count(distinct message_id) from marts.fct_message") == N_INBOX + N_SENT + 3 * N_EXPORTS
        # one queue per customer mail, answered when its agent mail (In-Reply-To) exists; an
        # export is customer - agent - customer: one answered queue, one open
        queues = warehouse.read_df("select channel, count(*) as n, count(reply_at) as answered from marts.fct_reply_pair group by 1")
        assert {r.channel: (r.n, r.answered) for r in queues.itertuples()} == {
            "email": (N_INBOX, N_SENT), "whatsapp": (2 * N_EXPORTS, N_EXPORTS)
        }
        assert warehouse.scalar("select count(*) from marts.fct_thread") == N_INBOX + N_EXPORTS
        checkpoints = read_checkpoints(warehouse, "imap", "sales")
        assert {(cp.folder, cp.last_uid) for cp in checkpoints.values()} == {("INBOX", N_INBOX + N_EXPORTS), ("Sent", N_SENT)}
        batch = warehouse.scalar("select batch_id from audit.batch")
        assert set(warehouse.read_df("select distinct batch_id from audit.extract_checkpoint")["batch_id"]) == {batch}
    finally:
        warehouse.dispose()


def test_second_run_fetches_nothing_new(dovecot, first_run, tmp_path):
    landing, result, _before, _names = first_run
    started = time.perf_counter()
    again = extract_imap(source(dovecot), landing, result.checkpoints, credentials=CREDS)
    timing("imap second run, nothing new", time.perf_counter() - started)
    assert again.fetched == 0 and again.files == [] and again.duplicates == 0
    assert sorted((c.folder, c.uidvalidity, c.last_uid) for c in again.checkpoints) == sorted(
        (c.folder, c.uidvalidity, c.last_uid) for c in result.checkpoints
    )
    # a new mail arrives: only it is fetched
    dovecot.write_maildir(USER, "Sent", [(agent_mail(99_999), "S")])
    newer = extract_imap(source(dovecot), landing, again.checkpoints, credentials=CREDS)
    assert newer.fetched == 1 and len(newer.files) == 1
    assert [c.last_uid for c in newer.checkpoints if c.folder == "Sent"] == [N_SENT + 1]
    assert newer.files[0].read_bytes() == agent_mail(99_999).replace(b"\n", b"\r\n")


def test_extraction_is_read_only(dovecot, first_run):
    _landing, _result, before, names_before = first_run
    for folder in ("INBOX", "Sent"):
        after = imap_flags(dovecot, USER, PASSWORD, folder)
        assert {uid: f for uid, f in after.items() if uid in before[folder]} == before[folder]
    inbox_flags = before["INBOX"]
    assert sum("\\Seen" not in f for f in inbox_flags.values()) > 3_000  # unread mail stays unread
    assert sum("\\Flagged" in f for f in inbox_flags.values()) == sum(1 for i in range(N_INBOX) if i % 7 == 0)
    # Dovecot keeps flags in the Maildir file names: none renamed, none moved, none deleted
    now = dovecot.maildir_names(USER, "INBOX") | dovecot.maildir_names(USER, "Sent")
    assert names_before <= now


def test_whatsapp_export_mails_become_parseable_chat_files(dovecot, first_run):
    landing, _result, _before, _names = first_run
    files = sorted((landing / "imap" / "sales" / "whatsapp").rglob("*.*"))
    expected = {landed: name for _raw, landed, name in dovecot.exports}
    assert sorted(p.name for p in files) == sorted(expected)
    for path in files:
        results = parse_file(path, CONFIG)
        assert [r.status for r in results] == ["parsed"], (path, [r.reason for r in results])
        assert results[0].chat_name == expected[path.name]
        assert results[0].messages_read == 3
        assert results[0].threads[0].raw["sender"].tolist()[1] == "Dewi CS"


def test_killed_extraction_resumes_without_loss_or_doubles(dovecot, first_run, tmp_path):
    reference = landing_state(first_run[0])
    reference = {k: v for k, v in reference.items() if "INBOX" in k or "whatsapp" in k}  # before the extra Sent mail
    landing = tmp_path / "landing"
    script = (
        "import sys\n"
        "from kpi_transforms.extract.imap import ImapSource, extract_imap\n"
        f"src = ImapSource(name='sales', host='127.0.0.1', port={dovecot.imaps_port}, ca_file={str(dovecot.ca_file)!r},"
        " folders=('INBOX',), batch_size=200)\n"
        # a short pause per batch keeps the run long enough to be killed midway on a fast machine
        f"extract_imap(src, {str(landing)!r}, on_batch=lambda *a: __import__('time').sleep(0.05))\n"
    )
    env = {**os.environ, "CHATKPI_IMAP_USERNAME": USER, "CHATKPI_IMAP_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(1 for _ in (landing / "imap" / "sales" / "INBOX").glob("*.eml")) >= 3_000 if (landing / "imap").exists() else False:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the extraction finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=30)
    assert PASSWORD.encode() not in out + err and USER.encode() not in out + err
    partial = landing_state(landing)
    assert 3_000 <= len(partial) < len(reference)
    assert all(reference.get(path) == digest for path, digest in partial.items())  # nothing half-written

    resumed = extract_imap(source(dovecot, folders=("INBOX",)), landing, credentials=CREDS)
    final = landing_state(landing)
    assert final == reference  # nothing lost, nothing doubled, same bytes
    # landed: named by the journal; duplicates: written after the journal's last entry (the kill
    # fell inside a batch), fetched again and found in place
    assert len(resumed.landed) + len(resumed.files) + resumed.duplicates == len(reference)
    assert len(resumed.landed) >= len(partial) - 200 and resumed.duplicates <= 200  # at most one batch (batch_size=200)
    assert resumed.fetched <= len(reference) - len(partial) + 200  # the journal spared the landed part
    assert [c.last_uid for c in resumed.checkpoints] == [N_INBOX + N_EXPORTS]
    assert not [p for p in landing.rglob(".*tmp-*")]  # no temporary files left


def test_failure_mid_run_then_rerun(dovecot, first_run, tmp_path):
    reference = {k: v for k, v in landing_state(first_run[0]).items() if k.startswith("imap/sales/Sent/")}
    landing = tmp_path / "landing"
    calls = []

    def explode(folder, last_uid, files):
        calls.append(last_uid)
        if len(calls) == 3:
            raise RuntimeError("disk full (simulated)")

    with pytest.raises(ExtractError, match="folder 'Sent': RuntimeError: disk full"):
        extract_imap(source(dovecot, folders=("Sent",), batch_size=500), landing, credentials=CREDS, on_batch=explode)
    assert len(landing_state(landing)) == 1_500
    rerun = extract_imap(source(dovecot, folders=("Sent",)), landing, credentials=CREDS)
    assert len(rerun.landed) == 1_500 and rerun.fetched == N_SENT + 1 - 1_500
    assert landing_state(landing) == reference


def test_uidvalidity_change_reads_again_and_dedupes(dovecot, tmp_path):
    from imap_tools import MailBox

    import ssl

    ctx = ssl.create_default_context(cafile=str(dovecot.ca_file))
    mails = [customer_mail(50_000 + i) for i in range(30)]
    with MailBox("127.0.0.1", dovecot.imaps_port, ssl_context=ctx).login(UV_USER, UV_PASSWORD, initial_folder=None) as box:
        box.folder.create("Pelanggan")
        for raw in mails:
            box.append(raw, "Pelanggan")
    src = ImapSource(name="arsip", host="127.0.0.1", port=dovecot.imaps_port, ca_file=str(dovecot.ca_file), folders=("Pelanggan",))
    creds = ImapCredentials(UV_USER, UV_PASSWORD)
    landing = tmp_path / "landing"
    first = extract_imap(src, landing, credentials=creds)
    assert len(first.files) == 30
    (cp1,) = first.checkpoints

    # the folder is re-created (as after a server migration): new UIDVALIDITY, same mail + 5 new
    with MailBox("127.0.0.1", dovecot.imaps_port, ssl_context=ctx).login(UV_USER, UV_PASSWORD, initial_folder=None) as box:
        box.folder.delete("Pelanggan")
        time.sleep(1.1)  # Dovecot derives UIDVALIDITY from the clock
        box.folder.create("Pelanggan")
        for raw in [*mails, *(customer_mail(60_000 + i) for i in range(5))]:
            box.append(raw, "Pelanggan")
    second = extract_imap(src, landing, first.checkpoints, credentials=creds)
    (cp2,) = second.checkpoints
    assert cp2.uidvalidity != cp1.uidvalidity and cp2.last_uid == 35
    assert second.fetched == 35 and len(second.files) == 5 and second.duplicates == 30
    assert len(landing_state(landing)) == 35

    # content already loaded elsewhere (the manifest's sha256s) is not written again either
    other = tmp_path / "other"
    known = {hashlib.sha256(p.read_bytes()).hexdigest() for p in first.files}
    third = extract_imap(src, other, credentials=creds, known_sha256=known)
    assert len(third.files) == 5 and third.duplicates == 30


def test_credentials_never_in_logs_or_errors(dovecot, tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ExtractError) as wrong:
        extract_imap(source(dovecot, folders=("Sent",)), tmp_path, credentials=ImapCredentials(USER, PASSWORD + "salah"))
    assert "login failed" in str(wrong.value)
    assert PASSWORD not in str(wrong.value) and USER not in str(wrong.value)
    assert PASSWORD not in repr(ImapCredentials(USER, PASSWORD))

    monkeypatch.setenv("CHATKPI_IMAP_USERNAME", USER)
    monkeypatch.setenv("CHATKPI_IMAP_PASSWORD", PASSWORD)
    ok = extract_imap(source(dovecot, folders=("Sent",)), tmp_path / "env", [Checkpoint("imap", "sales", "Sent", "", 0, 0)])
    assert ok.fetched > 0  # credentials from the environment (uidvalidity 0 never matches: full read)
    monkeypatch.delenv("CHATKPI_IMAP_PASSWORD")
    with pytest.raises(ExtractError, match="set the environment variable\\(s\\) CHATKPI_IMAP_PASSWORD"):
        extract_imap(source(dovecot), tmp_path)
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert "imap source sales:" in logged
    assert PASSWORD not in logged and USER not in logged


def test_tls_modes(dovecot, tmp_path):
    starttls = extract_imap(source(dovecot, security="starttls", port=dovecot.imap_port, folders=("Sent",)),
                            tmp_path / "a", credentials=CREDS)
    assert starttls.fetched == N_SENT + 1
    with pytest.raises(ExtractError, match="plain IMAP is allowed only with allow_plain on a loopback host"):
        extract_imap(source(dovecot, security="plain", port=dovecot.imap_port), tmp_path / "b", credentials=CREDS)
    with pytest.raises(ExtractError, match="plain IMAP is allowed only"):
        extract_imap(ImapSource(name="x", host="imap.example.co.id", security="plain", allow_plain=True), tmp_path, credentials=CREDS)
    plain = extract_imap(source(dovecot, security="plain", allow_plain=True, port=dovecot.imap_port, folders=("Sent",)),
                         tmp_path / "c", credentials=CREDS)
    assert plain.fetched == N_SENT + 1
    with pytest.raises(ExtractError, match="CERTIFICATE_VERIFY_FAILED"):  # the self-signed certificate is not trusted
        extract_imap(source(dovecot, ca_file=None), tmp_path / "d", credentials=CREDS)
    with pytest.raises(ValueError, match="mark_seen needs readonly: false"):
        ImapSource(name="x", host="h", mark_seen=True)


@pytest.mark.parametrize(
    "subject, chat",
    [
        ("Chat WhatsApp dengan Budi Santoso", "Budi Santoso"),
        ("Fwd: WhatsApp Chat with +62 812-3456-7890", "+62 812-3456-7890"),
        ("FW: Fwd: WhatsApp-Chat mit Anna", "Anna"),
        ("Chat de WhatsApp con Lucía", "Lucía"),
        ("Re: harga batik", None),
        ("Chat WhatsApp dengan Budi.txt", None),
        (None, None),
    ],
)
def test_export_subjects(subject, chat):
    assert whatsapp_chat_from_subject(subject) == chat


def test_mark_seen_only_when_configured(dovecot, tmp_path):
    import ssl

    from imap_tools import MailBox

    ctx = ssl.create_default_context(cafile=str(dovecot.ca_file))
    with MailBox("127.0.0.1", dovecot.imaps_port, ssl_context=ctx).login(UV_USER, UV_PASSWORD, initial_folder=None) as box:
        box.folder.create("Tandai")
        for i in range(5):
            box.append(customer_mail(70_000 + i), "Tandai", flag_set=())
    src = dict(name="tandai", host="127.0.0.1", port=dovecot.imaps_port, ca_file=str(dovecot.ca_file), folders=("Tandai",))
    creds = ImapCredentials(UV_USER, UV_PASSWORD)
    extract_imap(ImapSource(**src), tmp_path / "a", credentials=creds)
    assert set(imap_flags(dovecot, UV_USER, UV_PASSWORD, "Tandai").values()) == {()}
    extract_imap(ImapSource(**src, readonly=False), tmp_path / "b", credentials=creds)  # read-write, still no flag
    assert set(imap_flags(dovecot, UV_USER, UV_PASSWORD, "Tandai").values()) == {()}
    extract_imap(ImapSource(**src, readonly=False, mark_seen=True), tmp_path / "c", credentials=creds)
    assert set(imap_flags(dovecot, UV_USER, UV_PASSWORD, "Tandai").values()) == {("\\Seen",)}


def test_export_subject_without_chat_attachment_stays_an_email(tmp_path):
    from kpi_transforms.extract.imap import _files_for

    plain = b"From: a@b.co.id\r\nSubject: Chat WhatsApp dengan Budi\r\n\r\nfotonya menyusul\r\n"
    [(path, data)] = _files_for(plain, tmp_path / "INBOX", tmp_path)
    assert path.suffix == ".eml" and data == plain
    raw, landed, _name = export_mail(3)  # forwarded zip: named after the subject
    [(path, data)] = _files_for(raw, tmp_path / "INBOX", tmp_path)
    assert path.name == landed == "Chat WhatsApp dengan Pelanggan WA 03.zip" and data.startswith(b"PK")
    encoded = raw.replace(b"Subject: Fwd: Chat WhatsApp dengan Pelanggan WA 03",
                          b"Subject: =?UTF-8?B?" + __import__("base64").b64encode("Chat WhatsApp dengan Pelanggan WA 03".encode()) + b"?=")
    [(path, _data)] = _files_for(encoded, tmp_path / "INBOX", tmp_path)
    assert path.name == "Chat WhatsApp dengan Pelanggan WA 03.zip"  # RFC 2047 subjects are decoded
