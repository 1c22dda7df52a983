"""Unit and property tests of the WhatsApp parser on small inline exports."""

from __future__ import annotations

import datetime as dt
import random
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.sources.whatsapp.parser import ParsedChat, _parse, chat_name_from_filename, parse_whatsapp

NOTICE_ID = (
    "Pesan dan panggilan terenkripsi secara end-to-end. Tidak seorang pun di luar chat ini, "
    "termasuk WhatsApp, yang dapat membaca atau mendengarkannya. Ketuk untuk mempelajari "
    "selengkapnya."
)
ANDROID_ID = f"""\
12/04/25 14.15 - {NOTICE_ID}
12/04/25 14.17 - Lia Sales: Halo kak
13/04/25 09.05 - Budi Toko Maju: Kak, ready stok tumbler 500 pcs?
- warna hitam
- sablon logo 1 warna
13/04/25 09.06 - Budi Toko Maju: <Media tidak disertakan>
13/04/25 09.07 - Budi Toko Maju: IMG-20250413-WA0001.jpg (file terlampir)
ini desainnya kak
13/04/25 09.10 - Lia Sales: Pesan ini telah dihapus
13/04/25 09.11 - Budi Toko Maju: Anda menghapus pesan ini
13/04/25 09.12 - Lia Sales: Harga: Rp 12.500/pcs

13/04/25 09.20 - Lia Sales membuat grup "Order: Toko Maju"
13/04/25 09.21 - Anda ditambahkan
"""


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def invariant(chat: ParsedChat) -> None:
    assert chat.lines_read == chat.header_lines + chat.continuation_lines + chat.quarantined_lines
    assert chat.header_lines == len(chat.messages)
    assert chat.quarantined_lines == len(chat.rejected)


# --- the Indonesian Android layout --------------------------------------------------------------
def test_indonesian_android_messages():
    chat = parse_whatsapp(ANDROID_ID.encode())
    invariant(chat)
    m = chat.messages
    assert chat.layout == "android dd/mm/yy HH.mm"
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("dmy", "file", False)
    assert (chat.lines_read, chat.header_lines, chat.continuation_lines) == (14, 10, 4)
    assert chat.quarantined_lines == 0 and chat.rejected.empty
    assert pd.isna(m.sender.iloc[0])
    assert m.sender.tolist()[1:3] == ["Lia Sales", "Budi Toko Maju"]
    assert m.message_type.tolist() == [
        "system", "text", "text", "media", "media", "deleted", "deleted", "text", "system",
        "system",
    ]  # fmt: skip
    assert m.local_ts.tolist()[1:3] == [ts("2025-04-12 14:17"), ts("2025-04-13 09:05")]
    assert m.text.iloc[1] == "Halo kak"
    # a continuation line may itself start with "- "
    assert m.text.iloc[2] == (
        "Kak, ready stok tumbler 500 pcs?\n- warna hitam\n- sablon logo 1 warna"
    )
    assert m.n_lines.tolist() == [1, 1, 3, 1, 2, 1, 1, 2, 1, 1]
    assert m.source_line.tolist() == [1, 2, 3, 6, 7, 9, 10, 11, 13, 14]
    # the media caption stays in the text; ": " inside a message is not a sender separator
    assert m.text.iloc[4] == "IMG-20250413-WA0001.jpg (file terlampir)\nini desainnya kak"
    assert m.text.iloc[7] == "Harga: Rp 12.500/pcs"  # the blank line after it is stripped
    # a system line with ': ' inside quotes stays a system line
    assert m.text.iloc[8] == 'Lia Sales membuat grup "Order: Toko Maju"'
    assert m.sender.iloc[8] is pd.NA and m.message_type.iloc[9] == "system"


