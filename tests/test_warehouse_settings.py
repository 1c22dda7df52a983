"""Warehouse connection settings: DuckDB's memory cap (docs/PERFORMANCE.md, memory)."""

from __future__ import annotations

from kpi_transforms.warehouse import Warehouse


def _memory_limit(url: str) -> str:
    return Warehouse(url).scalar("select current_setting('memory_limit')")


def test_duckdb_memory_is_capped_by_default_and_can_be_raised(tmp_path, monkeypatch):
    monkeypatch.delenv("CHATKPI_DUCKDB_MEMORY_LIMIT", raising=False)
    assert _memory_limit(f"duckdb:///{tmp_path / 'a.duckdb'}") == "488.2 MiB"  # 512 MB
    assert _memory_limit(f"duckdb:///{tmp_path / 'b.duckdb'}?memory_limit=2GB") == "1.8 GiB"
    monkeypatch.setenv("CHATKPI_DUCKDB_MEMORY_LIMIT", "1GB")
    assert _memory_limit(f"duckdb:///{tmp_path / 'c.duckdb'}") == "953.6 MiB"
