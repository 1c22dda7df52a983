"""E-mail parser on small hand-written Indonesian mailboxes: sides, threads, quotes,
signatures, HTML-only bodies, attachments, encoded headers, time zones, broken messages."""

from __future__ import annotations

import base64
from email.message import EmailMessage

import pandas as pd
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.sources.canonical import canonical_messages
from kpi_transforms.sources.email import html_to_text, new_content, normalise_subject, parse_email

CONFIG = parse_config(
    {
        "timezone": "Asia/Jakarta",
        "company_domains": ["souvenir-nusantara.co.id"],
        "agents": [{"id": "rina", "names": ["Rina CS"], "emails": ["rina@souvenir-nusantara.co.id"]}],
    }
)

MBOX = """\
From sari@majujaya.co.id Mon Mar  3 02:15:00 2025
From: Sari Wulandari <Sari@MajuJaya.co.id>
To: Sales Souvenir Nusantara <sales@souvenir-nusantara.co.id>
Subject: Penawaran goodie bag 300 pcs
Date: Mon, 3 Mar 2025 09:15:00 +0700
Message-ID: <q1@majujaya.co.id>

Selamat pagi,

Mohon penawaran harga goodie bag 300 pcs dengan sablon logo.

Terima kasih,
Sari

From rina@souvenir-nusantara.co.id Mon Mar  3 03:40:00 2025
From: Rina CS <rina@souvenir-nusantara.co.id>
To: Sari Wulandari <sari@majujaya.co.id>
Subject: Re: Penawaran goodie bag 300 pcs
Date: Mon, 3 Mar 2025 10:40:00 +0700
Message-ID: <a1@souvenir-nusantara.co.id>
In-Reply-To: <q1@majujaya.co.id>
References: <q1@majujaya.co.id>

Selamat pagi Bu Sari,

Harga goodie bag Rp 12.500 per pcs, sudah termasuk sablon 1 warna.

Salam,
--\x20
Rina - Customer Service
PT Souvenir Nusantara

Pada Sen, 3 Mar 2025 pukul 09.15 Sari Wulandari <sari@majujaya.co.id>
menulis:
> Selamat pagi,
>
> Mohon penawaran harga goodie bag 300 pcs dengan sablon logo.

From garbage Mon Mar  3 04:00:00 2025
\x00\x01 this is not an e-mail at all

From sari@majujaya.co.id Tue Mar  4 01:05:00 2025
From: sari@majujaya.co.id
To: rina@souvenir-nusantara.co.id
Subject: =?UTF-8?B?QmxzOiBSZTogUGVuYXdhcmFuIGdvb2RpZSBiYWcgMzAwIHBjcw==?=
Date: Tue, 04 Mar 2025 01:05:00 +0000
Message-ID: <q2@majujaya.co.id>
In-Reply-To: <a1@souvenir-nusantara.co.id>
References: <q1@majujaya.co.id> <a1@souvenir-nusantara.co.id>

Baik Bu, kami setuju. Mohon kirim invoice DP.

Dikirim dari iPhone saya

> Harga goodie bag Rp 12.500 per pcs

From budi@gmail.com Tue Mar  4 02:00:00 2025
From: Budi <budi@gmail.com>
To: sales@souvenir-nusantara.co.id
Subject: Tanya stok tumbler
Date: Tue, 4 Mar 2025 09:00:00 +0700
Message-ID: <b1@gmail.com>

Apakah tumbler 500 ml ready stok?

From budi@gmail.com Tue Mar  4 02:30:00 2025
From: Budi <budi@gmail.com>
To: sales@souvenir-nusantara.co.id
Subject: RE: Tanya stok tumbler
Date: Tue, 4 Mar 2025 09:30:00 +0700
Message-ID: <b2@gmail.com>

Sekalian minta katalog ya.

From lia@souvenir-nusantara.co.id Tue Mar  4 02:31:00 2025
From: Lia <lia@souvenir-nusantara.co.id>
To: budi@gmail.com
Subject: Re: Tanya stok tumbler
Date: Tue, 4 Mar 2025 09:31:00 +0700
Message-ID: <auto1@souvenir-nusantara.co.id>
Auto-Submitted: auto-replied
In-Reply-To: <b2@gmail.com>

Terima kasih, email Anda sudah kami terima.
"""


@pytest.fixture(scope="module")
def parsed():
    return parse_email(MBOX.encode("utf-8"), CONFIG, kind="mbox")