def test_column_dtypes():
    m = parse_whatsapp(ANDROID_ID).messages
    assert list(m.columns) == [
        "local_ts", "sender", "text", "message_type", "source_line", "n_lines",
    ]  # fmt: skip
    assert m.local_ts.dtype == np.dtype("datetime64[us]")
    assert m.sender.dtype == pd.StringDtype("pyarrow")
    assert m.text.dtype == "str" and m.message_type.dtype == "str"
    assert m.source_line.dtype == np.int64 and m.n_lines.dtype == np.int64
    r = parse_whatsapp("x\n12/04/25 14.17 - A: b").rejected
    assert list(r.columns) == ["source_line", "raw", "reason"]
    assert r.source_line.dtype == np.int64 and r.raw.dtype == "str" and r.reason.dtype == "str"


def test_str_and_bytes_give_the_same_result():
    a = parse_whatsapp(ANDROID_ID)
    b = parse_whatsapp(ANDROID_ID.encode("utf-8"))
    pd.testing.assert_frame_equal(a.messages, b.messages)


def test_ios_indonesian_layout_with_seconds():
    chat = parse_whatsapp("[12/04/25 14.17.04] Lia Sales: Halo kak\n[13/04/25 08.00.00] B: ok")
    assert chat.layout == "ios [dd/mm/yy HH.mm.ss]"
    assert chat.messages.local_ts.tolist() == [ts("2025-04-12 14:17:04"), ts("2025-04-13 08:00")]


# --- system lines, media, deleted, senders ----------------------------------------------------
@pytest.mark.parametrize(
    "body, kind",
    [
        ("<Media tidak disertakan>", "media"),
        ("<Media omitted>", "media"),
        ("<media omitted>", "media"),
        ("<Medien ausgeschlossen>", "media"),
        ("gambar tidak disertakan", "media"),
        ("image omitted", "media"),
        ("stiker tidak disertakan", "media"),
        ("Katalog.pdf dokumen tidak disertakan", "media"),
        ("<attached: 00000001-PHOTO-2019-06-20-16-00-15.jpg>", "media"),
        ("< attached: 00000042-PHOTO.jpg >", "media"),
        ("IMG-1.jpg (file attached)", "media"),
        ("IMG-1.jpg (file terlampir)", "media"),
        ("This message was deleted", "deleted"),
        ("This message was deleted.", "deleted"),
        ("You deleted this message", "deleted"),
        ("Pesan ini dihapus", "deleted"),
        ("Pesan ini telah dihapus", "deleted"),
        ("Anda menghapus pesan ini", "deleted"),
        ("Anda menghapus pesan ini.", "deleted"),
        ("Pesan ini dihapus kemarin ya kak?", "text"),
        ("kirim <Media tidak disertakan> lagi dong", "text"),
        ("", "text"),
        ("Pesan dan panggilan terenkripsi secara end-to-end. Tidak seorang pun ...", "system"),
        ("Messages and calls are end-to-end encrypted. No one outside of this chat ...", "system"),
        ("Kode keamanan Anda dengan Budi telah berubah. Ketuk untuk info selengkapnya.", "system"),
        ("Your security code with Budi changed. Tap to learn more.", "system"),
        ("This business uses a secure service from Meta to manage this chat.", "system"),
        ("Budi turned on disappearing messages. New messages will disappear.", "system"),
        ("Budi mengaktifkan pesan sementara. Pesan baru akan hilang.", "system"),
    ],
)
def test_message_types(body, kind):
    m = parse_whatsapp(f"12/04/25 14.17 - Budi: {body}".rstrip()).messages
    assert m.message_type.tolist() == [kind]
    if kind == "system":  # a notice behind a name keeps the whole line and has no sender
        assert pd.isna(m.sender.iloc[0]) and m.text.iloc[0] == f"Budi: {body}"
    else:
        assert m.sender.tolist() == ["Budi"] and m.text.tolist() == [body]


