"""The WhatsApp parser against every public export in ../shared/realdata and its source's gold.

The files are read in place (several are GPL / AGPL): nothing is copied into this repository.
PROVENANCE.md sections A and D describe each file and gold statement used here.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.sources.whatsapp.parser import _parse, parse_whatsapp
from tests.conftest import REALDATA

WHATSAPP_DIRS = (
    "chat-miner",
    "whatstk",
    "chat-analytics",
    "whatsapp-chat-parser-website",
    "langchain-community",
    "rwhatsapp",
    "WhatsR",
    "whats_json",
)
ALL_FILES = sorted(
    str(p.relative_to(REALDATA))
    for d in WHATSAPP_DIRS
    if (REALDATA / d).is_dir()
    for p in (REALDATA / d).rglob("*.txt")
)
# Files we choose to reject (none: every exotic calendar and script parses correctly).
EXPECTED_REJECTIONS: dict[str, str] = {}


def parse_file(realdata: Path, rel: str, **kw):
    return parse_whatsapp((realdata / rel).read_bytes(), **kw)


def ts(text: str) -> np.datetime64:
    return np.datetime64(text, "us")


def test_all_51_whatsapp_files_are_found(realdata):
    assert len(ALL_FILES) == 51, ALL_FILES


@pytest.mark.parametrize("rel", ALL_FILES)
def test_every_file_parses_and_accounts_for_every_line(realdata, rel):
    if rel in EXPECTED_REJECTIONS:
        with pytest.raises(RejectedFile, match=EXPECTED_REJECTIONS[rel]):
            parse_file(realdata, rel)
        return
    chat = parse_file(realdata, rel)
    assert chat.lines_read == chat.header_lines + chat.continuation_lines + chat.quarantined_lines
    assert chat.header_lines == len(chat.messages) > 0
    assert chat.quarantined_lines == len(chat.rejected) == 0  # no public file has a bad line
    m = chat.messages
    assert list(m.columns) == [
        "local_ts", "sender", "text", "message_type", "source_line", "n_lines",
    ]  # fmt: skip
    assert m.local_ts.dtype == "datetime64[us]"
    assert m.sender.dtype == pd.StringDtype("pyarrow")
    assert m.source_line.dtype == "int64" and m.n_lines.dtype == "int64"
    assert m.source_line.is_monotonic_increasing
    assert int(m.n_lines.sum()) == chat.header_lines + chat.continuation_lines
    assert (m.source_line.diff().dropna() == m.n_lines.iloc[:-1].to_numpy()).all()
    assert set(m.message_type) <= {"text", "media", "deleted", "system"}
    assert m.sender[m.message_type == "system"].isna().all()
    assert m.sender[m.message_type != "system"].notna().all()
    assert not m.text.str.contains("[\u200e\u200f\ufeff\u202a-\u202e]", regex=True).any()
    assert m.local_ts.between(ts("2009-01-01"), ts("2030-01-01")).all()
    assert chat.date_order in {"dmy", "mdy", "ymd"}


@pytest.mark.parametrize("rel", ALL_FILES)
def test_layout_patterns_agree_with_line_by_line_parsing(realdata, rel):
    """The RE2 layout fast path gives exactly what the reference pattern gives line by line."""
    data = (realdata / rel).read_bytes()
    fast = parse_whatsapp(data)
    slow = _parse(data, date_order="auto", hint=None, max_layouts=0)
    pd.testing.assert_frame_equal(fast.messages, slow.messages)
    assert (fast.date_order, fast.date_order_source) == (slow.date_order, slow.date_order_source)


# --- chat-miner: target.json ----------------------------------------------------------------
CHAT_MINER = [
    "chat-miner/test_ddmmyy_24hrs.txt",
    "chat-miner/test_mmddyy_24hrs.txt",
    "chat-miner/test_mmddyyyy_12hrs.txt",
    "chat-miner/test_yyyymmdd_24hrs.txt",
    "chat-miner/test_[mmddyy]_24hrs.txt",
]


@pytest.mark.parametrize("rel", CHAT_MINER)
def test_chat_miner_target(realdata, rel):
    target = json.loads((realdata / "chat-miner/target.json").read_text("utf-8"))
    chat = parse_file(realdata, rel)
    m = chat.messages
    # chat-miner keeps user messages with a text body, joins lines with a space, newest first
    user = m[m.message_type == "text"].iloc[::-1]
    got = [
        {"timestamp": t.isoformat(), "author": a, "message": x.replace("\n", " ")}
        for t, a, x in zip(user.local_ts, user.sender, user.text)
    ]
    assert got == target
    # 'John Doe:.' has no ': ' after the name: a system line here, dropped by chat-miner too
    assert m.loc[m.source_line == 2, "message_type"].item() == "system"
    assert m.loc[m.source_line == 2, "text"].item() == "John Doe:."
    assert chat.date_order == {"dd": "dmy", "mm": "mdy", "yy": "ymd", "[m": "mdy"}[
        rel.split("test_")[1][:2]
    ]
    assert chat.date_order_source == "file"


# --- WhatsR: expected_csv (derived from expected_rds) --------------------------------------
WHATSR = {
    "englishandroid24h": "EnglishAndroid24H",
    "englishandroidampm": "EnglishAndroidAMPM",
    "englishios24h": "EnglishIos24H",
    "englishiosampm": "EnglishIosAMPM",
    "germanandroid24h": "GermanAndroid24H",
    "germanandroidampm": "GermanAndroidAMPM",
    "germanios24h": "GermanIos24H",
    "germaniosampm": "GermanIosAMPM",
}


def _squash(text: str) -> str:
    return " ".join(text.replace("start_newline", " ").split())


@pytest.mark.parametrize("name", sorted(WHATSR))
def test_whatsr_gold(realdata, name):
    chat = parse_file(realdata, f"WhatsR/{name}.txt")
    gold = pd.read_csv(realdata / f"WhatsR/expected_csv/{WHATSR[name]}_default.csv")
    m = chat.messages
    assert len(m) == len(gold) == 50
    # DateTime_UTC is the file's wall-clock time (WhatsR reads it as UTC)
    assert (m.local_ts.to_numpy() == pd.to_datetime(gold.DateTime_UTC).to_numpy()).all()
    is_system = gold.Sender == "WhatsApp System Message"
    assert is_system.sum() == 8
    assert ((m.message_type == "system").to_numpy() == is_system.to_numpy()).all()
    assert m.sender.isna().to_numpy().tolist() == is_system.tolist()
    assert m.sender[~is_system.to_numpy()].tolist() == gold.Sender[~is_system].tolist()
    # texts: WhatsR squashes runs of spaces and encodes trailing newlines as 'start_newline'
    gold_text = gold.Message.where(~is_system, gold.SystemMessage).fillna("")
    assert [_squash(t) for t in m.text] == [_squash(t) for t in gold_text]
    # 23:59 PM (an invalid 12-hour time) is read as 23:59, 00:04 AM as 00:04
    if "ampm" in name:
        assert ts("2018-01-29T23:59:00") <= m.local_ts.iloc[34] < ts("2018-01-29T23:59:59")
        assert m.local_ts.iloc[38].strftime("%H:%M") == "00:04"
    assert (m.message_type == "media").sum() == 2  # '(file attached)' and '<Media omitted>' etc.


# --- rwhatsapp: rwa_read.expected.csv -------------------------------------------------------
def test_rwhatsapp_gold(realdata):
    chat = parse_file(realdata, "rwhatsapp/sample.txt")
    gold = pd.read_csv(realdata / "rwhatsapp/rwa_read.expected.csv")
    m = chat.messages
    # PROVENANCE.md says 10 messages, but the derived CSV (and sample.txt) hold 9 headers
    assert len(m) == len(gold) == 9
    # rwhatsapp adds a constant :36 s to minute-only stamps: compare at minute precision
    gold_min = pd.to_datetime(gold.time_GMT).dt.floor("min")
    assert (m.local_ts.to_numpy() == gold_min.to_numpy()).all()
    assert m.sender.isna().tolist() == gold.author.isna().tolist()
    assert m.sender.dropna().tolist() == gold.author.dropna().tolist()
    assert m.text.tolist() == gold.text.tolist()
    assert m.text.iloc[4] == "It's fun doing text analysis with R\nisn't it?"
    assert m.message_type.tolist()[:3] == ["system", "system", "media"]
    assert chat.continuation_lines == 2  # the 2nd line of the multi-line message + final blank


# --- chat-analytics --------------------------------------------------------------------------
def test_chat_analytics_2a_5m(realdata):
    chat = parse_file(realdata, "chat-analytics/2A_5M.txt")
    m = chat.messages
    rows = list(zip(m.sender, m.local_ts.dt.strftime("%Y-%m-%d %H:%M"), m.message_type))
    assert rows == [
        ("A", "2021-01-01 12:00", "text"),
        ("B", "2021-01-01 12:01", "text"),
        ("A", "2021-01-01 12:02", "text"),
        ("B", "2021-01-01 12:03", "media"),  # lowercase '<media omitted>'
        ("A", "2021-01-01 12:02", "text"),  # out of order in the file; file order is kept
    ]
    assert m.text.tolist()[:3] == ["Hi", "Whats up?", "All good"]
    # chat-analytics' order is the stable sort by time, a later (thread-order) concern
    ordered = m.sort_values("local_ts", kind="stable")
    assert ordered.text.tolist() == [
        "Hi", "Whats up?", "All good", "This message should be reordered", "<media omitted>",
    ]  # fmt: skip


def test_chat_analytics_4a_11m_is_ambiguous_and_read_day_first(realdata):
    chat = parse_file(realdata, "chat-analytics/4A_11M.txt")
    m = chat.messages
    # every header is 12/9/20: no value > 12, so the default (day-first) applies: 12 Sept 2020
    assert chat.ambiguous is True
    assert (chat.date_order, chat.date_order_source) == ("dmy", "default")
    users = m[m.message_type != "system"]
    assert set(users.sender) == {"Alice", "Bob", "Eve", "Mallory", "Trent"}
    at = ts("2020-09-12T23:55:00")
    assert ((users.sender == "Alice") & (users.text == "boiii") & (users.local_ts == at)).any()
    trent = "\U0001f469\U0001f3fb\u200d\u2696\ufe0f"
    assert ((users.sender == "Trent") & (users.text == trent) & (users.local_ts == at)).any()
    assert (m.message_type == "system").sum() == 3  # encryption notice, created group, added you


# --- langchain -------------------------------------------------------------------------------
def test_langchain_mixed_formats(realdata):
    chat = parse_file(realdata, "langchain-community/examples/whatsapp_chat.txt")
    m = chat.messages
    text = m[m.message_type == "text"]
    assert list(zip(text.sender, text.text)) == [
        ("James", "Hi here"),
        ("User name", "Message 123"),
        ("User 2", "Bye!"),
        ("User 1", "And let me know if anything changes"),
        ("~ User name 2", "Of course!"),  # iOS tilde prefix kept, as langchain's gold
        ("~ User 2", "See you!"),
        ("User 1", "Hello"),
        ("User 2", "Goodbye"),
    ]
    assert list(zip(m.sender[8:], m.message_type[8:])) == [
        ("User 3", "media"),
        ("User 4", "deleted"),
    ]
    assert m.local_ts.dt.strftime("%Y-%m-%d %H:%M:%S").tolist() == [
        "2023-05-05 15:48:11",
        "2021-11-08 09:41:32",
        "2023-01-23 03:19:00",
        "2023-01-23 03:22:00",  # '3:22_AM'
        "2021-01-24 12:41:03",
        "2023-05-04 16:13:23",  # year-first line in a month-first file
        "2022-07-19 23:32:00",  # U+202F before PM
        "2022-07-20 11:32:00",  # lowercase am
        "2023-04-20 09:42:00",
        "2023-06-29 00:16:00",  # 12:16 am
    ]
    assert (chat.date_order, chat.date_order_source) == ("mdy", "file")


def test_langchain_chat_loader_sample(realdata):
    m = parse_file(realdata, "langchain-community/chat_loaders_data/whatsapp_chat.txt").messages
    assert m.message_type.iloc[0] == "system"  # "Dr. Feather: ‎Messages and calls are ..."
    assert m.text.iloc[0].startswith("Dr. Feather: Messages and calls are end-to-end encrypted")
    first_user = m[m.message_type == "text"].iloc[0]
    assert first_user.sender == "Dr. Feather"
    assert "I spotted a rare Hyacinth Macaw yesterday in the Amazon Rainforest." in first_user.text
    assert m.text[m.message_type == "media"].tolist() == ["image omitted"] * 3
    assert m.local_ts.iloc[-1] == ts("2023-08-15T21:25:16")


# --- whatstk ----------------------------------------------------------------------------------
def test_whatstk_pokemon_system_lines(realdata):
    chat = parse_file(realdata, "whatstk/pokemon.txt")
    m = chat.messages
    system = m[m.message_type == "system"]
    assert len(system) == 2
    assert system.text.iloc[0].startswith("Pokemon Chat: Messages and calls are end-to-end")
    assert system.text.iloc[1].startswith("Messages you send to this group are now secured")
    assert not m.text[m.message_type != "system"].str.startswith("Pokemon Chat").any()
    assert "Jessie & James" in set(m.sender) and "Prof. Oak" in set(m.sender)
    assert m.local_ts.iloc[0] == ts("2016-04-15T15:04:00")
    assert chat.continuation_lines == 1  # the final blank line


def test_whatstk_lorem_files(realdata):
    lorem = parse_file(realdata, "whatstk/lorem.txt")
    assert lorem.header_lines == 500 and lorem.date_order == "dmy"
    assert lorem.messages.local_ts.iloc[0] == ts("2020-01-15T02:22:56")
    assert (lorem.messages.sender == "+1 123 456 789").any()
    for part in ("whatstk/lorem-merge-part1.txt", "whatstk/lorem-merge-part2.txt"):
        chat = parse_file(realdata, part)
        assert chat.header_lines == 300 and chat.date_order == "ymd"


# --- Pustur's example export ----------------------------------------------------------------
def test_whatsapp_chat_parser_example(realdata):
    chat = parse_file(realdata, "whatsapp-chat-parser-website/_chat.txt")
    m = chat.messages
    poll = m[m.text.str.startswith("POLL:")].iloc[0]
    assert poll.n_lines == 7 and "\r" not in poll.text  # LF lines inside a CRLF file
    assert poll.text.splitlines()[1] == "When can we meet?"
    assert m.message_type.iloc[:4].tolist() == ["system"] * 4
    assert (m.message_type == "media").sum() == 4  # <attached: ...>
    assert m.text.iloc[-1].endswith("- https://github.com/Pustur/whatsapp-chat-parser-website")
    assert m.local_ts.iloc[0] == ts("2019-06-20T15:58:47")
    old = parse_file(realdata, "whatsapp-chat-parser-website/old-example-2019/_chat.txt")
    assert old.messages.message_type.iloc[0] == "system"  # U+200E before the system text
    assert old.messages.text.iloc[0] == (
        "Messages to this group are now secured with end-to-end encryption."
    )


# --- whats_json --------------------------------------------------------------------------------
IOS_LANGUAGES = [
    "arabic", "arabic2", "czech", "deutch", "english", "french", "hindi", "indonesian",
    "italian", "japanese", "portugal", "russian", "spanish", "thai", "ukrainian", "vietnamese",
]  # fmt: skip


@pytest.mark.parametrize("lang", IOS_LANGUAGES)
def test_whats_json_ios_languages(realdata, lang):
    chat = parse_file(realdata, f"whats_json/languages/{lang}_ios.txt")
    m = chat.messages
    assert len(m) == 23  # whats_json's gold count for every non-media iOS language file
    assert m.message_type.iloc[0] == "system"  # the encryption notice, in every language
    hello = m[m.text == "Hello World"]
    assert hello.local_ts.iloc[0] == ts("2022-03-27T21:41:35")
    assert chat.date_order == ("dmy" if lang.startswith("arabic") else "mdy")


@pytest.mark.parametrize(
    "name, n", [("english", 60), ("czech", 60), ("russian", 60), ("english_android_media", 60)]
)
def test_whats_json_android_languages(realdata, name, n):
    rel = f"whats_json/languages/{name}{'' if name.endswith('media') else '_android'}.txt"
    m = parse_file(realdata, rel).messages
    assert len(m) == n
    assert m.message_type.iloc[0] == "system"
    assert m.local_ts.iloc[1] == ts("2022-03-18T14:56:00")


def test_whats_json_english_android_types(realdata):
    m = parse_file(realdata, "whats_json/languages/english_android.txt").messages
    assert (m.message_type == "deleted").sum() == 8  # 'This/You deleted this message'
    assert m.text[m.message_type == "deleted"].isin(
        ["This message was deleted", "You deleted this message"]
    ).all()
    media = m.text[m.message_type == "media"]
    assert {"<Media omitted>", "Alex.vcf (file attached)", "TR.vcf (file attached)"} == set(media)
    foursquare = m[m.text.str.startswith("Pimlico Gardens")].iloc[0]
    assert foursquare.n_lines == 3
    assert foursquare.text == (
        "Pimlico Gardens\nLondon, United Kingdom\nhttps://foursquare.com/v/4e89af95e5fa82ad4c0aa03b"
    )


def test_whats_json_ios_media_export(realdata):
    m = parse_file(realdata, "whats_json/languages/english_ios_media.txt").messages
    assert len(m) == 25  # whats_json's gold count
    media = m.text[m.message_type == "media"]
    assert len(media) == 14  # 12 '<attached: ...>' (3 after a file name) + view-once + ...
    assert "Some file.txt <attached: 00000046-Some file.txt>" in set(media)
    assert media.str.contains("<attached: ").sum() == 13
    assert (m.message_type == "deleted").sum() == 2
    assert (m.message_type == "system").sum() == 3  # encryption notice, 2 x security code


def test_whats_json_indonesian_ios(realdata):
    chat = parse_file(realdata, "whats_json/languages/indonesian_ios.txt")
    m = chat.messages
    assert chat.layout == "ios [m/dd/yy HH.mm.ss]"
    assert (chat.date_order, chat.date_order_source) == ("mdy", "file")
    assert m.local_ts.iloc[0] == ts("2022-03-18T14:56:01")  # dotted time 14.56.01
    assert m.local_ts.iloc[-1] == ts("2022-03-27T21:56:45")
    assert m.message_type.iloc[0] == "system"
    assert m.text.iloc[0].startswith("Elon Musk: Pesan dan panggilan terenkripsi secara end-to-end")
    by_text = dict(zip(m.text, m.message_type))
    for media in (
        "gambar tidak disertakan",
        "video tidak disertakan",
        "audio tidak disertakan",
        "Kartu kontak tidak disertakan",
        "stiker tidak disertakan",
        "GIF tidak disertakan",
        "Some file.txt dokumen tidak disertakan",
        "Template.docx dokumen tidak disertakan",
    ):
        assert by_text[media] == "media", media
    assert by_text["Anda menghapus pesan ini."] == "deleted"
    assert by_text["Pesan ini dihapus."] == "deleted"
    assert by_text["Hello World"] == "text"
    assert by_text["Lokasi: https://maps.google.com/?q=51.5021456,-0.127397"] == "text"
    assert (m.message_type == "media").sum() == 14


def test_whats_json_ios_indonesian_security_code(realdata):
    m = parse_file(realdata, "whats_json/ios/iOS Indonesian.txt").messages
    code = m[m.text.str.contains("Kode keamanan Anda dengan Elon telah berubah")]
    assert len(code) == 2 and (code.message_type == "system").all() and code.sender.isna().all()
    assert code.local_ts.tolist() == [
        pd.Timestamp("2022-04-28 20:17:30"),
        pd.Timestamp("2023-01-07 23:32:30"),
    ]


@pytest.mark.parametrize(
    "rel",
    [
        "whats_json/calendars/Gregorian iOS.txt",
        "whats_json/calendars/Buddhist iOS.txt",  # 3/27/2565 BE  -> 2022
        "whats_json/calendars/Japanese iOS.txt",  # 3/27/R4       -> 2022 (Reiwa 4)
        "whats_json/languages/arabic_ios.txt",  # Arabic-Indic digits, ص/م
        "whats_json/languages/arabic2_ios.txt",  # Latin digits with U+200F
        "whats_json/languages/vietnamese_ios.txt",  # time first
    ],
)
def test_calendars_and_scripts_give_gregorian_dates(realdata, rel):
    chat = parse_file(realdata, rel)
    m = chat.messages
    assert m.local_ts.iloc[1] == ts("2022-03-27T21:41:35")
    assert m.sender.iloc[1] in {"Dmitry S", "Dmitry Starkov"}
    assert m.text.iloc[1] == "Hello World"
    assert m.local_ts.iloc[0].date() == dt.date(2022, 3, 18)
    if "Buddhist" in rel or "Japanese" in rel:
        assert m.local_ts.iloc[-1] == ts("2023-01-12T15:35:15")
        assert m.local_ts.dt.year.isin([2022, 2023]).all()


def test_arabic_digits_and_pm_marker(realdata):
    m = parse_file(realdata, "whats_json/languages/arabic_ios.txt").messages
    # [١٨/٣/٢٠٢٢، ٢:٥٦:٠٠ م] = 18/3/2022 2:56:00 PM; the sender had U+202A/U+202C around it
    assert m.local_ts.iloc[0] == ts("2022-03-18T14:56:00")
    assert m.text.iloc[0].startswith("+40\u00a0521\u00a0028\u00a061\u00a088: ")
    assert m.local_ts.iloc[-1] == ts("2022-03-27T21:56:45")


def test_whats_json_group_system_messages(realdata):
    rel = "whats_json/android/WhatsApp Chat with Group Chat XXX Android.txt"
    chat = parse_file(realdata, rel)
    m = chat.messages
    assert (m.message_type == "system").sum() == 16
    assert m.text.iloc[14] == "+7 999 999-99-99 joined using this group's invite link"
    assert m.sender.iloc[16:].tolist() == ["Dmitry S"] * 4
    assert chat.ambiguous and chat.date_order_source == "default"  # only 11/01/2023


# --- expected_header_lines.jsonl (Pustur + rwhatsapp gold) ---------------------------------
def _cases():
    path = REALDATA / "expected_header_lines.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    params = []
    for i, row in enumerate(rows):
        marks = ()
        first = row["lines"][0]
        if first.startswith("10:35 PM, 07 20"):
            marks = pytest.mark.xfail(
                reason="the date has no year ('07 20'); rwhatsapp assumes the current year, we "
                "do not guess years",
                raises=RejectedFile,
                strict=True,
            )
        elif first.startswith("07,12,2017"):
            marks = pytest.mark.xfail(
                reason="comma-separated date fields; rwhatsapp itself needs the custom format "
                "'MM,dd,yy, HH:mm' for this case",
                raises=RejectedFile,
                strict=True,
            )
        params.append(pytest.param(row, id=f"{i:02d}-{row['case'].replace(' ', '_')}", marks=marks))
    return params


def test_header_table_has_81_cases(realdata):
    assert len(_cases()) == 81


@pytest.mark.parametrize("case", _cases())
def test_expected_header_lines(realdata, case):
    text = "\n".join(case["lines"])
    tol = np.timedelta64(int(case.get("tolerance_s") or 0), "s")
    if case["case"] == "daysFirst option":
        for order, want in (("dmy", "2018-06-03T13:55:00"), ("mdy", "2018-03-06T13:55:00")):
            chat = parse_whatsapp(text, date_order=order)
            assert chat.date_order_source == "config"
            assert chat.messages.local_ts.iloc[0] == ts(want)
        return
    chat = parse_whatsapp(text)
    m = chat.messages
    assert chat.lines_read == chat.header_lines + chat.continuation_lines + chat.quarantined_lines
    assert chat.quarantined_lines == 0
    expected = case.get("expected_local_datetimes") or case.get("expected_utc_datetimes") or []
    wanted = [e for e in expected if not e.startswith("(")]  # '(continuation of ...)'
    assert len(m) == len(wanted) or not wanted
    for got, want in zip(m.local_ts, wanted):
        assert abs(np.datetime64(got, "us") - ts(want)) <= tol, (got, want)
    if "expected_author" in case:
        if case["expected_author"] is None:
            assert pd.isna(m.sender.iloc[0])
        else:
            assert m.sender.iloc[0] == case["expected_author"]
    if "expected_message" in case:
        assert m.text.iloc[0] == case["expected_message"]
    if case.get("expected_system"):
        assert m.message_type.iloc[0] == "system"
        assert m.text.iloc[0] == 'You created group "Test"'
    if "expected_messages" in case:
        assert len(m) == case["expected_messages"]
        header = "23/06/2018, 01:55 p.m. - Loris: "
        assert m.text.iloc[0] == case["expected_message_text_raw"].removeprefix(header)
        assert m.local_ts.iloc[0] == ts("2018-06-23T13:55:00")
    if "expected_attachment_filename" in case:
        assert m.message_type.iloc[0] == "media"
        assert case["expected_attachment_filename"] in m.text.iloc[0]
    if len(case["lines"]) == 3 and wanted:  # the '---> Another line - with a dash' case
        assert m.text.iloc[0] == "Was it good?\n---> Another line - with a dash"
