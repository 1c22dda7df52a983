"""The intent model (kpi_transforms/facts/intent_model.py) and its corpus (intent_corpus.py).

One model is trained per test session on the shipped train split (about 30 s on the 2-core
machines); the dev split is never trained on. Thresholds below are what the model reaches on
the dev split, a little rounded down (docs/DECISIONS.md, "Intent classification").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpi_transforms.facts import intent_corpus
from kpi_transforms.facts.intent_model import (
    BUNDLED_MODEL,
    CLASSES,
    RULES,
    IntentModel,
    evaluate,
    format_report,
    rule_hits,
    scores,
    sklearn_logits,
    train,
    train_with_sklearn,
)
from kpi_transforms.facts.intent_text import normalise_many

ROOT = Path(__file__).resolve().parents[1]
DEV_ACCURACY_MIN = 0.94
DEV_COMPLAINT_PRECISION_MIN = 0.95  # the issue's target; 0.96 until the dev split grew by 150 new, harder queues (DECISIONS, issue 14 item 1)
BASE_ACCURACY_MIN = 0.95  # the hand-written dev queues alone, without their variants


@pytest.fixture(scope="module")
def trained():
    return train_with_sklearn()


@pytest.fixture(scope="module")
def model(trained) -> IntentModel:
    return trained[0]


@pytest.fixture(scope="module")
def dev() -> pd.DataFrame:
    return intent_corpus.load_corpus("dev")


# -- the corpus ---------------------------------------------------------------------------------


def test_corpus_size_splits_and_labels():
    train_rows, dev_rows = intent_corpus.load_corpus("train"), intent_corpus.load_corpus("dev")
    assert list(train_rows.columns) == list(intent_corpus.COLUMNS)
    assert len(train_rows) + len(dev_rows) >= 1500 and len(dev_rows) >= 300
    for frame in (train_rows, dev_rows):
        assert set(frame["intent"]) == set(CLASSES)
        assert frame["queue_id"].is_unique and (frame["text"].str.strip() != "").all()
        assert frame["text"].str.contains("\n").sum() >= 100  # multi-message queues
    base = lambda frame: set(frame["queue_id"].str.rsplit("-", n=1).str[0])  # noqa: E731
    assert not base(train_rows) & base(dev_rows), "a base queue and its variants stay in one split"
    hand_written = intent_corpus.read_base()
    assert len(hand_written) >= 1000
    assert all(intent_corpus.split_of(t) == ("dev" if f"{b}-0" in set(dev_rows["queue_id"]) else "train")
               for b, t in zip(hand_written["base_id"], hand_written["text"]))


def test_shipped_corpus_files_are_the_build_of_the_base_files():
    run = subprocess.run([sys.executable, "-m", "kpi_transforms.facts.intent_corpus", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("train: ")


def test_augmentation_is_deterministic_and_keeps_the_label():
    text = "Kak tumbler nya penyok 3 pcs, tolong diganti ya"
    assert intent_corpus.augment(text, "x/1/0") == intent_corpus.augment(text, "x/1/0")
    assert intent_corpus.augment(text, "x/1/0") != intent_corpus.augment(text, "x/2/0")


# -- NumPy inference against scikit-learn --------------------------------------------------------


def test_numpy_inference_equals_scikit_learn(trained, dev):
    model, vectorizer, classifier = trained
    texts = pd.concat([dev["text"], intent_corpus.load_corpus("train")["text"].iloc[:500],
                       pd.Series(["", "???", "zzzz qqqq"])], ignore_index=True)
    normalised = list(normalise_many(texts))
    ours = model.logits(normalised, normalised=True)
    theirs = sklearn_logits(vectorizer, classifier, normalised)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()
    from kpi_transforms.facts.intent_model import design_matrix

    theirs_proba = classifier.predict_proba(design_matrix(vectorizer.transform(normalised), vectorizer.get_feature_names_out().tolist()))
    np.testing.assert_allclose(model.predict_proba(normalised, normalised=True, calibrated=False), theirs_proba, atol=1e-9)
    assert (np.array(CLASSES)[theirs_proba.argmax(axis=1)] == np.array(CLASSES)[model.predict_proba(texts).argmax(axis=1)]).all()


def test_inference_imports_no_scikit_learn(model, tmp_path):
    path = tmp_path / "intent.model"
    path.write_bytes(model.to_bytes())
    code = (
        "import sys\n"
        "from kpi_transforms.facts.intent_model import IntentModel\n"
        f"m = IntentModel.from_bytes(open({str(path)!r}, 'rb').read())\n"
        "r = m.classify(['Kak tumblernya pecah 3', 'brp hrg nya kak?'])\n"
        "print(','.join(r['intent']))\n"
        "print('sklearn' in sys.modules, 'scipy' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["complaint,quote_request", "False", "False"]


# -- storage without pickle ----------------------------------------------------------------------


def test_bytes_and_json_round_trip(model, dev):
    blob = model.to_bytes()
    assert blob == model.to_bytes()  # deterministic
    for loaded in (IntentModel.from_bytes(blob), IntentModel.from_json(model.to_json())):
        assert loaded.vocabulary == model.vocabulary and loaded.classes == model.classes
        assert np.array_equal(loaded.idf, model.idf) and np.array_equal(loaded.coef, model.coef)
        assert np.array_equal(loaded.intercept, model.intercept) and loaded.temperature == model.temperature
        assert loaded.meta == model.meta and loaded.version == model.version
        pd.testing.assert_frame_equal(loaded.classify(dev["text"]), model.classify(dev["text"]))


def test_stored_form_records_what_it_was_trained_on(model):
    meta = model.meta
    assert meta["corpus_sha256"] == intent_corpus.corpus_sha256()
    assert meta["n_train"] == len(intent_corpus.load_corpus("train")) and meta["n_extra"] == 0
    assert meta["dev_scores"]["n"] == len(intent_corpus.load_corpus("dev"))
    assert set(meta["dev_scores"]["per_class"]) == set(CLASSES)
    assert meta["trained_with"].startswith("scikit-learn ")
    from kpi_transforms.facts.intent_text import words_sha256

    assert meta["words_sha256"] == words_sha256()


def test_bad_blobs_are_rejected(model):
    blob = model.to_bytes()
    with pytest.raises(ValueError, match="not a model blob"):
        IntentModel.from_bytes(b"\x80\x04pickle")
    import zlib

    body = zlib.decompress(blob)
    with pytest.raises(ValueError, match="truncated or padded"):
        IntentModel.from_bytes(zlib.compress(body[:-8]))
    with pytest.raises(ValueError, match="bad magic"):
        IntentModel.from_bytes(zlib.compress(b"XXXX" + body[4:]))
    doc = model.to_json().replace('"normaliser_version":"', '"normaliser_version":"old-')
    with pytest.raises(ValueError, match="retrain it"):
        IntentModel.from_json(doc)


# -- accuracy on the dev split -------------------------------------------------------------------


def test_dev_accuracy_and_complaint_precision(model, dev):
    result = evaluate(model, dev)
    assert result["accuracy"] >= DEV_ACCURACY_MIN, format_report(result)
    assert result["per_class"]["complaint"]["precision"] >= DEV_COMPLAINT_PRECISION_MIN, format_report(result)
    assert result["base_only"]["accuracy"] >= BASE_ACCURACY_MIN, format_report(result)
    for name in CLASSES:
        assert result["per_class"][name]["recall"] >= 0.85, format_report(result)
    assert result == model.meta["dev_scores"]


ISSUE_MISSES = [
    ("Harga bisa kurang gak kak kalau ambil 500?", "quote_request"),
    ("Barangnya tidak rusak kok kak, aman semua. Makasih ya", "other"),
    ("Tumblernya rusak ga kalau dicuci pakai mesin cuci piring?", "quote_request"),
    ("Return customer nih kak 😁 apa kabar?", "other"),
    ("Oke kak saya ambil 200 pcs tumbler warna hitam ya", "order"),
    ("Warna totebag nya salah kak, saya pesan navy yg dikirim hitam", "complaint"),
    ("Kak\nGoodie bag udah sampai\ntapi tali nya pada lepas…", "complaint"),
    ("Kak saya mau order lagi 100 pcs, tapi yg kemarin ada 8 pcs yg tutupnya gak rapat", "complaint"),
    ("Tokonya buka jam berapa ya kak?", "other"),
]


@pytest.mark.parametrize(("text", "intent"), ISSUE_MISSES)
def test_the_typical_misses_of_issue_14(model, text, intent):
    assert model.predict([text])[0] == intent


def test_classify_columns_sources_and_priority(model):
    out = model.classify(["Kak tumblernya pecah 3 pcs", "Kak tumblernya tidak pecah kok, aman", "brp hrg nya kak?", None, ""])
    assert list(out.columns) == ["intent", "confidence", "source", "rule"]
    assert out["intent"].tolist() == ["complaint", "other", "quote_request", "other", "other"]
    assert out["source"].tolist() == ["rule", "model", "model", "model", "model"]
    assert out["rule"].iloc[0] == "damaged_goods" and out["rule"].iloc[1:].isna().all()
    assert ((out["confidence"] > 0) & (out["confidence"] <= 1)).all()
    # a complaint override wins over the model's order (complaint > order)
    reorder = "Oke kak lanjut order 300 pcs. Tapi yg kemarin 2 pcs pecah"
    assert model.classify([reorder])[["intent", "source"]].values.tolist() == [["complaint", "rule"]]
    assert model.classify([]).shape == (0, 4)


def test_overrides_are_precise_on_the_whole_corpus():
    for split in intent_corpus.SPLITS:
        frame = intent_corpus.load_corpus(split)
        hits = rule_hits(list(normalise_many(frame["text"])))
        for rule in RULES:
            fired = np.array([rule.name in h for h in hits])
            assert fired.sum() >= 3, rule.name
            wrong = frame.loc[fired & (frame["intent"] != rule.intent).to_numpy(), "text"].tolist()
            assert not wrong, (rule.name, wrong[:3])


def test_overrides_hold_back_on_negation_questions_and_settled_complaints():
    texts = ["barangnya gak ada yang rusak", "rusak ga kalau dicuci?", "kalau nanti ada yang pecah bisa retur?",
             "kemarin sempat ada yang rusak tapi sudah diganti, makasih", "Kak tumbler nya rsak 2"]
    assert [bool(h) for h in rule_hits(list(normalise_many(texts)))] == [False, False, False, False, True]


# -- the installation's own labels and determinism ----------------------------------------------


def test_extra_labels_change_the_prediction_of_a_similar_text(model):
    # A wholesaler whose buyers collect their orders with their own trucks labels "our fleet
    # comes to load" as `order` (arranging the order's delivery); in the shipped corpus a
    # pick-up question is `other`.
    text = "Kak armada kami datang hari Jumat untuk ambil barang ya"
    extra = pd.DataFrame({"text": ["Kak armada kami jemput barang besok pagi ya", "Truk armada kami datang jam 9 untuk muat pesanan",
                                   "Kak, barang kami ambil pakai armada sendiri hari Senin", "armada kami sudah jalan ke gudang kakak ya"],
                          "intent": ["order", "order", "order", "order"]})
    assert model.predict([text])[0] == "other"
    retrained = train(extra, calibrate=False)
    assert retrained.predict([text])[0] == "order"
    assert retrained.meta["n_extra"] == 4 and retrained.meta["extra_sha256"]
    # and the rest stays as it was: the extra rows move texts like them, not the dev split
    dev_rows = intent_corpus.load_corpus("dev")
    assert retrained.meta["dev_scores"]["accuracy"] >= model.meta["dev_scores"]["accuracy"] - 0.01
    assert (retrained.predict(dev_rows["text"]) == model.predict(dev_rows["text"])).mean() >= 0.98


def test_extra_labels_with_an_unknown_intent_are_refused():
    with pytest.raises(ValueError, match="unknown intent"):
        train(pd.DataFrame({"text": ["halo"], "intent": ["greeting"]}), calibrate=False)


def test_training_is_deterministic(model):
    again = train()
    assert again.to_bytes() == model.to_bytes()


def test_bundled_model_is_the_build_of_the_shipped_corpus(model):
    # `python -m kpi_transforms.facts.intent_model --bundle` rewrites it: the same bytes
    assert BUNDLED_MODEL.read_bytes() == model.to_bytes()
    assert IntentModel.from_bytes(BUNDLED_MODEL.read_bytes()).meta["dev_scores"] == model.meta["dev_scores"]


# -- reporting -----------------------------------------------------------------------------------


def test_scores_by_hand():
    truth = ["complaint", "complaint", "order", "other", "quote_request"]
    predicted = ["complaint", "order", "order", "other", "other"]
    s = scores(truth, predicted)
    assert s["accuracy"] == 0.6
    assert s["per_class"]["complaint"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert s["per_class"]["order"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "support": 1}
    assert s["per_class"]["quote_request"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert s["confusion"][0] == [1, 0, 1, 0]


def test_evaluate_command_prints_the_dev_report(model, tmp_path):
    path = tmp_path / "intent.model"
    path.write_bytes(model.to_bytes())
    run = subprocess.run([sys.executable, "-m", "kpi_transforms.facts.intent_model", "--evaluate", "--model", str(path)],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    lines = run.stdout.splitlines()
    acc = model.meta["dev_scores"]["accuracy"]
    assert lines[0] == f"dev split: {model.meta['dev_scores']['n']} queues, accuracy {100 * acc:.1f} %"
    assert [line.split()[0] for line in lines[2:6]] == list(CLASSES)
