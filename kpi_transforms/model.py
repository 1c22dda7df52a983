"""The canonical message of SPEC 4: columns, thread keys, roles and deterministic ids.

Every source parser produces a frame of *raw* messages (local time, sender, text, type, source
line); :func:`canonical_messages` turns it into rows of ``marts.fct_message``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zoneinfo

import numpy as np
import pandas as pd
import pyarrow as pa

from kpi_transforms.config import Config
from kpi_transforms.identity import normalise_email, normalise_name, normalise_phone

CHANNELS = ("whatsapp", "email", "marketplace", "other")
ROLES = ("customer", "agent", "bot", "system")
MESSAGE_TYPES = ("text", "media", "deleted", "system", "faq_card", "welcome_card", "sticker", "location")

# Arrow schema of marts.fct_message (and of the Parquet files in the lake). Order = table order.
MESSAGE_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("thread_id", pa.string()),
        ("thread_name", pa.string()),
        ("channel", pa.string()),
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("sent_at_local", pa.timestamp("us")),
        ("sender_name", pa.string()),
        ("sender_role", pa.string()),
        ("agent_id", pa.string()),
        ("customer_id", pa.string()),
        ("is_auto_reply", pa.bool_()),
        ("message_type", pa.string()),
        ("text", pa.string()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("file_seq", pa.int64()),
        ("batch_id", pa.string()),
    ]
)
MESSAGE_COLUMNS = MESSAGE_SCHEMA.names


def thread_key(name: str, config: Config) -> str:
    """The normalised chat name, after the ``thread_aliases`` map (both sides normalised)."""
    key = normalise_name(name)
    aliases = {normalise_name(k): normalise_name(v) for k, v in config.thread_aliases.items()}
    seen: set[str] = set()
    while key in aliases and key not in seen:  # follow chains, stop on cycles
        seen.add(key)
        key = aliases[key]
    return key


def make_thread_id(channel: str, key: str) -> str:
    """A short stable id for a thread: channel plus a hash of its key."""
    return f"{channel[:2]}_" + hashlib.sha256(f"{channel}|{key}".encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Roster:
    """Agent lookup tables built once from the config."""

    by_name: dict[str, str]
    by_phone: dict[str, str]
    by_email: dict[str, str]
    auto_reply: re.Pattern[str] | None

    @classmethod
    def from_config(cls, config: Config) -> "Roster":
        by_name, by_phone, by_email = {}, {}, {}
        for agent in config.agents:
            for name in agent.names:
                by_name[normalise_name(name)] = agent.id
            for phone in agent.phones:
                if (p := normalise_phone(phone)) is not None:
                    by_phone[p] = agent.id
            for email in agent.emails:
                if (e := normalise_email(email)) is not None:
                    by_email[e] = agent.id
        pattern = None
        if config.auto_reply_patterns:
            pattern = re.compile("|".join(f"(?:{p})" for p in config.auto_reply_patterns), re.IGNORECASE)
        return cls(by_name, by_phone, by_email, pattern)

    def agent_of(self, sender: str | None) -> str | None:
        """The agent id of a sender name / phone / address, or None for a customer."""
        if sender is None:
            return None
        found = self.by_name.get(normalise_name(sender))
        if found is None and self.by_phone and (p := normalise_phone(sender)) is not None:
            found = self.by_phone.get(p)
        if found is None and self.by_email and (e := normalise_email(sender)) is not None:
            found = self.by_email.get(e)
        return found


def customer_id_for(name: str | None) -> str | None:
    """A customer key from a chat or sender name: the normalised phone when it is one
    (``+628...``), a lower-cased address for e-mail, else ``name:<normalised name>``."""
    if name is None or not str(name).strip():
        return None
    if (p := normalise_phone(name)) is not None:
        return p
    if (e := normalise_email(name)) is not None:
        return e
    return "name:" + normalise_name(name)


def message_ids(
    channel: pd.Series, thread: pd.Series, local_ts: pd.Series, sender: pd.Series, text: pd.Series
) -> pd.Series:
    """Deterministic ``message_id``: sha256 of channel, thread key, local timestamp, sender, text
    and the occurrence index of identical (timestamp, sender, text) tuples in the thread.

    The occurrence index is taken in the frame's order, which must be file order, so the same
    message in two cumulative exports gets the same id.
    """
    if len(local_ts) == 0:
        return pd.Series([], dtype="string", index=local_ts.index)
    ts_text = local_ts.dt.strftime("%Y-%m-%dT%H:%M:%S")
    sender_s = sender.astype("string").fillna("\x00")
    frame = pd.DataFrame(
        {"c": channel.astype(str), "t": thread.astype(str), "ts": ts_text, "s": sender_s, "x": text.astype(str)}
    )
    occurrence = frame.groupby(["c", "t", "ts", "s", "x"], sort=False, dropna=False).cumcount()
    keys = frame["c"] + "\x1f" + frame["t"] + "\x1f" + frame["ts"] + "\x1f" + frame["s"] + "\x1f" + frame["x"] + "\x1f" + occurrence.astype(str)
    digest = [hashlib.sha256(k.encode("utf-8")).hexdigest()[:32] for k in keys.tolist()]
    return pd.Series(digest, index=local_ts.index, dtype="string")


def localize(local_ts: pd.Series, timezone: str) -> pd.Series:
    """Naive local wall-clock times -> UTC (``datetime64[us, UTC]``). In a DST fold the earlier
    instant wins; a time inside a DST gap moves forward (neither exists in Asia/Jakarta)."""
    tz = zoneinfo.ZoneInfo(timezone)
    localized = local_ts.dt.tz_localize(tz, ambiguous=np.ones(len(local_ts), dtype=bool), nonexistent="shift_forward")
    return localized.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def canonical_messages(
    raw: pd.DataFrame,
    *,
    channel: str,
    thread_name: str,
    config: Config,
    source_file: str,
    file_seq: int,
    batch_id: str,
    roster: Roster | None = None,
) -> pd.DataFrame:
    """Raw parsed messages of one chat -> rows of ``marts.fct_message`` ("one row per message").

    ``raw`` has ``local_ts`` (naive local), ``sender`` (NA for system lines), ``text``,
    ``message_type`` and ``source_line``; optional ``sender_role`` / ``is_auto_reply`` /
    ``agent_id`` / ``customer_id`` columns (from sources that know them) win over the roster.
    """
    roster = roster or Roster.from_config(config)
    n = len(raw)
    key = thread_key(thread_name, config)
    thread_id = make_thread_id(channel, key)
    local_ts = raw["local_ts"].astype("datetime64[us]")
    sender = raw["sender"].astype("string")
    text = raw["text"].astype("string").fillna("")
    mtype = raw["message_type"].astype("string").fillna("text")

    # Roles: lookups per distinct sender, not per row.
    distinct = pd.Series(sender.dropna().unique())
    agent_map = {s: roster.agent_of(s) for s in distinct.tolist()}
    agent_id = sender.map(agent_map).astype("string")
    is_system = sender.isna() | (mtype == "system")
    is_agent_side = agent_id.notna() & ~is_system
    if roster.auto_reply is not None:
        auto = is_agent_side & text.str.contains(roster.auto_reply, regex=True).fillna(False).astype(bool)
    else:
        auto = pd.Series(False, index=raw.index)
    role = np.where(is_system, "system", np.where(auto, "bot", np.where(is_agent_side, "agent", "customer")))
    role = pd.Series(role, index=raw.index, dtype="string")
    if "sender_role" in raw.columns:
        given = raw["sender_role"].astype("string")
        role = given.where(given.isin(ROLES), role)
    if "is_auto_reply" in raw.columns:
        flagged = raw["is_auto_reply"].astype("boolean").fillna(False).astype(bool)
        auto = auto | flagged
        role = role.where(~(flagged & role.isin(["agent", "customer"])), "bot")
    if "agent_id" in raw.columns:
        agent_id = raw["agent_id"].astype("string").combine_first(agent_id)
    agent_id = agent_id.where(role.isin(["agent", "bot"]))
    mtype = mtype.where(~(role == "system"), "system")

    if "customer_id" in raw.columns and raw["customer_id"].notna().any():
        customer = raw["customer_id"].astype("string")
    else:
        customer = pd.Series(customer_id_for(thread_name), index=raw.index, dtype="string")

    ids = message_ids(pd.Series(channel, index=raw.index), pd.Series(key, index=raw.index), local_ts, sender, text)
    frame = pd.DataFrame(
        {
            "message_id": ids,
            "thread_id": pd.Series(thread_id, index=raw.index, dtype="string"),
            "thread_name": pd.Series(thread_name, index=raw.index, dtype="string"),
            "channel": pd.Series(channel, index=raw.index, dtype="string"),
            "sent_at": localize(local_ts, config.timezone) if n else pd.Series([], dtype="datetime64[us, UTC]"),
            "sent_at_local": local_ts,
            "sender_name": sender,
            "sender_role": role,
            "agent_id": agent_id,
            "customer_id": customer,
            "is_auto_reply": auto.astype(bool),
            "message_type": mtype,
            "text": text,
            "source_file": pd.Series(source_file, index=raw.index, dtype="string"),
            "source_line": raw["source_line"].astype("int64"),
            "file_seq": pd.Series(file_seq, index=raw.index, dtype="int64"),
            "batch_id": pd.Series(batch_id, index=raw.index, dtype="string"),
        }
    )
    return frame.reset_index(drop=True)


def to_arrow(messages: pd.DataFrame) -> pa.Table:
    """A canonical message frame as an Arrow table with :data:`MESSAGE_SCHEMA`."""
    return pa.Table.from_pandas(messages[MESSAGE_COLUMNS], schema=MESSAGE_SCHEMA, preserve_index=False)


def empty_messages() -> pd.DataFrame:
    return MESSAGE_SCHEMA.empty_table().to_pandas()
