"""Marketplace "Detail Chat" exports: detection, column maps, flags, ratings, hostile files, and
the reply pairs they give under SPEC 6 / seed 004 (synthetic fixtures in
tests/fixtures/marketplace; the .xlsx ones are written here with openpyxl)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import parse_config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.facts.reply_pairs import fct_reply_pair
from kpi_transforms.sources.canonical import canonical_messages
from kpi_transforms.sources.marketplace.maps import all_maps
from kpi_transforms.sources.marketplace.parser import detect_marketplace, header_score, parse_marketplace
from kpi_transforms.sources.registry import detect_table_kind
from kpi_transforms.sources.tables.reader import decode_text, header_key, parse_datetimes, read_rows, sniff_delimiter

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "marketplace"
CONFIG = parse_config(
    {
        "agents": [
            {"id": "rina", "names": ["Rina CS"]},
            {"id": "lia", "names": ["Lia Sales"]},
        ]
    }
)


def parse(name: str, data: bytes | None = None, suffix: str = ".csv"):
    data = data if data is not None else (FIXTURES / name).read_bytes()
    return parse_marketplace(read_rows(data, suffix, header_score), CONFIG)


def messages_of(parsed) -> pd.DataFrame:
    return pd.concat(
        [canonical_messages(raw, channel=ch, thread_name=n, config=CONFIG, source_file="f", file_seq=1, batch_id="b")
         for ch, n, raw in parsed.threads],
        ignore_index=True,
    )


def pairs_of(parsed) -> pd.DataFrame:
    messages = messages_of(parsed)
    pairs = fct_reply_pair(messages, BusinessCalendar.from_config(CONFIG))
    names = messages.groupby("thread_id")["thread_name"].first()
    return pairs.assign(thread_name=pairs["thread_id"].map(names))


# -- maps and detection ----------------------------------------------------------------------


def test_every_map_is_complete_and_detects_itself():
    maps = all_maps()
    assert set(maps) == {"tokopedia", "shopee", "tiktok"}
    for name, mp in maps.items():
        header = [aliases[0] for aliases in mp.columns.values()]
        found = detect_marketplace(header)
        assert found.map.name == name and found.complete, name
        assert len(found.columns) == len(mp.columns)


@pytest.mark.parametrize(
    "file, marketplace",
    [("tokopedia_detail_chat.csv", "tokopedia"), ("shopee_chat.csv", "shopee"), ("tiktok_chat.csv", "tiktok")],
)
def test_marketplace_detected_from_the_header(file, marketplace):
    table = read_rows((FIXTURES / file).read_bytes(), ".csv", header_score)
    assert detect_table_kind(table.header) == "marketplace"
    assert detect_marketplace(table.header).map.name == marketplace


def test_header_keys_ignore_case_spaces_and_punctuation():
    assert header_key("No. Pesanan") == header_key("no_pesanan") == header_key(" NO PESANAN ")


# -- Tokopedia: roles, cards, auto replies, ratings ------------------------------------------


def test_tokopedia_threads_roles_types_and_ratings():
    parsed = parse("tokopedia_detail_chat.csv")
    assert parsed.marketplace == "tokopedia" and parsed.rows_read == 11 and parsed.rejected.empty
    threads = {name: raw for _c, name, raw in parsed.threads}
    budi = threads["Budi Santoso"]
    assert budi["thread_key"].iloc[0] == "tokopedia:souvenir nusantara:98765"
    assert set(budi["customer_id"]) == {"tokopedia:98765"}
    assert budi["sender_role"].tolist() == ["customer", "bot", "agent", "customer", "agent", "customer"]
    assert budi["message_type"].tolist() == ["text", "welcome_card", "text", "text", "text", "text"]
    assert budi["is_auto_reply"].tolist() == [False, True, True, False, False, False]
    assert budi["sender"].iloc[4] == "Rina CS"
    dewi = threads["Dewi Lestari"]
    assert dewi["message_type"].tolist() == ["text", "system", "media", "text", "system"]
    assert dewi["text"].iloc[-1] == "rating: 3"  # a rating-only row is kept as a system line
    ratings = parsed.ratings.sort_values("rated_at_local")
    assert ratings["stars"].tolist() == [5, 3]
    assert [str(t) for t in ratings["rated_at"]] == ["2025-03-03 02:41:00+00:00", "2025-03-05 01:30:00+00:00"]


def test_tokopedia_reply_pairs_auto_replies_do_not_close_queues():
    pairs = pairs_of(parse("tokopedia_detail_chat.csv")).sort_values("question_at")
    budi = pairs[pairs["thread_name"] == "Budi Santoso"]
    first = budi.iloc[0]
    # customer, welcome card, auto reply, customer = one queue of two, closed by Rina
    assert (first["status"], first["n_customer_messages"], first["calendar_seconds"], first["agent_id"]) == ("answered", 2, 1788, "rina")
    assert str(first["first_auto_reply_at"]) == "2025-03-03 02:00:13+00:00"
    assert budi.iloc[1]["status"] == "unanswered"
    dewi = pairs[pairs["thread_name"] == "Dewi Lestari"]
    assert dewi["calendar_seconds"].tolist() == [68100] and dewi["agent_id"].tolist() == ["lia"]


# -- Shopee: FAQ-card-only chat, holiday mode, semicolons, an unquoted delimiter --------------


def test_shopee_faq_only_and_holiday_chats_give_no_valid_pairs():
    parsed = parse("shopee_chat.csv")
    threads = {name: raw for _c, name, raw in parsed.threads}
    assert threads["andi_p"]["message_type"].tolist() == ["system", "welcome_card", "faq_card", "faq_card"]
    assert threads["citra.ayu"]["in_holiday_mode"].tolist() == [True, True, False]
    pairs = pairs_of(parsed)
    by_name = {name: group for name, group in pairs.groupby("thread_name")}
    assert "andi_p" not in by_name  # welcome card + FAQ card clicks only: no queue at all (seed 004)
    citra = by_name["citra.ayu"]  # opened during holiday mode: answered, but not valid
    assert citra[["status", "is_valid", "is_in_closed_period"]].values.tolist() == [["answered", False, True]]
    eko = by_name["eko_w"]  # auto reply inside the queue; the human reply 2 h later closes it
    assert eko[["status", "n_customer_messages", "calendar_seconds", "is_valid"]].values.tolist() == [["answered", 2, 7230, True]]
    assert str(eko["first_auto_reply_at"].iloc[0]) == "2025-03-12 07:00:01+00:00"
    assert pairs["is_valid"].sum() == 1


def test_shopee_semicolons_and_an_unquoted_delimiter_row_is_quarantined():
    parsed = parse("shopee_chat.csv")
    (row,) = parsed.rejected.to_dict("records")
    assert row["source_line"] == 12 and "11 fields" in row["reason"]
    assert parsed.date_order == "dmy" and parsed.date_order_source == "file"  # 15-03-2025 decides it
    assert parsed.ratings["stars"].tolist() == [4]


# -- TikTok: epoch seconds, JSON content, product cards, robot replies ------------------------


def test_tiktok_epoch_seconds_and_json_content():
    parsed = parse("tiktok_chat.csv")
    (_c, name, raw), = parsed.threads
    assert name == "Fajar"
    assert [str(t) for t in raw["local_ts"]] == [
        "2025-03-10 12:00:00", "2025-03-10 12:00:30", "2025-03-10 12:00:31", "2025-03-10 12:30:00", "2025-03-10 12:40:00",
    ]
    assert raw["text"].iloc[0] == "Kak, sablon logo bisa 2 warna?"
    assert raw["message_type"].tolist() == ["text", "media", "text", "text", "text"]
    assert raw["sender_role"].tolist() == ["customer", "customer", "bot", "agent", "customer"]
    pairs = pairs_of(parsed)
    assert pairs.iloc[0][["n_customer_messages", "calendar_seconds", "status"]].tolist() == [2, 1800, "answered"]


# -- hostile files ---------------------------------------------------------------------------


def test_missing_columns_are_named():
    with pytest.raises(RejectedFile, match=r"Tokopedia chat export but lacks column\(s\) Waktu \(timestamp\)"):
        parse("tokopedia_missing_waktu.csv")
    table = read_rows((FIXTURES / "tokopedia_missing_waktu.csv").read_bytes(), ".csv", header_score)
    with pytest.raises(RejectedFile, match="Waktu"):
        detect_table_kind(table.header)


def test_unknown_layout_gets_a_clear_reason():
    with pytest.raises(RejectedFile, match="unknown table layout"):
        detect_table_kind(["foo", "bar", "baz"])


def test_tab_delimited_csv_with_excel_serial_dates():
    parsed = parse("tokopedia_tab_excel_serial.csv")
    (_c, _n, raw), = parsed.threads
    assert [str(t) for t in raw["local_ts"]] == ["2025-03-03 09:00:00", "2025-03-03 09:45:00"]
    assert "8 fields" in parsed.rejected["reason"].iloc[0]  # a row with an extra tab


def test_cp1252_csv_is_decoded():
    text, encoding = decode_text((FIXTURES / "tokopedia_cp1252.csv").read_bytes())
    assert encoding == "cp1252"
    parsed = parse("tokopedia_cp1252.csv")
    assert parsed.threads[0][2]["text"].iloc[0] == "Saya pesan 3 mug \u201cCaf\u00e9\u201d \u2013 warna putih"


def test_mixed_utf8_and_cp1252_lines_are_decoded_line_by_line():
    _text, encoding = decode_text((FIXTURES / "tokopedia_mixed_encoding.csv").read_bytes())
    assert encoding == "utf-8+cp1252 (mixed)"
    texts = parse("tokopedia_mixed_encoding.csv").threads[0][2]["text"].tolist()
    assert texts[:2] == ["Mug \u201cCaf\u00e9\u201d (utf-8)", "Mug \u201cCaf\u00e9\u201d (cp1252)"]


def test_binary_and_empty_files_are_rejected():
    with pytest.raises(RejectedFile, match="binary"):
        read_rows(b"\x00\x01\x02" * 100, ".csv")
    with pytest.raises(RejectedFile, match="empty"):
        read_rows(b"  \n", ".csv")
    with pytest.raises(RejectedFile, match="xlsx"):
        read_rows(b"PK\x03\x04 not a workbook", ".xlsx")


def test_bad_rows_are_quarantined_and_the_rest_loads():
    parsed = parse("tokopedia_bad_rows.csv")
    reasons = dict(zip(parsed.rejected["source_line"], parsed.rejected["reason"]))
    assert "impossible date '31/02/2025 10:00'" in reasons[2]
    assert "unknown sender role 'Kurir'" in reasons[4]
    assert "holiday-mode flag" in reasons[5]
    assert "rating is not a whole number" in reasons[6]  # message kept, rating ignored
    (_c, _n, raw), = parsed.threads
    assert raw["text"].tolist() == ["Pesan normal", "Siap kak"]


def test_xlsx_with_title_rows_datetime_cells_and_serial_numbers():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Detail Chat"
    sheet.append(["Performa IM - Detail Chat"])
    sheet.append(["Periode: 01/03/2025 - 31/03/2025"])
    sheet.append(["ID Chat", "Nama Toko", "Nama Pembeli", "ID Pembeli", "Pengirim", "Nama Pengirim", "Waktu", "Pesan", "Tipe Pesan", "Mode Libur", "Rating Chat"])
    sheet.append(["TP-7", "Souvenir Nusantara", "Joko", 777, "Pembeli", "Joko", dt.datetime(2025, 3, 7, 10, 0), "Ready stok pin enamel?", "Teks", "Tidak", None])
    sheet.append(["TP-7", "Souvenir Nusantara", "Joko", 777, "Penjual", "Rina CS", 45723.4375, "Ready kak", "Teks", False, None])
    sheet.append(["TP-7", "Souvenir Nusantara", "Joko", 777, "Pembeli", "Joko", "07/03/2025 10:40", "Oke", "Teks", "Tidak", 5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    table = read_rows(buffer.getvalue(), ".xlsx", header_score)
    assert table.layout == "xlsx sheet 'Detail Chat', header row 3"
    parsed = parse_marketplace(table, CONFIG)
    (_c, name, raw), = parsed.threads
    assert name == "Joko" and raw["thread_key"].iloc[0] == "tokopedia:souvenir nusantara:777"  # integral float id
    assert [str(t) for t in raw["local_ts"]] == ["2025-03-07 10:00:00", "2025-03-07 10:30:00", "2025-03-07 10:40:00"]
    assert raw["source_line"].tolist() == [4, 5, 6]
    assert parsed.ratings["stars"].tolist() == [5]


# -- value readers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("05/03/2025 14.05", "2025-03-05 14:05:00"),
        ("05-03-2025 14:05:09", "2025-03-05 14:05:09"),
        ("2025-03-05T14:05:00+00:00", "2025-03-05 21:05:00"),
        ("2025-03-05 14:05", "2025-03-05 14:05:00"),
        ("5 Maret 2025 14:05", "2025-03-05 14:05:00"),
        ("Rab, 5 Mar 2025 pukul 14.05", "2025-03-05 14:05:00"),
        ("45721.5", "2025-03-05 12:00:00"),
        (1741158300, "2025-03-05 14:05:00"),
        ("1741158300000", "2025-03-05 14:05:00"),
        ("05/03/25 2:05 PM", "2025-03-05 14:05:00"),
    ],
)
def test_datetime_forms(value, expected):
    out, reasons, _order, _source = parse_datetimes(pd.Series([value], dtype=object), "Asia/Jakarta")
    assert str(out.iloc[0]) == expected and reasons.iloc[0] == ""


def test_day_month_order_is_decided_over_the_column():
    values = pd.Series(["03/04/2025", "03/13/2025"], dtype=object)
    out, _reasons, order, source = parse_datetimes(values, "Asia/Jakarta")
    assert (order, source) == ("mdy", "file") and str(out.iloc[0]) == "2025-03-04 00:00:00"
    out, reasons, order, _source = parse_datetimes(pd.Series(["12345", "hari ini"], dtype=object), "Asia/Jakarta")
    assert out.isna().all() and "Excel" in reasons.iloc[0] and "unreadable" in reasons.iloc[1]


def test_sniff_delimiter_prefers_consistent_columns():
    assert sniff_delimiter("a;b;c\n1;2,5;3\n4;5,1;6\n") == ";"
    assert sniff_delimiter("a\tb\n1\t2\n") == "\t"
    assert sniff_delimiter("a,b,c\n1,2,3\n") == ","
