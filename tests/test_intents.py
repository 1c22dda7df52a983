"""Intents of customer queues and quote responses (SPEC 7) on tiny hand-made chats.

Times are Asia/Jakarta local; Mon 2025-02-10 .. Fri 02-14 has no holiday; hours Mon-Fri 08-17.
The chat builders live in tests/builders.py.
"""

from __future__ import annotations

import pandas as pd
import pytest

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config, ConfigError
from kpi_transforms.facts.intents import intents_of_texts, queue_intents
from kpi_transforms.facts.keywords import KEYWORDS_ENV, contains_any, load_keywords
from kpi_transforms.facts.quotes import QUOTE_COLUMNS, fct_quote_response, quote_positions
from kpi_transforms.facts.reply_pairs import fct_reply_pair
from kpi_transforms.facts.thread_view import queue_texts, thread_view
from tests.builders import chat, with_intents
from tests.builders import chat_frame as frame


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar.from_config(Config())


@pytest.fixture(scope="module")
def kw():
    return load_keywords()


# --------------------------------------------------------------------------------------------
# keyword rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, intent",
    [
        # informal Indonesian spellings of a price / stock question
        ("kak brp ya?", "quote_request"),
        ("hrg mug custom?", "quote_request"),
        ("tumbler ready gk kak", "quote_request"),
        ("Ready kak?", "quote_request"),
        ("stok warna merah masih ada?", "quote_request"),
        ("minimal order brp pcs", "quote_request"),
        ("bisa sablon logo kantor?", "quote_request"),
        ("mau minta penawaran untuk 500 pcs", "quote_request"),
        ("BRANDING bisa full color?", "quote_request"),
        # complaints
        ("barangnya RUSAK kak", "complaint"),
        ("ada yang cacat 3", "complaint"),
        ("jumlahnya kurang 2", "complaint"),
        ("salah kirim warna", "complaint"),
        ("saya mau retur", "complaint"),
        ("refund dong kak", "complaint"),
        ("mugnya pecah", "complaint"),
        ("barang tdk sesuai pesanan", "complaint"),
        ("gak sesuai foto", "complaint"),
        ("mau komplain", "complaint"),
        ("paket blm sampai", "complaint"),
        # orders
        ("sudah transfer ya kak", "order"),
        ("ini bukti transfer", "order"),
        ("udah tf kak", "order"),
        ("DP 50% dulu ya", "order"),
        ("PO saya kirim via email", "order"),
        # English
        ("how much for 100 pcs?", "quote_request"),
        ("is it in stock?", "quote_request"),
        ("the item arrived damaged", "complaint"),
        ("wrong item sent", "complaint"),
        ("proof of payment attached", "order"),
        # nothing
        ("halo kak", "other"),
        ("terima kasih", "other"),
    ],
)
def test_keyword_rules_cover_informal_spelling(text, intent, kw):
    assert intents_of_texts(pd.Series([text]), kw)[0] == intent


@pytest.mark.parametrize(
    "text, intent",
    [
        ("perusak", "other"),  # whole words only: "rusak" inside another word does not count
        ("stoknya", "other"),  # neither does "stok" as a prefix
        ("tfx", "other"),
        ("kurang lebih 100 pcs", "other"),  # "kurang lebih" = about: excluded phrase, not a complaint
        ("kurang tau kak", "other"),
        ("kurang lebih 100 pcs, harganya?", "quote_request"),
        ("tidak\n  sesuai", "complaint"),  # a space in a phrase matches any whitespace
    ],
)
def test_whole_words_and_excluded_phrases(text, intent, kw):
    assert intents_of_texts(pd.Series([text]), kw)[0] == intent


def test_priority_complaint_over_quote_over_order(kw):
    texts = pd.Series(["rusak, minta harga yang baru", "harga berapa? sudah transfer", "sudah transfer, halo"])
    assert intents_of_texts(texts, kw).tolist() == ["complaint", "quote_request", "order"]


def test_queue_text_is_all_its_customer_messages_and_only_theirs(cal, kw):
    msgs = frame(chat(
        "2025-02-10 10:00 | Budi | Halo kak",
        "2025-02-10 10:01 | Bot | Terima kasih, barang rusak? hubungi kami",  # agent side: ignored
        "2025-02-10 10:02 | Budi | mau tanya hrg mug",
        "2025-02-10 10:10 | Lia | Rp 25.000 kak",
        "2025-02-10 10:30 | Budi | oke kak",
        "2025-02-10 10:40 | Lia | siap",
    ))
    pairs = with_intents(msgs, cal, kw)
    view = thread_view(msgs, pairs)
    assert queue_texts(view, len(pairs)).tolist() == ["Halo kak\nmau tanya hrg mug\n", "oke kak\n"]
    assert pairs["intent"].tolist() == ["quote_request", "other"]


def test_manual_labels_win_question_over_thread(cal, kw):
    msgs = frame(
        chat("2025-02-10 10:00 | Budi | harga mug?", "2025-02-10 10:05 | Lia | 25rb",
             "2025-02-11 10:00 | Budi | oke", "2025-02-11 10:05 | Lia | siap", thread="budi"),
        chat("2025-02-10 11:00 | Sari | halo", "2025-02-10 11:05 | Rina | halo", thread="sari"),
    )
    pairs = fct_reply_pair(msgs, cal).sort_values("question_at", kind="stable").reset_index(drop=True)
    first_budi = pairs.loc[0, "question_message_id"]
    manual = pd.DataFrame({
        "thread_id": ["budi", "budi", "sari", "sari"],
        "question_message_id": [None, first_budi, None, None],
        "intent": ["complaint", "order", "Bogus", "quote_request"],
        "file_seq": [1, 1, 1, 2], "source_line": [1, 2, 3, 4],
    })
    intents = queue_intents(msgs, pairs, kw, manual)
    # budi's first queue: its own label (order); budi's second: the thread label; sari: the
    # valid label (an unknown intent is ignored with a warning)
    assert pairs["thread_id"].tolist() == ["budi", "sari", "budi"]
    assert intents.tolist() == ["order", "quote_request", "complaint"]