@pytest.mark.parametrize(
    "line, sender, text, kind",
    [
        ("03/02/17, 18:42 - Luke: ", "Luke", "", "text"),  # empty body is not a system line
        ("03/02/17, 18:42 - Carol:", "Carol", "", "text"),
        ("03/02/17, 18:42 - John Doe:.", None, "John Doe:.", "system"),
        ('06/03/17, 00:45 - You created group "Test"', None, 'You created group "Test"', "system"),
        ("06/03/17, 00:45 - You were added", None, "You were added", "system"),
        ("06/03/17, 00:45 - +62 812-3456-7890: p", "+62 812-3456-7890", "p", "text"),
        ("[06/03/17, 00:45:00] ~ Budi: halo", "~ Budi", "halo", "text"),
        ("[06/03/17, 00:45:00] ~\u202fBudi: halo", "~\u202fBudi", "halo", "text"),
        ("06/03/17, 00:45 - Sari 🌸: 🙏", "Sari 🌸", "🙏", "text"),
        ("06/03/17, 00:45 - A set “x: y”", None, "A set “x: y”", "system"),
    ],
)  # fmt: skip
def test_senders(line, sender, text, kind):
    m = parse_whatsapp(line).messages
    assert (m.message_type.iloc[0], m.text.iloc[0]) == (kind, text)
    if sender is None:
        assert pd.isna(m.sender.iloc[0])
    else:
        assert m.sender.iloc[0] == sender


def test_system_line_keeps_its_continuation():
    m = parse_whatsapp("06/03/17, 00:45 - X created group \"A\"\nsecond line").messages
    assert m.message_type.tolist() == ["system"]
    assert m.text.iloc[0] == 'X created group "A"\nsecond line' and m.n_lines.iloc[0] == 2


def test_datetime_looking_continuation_is_not_a_header():
    text = "23/06/2018, 01:55 p.m. - Loris: one\ntwo\n2016-04-29 10:30:00\n12/04/25 resi 123"
    chat = parse_whatsapp(text)
    assert chat.header_lines == 1 and chat.continuation_lines == 3
    assert chat.messages.text.iloc[0] == "one\ntwo\n2016-04-29 10:30:00\n12/04/25 resi 123"


def test_bare_space_separator_needs_a_sender():
    text = (
        "13. 6. 2018. 21:25:15 a: m\n13. 6. 2018. 21:26:00 no colon here\n"
        "14. 6. 2018. 08:00:00 b: n"
    )
    chat = parse_whatsapp(text)
    assert chat.messages.sender.tolist() == ["a", "b"]
    assert chat.messages.text.iloc[0] == "m\n13. 6. 2018. 21:26:00 no colon here"


def test_unbalanced_bracket_is_not_a_header():
    text = "[12/04/25 14.17.04] A: x\n[12/04/25 14.18.04 B: y\n12/04/25 14.19 - C: z"
    chat = parse_whatsapp(text)
    assert chat.messages.sender.tolist() == ["A", "C"]
    assert chat.messages.text.iloc[0] == "x\n[12/04/25 14.18.04 B: y"


# --- encodings and invisible characters -------------------------------------------------------
def test_bom_crlf_and_invisible_marks():
    text = (
        "\ufeff12/04/25 14.17 - Lia: Halo\r\n"
        "\ufeff\ufeff12/04/25 14.18 - Budi: \u200eok\u200f kak\r\n"
        "baris\u202a dua\u202c\r"
        "\u200e[12/04/25 14.19.00] Budi: \u200egambar tidak disertakan\n"
    )
    chat = parse_whatsapp(text.encode("utf-8"))
    invariant(chat)
    m = chat.messages
    assert chat.lines_read == 4
    assert m.sender.tolist() == ["Lia", "Budi", "Budi"]
    assert m.text.tolist() == ["Halo", "ok kak\nbaris dua", "gambar tidak disertakan"]
    assert m.message_type.tolist() == ["text", "text", "media"]


