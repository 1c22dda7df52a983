"""message_id stays byte-for-byte what it was before the hashing was vectorised (SPEC 4).

``_reference_message_ids`` is the original per-row implementation, kept here verbatim as the
specification: sha256 hex[:32] of ``channel␟thread␟YYYY-MM-DDTHH:MM:SS␟sender␟text␟occurrence``
with a null sender written as U+0000 and the occurrence index of identical (channel, thread,
timestamp, sender, text) tuples in frame order. Both hashing paths of the new code (hashlib
for small frames, DuckDB's sha256 for large ones) are checked against it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from kpi_transforms.core.config import Agent, Config
from kpi_transforms.sources import canonical as model


def _reference_message_ids(channel, thread, local_ts, sender, text) -> pd.Series:
    if len(local_ts) == 0:
        return pd.Series([], dtype="string", index=local_ts.index)
    ts_text = local_ts.dt.strftime("%Y-%m-%dT%H:%M:%S")
    sender_s = sender.astype("string").fillna("\x00")
    frame = pd.DataFrame(
        {"c": channel.astype(str), "t": thread.astype(str), "ts": ts_text, "s": sender_s, "x": text.astype(str)}
    )
    occurrence = frame.groupby(["c", "t", "ts", "s", "x"], sort=False, dropna=False).cumcount()
    keys = (
        frame["c"] + "\x1f" + frame["t"] + "\x1f" + frame["ts"] + "\x1f" + frame["s"] + "\x1f" + frame["x"]
        + "\x1f" + occurrence.astype(str)
    )
    digest = [hashlib.sha256(k.encode("utf-8")).hexdigest()[:32] for k in keys.tolist()]
    return pd.Series(digest, index=local_ts.index, dtype="string")


@pytest.fixture(params=["hashlib", "duckdb"])
def hashing_path(request, monkeypatch):
    monkeypatch.setattr(model, "_DUCKDB_MIN_ROWS", 10**12 if request.param == "hashlib" else 0)
    return request.param


def _frame(rows: list[tuple]) -> dict[str, pd.Series]:
    channel, thread, ts, sender, text = zip(*rows)
    index = pd.RangeIndex(100, 100 + len(rows))  # a non-default index is kept
    return {
        "channel": pd.Series(channel, index=index, dtype="string"),
        "thread": pd.Series(thread, index=index, dtype="string"),
        "local_ts": pd.Series(pd.to_datetime(list(ts), format="ISO8601"), index=index).astype("datetime64[us]"),
        "sender": pd.Series(sender, index=index, dtype="string"),
        "text": pd.Series(text, index=index, dtype="string"),
    }


TRICKY = [
    ("whatsapp", "budi", "2025-01-06 08:00:00", "Budi", "Halo kak 😀🙏🏽"),
    ("whatsapp", "budi", "2025-01-06 08:00:00", "Budi", "Halo kak 😀🙏🏽"),  # duplicate: occurrence 1
    ("whatsapp", "budi", "2025-01-06 08:00:00", "Lia Sales", "Halo kak 😀🙏🏽"),  # other sender: 0
    ("whatsapp", "budi", "2025-01-06 08:00:00", "Budi", "Halo kak 😀🙏🏽"),  # third copy: 2
    ("whatsapp", "budi", "2025-01-06 08:00:59.999999", "Budi", "Halo kak 😀🙏🏽"),  # same second: 3
    ("whatsapp", "budi", "2025-01-06 08:00:00", None, "Pesan dan panggilan terenkripsi"),  # null sender
    ("whatsapp", "budi", "2025-01-06 08:00:00", "\x00", "Pesan dan panggilan terenkripsi"),  # "\x00" == null
    ("whatsapp", "budi", "2025-01-06 08:01:00", "Budi", ""),  # empty text
    ("whatsapp", "budi", "2025-01-06 08:01:00", "Budi", ""),
    ("whatsapp", "budi", "2025-01-06 08:02:00", "Bu\x00di", "a\x00b\x00"),  # NUL inside values
    ("whatsapp", "budi", "2025-01-06 08:03:00", "a\x1fb", "c"),  # separator inside values:
    ("whatsapp", "budi", "2025-01-06 08:03:00", "a", "b\x1fc"),  # different tuples, same key
    ("whatsapp", "budi", "2025-01-06 08:04:00", "Budi", "baris satu\nbaris dua\r\n  "),
    ("whatsapp", "budi", "2025-01-06 08:05:00", "Café", "e\u0301 vs \u00e9 \u200e\ufeff"),  # not normalised
    ("email", "<root@x>", "2009-01-01 00:00:00", "a@b.co", "x" * 5000),
    ("whatsapp", "sari", "2100-12-31 23:59:59", "Sari", "Halo kak 😀🙏🏽"),
    ("whatsapp", "sari", "1970-01-01 00:00:00", "Sari", "Halo kak 😀🙏🏽"),
    ("whatsapp", "sari", "1969-12-31 23:59:59.5", "Sari", "Halo kak 😀🙏🏽"),
    ("whatsapp", "budi", "2025-01-06 08:00:00", "Budi", "Halo kak 😀🙏🏽"),  # fourth copy, later in file
]


def test_tricky_inputs_give_the_same_ids(hashing_path):
    cols = _frame(TRICKY)
    expected = _reference_message_ids(**cols)
    got = model.message_ids(**cols)
    pd.testing.assert_series_equal(got, expected)
    assert len({got.iloc[0], got.iloc[1], got.iloc[3], got.iloc[4], got.iloc[18]}) == 5  # copies told apart
    assert got.iloc[5] != got.iloc[6]  # null sender is "\x00": the second is a repeat of the first
    assert got.iloc[10] == got.iloc[11]  # different tuples with the same key string: the same id, as before


def test_empty_frame():
    cols = _frame(TRICKY[:1])
    empty = {k: v.iloc[:0] for k, v in cols.items()}
    pd.testing.assert_series_equal(model.message_ids(**empty), _reference_message_ids(**empty))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_frames_with_many_repeats(seed, hashing_path):
    rng = np.random.default_rng(seed)
    n = 3000
    senders = np.array(["Budi", "Lia Sales", "😀", "", "\x00", None], dtype=object)
    texts = np.array(["ok", "ok ", "OK", "", "\x00", "😀\n😀", "Halo kak"], dtype=object)
    rows = [
        (
            "whatsapp" if rng.random() < 0.9 else "email",
            f"thread {rng.integers(3)}",
            str(pd.Timestamp("2025-03-01") + pd.Timedelta(seconds=int(rng.integers(0, 240)) * 30)),
            senders[rng.integers(len(senders))],
            texts[rng.integers(len(texts))],
        )
        for _ in range(n)
    ]
    cols = _frame(rows)
    pd.testing.assert_series_equal(model.message_ids(**cols), _reference_message_ids(**cols))


def test_other_input_dtypes():
    cols = _frame(TRICKY)
    cols["sender"] = cols["sender"].astype(object).where(cols["sender"].notna(), None)
    cols["text"] = cols["text"].astype("str")
    cols["channel"] = cols["channel"].astype(object)
    pd.testing.assert_series_equal(model.message_ids(**cols), _reference_message_ids(**cols))


def test_canonical_messages_ids_roles_and_overrides(hashing_path):
    config = Config(
        agents=(Agent(id="lia", names=("Lia Sales",)),),
        auto_reply_patterns=("^Terima kasih telah menghubungi",),
    )
    raw = pd.DataFrame(
        {
            "local_ts": pd.to_datetime(
                ["2025-01-06 08:00", "2025-01-06 08:00", "2025-01-06 08:00", "2025-01-06 08:01", "2025-01-06 08:02"]
            ).astype("datetime64[us]"),
            "sender": pd.array([None, "Budi", "LIA sales ", "Lia Sales", "Budi"], dtype="string"),
            "text": ["Pesan dan panggilan terenkripsi", "Halo", "terima kasih telah menghubungi kami", "Siap kak", "Halo"],
            "message_type": ["system", "text", "text", "text", "text"],
            "source_line": [1, 2, 3, 4, 5],
        },
        index=[10, 11, 12, 13, 14],
    )
    out = model.canonical_messages(
        raw, channel="whatsapp", thread_name="Budi", config=config, source_file="chat.txt", file_seq=3, batch_id="b1"
    )
    assert list(out.columns) == model.MESSAGE_COLUMNS
    assert out.index.equals(pd.RangeIndex(5))
    assert out["sender_role"].tolist() == ["system", "customer", "bot", "agent", "customer"]
    assert out["agent_id"].tolist() == [pd.NA, pd.NA, "lia", "lia", pd.NA]
    assert out["is_auto_reply"].tolist() == [False, False, True, False, False]
    assert out["message_type"].tolist() == ["system", "text", "text", "text", "text"]
    assert (out["sent_at"] == pd.Timestamp("2025-01-06 01:00", tz="UTC")).iloc[0]
    assert str(out["sent_at"].dtype) == "datetime64[us, UTC]" and out["customer_id"].iloc[0] == "name:budi"
    key = model.thread_key("Budi", config)
    expected = _reference_message_ids(
        pd.Series("whatsapp", index=raw.index), pd.Series(key, index=raw.index), raw["local_ts"], raw["sender"],
        raw["text"].astype("string"),
    )
    assert out["message_id"].tolist() == expected.tolist()
    assert out["message_id"].dtype == "string"

    given = raw.assign(
        sender_role=["system", "agent", "nonsense", None, "customer"],
        is_auto_reply=[False, False, False, True, None],
        agent_id=[None, "andi", None, None, None],
        customer_id=["+6281", None, None, None, None],
    )
    out = model.canonical_messages(
        given, channel="marketplace", thread_name="Budi", config=config, source_file="x.csv", file_seq=1, batch_id="b"
    )
    assert out["sender_role"].tolist() == ["system", "agent", "bot", "bot", "customer"]
    assert out["agent_id"].tolist() == [pd.NA, "andi", "lia", "lia", pd.NA]
    assert out["is_auto_reply"].tolist() == [False, False, True, True, False]
    assert out["customer_id"].tolist() == ["+6281", pd.NA, pd.NA, pd.NA, pd.NA]
