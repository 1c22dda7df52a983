"""Extraction checkpoints in the warehouse (V017), on DuckDB and PostgreSQL: they commit only
with the caller's transaction, an IMAP checkpoint never moves backwards, a new UIDVALIDITY or
ETag replaces the row, and the table is documented."""

from __future__ import annotations

import pytest

from kpi_transforms.extract.checkpoints import read_checkpoints, stage_checkpoints
from kpi_transforms.extract.common import Checkpoint
from kpi_transforms.warehouse.engine import Warehouse

INBOX = Checkpoint("imap", "sales", "INBOX", "", uidvalidity=1717, last_uid=7040)
SENT = Checkpoint("imap", "sales", "Sent", "", uidvalidity=1718, last_uid=2960)
OBJ = Checkpoint("s3", "gudang", "ember/exports/", "exports/WhatsApp Chat with Budi.txt", etag="9f2c", object_size=120)


@pytest.fixture
def warehouse(warehouse_url):
    wh = Warehouse(warehouse_url)
    wh.init()
    yield wh
    wh.dispose()


def test_checkpoints_commit_only_with_the_callers_transaction(warehouse):
    assert read_checkpoints(warehouse, "imap", "sales") == {}
    with pytest.raises(RuntimeError, match="load failed"):
        with warehouse.begin() as conn:
            assert stage_checkpoints(warehouse, conn, [INBOX, SENT], batch_id="b1") == 2
            raise RuntimeError("load failed")  # the batch rolls back, and its checkpoints with it
    assert read_checkpoints(warehouse, "imap", "sales") == {}

    with warehouse.begin() as conn:
        stage_checkpoints(warehouse, conn, [INBOX, SENT, OBJ], batch_id="b2")
    assert read_checkpoints(warehouse, "imap", "sales") == {("INBOX", ""): INBOX, ("Sent", ""): SENT}
    assert read_checkpoints(warehouse, "imap", "sales", folder="Sent") == {("Sent", ""): SENT}
    assert read_checkpoints(warehouse, "s3", "gudang") == {("ember/exports/", OBJ.object_key): OBJ}
    rows = warehouse.read_df("select checkpoint_key, batch_id, updated_at from audit.extract_checkpoint order by checkpoint_key")
    assert rows["batch_id"].tolist() == ["b2"] * 3
    assert rows["checkpoint_key"].tolist()[0] == "imap\x1fsales\x1fINBOX\x1f"
    assert rows["updated_at"].notna().all()


def test_imap_never_backwards_new_uidvalidity_and_etag_replace(warehouse):
    with warehouse.begin() as conn:
        stage_checkpoints(warehouse, conn, [INBOX, OBJ])
    older = Checkpoint("imap", "sales", "INBOX", "", uidvalidity=1717, last_uid=5000)  # a late, overlapping run
    with warehouse.begin() as conn:
        assert stage_checkpoints(warehouse, conn, [older]) == 0
    assert read_checkpoints(warehouse, "imap", "sales")[("INBOX", "")].last_uid == 7040

    renumbered = Checkpoint("imap", "sales", "INBOX", "", uidvalidity=1999, last_uid=12)
    newer_obj = Checkpoint("s3", "gudang", "ember/exports/", OBJ.object_key, etag="a1b2", object_size=180)
    with warehouse.begin() as conn:
        assert stage_checkpoints(warehouse, conn, [renumbered, newer_obj, newer_obj]) == 2
    assert read_checkpoints(warehouse, "imap", "sales")[("INBOX", "")] == renumbered
    assert read_checkpoints(warehouse, "s3", "gudang") == {("ember/exports/", OBJ.object_key): newer_obj}
    assert warehouse.scalar("select count(*) from audit.extract_checkpoint") == 2


def test_table_and_every_column_documented(warehouse_url):
    wh = Warehouse(warehouse_url)
    wh.init()
    if wh.dialect == "postgresql":
        table = wh.scalar("select obj_description('audit.extract_checkpoint'::regclass, 'pg_class')")
        columns = wh.read_df(
            "select column_name, col_description('audit.extract_checkpoint'::regclass, ordinal_position::int) as c"
            " from information_schema.columns where table_schema = 'audit' and table_name = 'extract_checkpoint'"
        )
    else:
        table = wh.scalar("select comment from duckdb_tables() where schema_name = 'audit' and table_name = 'extract_checkpoint'")
        columns = wh.read_df(
            "select column_name, comment as c from duckdb_columns() where schema_name = 'audit' and table_name = 'extract_checkpoint'"
        )
    wh.dispose()
    assert "stage_checkpoints" in table
    assert len(columns) == 11 and columns["c"].notna().all() and (columns["c"].str.len() > 10).all()