def test_narrow_no_break_space_before_pm_and_nbsp():
    text = (
        "1/23/23, 3:19\u202fPM - A: x\n1/23/23, 3:20\u00a0p.\u00a0m. - B: y\n"
        "1/23/23, 3:21_AM - C: z"
    )
    m = parse_whatsapp(text).messages
    assert m.local_ts.tolist() == [
        ts("2023-01-23 15:19"), ts("2023-01-23 15:20"), ts("2023-01-23 03:21"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "clock, expected",
    [
        ("12:05 AM", "00:05"),
        ("12:05 PM", "12:05"),
        ("1:05 PM", "13:05"),
        ("11:59 pm", "23:59"),
        ("00:08 a. m.", "00:08"),
        ("0:30 PM", "12:30"),
        ("23:59 PM", "23:59"),  # invalid 12-hour value: read as 24-hour
        ("13:00 AM", "13:00"),
        ("9:41 a.m.", "09:41"),
    ],
)
def test_twelve_hour_clock(clock, expected):
    m = parse_whatsapp(f"1/29/18, {clock} - A: x").messages
    assert m.local_ts.iloc[0].strftime("%H:%M") == expected


def test_utf16_with_bom_le_and_be():
    for codec in ("utf-16", "utf-16-le", "utf-16-be"):
        data = ANDROID_ID.encode(codec)
        if codec != "utf-16":
            data = ("\ufeff" + ANDROID_ID).encode(codec)
        chat = parse_whatsapp(data)
        pd.testing.assert_frame_equal(chat.messages, parse_whatsapp(ANDROID_ID).messages)


def test_utf16_without_bom_is_detected():
    chat = parse_whatsapp(ANDROID_ID.encode("utf-16-le"))
    assert chat.header_lines == 10


def test_utf8_bom_file():
    chat = parse_whatsapp(b"\xef\xbb\xbf" + ANDROID_ID.encode())
    assert chat.header_lines == 10 and chat.quarantined_lines == 0


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        ("", "empty"),
        (b"   \n\r\n\t", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\xff\xfe\xfa", "not UTF-8"),
        (bytes(range(256)) * 4, "not UTF-8"),
        ("12/04/25 14.17 - Café".encode("cp1252"), "not UTF-8"),
        (b"just some notes\nno chat here\n", "no WhatsApp message header"),
        ("\ud800 lone surrogate", "surrogate"),
        (b"\xff\xfe" + b"\x00\xd8" + b"a\x00", "UTF-16"),
    ],
)
def test_unusable_files_are_rejected(data, reason):
    with pytest.raises(RejectedFile, match=reason) as info:
        parse_whatsapp(data)
    assert info.value.reason


def test_bad_option_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_whatsapp(ANDROID_ID, date_order="dym")
    with pytest.raises(ValueError):
        parse_whatsapp(ANDROID_ID, date_order_hint="auto")


# --- date order --------------------------------------------------------------------------------
def two(a: str, b: str) -> str:
    return f"{a} 10.00 - A: x\n{b} 11.00 - B: y\n"


def test_day_first_inferred_from_a_day_above_12():
    chat = parse_whatsapp(two("04/05/25", "13/04/25"))
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("dmy", "file", False)
    assert chat.messages.local_ts.dt.date.tolist() == [dt.date(2025, 5, 4), dt.date(2025, 4, 13)]


def test_month_first_inferred_from_the_whole_file():
    # the first line alone is ambiguous: the decision uses every header of the file
    chat = parse_whatsapp(two("04/05/25", "04/13/25"))
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("mdy", "file", False)
    assert chat.messages.local_ts.dt.date.tolist() == [dt.date(2025, 4, 5), dt.date(2025, 4, 13)]


def test_ambiguous_file_uses_hint_else_day_first():
    text = two("04/05/25", "06/07/25")
    chat = parse_whatsapp(text)
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("dmy", "default", True)
    assert chat.messages.local_ts.iloc[0] == ts("2025-05-04 10:00")
    hinted = parse_whatsapp(text, date_order_hint="mdy")
    assert (hinted.date_order, hinted.date_order_source, hinted.ambiguous) == ("mdy", "hint", True)
    assert hinted.messages.local_ts.iloc[0] == ts("2025-04-05 10:00")


