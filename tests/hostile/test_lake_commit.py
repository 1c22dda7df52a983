"""Issue 15 item 13: the Parquet lake keeps only committed, gate-passed batches. A batch that
rolls back (the gate, an error) leaves no lake file; one killed mid-batch (SIGKILL) leaves only
its staging folder, which the next ingest deletes (or publishes, if that batch had committed)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline import ingest
from kpi_transforms.pipeline.lake import STAGING, publish_lake, staging_dir
from kpi_transforms.quality.gate import DataQualityError
from kpi_transforms.warehouse.engine import Warehouse
from tests.hostile.make_corpus import GOOD, GOOD_MESSAGES

CONFIG = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]})


def _lake_rows(lake: Path) -> int:
    return sum(pq.read_metadata(f).num_rows for f in (lake / "messages").rglob("*.parquet")) if (lake / "messages").exists() else 0


def _landing(tmp_path: Path, name: str, who: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / f"Chat WhatsApp dengan {who}.txt").write_text(GOOD.replace("Pak Joko", who), encoding="utf-8")
    return folder


def test_gate_rejected_batch_leaves_nothing_in_the_lake(tmp_path, duckdb_url, monkeypatch):
    real = ingest.canonicalise_batch
    monkeypatch.setattr(ingest, "canonicalise_batch", lambda *a, **k: real(*a, **k).assign(sender_role="robot"))
    wh = Warehouse(duckdb_url)
    lake = tmp_path / "lake"
    with pytest.raises(DataQualityError):
        ingest.ingest_paths([_landing(tmp_path, "a", "Pak Joko")], CONFIG, wh, lake_dir=lake)
    assert _lake_rows(lake) == 0 and not list((lake / STAGING).glob("*"))
    monkeypatch.setattr(ingest, "canonicalise_batch", real)
    report = ingest.ingest_paths([_landing(tmp_path, "b", "Pak Joko")], CONFIG, wh, lake_dir=lake)
    assert report.messages_new == GOOD_MESSAGES == _lake_rows(lake) == wh.scalar("select count(*) from marts.fct_message")
    wh.dispose()


def test_error_after_lake_write_rolls_back_the_lake_too(tmp_path, warehouse_url, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("facts failed")

    monkeypatch.setattr(ingest, "rebuild_facts", broken)
    wh = Warehouse(warehouse_url)
    lake = tmp_path / "lake"
    with pytest.raises(RuntimeError, match="facts failed"):
        ingest.ingest_paths([_landing(tmp_path, "a", "Pak Joko")], CONFIG, wh, lake_dir=lake)
    assert _lake_rows(lake) == 0 and wh.scalar("select count(*) from marts.fct_message") == 0
    wh.dispose()


KILLER = textwrap.dedent("""
    import os, signal, sys
    from kpi_transforms.core.config import parse_config
    from kpi_transforms.pipeline import ingest
    from kpi_transforms.warehouse.engine import Warehouse

    def die(*a, **k):  # the lake files of the batch are written by now; the commit never comes
        os.kill(os.getpid(), signal.SIGKILL)

    ingest.rebuild_facts = die
    ingest.ingest_paths([sys.argv[2]], parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]}),
                        Warehouse(sys.argv[1]), lake_dir=sys.argv[3])
""")


def test_killed_batch_is_swept_by_the_next_ingest(tmp_path, duckdb_url):
    lake = tmp_path / "lake"
    done = subprocess.run([sys.executable, "-c", KILLER, duckdb_url, str(_landing(tmp_path, "a", "Pak Joko")), str(lake)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == -9, done.stderr
    staged = list((lake / STAGING).iterdir())
    assert len(staged) == 1 and list(staged[0].rglob("*.parquet"))  # written, never published
    assert _lake_rows(lake) == 0
    wh = Warehouse(duckdb_url)
    report = ingest.ingest_paths([_landing(tmp_path, "b", "Bu Rina")], CONFIG, wh, lake_dir=lake)
    assert report.messages_new == GOOD_MESSAGES
    assert not list((lake / STAGING).iterdir())
    assert _lake_rows(lake) == GOOD_MESSAGES == wh.scalar("select count(*) from marts.fct_message")
    wh.dispose()


def test_committed_but_unpublished_batch_is_published(tmp_path, duckdb_url, monkeypatch):
    """Killed between the commit and the move: the next ingest finishes the move."""
    monkeypatch.setattr(ingest, "publish_lake", lambda lake, batch: 0)
    wh = Warehouse(duckdb_url)
    lake = tmp_path / "lake"
    first = ingest.ingest_paths([_landing(tmp_path, "a", "Pak Joko")], CONFIG, wh, lake_dir=lake)
    assert _lake_rows(lake) == 0 and staging_dir(lake, first.batch_id).is_dir()
    monkeypatch.setattr(ingest, "publish_lake", publish_lake)
    ingest.ingest_paths([_landing(tmp_path, "b", "Bu Rina")], CONFIG, wh, lake_dir=lake)
    assert _lake_rows(lake) == 2 * GOOD_MESSAGES == wh.scalar("select count(*) from marts.fct_message")
    assert not list((lake / STAGING).iterdir())
    wh.dispose()
