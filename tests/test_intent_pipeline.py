"""The intent model in the product (issue 14): each reply pair stores intent, intent_source and
intent_confidence (manual label > strong keyword override > model), on both warehouses."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config, parse_config
from kpi_transforms.facts.intent_model import bundled_model
from kpi_transforms.facts.intents import classify_queues
from kpi_transforms.facts.reply_pairs import fct_reply_pair
from kpi_transforms.cli import main
from kpi_transforms.metrics import review_sheet
from kpi_transforms.metrics.review_sheet import INTENT_VALUES, AuditSheetError
from kpi_transforms.pipeline import audit
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.pipeline.intent_store import active_intent_model, active_model_row, store_model
from kpi_transforms.pipeline.intents import installation_labels, labels_sha256, render_review, review_queue
from kpi_transforms.warehouse.engine import Warehouse
from tests.test_bi_views import demo_duckdb, demo_postgres, demo_url  # noqa: F401 - fixtures
from tests.test_intents import chat, frame

FIRST_ROW = review_sheet.HEADER_ROW + 1
CONFIG = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]})

CHAT = (
    "13/01/25 09.00 - Budi: Kak tumblernya yang kemarin datang pecah 3 pcs\n"  # damaged_goods override
    "13/01/25 09.20 - Lia Sales: Mohon maaf kak, kami cek ya\n"
    "13/01/25 10.00 - Budi: Oke kak saya ambil 200 pcs tumbler warna hitam ya\n"  # the model: an order
    "13/01/25 10.15 - Lia Sales: Siap kak, kami buatkan invoice\n"
    "13/01/25 11.00 - Budi: Harga bisa kurang gak kak kalau ambil 500?\n"  # the model: haggling is a quote request
    "13/01/25 11.10 - Lia Sales: Bisa kak Rp 23.000/pcs\n"
)


def test_each_pair_stores_intent_source_and_confidence(warehouse_url, tmp_path):
    path = tmp_path / "Chat WhatsApp dengan Budi.txt"
    path.write_text(CHAT, encoding="utf-8")
    wh = Warehouse(warehouse_url)
    ingest_paths([path], CONFIG, wh, lake_dir=tmp_path / "lake")
    pairs = wh.read_df("select pair_id, question_message_id, intent, intent_source, intent_confidence"
                       " from marts.fct_reply_pair order by question_at")
    assert pairs["intent"].tolist() == ["complaint", "order", "quote_request"]
    assert pairs["intent_source"].tolist() == ["rule", "model", "model"]
    # the stored confidence is the bundled model's probability of the stored intent
    model = bundled_model()
    texts = [line.split(": ", 1)[1] + "\n" for line in CHAT.splitlines()[0::2]]
    expected = model.classify(texts)["confidence"].round(6).tolist()
    assert np.allclose(pairs["intent_confidence"].astype(float), expected, atol=1e-9)
    assert (pairs["intent_confidence"].astype(float).iloc[1:] > 0.6).all()

    # a manual label wins, with confidence 1; the others keep theirs
    labels = tmp_path / "labels.csv"
    labels.write_text(f"question_message_id,intent\n{pairs['question_message_id'][1]},other\n", encoding="utf-8")
    ingest_paths([labels], CONFIG, wh, lake_dir=tmp_path / "lake")
    after = wh.read_df("select intent, intent_source, intent_confidence from marts.fct_reply_pair order by question_at")
    assert after["intent"].tolist() == ["complaint", "other", "quote_request"]
    assert after["intent_source"].tolist() == ["rule", "manual", "model"]
    assert after["intent_confidence"].astype(float).tolist()[1] == 1.0
    assert after["intent_confidence"].astype(float).tolist()[2] == pairs["intent_confidence"].astype(float).tolist()[2]

    view = wh.read_df("select intent, intent_source, intent_confidence from bi.v_reply_pairs order by question_at")
    assert view["intent_source"].tolist() == ["rule", "manual", "model"]


def test_classify_queues_precedence_and_every_message_of_the_queue():
    msgs = frame(
        chat(
            "2025-02-10 09:00 | Budi | Kak",
            "2025-02-10 09:01 | Budi | Goodie bag udah sampai",
            "2025-02-10 09:02 | Budi | tapi tali nya pada lepas semua",  # the third message decides
            "2025-02-10 09:30 | Lia | Mohon maaf kak",
            "2025-02-10 10:00 | Budi | Tokonya buka jam berapa ya kak?",
            "2025-02-10 10:05 | Lia | Jam 8 kak",
            thread="t1",
        ),
        chat("2025-02-10 11:00 | Sari | Return customer nih kak 😁 apa kabar?", "2025-02-10 11:05 | Rina | Baik kak", thread="t2"),
    )
    pairs = fct_reply_pair(msgs, BusinessCalendar.from_config(Config()))
    out = classify_queues(msgs, pairs, bundled_model())
    assert out["intent"].tolist() == ["complaint", "other", "other"]
    assert out["intent_source"].tolist()[1:] == ["model", "model"]
    assert out["intent_confidence"].between(0, 1).all()
    manual = pd.DataFrame({"thread_id": ["t2", None], "question_message_id": [None, pairs["question_message_id"][1]],
                           "intent": ["order", "quote_request"], "file_seq": [1, 1], "source_line": [1, 2]})
    labelled = classify_queues(msgs, pairs, bundled_model(), manual)
    assert labelled["intent"].tolist() == ["complaint", "quote_request", "order"]
    assert labelled["intent_source"].tolist() == [out["intent_source"][0], "manual", "manual"]
    assert labelled["intent_confidence"].tolist()[1:] == [1.0, 1.0]
    assert labelled["intent_confidence"][0] == out["intent_confidence"][0]


# -- the model in the warehouse, and the intents command --------------------------------------


def _ingest_chat(wh: Warehouse, tmp_path) -> pd.DataFrame:
    path = tmp_path / "Chat WhatsApp dengan Budi.txt"
    path.write_text(CHAT, encoding="utf-8")
    ingest_paths([path], CONFIG, wh, lake_dir=tmp_path / "lake")
    return wh.read_df("select pair_id, question_message_id, intent, intent_source, intent_confidence"
                      " from marts.fct_reply_pair order by question_at")


def test_stored_model_becomes_active_and_review_lists_low_confidence(warehouse_url, tmp_path):
    wh = Warehouse(warehouse_url)
    pairs = _ingest_chat(wh, tmp_path)
    assert active_model_row(wh) is None and active_intent_model(wh) is bundled_model()

    model = bundled_model()
    counts = {"corpus": 6396, "manual": 0, "review": 0}
    assert store_model(wh, model, counts, "abc") == model.version
    assert store_model(wh, model, counts, "abc") == model.version  # again: one row, still active
    rows = wh.read_df("select version, is_active, n_corpus, n_dev, accuracy, dev_scores, labels_sha256"
                      " from marts.intent_model_version")
    assert len(rows) == 1 and bool(rows["is_active"][0]) and rows["n_corpus"][0] == 6396
    assert rows["n_dev"][0] == model.meta["dev_scores"]["n"] == 1530
    assert rows["accuracy"][0] == model.meta["dev_scores"]["accuracy"]
    assert json.loads(rows["dev_scores"][0])["per_class"] == model.meta["dev_scores"]["per_class"]
    assert active_intent_model(wh).to_bytes() == model.to_bytes()

    # review: least confident first, manual labels never, an excerpt of the queue's text
    listed = review_queue(wh, below=1.01)
    expected = pairs.sort_values(["intent_confidence", "pair_id"])
    assert listed["pair_id"].tolist() == expected["pair_id"].tolist()
    assert listed["text"].tolist()[expected["intent"].tolist().index("order")] == "Oke kak saya ambil 200 pcs tumbler warna hitam ya"
    cut = float(pairs["intent_confidence"].median())
    assert set(review_queue(wh, below=cut)["pair_id"]) == set(pairs.loc[pairs["intent_confidence"] < cut, "pair_id"])
    assert review_queue(wh, below=0.0).empty
    assert render_review(review_queue(wh, below=0.0), 0.0) == "no queue below confidence 0.0"


def test_intents_command_train_evaluate_review(duckdb_url, tmp_path, capsys):
    wh = Warehouse(duckdb_url)
    pairs = _ingest_chat(wh, tmp_path)
    # nothing labelled and no model stored: the bundled model is current, nothing is trained
    assert main(["--warehouse", duckdb_url, "intents", "train", "--if-changed"]) == 0
    assert "not retrained (no installation labels" in capsys.readouterr().out

    labels = tmp_path / "labels.csv"
    labels.write_text(f"question_message_id,intent\n{pairs['question_message_id'][2]},order\n", encoding="utf-8")
    ingest_paths([labels], CONFIG, wh, lake_dir=tmp_path / "lake")
    found = installation_labels(wh)
    assert found[["intent", "origin"]].values.tolist() == [["order", "manual"]]
    assert found["text"].tolist() == ["Harga bisa kurang gak kak kalau ambil 500?"]

    assert main(["--warehouse", duckdb_url, "intents", "train"]) == 0
    out = capsys.readouterr().out
    assert "trained on 6396 corpus queues, 1 manual labels, 0 review-sheet labels" in out
    assert "dev split: 1530 queues, accuracy" in out
    row = active_model_row(wh)
    assert (row["n_manual"], row["n_review"], row["labels_sha256"]) == (1, 0, labels_sha256(found))
    assert row["version"] != bundled_model().version
    # the stored pairs were re-classified with the new model: sources unchanged, manual kept
    after = wh.read_df("select intent_source, intent from marts.fct_reply_pair order by question_at")
    assert after.values.tolist() == [["rule", "complaint"], ["model", "order"], ["manual", "order"]]

    assert main(["--warehouse", duckdb_url, "intents", "train", "--if-changed"]) == 0
    assert f"not retrained (labels unchanged since model {row['version']})" in capsys.readouterr().out

    assert main(["--warehouse", duckdb_url, "intents", "evaluate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"warehouse model {row['version']}" and out[1].startswith("dev split: 1530 queues")
    labelled = tmp_path / "held.csv"
    labelled.write_text("text,intent\nBarangnya tidak rusak kok kak aman semua. Makasih ya,other\n"
                        "Warna totebag nya salah kak saya pesan navy yg dikirim hitam,complaint\n", encoding="utf-8")
    assert main(["--warehouse", duckdb_url, "intents", "evaluate", "--labels", str(labelled)]) == 0
    assert "labelled file (2 rows): 2 queues, accuracy 100.0 %" in capsys.readouterr().out
    labelled.write_text("text,intent\nhalo,greeting\n", encoding="utf-8")
    assert main(["--warehouse", duckdb_url, "intents", "evaluate", "--labels", str(labelled)]) == 2
    assert "unknown intent(s) 'greeting'" in capsys.readouterr().err

    assert main(["--warehouse", duckdb_url, "intents", "review", "--below", "1.01", "--limit", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 queue(s) below confidence 1.01:" and len(out) == 3


# -- the audit review sheet's intent column ------------------------------------------------------


def test_review_sheet_intent_column_round_trip(demo_url, tmp_path):
    wh = Warehouse(demo_url)
    audit.sample_threads(wh, "2025-Q1")
    sheet = audit.write_review_sheet(wh, "2025-Q1", tmp_path / "audit.xlsx")
    ws = load_workbook(sheet)["Audit"]
    first = FIRST_ROW
    header = [c.value for c in ws[review_sheet.HEADER_ROW]]
    assert header[review_sheet.COL_INTENT - 1] == "Intent (sistem)"
    assert header[review_sheet.COL_INTENT_CONFIRMED - 1].startswith("Intent benar")
    meta = json.loads(review_sheet.read_metadata(load_workbook(sheet)[review_sheet.META_SHEET]))
    threads = [ws.cell(r, review_sheet.COL_THREAD).value for r in range(first, ws.max_row + 1)]
    stored = wh.read_df("select pair_id, intent from marts.fct_reply_pair").set_index("pair_id")["intent"]
    for i, thread in enumerate(threads):  # the stored intent of the row's queue (the thread's first of the period)
        assert ws.cell(first + i, review_sheet.COL_INTENT).value == stored[meta["pairs"][thread]]
        assert not ws.cell(first + i, review_sheet.COL_INTENT_CONFIRMED).protection.locked

    # row 1 confirmed ("Ya"), row 2 corrected, the rest left empty; no approval needed for it
    corrected = next(i for i in INTENT_VALUES if i != ws.cell(first + 1, review_sheet.COL_INTENT).value)
    wb = load_workbook(sheet)
    wb["Audit"].cell(first, review_sheet.COL_INTENT_CONFIRMED, "Ya")
    wb["Audit"].cell(first + 1, review_sheet.COL_INTENT_CONFIRMED, corrected.upper())
    wb.save(tmp_path / "filled.xlsx")
    result = audit.import_review_sheet(wh, tmp_path / "filled.xlsx")
    assert result.intents == 2 and result.reviewed == 0
    assert result.summary().endswith("; 2 intent(s) confirmed or corrected (audit.intent_review)")
    reviews = wh.read_df("select pair_id, thread_id, period, intent from audit.intent_review order by thread_id")
    expected = sorted([(meta["pairs"][threads[0]], threads[0], "2025-Q1", stored[meta["pairs"][threads[0]]]),
                       (meta["pairs"][threads[1]], threads[1], "2025-Q1", corrected)], key=lambda r: r[1])
    assert [tuple(r) for r in reviews.itertuples(index=False)] == expected
    before = wh.read_df("select * from audit.intent_review order by pair_id")
    audit.import_review_sheet(wh, tmp_path / "filled.xlsx")  # again: nothing changes
    pd.testing.assert_frame_equal(before, wh.read_df("select * from audit.intent_review order by pair_id"))
    # the next training learns from them
    labels = installation_labels(wh)
    assert sorted(labels["pair_id"]) == sorted(meta["pairs"][t] for t in threads[:2])
    assert set(labels["origin"]) == {"review"} and labels["text"].str.len().min() > 0

    wb["Audit"].cell(first, review_sheet.COL_INTENT_CONFIRMED, "keluhan")
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(AuditSheetError, match=r"row 4: 'keluhan' in the intent column"):
        audit.import_review_sheet(wh, tmp_path / "bad.xlsx")

    # a sheet exported before the intent columns existed still imports: layout 1 (format /1,
    # issue 17 moved the columns), 16 columns, rebuilt here from the new sheet and re-signed
    old = load_workbook(sheet)
    ows = old["Audit"]
    ows.unmerge_cells("A2:G2")
    for r in range(review_sheet.HEADER_ROW, first + len(threads)):
        values = [ows.cell(r, c).value for c in range(1, review_sheet.N_COLUMNS + 1)]
        v1 = [None] * review_sheet.N_COLUMNS
        for new_col, old_col in enumerate(review_sheet.V1_ORDER):
            v1[old_col - 1] = values[new_col]
        if r == review_sheet.HEADER_ROW:
            v1 = review_sheet.V1_COLUMNS["id"]
        for c, v in enumerate(v1[:review_sheet.V1_NOTES] + [None, None], start=1):
            ows.cell(r, c).value = v
    ows.cell(first, 15, "Ya")  # layout 1: Disetujui in column O
    old_meta = json.loads(review_sheet.read_metadata(old[review_sheet.META_SHEET]))
    old_meta["format"] = review_sheet.SHEET_FORMAT_V1
    old_meta["content_sha256"] = review_sheet._meta_hash(old_meta, audit.sheet_key(wh))
    review_sheet.write_metadata(old[review_sheet.META_SHEET], old_meta)
    old.save(tmp_path / "old.xlsx")
    result = audit.import_review_sheet(wh, tmp_path / "old.xlsx")
    assert (result.reviewed, result.intents) == (1, 0)
