"""WhatsApp Business Platform webhook archives (tests/fixtures/whatsapp_cloud/, written from
Meta's payload reference): every payload kind message by message, duplicates, statuses,
quarantine, and the thread shared with a phone export of the same customer."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.core.identity import make_thread_id, thread_key
from kpi_transforms.sources.canonical import canonical_messages
from kpi_transforms.sources.whatsapp import parser as wa
from kpi_transforms.core.identity import Roster
from kpi_transforms.sources.base import ChatThread, ParseContext
from kpi_transforms.sources.whatsapp_cloud import (
    CloudOptions,
    content_of,
    looks_like_cloud_webhook,
    parse,
    parse_whatsapp_cloud,
    phone_display,
)

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp_cloud"
ARCHIVE = FIXTURES / "webhooks-2025-03-03.jsonl"
SINGLE = FIXTURES / "payload-wamid-17.json"
CONFIG = parse_config(
    {
        "timezone": "Asia/Jakarta",
        "agents": [{"id": "dewi", "names": ["Dewi CS"], "phones": ["+62 812-9999-0000"]}],
    }
)
BIZ = "+62 812-9999-0000"


def _threads(parsed) -> dict[str, pd.DataFrame]:
    return {name: frame for _channel, name, frame in parsed.threads}


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [
        (str(r.local_ts), None if pd.isna(r.sender) else r.sender, r.text, r.message_type, int(r.source_line),
         r.sender_role, None if pd.isna(r.agent_id) else r.agent_id)
        for r in frame.itertuples()
    ]


@pytest.fixture(scope="module")
def parsed():
    return parse_whatsapp_cloud(ARCHIVE.read_bytes(), CONFIG)


def test_customer_thread_message_by_message(parsed):
    budi = _threads(parsed)["+62 812-3456-7890"]
    assert _rows(budi) == [
        ("2025-03-03 09:00:00", "Budi Santoso", "Selamat pagi kak, batik tulis motif parang ukuran L masih ada?", "text", 1, "customer", None),
        # a sent status without an echo: the business's API reply, body unknown
        ("2025-03-03 09:05:00", BIZ, "[pesan keluar]", "text", 2, "agent", "dewi"),
        # the echo wins over the sent status of the same id (line 4)
        ("2025-03-03 09:06:00", BIZ, "Masih ada kak, harga Rp 350.000 per potong", "text", 3, "agent", "dewi"),
        ("2025-03-03 09:10:00", "Budi Santoso", "[gambar]\nYang seperti ini kak?", "media", 5, "customer", None),
        ("2025-03-03 11:00:00", "Budi Santoso", "[stiker]", "sticker", 16, "customer", None),
        ("2025-03-03 11:05:00", "Budi Santoso", "Ya, kirim katalog", "text", 17, "customer", None),
        ("2025-03-03 12:00:00", "Budi Santoso", "Ongkir ke Surabaya berapa kak?", "text", 27, "customer", None),
        ("2025-03-03 12:03:00", BIZ, "[template: konfirmasi_pesanan]", "text", 28, "agent", "dewi"),
        # 2025-03-03 17:30 UTC is after midnight in Jakarta
        ("2025-03-04 00:30:00", "Budi Santoso", "Kak sudah tidur ya? besok saya transfer", "text", 29, "customer", None),
    ]
    assert set(budi["customer_id"]) == {"+6281234567890"}
    assert not budi["is_auto_reply"].any()


def test_second_customer_every_media_and_reply_kind(parsed):
    siti = _threads(parsed)["+62 857-1234-5678"]
    assert _rows(siti) == [
        ("2025-03-03 10:00:00", "Siti", "Cek status pesanan", "text", 9, "customer", None),
        ("2025-03-03 10:01:00", "Siti", "Kemeja batik pria", "text", 10, "customer", None),
        ("2025-03-03 10:02:00", None, "[reaksi: \U0001F44D]", "system", 11, "system", None),
        ("2025-03-03 10:03:00", "Siti", "[dokumen: bukti_transfer.pdf]\nSudah transfer ya kak", "media", 12, "customer", None),
        ("2025-03-03 10:04:00", "Siti", "[pesan suara]", "media", 13, "customer", None),
        ("2025-03-03 10:05:00", "Siti", "[lokasi: Pasar Beringharjo, Jl. Margo Mulyo No.16, Yogyakarta (-7.7971, 110.3705)]",
         "location", 14, "customer", None),
        ("2025-03-03 10:06:00", "Siti", "[kontak: Dewi Lestari +62 813-5555-0101]", "media", 15, "customer", None),
        ("2025-03-03 11:10:00", "Siti", "[pesan tidak didukung: poll_update]", "media", 18, "customer", None),
        ("2025-03-03 11:30:00", None, "[pesan gagal terkirim: Re-engagement message (131047)]", "system", 20, "system", None),
        ("2025-03-03 11:40:00", BIZ, "[pesan keluar: template utility]", "text", 21, "agent", "dewi"),
    ]


def test_number_change_is_a_system_line_of_the_old_number(parsed):
    old = _threads(parsed)["+62 813-1111-2222"]
    assert _rows(old) == [
        ("2025-03-03 11:20:00", None, "User Rudi Hartono changed from 6281311112222 to 6281399998888", "system", 19, "system", None)
    ]
    assert old["customer_id"].tolist() == ["+6281311112222"]


def test_bookkeeping_duplicates_statuses_and_quarantine(parsed):
    assert sorted(_threads(parsed)) == ["+62 812-3456-7890", "+62 813-1111-2222", "+62 857-1234-5678"]
    assert parsed.kind == "jsonl"
    assert parsed.lines_read == 29
    assert parsed.payloads_read == 27  # 29 lines - 2 that are no payload (line 25 is one, with a bad message)
    assert parsed.messages_read == 20
    assert parsed.duplicates == 1  # line 6 repeats line 1 (a Meta retry)
    assert parsed.statuses_read == 7
    assert parsed.statuses_unmatched == 1  # line 22: read status of a message never sent in this file
    assert parsed.ignored_changes == 1  # account_update
    assert parsed.rejected["source_line"].tolist() == [23, 24, 25]
    reasons = parsed.rejected["reason"].tolist()
    assert reasons[0].startswith("not valid JSON")
    assert reasons[1] == "not a WhatsApp Business Account webhook payload (object='page')"
    assert reasons[2].endswith("unusable timestamp None") and reasons[2].startswith("message wamid.")
    assert parsed.rejected["raw"].iloc[1].startswith('{"object": "page"')


def test_payload_per_file_and_sniffing():
    single = parse_whatsapp_cloud(SINGLE.read_bytes(), CONFIG)
    assert single.kind == "json"
    assert _rows(single.threads[0][2]) == [
        ("2025-03-03 09:00:00", "Budi Santoso", "Selamat pagi kak, batik tulis motif parang ukuran L masih ada?", "text", 1, "customer", None),
        ("2025-03-03 09:12:00", "Budi Santoso", "[video]\nIni video kainnya", "media", 1, "customer", None),
    ]
    assert looks_like_cloud_webhook(SINGLE.read_bytes()) and looks_like_cloud_webhook(ARCHIVE.read_bytes())
    assert not looks_like_cloud_webhook(b'{"thread": "x", "sent_at": "2025-03-03T09:00:00"}\n')
    # a JSON array of payloads is one file of payloads too
    array = json.dumps([json.loads(SINGLE.read_text(encoding="utf-8"))] * 2).encode()
    twice = parse_whatsapp_cloud(array, CONFIG)
    assert twice.kind == "json" and twice.duplicates == 2 and len(twice.threads[0][2]) == 2


def test_same_thread_as_the_phone_export_and_same_ids_across_files():
    """The thread of a Cloud customer is the thread of "Chat WhatsApp dengan +62 812-3456-7890",
    and the retry of a message stored in another file gets the same message_id."""
    export_name = wa.chat_name_from_filename("Chat WhatsApp dengan +62 812-3456-7890.txt")
    export_thread = make_thread_id("whatsapp", thread_key(export_name, CONFIG))
    archive = {name: frame for _c, name, frame in parse_whatsapp_cloud(ARCHIVE.read_bytes(), CONFIG).threads}
    single = parse_whatsapp_cloud(SINGLE.read_bytes(), CONFIG).threads[0]
    a = canonical_messages(archive["+62 812-3456-7890"], channel="whatsapp", thread_name="+62 812-3456-7890",
                           config=CONFIG, source_file="a.jsonl", file_seq=1, batch_id="b")
    b = canonical_messages(single[2], channel="whatsapp", thread_name=single[1], config=CONFIG,
                           source_file="b.json", file_seq=2, batch_id="b")
    assert set(a["thread_id"]) == set(b["thread_id"]) == {export_thread}
    assert a["message_id"].iloc[0] == b["message_id"].iloc[0]  # the 09:00 question, in both files
    assert b["message_id"].iloc[1] not in set(a["message_id"])
    assert a["sender_role"].tolist() == ["customer", "agent", "agent", "customer", "customer", "customer", "customer", "agent", "customer"]
    assert a.loc[a["sender_role"] == "agent", "agent_id"].tolist() == ["dewi"] * 3
    assert str(a["sent_at"].iloc[0]) == "2025-03-03 02:00:00+00:00"


def test_line_order_does_not_change_the_messages():
    lines = ARCHIVE.read_bytes().splitlines(keepends=True)
    shuffled = lines[:]
    random.Random(20).shuffle(shuffled)

    def ids(data: bytes) -> set[str]:
        out = set()
        for _c, name, frame in parse_whatsapp_cloud(data, CONFIG).threads:
            rows = canonical_messages(frame, channel="whatsapp", thread_name=name, config=CONFIG, source_file="x",
                                      file_seq=1, batch_id="b")
            out |= set(rows["message_id"])
        return out

    assert ids(b"".join(shuffled)) == ids(b"".join(lines))
    assert len(ids(b"".join(lines))) == 20


def test_agent_mapping_auto_replies_and_statuses_switch():
    config = parse_config({"timezone": "Asia/Jakarta", "auto_reply_patterns": ["^\\[pesan keluar: template"]})
    parsed = parse_whatsapp_cloud(ARCHIVE.read_bytes(), config,
                                  options=CloudOptions(agent_by_phone_number={"106540352242922": "tim-sales"}))
    budi = _threads(parsed)["+62 812-3456-7890"]
    assert budi.loc[budi["sender_role"] == "agent", "agent_id"].tolist() == ["tim-sales"] * 3
    siti = _threads(parsed)["+62 857-1234-5678"]
    template = siti[siti["text"] == "[pesan keluar: template utility]"]
    assert template["is_auto_reply"].tolist() == [True]  # canonical_messages makes it a bot message
    rows = canonical_messages(siti, channel="whatsapp", thread_name="+62 857-1234-5678", config=config,
                              source_file="x", file_seq=1, batch_id="b")
    assert rows.loc[rows["text"] == "[pesan keluar: template utility]", "sender_role"].tolist() == ["bot"]

    by_display = parse_whatsapp_cloud(ARCHIVE.read_bytes(), config,
                                      options=CloudOptions(agent_by_phone_number={"0812 9999 0000": "owner"}))
    assert set(_threads(by_display)["+62 812-3456-7890"]["agent_id"].dropna()) == {"owner"}
    unknown = parse_whatsapp_cloud(ARCHIVE.read_bytes(), config, options=CloudOptions(default_agent_id="cs"))
    assert set(_threads(unknown)["+62 812-3456-7890"]["agent_id"].dropna()) == {"cs"}

    echoes_only = parse_whatsapp_cloud(ARCHIVE.read_bytes(), CONFIG, options=CloudOptions(outgoing_from_statuses=False))
    texts = _threads(echoes_only)["+62 812-3456-7890"]["text"].tolist()
    assert "[pesan keluar]" not in texts and "Masih ada kak, harga Rp 350.000 per potong" in texts
    assert "[pesan keluar: template utility]" not in _threads(echoes_only)["+62 857-1234-5678"]["text"].tolist()


@pytest.mark.parametrize(
    "message, expected",
    [
        ({"type": "text", "text": {"body": "Halo kak"}}, ("text", "Halo kak", None)),
        ({"type": "image", "image": {"id": "1"}}, ("media", "[gambar]", None)),
        ({"type": "audio", "audio": {"id": "1", "voice": False}}, ("media", "[audio]", None)),
        ({"type": "document", "document": {"id": "1"}}, ("media", "[dokumen]", None)),
        ({"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{}"}}},
         ("text", "[formulir: flow]", None)),
        ({"type": "interactive", "interactive": {"type": "button", "body": {"text": "Pilih ukuran"}}}, ("text", "Pilih ukuran", None)),
        ({"type": "reaction", "reaction": {"message_id": "wamid.x"}}, ("system", "[reaksi dihapus]", "system")),
        ({"type": "order", "order": {"catalog_id": "1", "product_items": [{}, {}]}}, ("text", "[pesanan: 2 barang]", None)),
        ({"type": "request_welcome"}, ("system", "[pelanggan membuka chat]", "system")),
        ({"type": "keep_in_chat", "keep_in_chat": {}}, ("media", "[pesan tidak didukung: keep_in_chat]", None)),
        ({"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
         ("media", "[pesan tidak didukung: Message type unknown]", None)),
    ],
)
def test_content_mapping(message, expected):
    assert content_of(message) == expected


def test_phone_display_and_bad_utf8_line():
    assert phone_display("6281234567890") == "+62 812-3456-7890"
    assert phone_display("16505551234") == "+1 650-555-1234"
    good = ARCHIVE.read_bytes().splitlines(keepends=True)[0]
    parsed = parse_whatsapp_cloud(b"\xff\xfe{bad}\n" + good, CONFIG)
    assert parsed.rejected["source_line"].tolist() == [1]
    assert parsed.rejected["reason"].iloc[0] == "line is not valid UTF-8 (byte 1)"
    assert parsed.messages_read == 1
    empty = parse_whatsapp_cloud(b"", CONFIG)
    assert empty.threads == [] and empty.rejected.empty and empty.lines_read == 0


def test_registry_shape_accounts_for_every_line():
    ctx = ParseContext(config=CONFIG, roster=Roster.from_config(CONFIG), suffix=".jsonl", path=str(ARCHIVE))
    result = parse(ARCHIVE.read_bytes() + b"\n", ctx)  # a trailing blank line
    assert all(isinstance(t, ChatThread) for t in result.threads) and len(result.threads) == 3
    assert result.layout == "whatsapp cloud webhooks (jsonl)"
    assert (result.lines_read, result.header_lines, result.continuation_lines, result.quarantined_lines) == (30, 26, 1, 3)
    assert result.lines_read == result.header_lines + result.continuation_lines + result.quarantined_lines
    assert result.messages_read == 20 and result.chat_name is None
    single = parse(SINGLE.read_bytes(), ParseContext(config=CONFIG, roster=Roster.from_config(CONFIG), suffix=".json", path=str(SINGLE)))
    assert single.chat_name == "+62 812-3456-7890" and single.messages_read == 2 and single.quarantined_lines == 0
