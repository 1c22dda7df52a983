"""Tiny-frame builders shared by the tests, in one place (issue 13).

Every builder returns frames in the warehouse's canonical shape (SPEC 4 columns of
``marts.fct_message``); the fact transforms take them as they take warehouse reads. Times are
Asia/Jakarta local (UTC+7, no DST); the week Mon 2025-02-10 .. Fri 02-14 has no holiday.

* :func:`m` + :func:`frame` - one dict per message, roles given explicitly (reply pairs,
  threads, properties);
* :func:`chat` + :func:`chat_frame` - ``"2025-02-10 10:00 | Budi | text"`` lines per thread,
  roles from the sender's name (intents, quotes, cases, follow-ups);
* :func:`utc` - a local time string as a UTC timestamp;
* :func:`with_intents` - reply pairs plus their ``intent`` column, as the fact build makes them.

Golden scenarios (input files + ``expected.csv``) are not built here: see tests/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.facts.intents import queue_intents
from kpi_transforms.facts.reply_pairs import fct_reply_pair

TZ = "Asia/Jakarta"
AGENTS = {"Lia": "lia", "Rina": "rina"}


def m(when: str, role: str, agent: str | None = None, *, type: str = "text", auto: bool | None = None,
      thread: str = "t1", line: int | None = None, file_seq: int = 1, holiday: bool = False,
      customer: str | None = "c1") -> dict:
    """One message; ``when`` is local 'YYYY-MM-DD HH:MM[:SS]'."""
    if agent is None and role in ("agent", "bot"):
        agent = "bot" if role == "bot" else "a1"
    return {
        "when": when, "sender_role": role, "agent_id": agent, "message_type": type,
        "is_auto_reply": (role == "bot") if auto is None else auto, "thread_id": thread,
        "source_line": line, "file_seq": file_seq, "in_holiday_mode": holiday, "customer_id": customer,
    }


def frame(*rows: dict) -> pd.DataFrame:
    """Canonical message frame (SPEC 4 columns) from rows of :func:`m`."""
    df = pd.DataFrame(list(rows))
    local = pd.to_datetime(df.pop("when"), format="ISO8601").astype("datetime64[us]")
    n = len(df)
    out = pd.DataFrame(
        {
            "message_id": [f"{t}-m{i}" for i, t in enumerate(df["thread_id"])],
            "thread_id": df["thread_id"].astype("str"),
            "thread_name": ("Chat " + df["thread_id"]).astype("str"),
            "channel": "whatsapp",
            "sent_at": local.dt.tz_localize(TZ).dt.tz_convert("UTC"),
            "sent_at_local": local,
            "sender_name": pd.array([None] * n, dtype="string"),
            "sender_role": df["sender_role"].astype("str"),
            "agent_id": df["agent_id"].astype("string"),
            "customer_id": df["customer_id"].astype("string"),
            "is_auto_reply": df["is_auto_reply"].astype(bool),
            "message_type": df["message_type"].astype("str"),
            "text": "x",
            "source_file": "chat.txt",
            "source_line": [i if v is None or pd.isna(v) else int(v) for i, v in enumerate(df["source_line"])],
            "file_seq": df["file_seq"].astype("int64"),
            "batch_id": "b1",
            "in_holiday_mode": df["in_holiday_mode"].astype(bool),
        }
    )
    out["source_line"] = out["source_line"].astype("int64")
    return out


def utc(local: str) -> pd.Timestamp:
    return pd.Timestamp(local, tz=TZ).tz_convert("UTC")


def chat(*lines: str, thread: str = "t1", customer: str | None = None) -> list[dict]:
    """Rows of one thread from ``"2025-02-10 10:00 | Budi | text"`` lines; senders named in
    :data:`AGENTS` are human agents, ``Bot`` an auto-reply, anyone else the customer. A text
    starting with ``<media>`` is a media message."""
    rows = []
    for line in lines:
        when, sender, text = (part.strip() for part in line.split("|", 2))
        role = "agent" if sender in AGENTS else "bot" if sender == "Bot" else "customer"
        mtype = "media" if text.startswith("<media>") else "text"
        rows.append({"when": when, "thread": thread, "role": role, "agent": AGENTS.get(sender, "bot" if role == "bot" else None),
                     "text": text.removeprefix("<media>").strip(), "type": mtype, "customer": customer or f"name:{thread}"})
    return rows


def chat_frame(*threads: list[dict]) -> pd.DataFrame:
    """Canonical message frame (SPEC 4 columns) of the given chats."""
    rows = [row for thread in threads for row in thread]
    df = pd.DataFrame(rows)
    local = pd.to_datetime(df["when"], format="ISO8601").astype("datetime64[us]")
    n = len(df)
    return pd.DataFrame(
        {
            "message_id": [f"{t}-m{i}" for i, t in enumerate(df["thread"])],
            "thread_id": df["thread"].astype("string"),
            "thread_name": df["thread"].astype("string"),
            "channel": "whatsapp",
            "sent_at": local.dt.tz_localize(TZ).dt.tz_convert("UTC"),
            "sent_at_local": local,
            "sender_name": pd.array([None] * n, dtype="string"),
            "sender_role": df["role"].astype("string"),
            "agent_id": df["agent"].astype("string"),
            "customer_id": df["customer"].astype("string"),
            "is_auto_reply": (df["role"] == "bot").astype(bool),
            "message_type": df["type"].astype("string"),
            "text": df["text"].astype("string"),
            "source_file": "chat.txt",
            "source_line": np.arange(n, dtype=np.int64),
            "file_seq": np.ones(n, dtype=np.int64),
            "batch_id": "b1",
            "in_holiday_mode": False,
        }
    )


def with_intents(messages: pd.DataFrame, cal: BusinessCalendar, kw, manual=None) -> pd.DataFrame:
    pairs = fct_reply_pair(messages, cal)
    pairs["intent"] = queue_intents(messages, pairs, kw, manual)
    return pairs
