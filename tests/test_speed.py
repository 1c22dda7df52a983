"""Issue 18 (speed) and issue 15 item 5: per-batch work for many small files, and the
start-up of a real command in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def _small_chats(folder: Path, n: int) -> Path:
    """``n`` two-line WhatsApp exports, one per customer, in March and April 2025."""
    folder.mkdir(parents=True)
    for i in range(n):
        month = 3 + i % 2
        (folder / f"Chat WhatsApp dengan Pelanggan {i:05d}.txt").write_text(
            f"13/{month:02d}/25 09.{i % 60:02d} - Pelanggan {i:05d}: Halo kak, stok ada? #{i}\n"
            f"13/{month:02d}/25 10.{i % 60:02d} - Lia: Ada kak, silakan\n",
            encoding="utf-8",
        )
    return folder


def test_many_small_files_merge_as_one_chunk_and_write_one_lake_file_per_month(warehouse_url, tmp_path, monkeypatch):
    landing = _small_chats(tmp_path / "landing", 300)
    config = parse_config({"agents": [{"id": "lia", "names": ["Lia"]}]})
    wh = Warehouse(warehouse_url)
    seen = []
    real = Warehouse.merge_new

    def spy(self, conn, target, staging, data, key):
        seen.append(max(column.num_chunks for column in data.columns))
        return real(self, conn, target, staging, data, key)

    monkeypatch.setattr(Warehouse, "merge_new", spy)
    report = ingest_paths([landing], config, wh, lake_dir=tmp_path / "lake")
    assert report.count("loaded") == 300 and report.messages_new == 600
    assert seen == [1]  # one chunk, not one per file (DuckDB ran out of memory on 20,000)
    assert wh.scalar("select count(*) from marts.fct_message") == 600
    assert wh.scalar("select count(*) from marts.fct_reply_pair where status = 'answered'") == 300
    files = sorted(p.relative_to(tmp_path / "lake").parent.as_posix() for p in (tmp_path / "lake").rglob("*.parquet"))
    assert files == ["messages/local_month=2025-03", "messages/local_month=2025-04"]
    lake = ds.dataset(tmp_path / "lake" / "messages", partitioning="hive").to_table()
    assert lake.num_rows == 600 and len(set(lake.column("source_file").to_pylist())) == 300
    manifest = wh.read_df("select lake_path from audit.file_manifest")
    assert set(manifest["lake_path"]) == {str(tmp_path / "lake" / "messages")}


def test_same_files_in_other_batches_give_the_same_tables(duckdb_url, tmp_path):
    landing = _small_chats(tmp_path / "landing", 40)
    config = parse_config({"agents": [{"id": "lia", "names": ["Lia"]}]})
    one = Warehouse(duckdb_url)
    ingest_paths([landing], config, one, lake_dir=tmp_path / "lake1")
    other = Warehouse(f"duckdb:///{tmp_path / 'other.duckdb'}")
    files = sorted(landing.iterdir())
    for part in (files[25:], files[:10], files[10:25]):
        ingest_paths(part, config, other, lake_dir=tmp_path / "lake2")
    query = "select message_id, thread_id, sent_at, sender_role, text from marts.fct_message order by message_id"
    assert one.read_df(query).equals(other.read_df(query))
    pairs = "select pair_id, calendar_seconds from marts.fct_reply_pair order by pair_id"
    assert one.read_df(pairs).equals(other.read_df(pairs))


def test_ingest_command_imports_only_what_it_uses(tmp_path):
    """A fresh `chatkpi ingest` of the demo drop loads no Great Expectations, Airflow,
    openpyxl or matplotlib, and prints nothing on stderr."""
    code = (
        "import sys\n"
        "from kpi_transforms.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "heavy = sorted(m for m in ('great_expectations', 'airflow', 'openpyxl', 'matplotlib', 'scipy', 'altair') if m in sys.modules)\n"
        "print('HEAVY', heavy)\n"
        "sys.exit(rc)\n"
    )
    demo = ROOT / "kpi_transforms" / "demo_data"
    args = ["--config", str(demo / "chatkpi.yaml"), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "ingest",
            str(demo / "landing"), "--lake", str(tmp_path / "lake")]
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "GX_ANALYTICS_ENABLED": "False"})
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "HEAVY []" in out.stdout
