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


def test_many_small_files_merge_as_one_chunk(warehouse_url, tmp_path, monkeypatch):
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
    lake = ds.dataset(tmp_path / "lake" / "messages", partitioning="hive").to_table()
    assert lake.num_rows == 600 and len(set(lake.column("source_file").to_pylist())) == 300


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


# -- bounded memory (issue 15 item 1, issue 18 item 3) --------------------------------------

def _zip_of_lines(path: Path, member: str, line: bytes, total_bytes: int) -> Path:
    """A zip with one member of ``line`` repeated to ``total_bytes``, written in 1 MiB chunks."""
    import zipfile

    chunk = line * ((1 << 20) // len(line))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open(member, "w", force_zip64=True) as handle:
            written = 0
            while written < total_bytes:
                handle.write(chunk)
                written += len(chunk)
    return path


def _peak_of_child(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, int]:
    """Run ``args`` as a grandchild; its peak RSS in bytes from resource.getrusage."""
    wrapper = ("import resource, subprocess, sys\n"
               "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
               "sys.stdout.write(done.stdout); sys.stderr.write(done.stderr)\n"
               "print('PEAK_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.exit(done.returncode)\n")
    out = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True, cwd=cwd,
                         env={**os.environ, "GX_ANALYTICS_ENABLED": "False"})
    kib = int(out.stdout.rsplit("PEAK_KIB", 1)[1].split()[0])
    return out, kib * 1024


def test_zip_bombs_are_rejected_early_within_the_memory_budget(tmp_path):
    """Issue 15 item 1: a 500 MiB member of "a\\n" (a ~0.5 MB zip) peaked at 11.5 GB, 100 MiB of
    valid lines at 3.3 GB. Both are now rejected while decompressing, with a reason naming the
    budget; the rest of the batch loads; the worker's peak stays within the 1.5 GB default."""
    landing = tmp_path / "landing"
    landing.mkdir()
    bomb = _zip_of_lines(landing / "WhatsApp Chat with Bomb.zip", "_chat.txt", b"a\n", 500 << 20)
    assert bomb.stat().st_size < 2 << 20
    _zip_of_lines(landing / "WhatsApp Chat with Flood.zip", "_chat.txt",
                  b"13/01/25 09.00 - Andi: Halo kak, stok masih ada?\n", 100 << 20)
    (landing / "Chat WhatsApp dengan Budi.txt").write_text(
        "13/01/25 09.00 - Budi: Halo\n13/01/25 09.05 - Lia: Siap kak\n", encoding="utf-8")
    args = [str(Path(sys.executable).with_name("chatkpi")), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}",
            "ingest", str(landing), "--lake", str(tmp_path / "lake")]
    out, peak = _peak_of_child(args, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 loaded, 0 skipped, 2 rejected" in out.stdout
    assert peak < 1536 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    wh = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    reasons = wh.read_df("select source_file, reason from audit.rejected_file")["reason"].tolist()
    assert len(reasons) == 2 and all("memory budget" in r and "split the export" in r for r in reasons), reasons
    assert wh.scalar("select count(*) from marts.fct_message") == 2


def test_many_small_files_stay_within_the_budget_and_the_next_run_takes_the_rest(tmp_path):
    """Issue 15 item 5: 20,000 two-line chats in one batch ran DuckDB out of memory; with one Arrow
    chunk per batch they load, but peaked at 1.59 GB (~68 KB a file). Every admitted text is now
    charged memory.BYTES_PER_TEXT as well: under a small budget the batch takes what fits, the
    worker stays within it, and the next run loads the rest."""
    landing = tmp_path / "landing"
    landing.mkdir()
    for i in range(1500):
        (landing / f"WhatsApp Chat with Customer {i:04d}.txt").write_text(
            f"02/03/2025, 09:{i % 60:02d} - Customer {i:04d}: halo kak, ready stok?\n02/03/2025, 10:{i % 60:02d} - Lia: ready kak\n",
            encoding="utf-8")
    (tmp_path / "cfg.yaml").write_text("memory_budget_mb: 400\n", encoding="utf-8")
    args = [str(Path(sys.executable).with_name("chatkpi")), "--config", str(tmp_path / "cfg.yaml"),
            "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "ingest", str(landing), "--lake", str(tmp_path / "lake")]
    out, peak = _peak_of_child(args, tmp_path)
    assert out.returncode == 0, out.stderr
    summary = [line for line in out.stdout.splitlines() if line.startswith("batch ")][-1]
    loaded, deferred = (int(summary.split(": ")[1].split(" loaded")[0]), int(summary.split(", ")[1].split(" skipped")[0]))
    assert loaded + deferred == 1500 and 0 < deferred < 1500, summary
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    again, _ = _peak_of_child(args, tmp_path)
    assert again.returncode == 0 and f"{deferred} loaded" in again.stdout, again.stdout[-300:]
    assert Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}").scalar("select count(*) from marts.fct_message") == 3000


def test_a_batch_defers_what_does_not_fit_beside_the_others(tmp_path):
    from kpi_transforms.core import memory
    from kpi_transforms.sources.registry import DEFERRED, parse_file

    config = parse_config({})
    text = "".join(f"13/01/25 09.{i % 60:02d} - Andi: pesan {i}\n" for i in range(1000)).encode()
    for name in ("a", "b"):
        (tmp_path / f"Chat WhatsApp dengan {name}.txt").write_bytes(text.replace(b"Andi", name.encode()))
    (tmp_path / "Chat WhatsApp dengan big.txt").write_bytes(text * 3)
    one = memory.estimate(len(text), text.count(b"\n"))
    budget = memory.Budget(limit=int(one * 1.5), startup=0)
    (a,) = parse_file(tmp_path / "Chat WhatsApp dengan a.txt", config, budget=budget)
    (b,) = parse_file(tmp_path / "Chat WhatsApp dengan b.txt", config, budget=budget)
    (big,) = parse_file(tmp_path / "Chat WhatsApp dengan big.txt", config, budget=budget)
    assert (a.status, a.messages_read) == ("parsed", 1000)
    assert (b.status, b.reason) == ("skipped", DEFERRED)
    assert big.status == "rejected" and "memory budget" in big.reason
    # the next run (a fresh budget) takes the deferred file
    (b,) = parse_file(tmp_path / "Chat WhatsApp dengan b.txt", config, budget=memory.Budget(limit=int(one * 1.5), startup=0))
    assert b.status == "parsed"


def test_memory_budget_is_a_config_key():
    from kpi_transforms.core.config import ConfigError

    assert parse_config({}).memory_budget_mb == 1536
    assert parse_config({"memory_budget_mb": 4096}).memory_budget_mb == 4096
    for bad in (0, -1, "lots", True, 1.5):
        with pytest.raises(ConfigError, match="memory_budget_mb"):
            parse_config({"memory_budget_mb": bad})
