"""Manual files win over heuristics, also when they arrive in a later batch than the chat."""

from __future__ import annotations

from pathlib import Path

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

CONFIG = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]})


def test_intent_label_in_a_later_batch_relabels_the_queue(warehouse_url, tmp_path):
    chat = tmp_path / "Chat WhatsApp dengan Budi.txt"
    chat.write_text(
        "13/01/25 09.00 - Budi: Halo kak, mau tanya harga mug\n13/01/25 09.20 - Lia Sales: Rp 25.000 kak\n",
        encoding="utf-8",
    )
    wh = Warehouse(warehouse_url)
    ingest_paths([chat], CONFIG, wh, lake_dir=tmp_path / "lake")
    (pair,) = wh.read_df("select thread_id, question_message_id, intent from marts.fct_reply_pair").to_dict("records")
    assert pair["intent"] == "quote_request"

    labels = tmp_path / "labels.csv"
    labels.write_text(f"question_message_id,intent,note\n{pair['question_message_id']},complaint,dicek manual\n", encoding="utf-8")
    report = ingest_paths([labels], CONFIG, wh, lake_dir=tmp_path / "lake")
    assert report.count("loaded") == 1
    assert wh.read_df("select intent from marts.fct_reply_pair")["intent"].tolist() == ["complaint"]
