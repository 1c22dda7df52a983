"""Issue 15 item 12: ``audit.rejected_row.raw`` is the line as written, also for a message whose
timestamp parses but is implausible (quarantined after parsing)."""

from __future__ import annotations

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

LINES = [
    "[12/04/24 14.15.00] Budi: ada stok?",
    "[12/04/99 14.17.04] Budi: yy 99",
    "[12/04/99 14.18.00] Budi:   dua baris\t",
    "  lanjutan  ",
    "[12/04/24 14.20.00] Lia Sales: ada kak",
]


def test_raw_is_the_line_as_written(tmp_path, warehouse_url):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "WhatsApp Chat - Budi.txt").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    wh = Warehouse(warehouse_url)
    try:
        report = ingest_paths([landing], parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]}), wh,
                              lake_dir=tmp_path / "lake")
        assert report.files[0].status == "loaded", report.files[0].reason
        rows = wh.read_df("select source_line, raw, reason from audit.rejected_row order by source_line")
        assert rows["source_line"].tolist() == [2, 3, 4]
        assert rows["raw"].tolist() == LINES[1:4]
        assert rows["reason"].iloc[0].startswith("implausible timestamp 2099-04-12 14:17")
        assert rows["reason"].iloc[2] == "continuation of quarantined header line 3"
        assert wh.scalar("select count(*) from marts.fct_message") == 2
    finally:
        wh.dispose()
