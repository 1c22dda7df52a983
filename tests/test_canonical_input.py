import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.sources.flat import parse_canonical

CSV = b"""thread,channel,sent_at,sender_name,text,sender_role
Order 1,email,2025-01-17T16:40:00+07:00,sari@x.co.id,Halo,
Order 1,email,2025-01-17T09:45:00Z,rina@y.co.id,"Baik, Bu",agent
Order 1,email,2025-01-18 08:00:00,sari@x.co.id,Naive local time,
Order 1,email,31/02/2025 08:00,sari@x.co.id,bad date,
Order 1,fax,2025-01-18T08:00:00,sari@x.co.id,bad channel,
Order 1,email,2025-01-18T08:00:00,sari@x.co.id,bad role,boss
"""


def test_csv_rows_grouped_and_bad_rows_quarantined():
    parsed = parse_canonical(CSV, ".csv", "Asia/Jakarta")
    assert parsed.lines_read == 6  # rows read (ParseResult counts a row file's rows as lines)
    assert len(parsed.threads) == 1
    channel, name, raw = parsed.threads[0]
    assert (channel, name) == ("email", "Order 1")
    assert raw["local_ts"].tolist() == [
        pd.Timestamp("2025-01-17 16:40"), pd.Timestamp("2025-01-17 16:45"), pd.Timestamp("2025-01-18 08:00")
    ]
    assert raw["sender_role"].tolist()[1] == "agent"
    assert raw["text"].tolist()[1] == "Baik, Bu"
    rejected = parsed.rejected.set_index("source_line")["reason"].to_dict()
    assert rejected == {
        5: "sent_at is not an ISO 8601 timestamp",
        6: "unknown channel (whatsapp, email, marketplace, other)",
        7: "unknown sender_role (customer, agent, bot, system)",
    }


def test_jsonl_and_parquet_give_the_same_rows(tmp_path):
    rows = [
        {"thread": "T", "sent_at": "2025-02-03T10:00:00+07:00", "sender_name": "A", "text": "x", "is_auto_reply": "false"},
        {"thread": "T", "sent_at": "2025-02-03T10:05:00+07:00", "sender_name": "B", "text": "y", "is_auto_reply": "true"},
    ]
    jsonl = ("\n".join(json.dumps(r) for r in rows) + "\n{broken\n").encode()
    parsed_j = parse_canonical(jsonl, ".jsonl", "Asia/Jakarta")
    assert parsed_j.rejected["source_line"].tolist() == [3]
    assert "not JSON" in parsed_j.rejected["reason"].iloc[0]
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    parsed_p = parse_canonical(buffer.getvalue().to_pybytes(), ".parquet", "Asia/Jakarta")
    for parsed in (parsed_j, parsed_p):
        raw = parsed.threads[0][2]
        assert raw["local_ts"].tolist() == [pd.Timestamp("2025-02-03 10:00"), pd.Timestamp("2025-02-03 10:05")]
        assert raw["is_auto_reply"].tolist() == [False, True]


def test_missing_columns_named():
    with pytest.raises(RejectedFile, match="missing required column.*sender_name"):
        parse_canonical(b"thread,sent_at,text\nT,2025-01-01T00:00:00,x\n", ".csv", "Asia/Jakarta")


@pytest.mark.parametrize("data", [b"", b"   \n", b"\xff\xfe\x00garbage\x00\x81"])
def test_unusable_files_rejected(data):
    with pytest.raises(RejectedFile):
        parse_canonical(data, ".csv", "Asia/Jakarta")


def test_semicolon_csv_and_a_row_with_an_unquoted_delimiter():
    data = (
        "thread;sent_at;sender_name;text\n"
        "T;2025-01-02T09:00:00;A;halo\n"
        "T;2025-01-02T09:05:00;B;ada; titik koma\n"
        "T;2025-01-02T09:06:00;B;\"ada; dikutip\"\n"
    ).encode()
    parsed = parse_canonical(data, ".csv", "Asia/Jakarta")
    raw = parsed.threads[0][2]
    assert raw["text"].tolist() == ["halo", "ada; dikutip"]
    assert raw["source_line"].tolist() == [2, 4]
    assert parsed.rejected["source_line"].tolist() == [3]
    assert "5 fields, the header has 4" in parsed.rejected["reason"].iloc[0]
