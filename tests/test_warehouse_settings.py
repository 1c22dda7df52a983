"""Warehouse connection settings: DuckDB's memory cap (docs/PERFORMANCE.md, memory)."""

from __future__ import annotations

from kpi_transforms.warehouse.engine import Warehouse


def _memory_limit(url: str) -> str:
    return Warehouse(url).scalar("select current_setting('memory_limit')")


def test_duckdb_memory_is_capped_by_default_and_can_be_raised(tmp_path, monkeypatch):
    monkeypatch.delenv("CHATKPI_DUCKDB_MEMORY_LIMIT", raising=False)
    assert _memory_limit(f"duckdb:///{tmp_path / 'a.duckdb'}") == "488.2 MiB"  # 512 MB
    assert _memory_limit(f"duckdb:///{tmp_path / 'b.duckdb'}?memory_limit=2GB") == "1.8 GiB"
    monkeypatch.setenv("CHATKPI_DUCKDB_MEMORY_LIMIT", "1GB")
    assert _memory_limit(f"duckdb:///{tmp_path / 'c.duckdb'}") == "953.6 MiB"


def test_arrow_buffers_come_from_jemalloc_unless_the_user_chose_a_pool():
    """kpi_transforms picks jemalloc for Arrow (docs/PERFORMANCE.md): fresh processes parse and
    ingest ~0.5 s faster than with mimalloc; ARROW_DEFAULT_MEMORY_POOL still wins."""
    import os
    import subprocess
    import sys

    code = "import kpi_transforms, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    chosen = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert chosen.stdout.strip() == "jemalloc"
    env["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    kept = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert kept.stdout.strip() == "system"