def test_ymd_hint_does_not_move_a_two_digit_year():
    chat = parse_whatsapp(two("04/05/25", "06/07/25"), date_order_hint="ymd")
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("dmy", "default", True)


def test_year_first_file_is_decided_by_the_file():
    chat = parse_whatsapp("2025/04/05, 10:00 - A: x\n2025/04/06, 10:00 - B: y")
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("ymd", "file", False)
    assert chat.messages.local_ts.iloc[0] == ts("2025-04-05 10:00")


def test_hint_is_ignored_when_the_file_decides():
    chat = parse_whatsapp(two("04/05/25", "13/04/25"), date_order_hint="mdy")
    assert (chat.date_order, chat.date_order_source) == ("dmy", "file")


def test_explicit_order_always_wins():
    chat = parse_whatsapp(two("04/05/25", "06/07/25"), date_order="mdy")
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("mdy", "config", True)
    assert chat.messages.local_ts.iloc[0] == ts("2025-04-05 10:00")
    # even against the file's evidence: the line that cannot be month-first is quarantined
    chat = parse_whatsapp(two("04/05/25", "13/04/25"), date_order="mdy")
    assert (chat.date_order, chat.date_order_source, chat.ambiguous) == ("mdy", "config", False)
    assert chat.header_lines == 1 and chat.quarantined_lines == 1
    assert "impossible date '13/04/25'" in chat.rejected.reason.iloc[0]


def test_explicit_ymd_reads_two_digit_year_first():
    chat = parse_whatsapp(two("25/04/13", "25/04/14"), date_order="ymd")
    assert chat.messages.local_ts.dt.date.tolist() == [dt.date(2025, 4, 13), dt.date(2025, 4, 14)]


def test_four_digit_year_is_found_wherever_it_stands():
    text = "[2018/06/13, 21:25:15] a: m\n[06/2018/13, 21:25:15] b: n\n[13.06.2018, 21:25:15] c: o"
    m = parse_whatsapp(text).messages
    assert m.local_ts.tolist() == [ts("2018-06-13 21:25:15")] * 3


def test_mixed_locales_are_decided_per_separator():
    text = two("13/04/25", "01/02/25") + "04.13.25, 12:00 - C: z\n02.01.25, 12:00 - D: w\n"
    chat = parse_whatsapp(text)
    assert chat.quarantined_lines == 0
    assert chat.messages.local_ts.dt.date.tolist() == [
        dt.date(2025, 4, 13), dt.date(2025, 2, 1), dt.date(2025, 4, 13), dt.date(2025, 2, 1),
    ]  # fmt: skip


# --- quarantine ----------------------------------------------------------------------------------
def test_impossible_date_is_quarantined_with_its_continuation_lines():
    text = (
        "preamble line\n"
        "30/01/25 10.00 - A: ok\n"
        "31/02/25 10.00 - B: tidak mungkin\n"
        "lanjutan\n"
        "01/03/25 10.00 - C: lanjut\n"
    )
    chat = parse_whatsapp(text)
    invariant(chat)
    assert (chat.lines_read, chat.header_lines, chat.continuation_lines) == (5, 2, 0)
    assert chat.quarantined_lines == 3
    r = chat.rejected
    assert r.source_line.tolist() == [1, 3, 4]
    assert r.raw.tolist() == ["preamble line", "31/02/25 10.00 - B: tidak mungkin", "lanjutan"]
    assert r.reason.iloc[0] == "text before the first message header"
    assert r.reason.iloc[1].startswith("impossible date '31/02/25'")
    assert r.reason.iloc[2] == "continuation of quarantined header line 3"
    assert chat.messages.sender.tolist() == ["A", "C"]