def test_broken_message_is_quarantined_with_its_index_not_a_crash(parsed):
    assert parsed.messages_read == 6
    (row,) = parsed.rejected.to_dict("records")
    assert row["reason"].startswith("message 3:")
    assert row["source_line"] == MBOX.splitlines().index("From garbage Mon Mar  3 04:00:00 2025") + 1


def test_threads_by_references_and_subject_fallback(parsed):
    assert [(name, len(raw)) for _c, name, raw in parsed.threads] == [
        ("Penawaran goodie bag 300 pcs", 3),
        ("Tanya stok tumbler", 3),  # b2 has no references: joined by subject + participant
    ]
    sari, budi = (raw for _c, _n, raw in parsed.threads)
    assert set(sari["thread_key"]) == {"email:q1@majujaya.co.id"}
    assert set(sari["customer_id"]) == {"sari@majujaya.co.id"}  # lower-cased
    assert set(budi["customer_id"]) == {"budi@gmail.com"}


def test_sides_roles_and_auto_replies(parsed):
    sari, budi = (raw for _c, _n, raw in parsed.threads)
    assert sari["sender_role"].tolist() == ["customer", "agent", "customer"]
    assert sari["agent_id"].tolist()[1] == "rina"
    # company domain, not in the roster: agent side without an agent id; Auto-Submitted: auto reply
    assert budi["sender_role"].tolist() == ["customer", "customer", "agent"]
    assert budi["is_auto_reply"].tolist() == [False, False, True]
    assert pd.isna(budi["agent_id"].iloc[2])


def test_new_content_only(parsed):
    sari, _budi = (raw for _c, _n, raw in parsed.threads)
    reply = sari["text"].iloc[1]
    assert reply == "Selamat pagi Bu Sari,\n\nHarga goodie bag Rp 12.500 per pcs, sudah termasuk sablon 1 warna.\n\nSalam,"
    assert sari["text"].iloc[2] == "Baik Bu, kami setuju. Mohon kirim invoice DP."


def test_time_zone_and_encoded_subject(parsed):
    sari, _budi = (raw for _c, _n, raw in parsed.threads)
    # 01:05 UTC is 08:05 WIB
    assert [str(t) for t in sari["local_ts"]] == ["2025-03-03 09:15:00", "2025-03-03 10:40:00", "2025-03-04 08:05:00"]
    assert parsed.records[-4].subject == "Bls: Re: Penawaran goodie bag 300 pcs"


def test_canonical_rows_and_reply_pairs(parsed):
    from kpi_transforms.core.calendar import BusinessCalendar
    from kpi_transforms.facts.reply_pairs import fct_reply_pair

    frames = [
        canonical_messages(raw, channel=ch, thread_name=name, config=CONFIG, source_file="x.mbox", file_seq=1, batch_id="b")
        for ch, name, raw in parsed.threads
    ]
    messages = pd.concat(frames, ignore_index=True)
    assert messages.groupby("thread_id")["thread_name"].first().sort_values().tolist() == [
        "Penawaran goodie bag 300 pcs", "Tanya stok tumbler",
    ]
    assert messages.loc[messages["is_auto_reply"], "sender_role"].tolist() == ["bot"]
    assert not messages["in_holiday_mode"].any()
    pairs = fct_reply_pair(messages, BusinessCalendar.from_config(CONFIG))
    summary = pairs.sort_values("question_at")[["status", "n_customer_messages", "calendar_seconds"]]
    # Sari: answered in 85 min, then her acceptance is open; Budi: two messages, the auto reply
    # does not close the queue.
    assert summary.astype(object).values.tolist() == [
        ["answered", 1, 5100], ["unanswered", 1, pd.NA], ["unanswered", 2, pd.NA],
    ]
    assert pairs["first_auto_reply_at"].notna().sum() == 1


def _eml(**headers) -> EmailMessage:
    msg = EmailMessage()
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    return msg