def test_keyword_file_next_to_the_config_replaces_a_list(tmp_path, monkeypatch):
    monkeypatch.delenv(KEYWORDS_ENV, raising=False)
    (tmp_path / "intent_keywords.yaml").write_text("intents:\n  order: [nego]\n", encoding="utf-8")
    config = Config(source_path=str(tmp_path / "chatkpi.yaml"))
    kw = load_keywords(config)
    assert kw.intents["order"] == ("nego",)
    assert "rusak" in kw.intents["complaint"]  # the other lists stay the shipped ones
    assert intents_of_texts(pd.Series(["bisa nego?", "sudah transfer"]), kw).tolist() == ["order", "other"]


def test_keyword_file_with_an_unknown_key_is_an_error(tmp_path, monkeypatch):
    bad = tmp_path / "kw.yaml"
    bad.write_text("intent: {}\n", encoding="utf-8")
    monkeypatch.setenv(KEYWORDS_ENV, str(bad))
    with pytest.raises(ConfigError, match="unknown key 'intent'"):
        load_keywords()


# --------------------------------------------------------------------------------------------
# quotes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, is_quote",
    [
        ("Mug Rp 12.500 kak", True),
        ("Rp12500", True),
        ("12rb aja kak", True),
        ("12,5k per pcs", True),
        ("@12.500 min 100", True),
        ("12.500/pcs", True),
        ("harganya 12500", True),
        ("IDR 15000 each", True),
        ("1,5jt untuk 100 pcs", True),
        ("quotation attached", True),
        ("Berikut penawaran kami kak", True),
        ("ada 12 pcs", False),
        ("dikirim tanggal 12", False),
        ("ukuran 12 cm", False),
        ("we will send the quotation today", False),  # a promise, not the quote
        ("sebentar kak saya cek dulu", False),
    ],
)
def test_quote_detection(text, is_quote, kw):
    msgs = frame(chat("2025-02-10 10:00 | Budi | harga?", f"2025-02-10 10:05 | Lia | {text}"))
    view = thread_view(msgs, fct_reply_pair(msgs, BusinessCalendar.from_config(Config())))
    assert (len(quote_positions(view, kw)) == 1) is is_quote


def test_a_file_with_an_offer_word_is_a_quote(kw):
    msgs = frame(chat("2025-02-10 10:00 | Budi | harga?", "2025-02-10 10:05 | Lia | <media> Penawaran Souvenir 2025.pdf"))
    view = thread_view(msgs, fct_reply_pair(msgs, BusinessCalendar.from_config(Config())))
    assert len(quote_positions(view, kw)) == 1


def test_quote_response_first_quote_after_the_request(cal, kw):
    msgs = frame(
        chat(
            "2025-02-10 16:30 | Budi | brp harga mug?",       # request 1: Mon 16:30
            "2025-02-10 16:35 | Lia | sebentar ya kak",        # reply, no quote
            "2025-02-11 08:00 | Budi | kalau tumbler hrg?",    # request 2: Tue 08:00
            "2025-02-11 08:30 | Rina | Mug 25rb, tumbler 45rb",  # the quote answers both
            "2025-02-11 09:00 | Budi | oke",                   # not a request
            "2025-02-11 09:05 | Lia | siap",
            thread="budi",
        ),
        chat("2025-02-12 10:00 | Sari | katalog ada?", "2025-02-12 10:10 | Lia | nanti ya", thread="sari"),
    )
    pairs = with_intents(msgs, cal, kw)
    quotes = fct_quote_response(msgs, pairs, cal, kw).sort_values("question_at").reset_index(drop=True)
    assert list(quotes.columns) == list(QUOTE_COLUMNS)
    assert len(quotes) == 3  # one row per quote request, quoted or not
    # request 1: Mon 16:30 -> Tue 08:30 = 30 min of Monday + 30 min of Tuesday = 3600 business s
    assert quotes.loc[0, ["business_seconds", "calendar_seconds"]].tolist() == [3600, 16 * 3600]
    # request 2: Tue 08:00 -> 08:30, the same quote message
    assert quotes.loc[1, "business_seconds"] == 1800
    assert quotes.loc[0, "quote_message_id"] == quotes.loc[1, "quote_message_id"]
    assert quotes.loc[:1, "agent_id"].tolist() == ["rina", "rina"]  # the agent who sent the quote
    # sari's request has no quote yet: null measures, the queue's agent
    assert pd.isna(quotes.loc[2, "quote_at"]) and pd.isna(quotes.loc[2, "business_seconds"])
    assert quotes.loc[2, "agent_id"] == "lia"


def test_contains_any_is_vectorised_over_missing_texts(kw):
    texts = pd.Series(["rusak", None, "ok"], dtype="string")
    assert contains_any(texts, kw.intents["complaint"]).tolist() == [True, False, False]
