"""Hostile input (SPEC 12): the whole corpus of tests/hostile/make_corpus.py plus one good export
is ingested as ONE batch, on DuckDB and on PostgreSQL. Every bad file ends in
``audit.rejected_file`` with a reason, or its bad lines in ``audit.rejected_row``; the good
files still load with their exact message counts; nothing is written outside the lake."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse
from tests.hostile.make_corpus import CONFIG, GOOD_MESSAGES, Case, make_corpus

with tempfile.TemporaryDirectory() as _probe:  # the case list, for test ids (tiny files)
    CASES = {case.name: case for case in make_corpus(_probe, big_line_bytes=16)}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """The corpus with its real 50 MB single-line file, generated once per test session."""
    folder = tmp_path_factory.mktemp("hostile") / "landing"
    make_corpus(folder)
    return folder


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def loaded(request, corpus, tmp_path_factory):
    """(warehouse, report, work dir) after one ingest of the whole corpus."""
    work = tmp_path_factory.mktemp(f"hostile-{request.param}")
    if request.param == "duckdb":
        url = f"duckdb:///{work / 'warehouse.duckdb'}"
        drop = None
    else:
        import sqlalchemy as sa

        server = request.getfixturevalue("pg_server")
        name = f"chatkpi_test_{uuid.uuid4().hex[:12]}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'create database "{name}"')
        url = sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)

        def drop():
            with admin.connect() as conn:
                conn.exec_driver_sql(f'drop database if exists "{name}" with (force)')
            admin.dispose()

    wh = Warehouse(url)
    report = ingest_paths([corpus], parse_config(CONFIG), wh, lake_dir=work / "lake")
    yield wh, report, work
    wh.dispose()
    if drop:
        drop()


def _file(report, name: str):
    found = [f for f in report.files if Path(f.source_file).name == name]
    assert found, f"{name} is not in the ingest report"
    return found[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_hostile_file_has_a_clear_outcome(loaded, name):
    case: Case = CASES[name]
    if case.skip:
        pytest.skip(f"{name}: {case.skip}")
    wh, report, _ = loaded
    result = _file(report, name)
    messages = wh.read_df(
        "select count(*) as n from marts.fct_message where source_file like :f", {"f": f"%{name}%"}
    )["n"].iloc[0]
    if case.outcome == "rejected_file":
        rows = wh.read_df("select source_file, reason from audit.rejected_file where file_sha256 = :s", {"s": result.sha256})
        assert len(rows) == 1, f"{name} not in audit.rejected_file"
        assert case.reason in rows["reason"].iloc[0], rows["reason"].iloc[0]
        assert result.status == "rejected" and messages == 0
        assert wh.scalar("select count(*) from audit.file_manifest where file_sha256 = :s", {"s": result.sha256}) == 0
        return
    manifest = wh.read_df("select * from audit.file_manifest where file_sha256 = :s", {"s": result.sha256})
    assert len(manifest) == 1 and result.status == "loaded", (result.status, result.reason)
    if case.messages is not None:
        assert int(manifest["messages_read"].iloc[0]) == case.messages == messages
    bad = wh.read_df(
        "select source_line, reason from audit.rejected_row where file_sha256 = :s order by source_line", {"s": result.sha256}
    )
    if case.outcome == "loaded":
        assert bad.empty, bad.to_dict("records")
        return
    assert len(bad) >= 1 and bad["reason"].str.len().min() > 5, bad.to_dict("records")
    if case.bad_lines:
        assert tuple(bad["source_line"]) == case.bad_lines
    if case.reason:
        assert case.reason in bad["reason"].iloc[0]
    assert int(manifest["quarantined_lines"].iloc[0]) == len(bad)


def test_future_dates_are_quarantined_with_reasons(loaded):
    wh, report, _ = loaded
    sari = _file(report, "Chat WhatsApp dengan Bu Sari.txt")
    reasons = wh.read_df(
        "select source_line, reason from audit.rejected_row where file_sha256 = :s order by source_line", {"s": sari.sha256}
    )["reason"].tolist()
    assert reasons[0].startswith("implausible timestamp 2099-03-14 09:05: outside 2009-01-01 .. ")
    assert "year 3000" in reasons[1]


def test_nul_characters_are_replaced_not_fatal(loaded):
    """PostgreSQL text cannot hold NUL: it becomes U+FFFD on both engines (messages and
    quarantined raw lines alike) instead of failing the whole batch's COPY."""
    wh, _, _ = loaded
    texts = wh.read_df("select text from marts.fct_message where thread_name = :t order by sent_at", {"t": "Mas Nul"})
    assert texts["text"].tolist() == ["harga\ufffd kardus?", "Rp 5.000 kak"]
    raw = wh.read_df("select raw from audit.rejected_row")["raw"].dropna()
    assert not raw.str.contains("\x00", regex=False).any()
    if not CASES["rusak.mbox"].skip:  # its broken message has NUL bytes in the body
        assert raw.str.contains("\ufffd", regex=False).any()


def test_good_exports_load_with_exact_counts(loaded):
    wh, report, _ = loaded
    joko = _file(report, "Chat WhatsApp dengan Pak Joko.txt")
    assert (joko.status, joko.messages_read, joko.messages_new) == ("loaded", GOOD_MESSAGES, GOOD_MESSAGES)
    rows = wh.read_df(
        "select sender_role, count(*) as n from marts.fct_message where thread_name = :t group by sender_role",
        {"t": "Pak Joko"},
    )
    assert dict(zip(rows["sender_role"], rows["n"].astype(int))) == {"customer": 7, "agent": 5}
    pairs = wh.read_df("select status from marts.fct_reply_pair where thread_id = :t", {"t": joko.thread_id})
    assert len(pairs) == 5 and set(pairs["status"]) == {"answered", "unanswered"}


def test_every_file_and_line_is_accounted_for(loaded, corpus):
    wh, report, _ = loaded
    names = {p.name for p in corpus.iterdir()}
    manifest = wh.read_df("select source_file, source_kind, lines_read, header_lines, continuation_lines, quarantined_lines from audit.file_manifest")
    rejected = wh.read_df("select source_file from audit.rejected_file")
    seen = {Path(p).name for p in manifest["source_file"]} | {Path(p).name for p in rejected["source_file"]}
    assert seen == names
    whatsapp = manifest[manifest["source_kind"] == "whatsapp"]
    assert len(whatsapp) == 6
    assert (whatsapp["lines_read"] == whatsapp["header_lines"] + whatsapp["continuation_lines"] + whatsapp["quarantined_lines"]).all()
    # the gate passed: its checks are recorded with the batch
    dq = wh.read_df("select success from audit.dq_result where batch_id = :b", {"b": report.batch_id})
    assert len(dq) > 20 and dq["success"].astype(bool).all()


def test_nothing_is_written_outside_the_lake(loaded, corpus):
    _, _, work = loaded
    for base in (corpus, corpus.parent, work, work / "lake", Path.cwd()):
        assert not (base / ".." / ".." / "evil.txt").resolve().exists()
        assert not (base / "evil.txt").exists()
    written = {p.relative_to(work).parts[0] for p in work.rglob("*") if p.is_file()}
    assert written <= {"lake", "warehouse.duckdb", "warehouse.duckdb.wal"}
