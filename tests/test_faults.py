"""Faults on the real PostgreSQL (SPEC 12: loads are transactional per batch).

(a) the connection is killed in the middle of a load: the warehouse is exactly as before and a
    retry completes; (b) two ingests of overlapping files at the same time produce no
    duplicates; (c) a load retried after a crash gives the same rows as a load that never
    crashed."""

from __future__ import annotations

import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from kpi_transforms.core.config import load_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

DEMO = Path(__file__).resolve().parents[1] / "kpi_transforms" / "demo_data"
MARCH, APRIL = sorted((DEMO / "landing").iterdir())
# Columns that differ between two correct runs: batch ids (uuid) and load timestamps.
VOLATILE = {"batch_id", "loaded_at", "rejected_at", "started_at", "finished_at", "checked_at", "computed_at", "applied_at"}


def config():
    return load_config(DEMO / "chatkpi.yaml")


# Audit tables whose rows a load writes (others, e.g. a per-warehouse random masking key, are
# not load results and differ between two databases by design).
LOAD_AUDIT = ("audit.file_manifest", "audit.rejected_file", "audit.rejected_row", "audit.batch", "audit.dq_result")


def tables(url: str) -> list[str]:
    """Every staging and marts table plus the audit tables a load writes."""
    wh = Warehouse(url)
    frame = wh.read_df(
        "select table_schema || '.' || table_name as t from information_schema.tables"
        " where table_schema in ('staging', 'marts', 'audit') and table_type = 'BASE TABLE' order by 1"
    )
    return [t for t in frame["t"] if not t.startswith("audit.") or t in LOAD_AUDIT]


def snapshot(url: str, *, drop_volatile: bool = False) -> dict[str, pd.DataFrame]:
    """Every row of every table, as sorted text (comparable across runs)."""
    wh = Warehouse(url)
    out = {}
    for table in tables(url):
        frame = wh.read_df(f"select * from {table}")
        if drop_volatile:
            frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE])
        frame = frame.astype(str)
        out[table] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for table in a:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)


def kill_own_backend(conn) -> None:
    """Terminate this connection's server process from a second connection."""
    pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
    other = sa.create_engine(conn.engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as killer:
        assert killer.exec_driver_sql(f"select pg_terminate_backend({int(pid)})").scalar() is True
    other.dispose()


@pytest.fixture
def clean_reference(pg_server, tmp_path) -> dict[str, pd.DataFrame]:
    """The contents after March then April loaded without any fault, on a database of its own."""
    import uuid

    name = f"chatkpi_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'create database "{name}"')
    url = sa.engine.make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    try:
        for drop in (MARCH, APRIL):
            ingest_paths([drop], config(), Warehouse(url), lake_dir=tmp_path / "lake")
        return snapshot(url, drop_volatile=True)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'drop database if exists "{name}" with (force)')
        admin.dispose()


def test_killed_or_crashed_load_leaves_warehouse_as_before_and_retry_gives_same_rows(
    pg_url, tmp_path, monkeypatch, clean_reference
):
    wh = Warehouse(pg_url)
    ingest_paths([MARCH], config(), wh, lake_dir=tmp_path / "lake")
    before = snapshot(pg_url)
    real = Warehouse.bulk_insert

    def fail_at(table: str, how: str):
        done = []

        def bulk_insert(self, conn, target, data):
            if target == table and not done:
                done.append(target)
                if how == "kill":
                    kill_own_backend(conn)  # the COPY below now runs on a dead connection
                else:
                    raise SystemExit("worker killed")  # the process dies after the facts were rebuilt
            return real(self, conn, target, data)

        return bulk_insert, done

    # (a) connection killed before the merge (staging COPY) and after it (the facts' COPY, after
    # their delete); (c) the process dies at the batch's very last write.
    for table, how, error in (
        ("staging.stg_message", "kill", sa.exc.DBAPIError),
        ("marts.fct_reply_pair", "kill", sa.exc.DBAPIError),
        ("audit.batch", "crash", SystemExit),
    ):
        patched, done = fail_at(table, how)
        monkeypatch.setattr(Warehouse, "bulk_insert", patched)
        with pytest.raises(error):
            ingest_paths([APRIL], config(), wh, lake_dir=tmp_path / "lake")
        assert done == [table]
        monkeypatch.setattr(Warehouse, "bulk_insert", real)
        assert_same(snapshot(pg_url), before)

    report = ingest_paths([APRIL], config(), wh, lake_dir=tmp_path / "lake")
    assert report.messages_new == 4 and report.count("loaded") == 1
    # the retried load gives exactly the rows of a load that never failed
    assert_same(snapshot(pg_url, drop_volatile=True), clean_reference)


def test_two_overlapping_ingests_at_the_same_time_make_no_duplicates(pg_url, tmp_path):
    march = sorted(MARCH.iterdir())
    april = next(APRIL.iterdir())
    first, second = [*march[:3], april], [*march[2:], april]  # overlap: one March file and April
    Warehouse(pg_url).init()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    reports = {}

    def run(key, files):
        try:
            barrier.wait(timeout=30)
            reports[key] = ingest_paths(files, config(), Warehouse(pg_url), lake_dir=tmp_path / f"lake-{key}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k, f)) for k, f in (("a", first), ("b", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    wh = Warehouse(pg_url)
    assert wh.scalar("select count(*) - count(distinct message_id) from marts.fct_message") == 0
    assert wh.scalar("select count(*) - count(distinct pair_id) from marts.fct_reply_pair") == 0
    assert wh.scalar("select count(*) - count(distinct thread_id) from marts.fct_thread") == 0
    manifest = wh.read_df("select source_file, file_sha256 from audit.file_manifest")
    assert manifest["file_sha256"].is_unique and len(manifest) == 6  # 5 March files (zip member counted once) + April
    # Every shared file was loaded by exactly one of the two batches; the other skipped it.
    statuses = {(k, Path(f.source_file).name): f.status for k, r in reports.items() for f in r.files}
    for shared in (march[2].name, april.name):
        assert sorted([statuses[("a", shared)], statuses[("b", shared)]]) == ["loaded", "skipped"], shared
    # Same contents as one sequential ingest of everything.
    assert wh.scalar("select count(*) from marts.fct_message") == 64
    assert wh.scalar("select count(*) from audit.batch") == 2