def test_html_only_body_and_attachment_only_message():
    html = _eml(From="Dewi <dewi@toko-dewi.id>", To="sales@souvenir-nusantara.co.id", Subject="Komplain pesanan",
                Date="Wed, 05 Mar 2025 14:00:00 +0700", Message_ID="<h1@toko-dewi.id>")
    html.set_content(
        "<html><body><p>Barang yang <b>datang</b> rusak&nbsp;3 pcs.</p><div>Mohon retur.</div>"
        "<div class='gmail_quote'>Pada 4 Mar 2025 Rina menulis:<blockquote>teks lama</blockquote></div>"
        "<div class='gmail_signature'>Dewi - Toko Dewi</div></body></html>",
        subtype="html",
    )
    parsed = parse_email(html.as_bytes(), CONFIG, kind="eml")
    (_c, _n, raw), = parsed.threads
    assert raw["text"].iloc[0] == "Barang yang datang rusak 3 pcs.\n\nMohon retur."
    assert raw["message_type"].iloc[0] == "text"

    photo = _eml(From="dewi@toko-dewi.id", To="sales@souvenir-nusantara.co.id", Subject="Re: Komplain pesanan",
                 Date="Wed, 05 Mar 2025 14:05:00 +0700", Message_ID="<h2@toko-dewi.id>", In_Reply_To="<h1@toko-dewi.id>")
    photo.set_content("\n> Barang yang datang rusak 3 pcs.\n")
    photo.add_attachment(base64.b64decode("iVBORw0KGgo="), maintype="image", subtype="png", filename="foto_rusak.png")
    parsed = parse_email(photo.as_bytes(), CONFIG, kind="eml")
    (_c, _n, raw), = parsed.threads
    assert raw["message_type"].iloc[0] == "media"
    assert raw["text"].iloc[0] == "[attachment: foto_rusak.png]"
    assert raw["thread_key"].iloc[0] == "email:h1@toko-dewi.id"  # same thread as the .eml it answers


def test_eml_without_date_is_quarantined():
    msg = _eml(From="dewi@toko-dewi.id", To="sales@souvenir-nusantara.co.id", Subject="Halo")
    msg.set_content("Halo")
    parsed = parse_email(msg.as_bytes(), CONFIG, kind="eml")
    assert parsed.messages_read == 0
    assert "no usable Date" in parsed.rejected["reason"].iloc[0]


@pytest.mark.parametrize(
    "subject, expected",
    [
        ("Re: Re: Penawaran", "Penawaran"),
        ("Bls: RE: Fwd: Penawaran", "Penawaran"),
        ("Balas: AW: FW: Penawaran", "Penawaran"),
        ("[p5ml] Re: karie", "[p5ml] karie"),
        ("RE: [p5ml] Re: karie", "[p5ml] karie"),
        ("Re[2]: Harga", "Harga"),
        ("Rekap pesanan", "Rekap pesanan"),
        ("  Re:   spasi   ganda ", "spasi ganda"),
    ],
)
def test_normalise_subject(subject, expected):
    assert normalise_subject(subject) == expected


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Siap Pak.\n\nPada tanggal Sen, 3 Mar 2025 pukul 09.15 Budi <budi@gmail.com> menulis:\n\nTeks lama tanpa tanda kutip",
         "Siap Pak."),
        ("Oke.\n\n-----Original Message-----\nFrom: a@b.c\nSent: Monday\nteks lama", "Oke."),
        ("Oke.\n\n----- Pesan Asli -----\nteks lama", "Oke."),
        ("Sudah kami kirim.\n\nDari: Budi <budi@gmail.com>\nDikirim: Senin, 3 Maret 2025 09.15\nKepada: sales\nPerihal: Pesanan\n\nteks lama",
         "Sudah kami kirim."),
        ("Terima kasih\n\nDikirim dari Yahoo Mail di Android", "Terima kasih"),
        ("Terima kasih\n\nSent from my Galaxy", "Terima kasih"),
        ("Jawaban saya di bawah.\n\n> pertanyaan 1\nJawaban 1\n> pertanyaan 2\nJawaban 2",
         "Jawaban saya di bawah.\n\nJawaban 1\nJawaban 2"),
        ("Budi Santoso wrote:\n> halo\nHalo juga", "Halo juga"),
        ("Harga -- sudah termasuk ongkir.", "Harga -- sudah termasuk ongkir."),
    ],
)
def test_new_content_indonesian_and_english(body, expected):
    assert new_content(body) == expected


def test_html_to_text_blocks_entities_and_scripts():
    html = "<style>p{color:red}</style><p>Harga&nbsp;Rp&nbsp;12.500</p><br><ul><li>A</li><li>B</li></ul><script>x()</script>"
    assert html_to_text(html) == "Harga Rp 12.500\n\nA\n\nB"