@pytest.mark.parametrize("date, year", [("01/01/2008", 2008), ("01/01/2101", 2101)])
def test_year_outside_whatsapp_lifetime_is_quarantined(date, year):
    chat = parse_whatsapp(f"01/01/2020 10:00 - A: ok\n{date} 10:00 - B: x")
    assert chat.header_lines == 1 and chat.quarantined_lines == 1
    assert f"year {year}" in chat.rejected.reason.iloc[0]


def test_impossible_time_is_quarantined():
    chat = parse_whatsapp("01/01/2020 10:00 - A: ok\n01/01/2020 25:61 - B: x")
    assert chat.rejected.reason.tolist() == ["impossible time '25:61'"]


def test_file_without_a_usable_header_is_rejected():
    with pytest.raises(RejectedFile, match="Buddhist-era year without the 'BE' marker"):
        parse_whatsapp("[3/27/2565, 21:41:35] A: x\n[3/28/2565, 21:41:35] A: y")


def test_raw_is_cut_at_500_characters():
    chat = parse_whatsapp("x" * 600 + "\n01/01/2020 10:00 - A: ok")
    assert len(chat.rejected.raw.iloc[0]) == 500


# --- calendars and scripts ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "header",
    [
        "[3/27/2565 BE, 21:41:35]",
        "[3/27/R4, 21:41:35]",
        "[3/27/H34, 21:41:35]",  # not a real Heisei date, but Heisei 34 would be 2022
        "[٢٧/٣/٢٠٢٢، ٩:٤١:٣٥ م]",
        "[21:41:35, 3/27/22]",
        "[\u200f27\u200f/3\u200f/2022\u060c 21:41:35]",
        "2022. 3. 27. 오후 9:41:35 -",
    ],
)
def test_calendars_and_scripts(header):
    m = parse_whatsapp(f"{header} A: x\n{header} B: y").messages
    assert m.local_ts.tolist() == [ts("2022-03-27 21:41:35")] * 2


# --- chat names from file names -----------------------------------------------------------------
@pytest.mark.parametrize(
    "name, expected",
    [
        ("Chat WhatsApp dengan Toko Maju.txt", "Toko Maju"),
        ("WhatsApp Chat with Budi.txt", "Budi"),
        ("WhatsApp Chat - Budi Santoso.txt", "Budi Santoso"),
        ("WhatsApp Chat with Budi.zip", "Budi"),
        ("landing/2025/WhatsApp Chat with +62 812-3456-7890.txt", "+62 812-3456-7890"),
        ("C:\\Users\\lia\\Chat WhatsApp dengan Sari 🌸.txt", "Sari 🌸"),
        ("WhatsApp Chat with Budi (1).txt", "Budi"),
        ("\u200eWhatsApp Chat with \u202aBudi\u202c.txt", "Budi"),
        ("WhatsApp Chat with Jose\u0301.txt", "Jos\u00e9"),  # NFC
        ("_chat.txt", None),
        ("chat.txt", None),
        ("WhatsApp Chat with .txt", None),
        ("", None),
    ],
)
def test_chat_name_from_filename(name, expected):
    assert chat_name_from_filename(name) == expected


# --- layouts: the RE2 fast path agrees with the line-by-line reference ------------------------
MANY_LAYOUTS = """\
[05.05.23, 15:48:11] James: Hi here
[11/8/21, 9:41:32 AM] User name: Message 123
1/23/23, 3:19 AM - User 2: Bye!
1/23/23, 3:22_AM - User 1: And let me know
[1/24/21, 12:41:03 PM] ~ User name 2: Of course!
[2023/5/4, 16:13:23] ~ User 2: See you!
7/19/22, 11:32\u202fPM - User 1: Hello
7/20/22, 11:32\u202fam - User 2: Goodbye
13.06.18 21.25.15: a: m
12.07.2017 - 22:35:22; Johannes Gruber: Was it good?
12/07/2017 à 22:35 - XXX: Salut :)
13.6.2018 klo 21.25.15 - a: m
"""


