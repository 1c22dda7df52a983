"""Issue 15 item 10: phone numbers and e-mail addresses written in the forms the attack run used
are masked in bi.v_messages.text (and names), on DuckDB and PostgreSQL; prices and hours are not."""

from __future__ import annotations

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

CASES = {
    "WA 0812 34 56 78 90 ya": "WA [telepon] ya",
    "nomor ０８１２３４５６７８９０ kak": "nomor [telepon] kak",
    "hp 0 8 1 2 3 4 5 6 7 8 9": "hp [telepon]",
    "kirim ke budi @ gmail.com ya": "kirim ke [email] ya",
    'atau "budi"@x.id saja': "atau [email] saja",
    "nomor 08123456789012345 itu": "nomor [telepon] itu",
    "telp +62 812-3456-7890 / (021) 555-1234": "telp [telepon] / ([telepon]",
    "harga Rp 12.500.000 untuk 1.062.500 pcs, buka jam 08.00-17.00": "harga Rp 12.500.000 untuk 1.062.500 pcs, buka jam 08.00-17.00",
    "toko @ Jl. Merdeka 10": "toko @ Jl. Merdeka 10",
}


def test_masking_gaps_are_closed(tmp_path, warehouse_url):
    lines = [f"14/03/25 09.{i:02d} - Bu Wati: {text}" for i, text in enumerate(CASES)]
    lines += ["14/03/25 10.00 - Lia Sales: baik", "14/03/25 10.01 - ０８１２ ３４５６ ７８９０: halo"]
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Chat WhatsApp dengan Bu Wati.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    wh = Warehouse(warehouse_url)
    try:
        ingest_paths([landing], parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]}), wh, lake_dir=tmp_path / "lake")
        got = wh.read_df("select text, sender_label from bi.v_messages order by sent_at")
        assert got["text"].tolist()[: len(CASES)] == list(CASES.values())
        assert got["sender_label"].iloc[-1].startswith("[kontak ")
    finally:
        wh.dispose()