def test_more_layouts_than_patterns_fall_back_to_line_by_line():
    fast = parse_whatsapp(MANY_LAYOUTS)
    slow = _parse(MANY_LAYOUTS, date_order="auto", hint=None, max_layouts=0)
    pd.testing.assert_frame_equal(fast.messages, slow.messages)
    assert fast.header_lines == 12 and fast.quarantined_lines == 0
    assert fast.layout.count("|") == 3 and fast.layout.endswith("more")


# --- properties ----------------------------------------------------------------------------------
_line = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "12/04/25 14.17 - Lia: Halo",
            "31/02/25 14.17 - Lia: x",
            "[1/2/22, 9:41:32 PM] A: b",
            "13/04/25 09.05 - sistem",
            "- lanjutan",
            "",
            "\ufeff\u200e",
            "[3/27/2565 BE, 21:41:35] A: x",
            "2025-04-12 14:17 B:",
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, max_size=12), st.sampled_from(["\n", "\r\n", "\r"]))
def test_never_raises_anything_but_rejected_file(lines, newline):
    text = newline.join(lines)
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    physical = len(normalised.split("\n")) - normalised.endswith("\n")
    for data in (text, text.encode("utf-8", "surrogatepass")):
        try:
            chat = parse_whatsapp(data)
        except RejectedFile as exc:
            assert exc.reason
            continue
        invariant(chat)
        assert chat.header_lines > 0
        if isinstance(data, str):
            assert chat.lines_read == physical


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data):
    try:
        chat = parse_whatsapp(data)
    except RejectedFile:
        return
    invariant(chat)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_never_crashes(text):
    try:
        chat = parse_whatsapp(text)
    except RejectedFile:
        return
    invariant(chat)


# --- a large synthetic export (correctness of the parallel path; prints the rate) ----------------
def synthetic_android_export(n_messages: int, seed: int = 7) -> bytes:
    """An Indonesian Android export with ``n_messages`` messages (5 % have a second line)."""
    rnd = random.Random(seed)
    names = ["Lia Sales", "Budi", "Toko Maju Jaya", "+62 812-3456-7890", "Sari 🌸"]
    texts = [
        "Halo kak, ready stok?",
        "Berapa harga untuk 100 pcs sablon logo?",
        "<Media tidak disertakan>",
        "Pesan ini telah dihapus",
        "Baik kak, kami cek dulu ya 🙏",
        "Sudah transfer ya kak, bukti terlampir",
        "Minimal order berapa?",
    ]
    t = dt.datetime(2024, 1, 1, 8, 0)
    out = []
    for _ in range(n_messages):
        t += dt.timedelta(seconds=rnd.randint(0, 600))
        out.append(f"{t:%d/%m/%y %H.%M} - {rnd.choice(names)}: {rnd.choice(texts)}")
        if rnd.random() < 0.05:
            out.append("- baris kedua")
    return ("\n".join(out) + "\n").encode("utf-8")


def test_large_synthetic_export(capsys):
    n = 200_000
    data = synthetic_android_export(n)
    start = time.perf_counter()
    chat = parse_whatsapp(data)
    elapsed = time.perf_counter() - start
    invariant(chat)
    assert chat.header_lines == n and chat.quarantined_lines == 0
    m = chat.messages
    assert (m.message_type == "media").sum() > 0 and (m.message_type == "deleted").sum() > 0
    assert m.local_ts.is_monotonic_increasing
    assert m.local_ts.iloc[0] >= ts("2024-01-01 08:00")
    with capsys.disabled():
        print(f"\n[whatsapp] {n} messages, {len(data) / 1e6:.1f} MB in {elapsed:.2f} s "
              f"= {n / elapsed:,.0f} messages/s")


# --- issue 14: date order per header form, "HH:MM." layout, timer and other notices ----------
def test_date_order_is_decided_per_header_form_after_a_locale_change():
    """A phone-locale change midway: ``6/30/23, 16:14`` (m/d/yy) then ``30/6/2023, 09:12``
    (d/m/yyyy). Same separator, but each form (2- vs 4-digit year) decides on its own."""
    text = (
        "6/29/23, 16:10 - Budi: Kak, tumbler ready?\n"
        "6/30/23, 16:14 - Lia Sales: Ready kak\n"
        "7/3/23, 08:00 - Budi: Ok\n"
        "30/6/2024, 09:12 - Budi: Kak order lagi\n"
        "1/7/2024, 10:00 - Lia Sales: Siap kak\n"
    )
    chat = parse_whatsapp(text)
    assert chat.quarantined_lines == 0
    assert chat.messages.local_ts.tolist() == [
        ts("2023-06-29 16:10"), ts("2023-06-30 16:14"), ts("2023-07-03 08:00"), ts("2024-06-30 09:12"), ts("2024-07-01 10:00"),
    ]


def test_time_followed_by_a_dot_is_a_header_layout():
    text = "2022/12/14, 13:34. - Budi: Kak, ada katalog?\nlanjutan\n2022/12/14, 13:40. - Lia Sales: Ada kak\n"
    chat = parse_whatsapp(text)
    invariant(chat)
    assert chat.quarantined_lines == 0
    assert chat.messages.sender.tolist() == ["Budi", "Lia Sales"]
    assert chat.messages.text.tolist() == ["Kak, ada katalog?\nlanjutan", "Ada kak"]
    assert chat.messages.local_ts.tolist() == [ts("2022-12-14 13:34"), ts("2022-12-14 13:40")]


@pytest.mark.parametrize(
    "notice",
    [
        "Pak Hendra updated the message timer. New messages will disappear from this chat 7 days after they're sent, except when kept.",
        "You updated the message timer. New messages will disappear from this chat 24 hours after they're sent.",
        "Pak Hendra mengubah pengatur waktu pesan. Pesan baru akan hilang dari chat ini 7 hari setelah dikirim, kecuali disimpan.",
        "Anda memperbarui pengatur waktu pesan. Pesan baru akan hilang dari chat ini 24 jam setelah dikirim.",
        "Pak Hendra uses a default timer for disappearing messages in new chats.",
        "Pak Hendra menggunakan pengatur waktu default untuk pesan sementara di chat baru.",
        "Your security code with Pak Hendra changed. Tap to learn more.",
        "Pak Hendra's security code changed. Tap to learn more.",
        "Kode keamanan Anda dengan Pak Hendra telah berubah. Ketuk untuk info selengkapnya.",
        "Kode keamanan Pak Hendra berubah. Ketuk untuk info selengkapnya.",
        "Pak Hendra joined using this group's invite link",
        "Pak Hendra joined using your invite link",
        "Pak Hendra bergabung menggunakan tautan undangan grup ini",
        "Pak Hendra bergabung menggunakan tautan undangan Anda",
        "Pak Hendra changed this group's icon",
        "Pak Hendra mengubah ikon grup ini",
        "Pak Hendra changed the group description",
        "Pak Hendra mengubah deskripsi grup",
    ],
)
def test_timer_and_similar_notices_are_system_lines(notice):
    for line in (f"[14/12/22 13.34.00] Pak Hendra: {notice}", f"14/12/22 13.34 - Pak Hendra: {notice}", f"14/12/22 13.34 - {notice}"):
        chat = parse_whatsapp(f"14/12/22 13.30 - Pak Hendra: Halo kak\n{line}\n")
        m = chat.messages
        assert m.message_type.tolist() == ["text", "system"], line
        assert pd.isna(m.sender.iloc[1])


def test_a_customer_text_that_mentions_a_timer_stays_text():
    chat = parse_whatsapp("14/12/22 13.30 - Budi: Kak, pengatur waktu pesan gimana caranya?\n")
    assert chat.messages.message_type.tolist() == ["text"]
