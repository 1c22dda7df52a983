"""The canonical message of SPEC 4: columns, thread keys, roles and deterministic ids.

Every source parser produces a frame of *raw* messages (local time, sender, text, type, source
line); :func:`canonical_messages` turns it into rows of ``marts.fct_message``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpi_transforms.core.config import Config
from kpi_transforms.core.identity import Roster, canonical_chat_name, customer_id_for, make_thread_id, thread_key
from kpi_transforms.core.schema import MESSAGE_COLUMNS, MESSAGE_CONTRACT, MESSAGE_SCHEMA, ROLES
from kpi_transforms.core.timezone import localize
from kpi_transforms.sources.registry import FileResult

# -- message ids ------------------------------------------------------------------------------
# The id is sha256(key).hexdigest()[:32] of the key string
#   channel \x1f thread \x1f YYYY-MM-DDTHH:MM:SS \x1f sender (null -> "\x00") \x1f text \x1f occurrence
# Everything but the digest itself is vectorised (Arrow string kernels, NumPy): the keys are
# built by Arrow, the occurrence index comes from integer group codes, and only the sha256 call
# runs per row (hashlib has no batch API; DuckDB's and pyarrow-free alternatives measured no
# faster on these machines, see docs/PERFORMANCE.md).
_SEP = "\x1f"
_LARGE = pa.large_string()
_STRING_TYPES = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


def _arrow_text(values: pd.Series | pd.api.extensions.ExtensionArray) -> pa.Array:
    """A text column as an Arrow ``large_string`` array (nulls kept), without a Python loop for
    columns that already hold strings (other columns are converted as ``astype("string")``)."""
    if not isinstance(getattr(values, "dtype", None), pd.StringDtype):
        values = pd.Series(values).astype("string")
    arr = pa.array(values.array if isinstance(values, pd.Series) else values)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(_LARGE)


def _to_pandas_strings(arr: pa.Array, index: pd.Index) -> pd.Series:
    """An Arrow string array as a pandas ``string`` column, zero-copy."""
    series = pa.chunked_array([arr]).to_pandas(types_mapper=_STRING_TYPES.get)
    series.index = index
    return series


def _wall_seconds(local_ts: pd.Series) -> np.ndarray:
    """Wall-clock epoch seconds (floored) of naive (or zone-aware: their wall clock) times."""
    if getattr(local_ts.dtype, "tz", None) is not None:
        local_ts = local_ts.dt.tz_localize(None)
    values = local_ts.to_numpy(dtype="datetime64[us]")
    if np.isnat(values).any():
        raise ValueError("message_ids: local_ts has missing values")
    return values.view(np.int64) // 1_000_000


def _codes(values: np.ndarray | pa.Array) -> tuple[np.ndarray, int]:
    """Codes in ``0..size-1`` that are equal exactly where the values are equal, and ``size``
    (strings: dictionary indices; integers: offsets from the minimum, no hashing)."""
    if isinstance(values, pa.Array):
        enc = pc.dictionary_encode(values)
        return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False), len(enc.dictionary)
    lo = int(values.min())
    return values - lo, int(values.max()) - lo + 1


def _combined_codes(parts: list[np.ndarray | pa.Array], n: int) -> np.ndarray:
    """One int64 code per row, equal exactly where every part is equal."""
    key = np.zeros(n, dtype=np.int64)
    card = 1
    for part in parts:
        codes, size = _codes(part)
        if size <= 1:
            continue
        if card * size >= 1 << 62:  # re-number the key so far densely before it overflows
            dense, uniques = pd.factorize(key)
            key, card = dense.astype(np.int64), len(uniques)
        key = key * size + codes
        card *= size
    return key


def _runs(sorted_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted key: whether each position repeats its predecessor, and each position's
    rank within its run of equal values."""
    same = sorted_key[1:] == sorted_key[:-1]
    rank = np.arange(len(sorted_key), dtype=np.int64)
    first = np.maximum.accumulate(np.where(np.r_[True, ~same], rank, 0))
    return same, rank - first


def _occurrences(parts: list[np.ndarray | pa.Array], text: pa.Array) -> np.ndarray:
    """Occurrence index of each row among the earlier rows with equal ``parts`` and ``text``
    (``groupby([*parts, text]).cumcount()`` in row order). Texts are compared only inside
    groups of rows that already agree on the (cheap, integer-coded) parts."""
    n = len(text)
    key = _combined_codes(parts, n)
    order = np.argsort(key, kind="stable")  # rows are nearly in key order already (file order)
    sorted_key = key[order]
    same = sorted_key[1:] == sorted_key[:-1]
    occurrence = np.zeros(n, dtype=np.int64)
    if not same.any():
        return occurrence
    shared = np.zeros(n, dtype=bool)  # sorted positions in a group of two or more rows
    shared[1:] |= same
    shared[:-1] |= same
    group = (np.cumsum(np.r_[True, ~same]) - 1)[shared]
    rows = order[shared]  # grouped, file order inside each group (stable sort)
    text_codes, size = _codes(text.take(pa.array(rows)))
    key2 = group * size + text_codes
    order2 = np.argsort(key2, kind="stable")
    _, within = _runs(key2[order2])
    occurrence[rows[order2]] = within
    return occurrence


_HEX_PAIRS = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2").view(np.uint16)
_DUCKDB_MIN_ROWS = 20_000  # below this, DuckDB's per-query overhead costs more than it saves
def _sha256_prefixes(keys: pa.Array, *, duckdb_min_rows: int | None = None) -> pa.Array:
    """``hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]`` of every key, as an Arrow
    string array. Large inputs are hashed by DuckDB's ``sha256`` (C++, all cores, GIL
    released), small ones by hashlib; both give the same bytes (tests/test_model_ids.py)."""
    n = len(keys)
    if n >= (_DUCKDB_MIN_ROWS if duckdb_min_rows is None else duckdb_min_rows):
        import duckdb

        # A private in-memory database per call (a few ms, nothing shared between threads or
        # inherited by forked workers).
        with duckdb.connect(":memory:") as con:
            con.register("chatkpi_keys", pa.table({"k": keys}))
            out = con.sql("select left(sha256(k), 32) as id from chatkpi_keys").to_arrow_table()
        ids = out.column(0).combine_chunks().cast(pa.string())
        if len(ids) != n:
            raise RuntimeError(f"DuckDB returned {len(ids)} hashes for {n} keys")
        return ids
    sha256 = hashlib.sha256
    blobs = keys.cast(pa.large_binary()).to_pylist()
    digests = b"".join([sha256(b).digest() for b in blobs])
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(n, 32)[:, :16]
    hexed = _HEX_PAIRS[raw]  # (n, 16) two-character codes
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(hexed.tobytes())]).cast(pa.string())


def _message_ids_arrow(
    channel: str | pa.Array, thread: str | pa.Array, seconds: np.ndarray, sender: pa.Array, text: pa.Array,
    *, duckdb_min_rows: int | None = None, chats: np.ndarray | None = None,
) -> pa.Array:
    """The ids of :func:`message_ids` from Arrow columns (``channel`` / ``thread`` may be one
    value for all rows); ``seconds`` are wall-clock epoch seconds. ``chats`` (integer codes,
    one per row) counts the occurrence index within each chat instead of within each
    (channel, thread): two exports of one chat canonicalised together count separately."""
    sender = pc.fill_null(sender, "\x00")
    parts: list[np.ndarray | pa.Array] = [seconds, sender]
    if chats is not None:
        parts.append(chats)
    else:
        parts += [v for v in (channel, thread) if not isinstance(v, str)]
    occurrence = pc.cast(pa.array(_occurrences(parts, text)), _LARGE)
    scalar = lambda v: pa.scalar(v, _LARGE) if isinstance(v, str) else v  # noqa: E731
    keys = pc.binary_join_element_wise(
        scalar(channel), scalar(thread), _iso_seconds(seconds), sender, text, occurrence, pa.scalar(_SEP, _LARGE)
    )
    if keys.null_count:
        raise ValueError("message_ids: channel, thread and text must not be null")
    return _sha256_prefixes(keys, duckdb_min_rows=duckdb_min_rows)


_CLOCK: list[pa.Array] = []  # "HH:MM:SS" of every second of a day, built on first use


def _iso_seconds(seconds: np.ndarray) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS`` of wall-clock epoch seconds (what ``strftime`` gives, ~50x faster
    than Arrow's ``strftime`` kernel): a day part formatted once per distinct day plus a
    look-up table of the 86 400 clock times."""
    if not _CLOCK:
        _CLOCK.append(pa.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)], _LARGE))
    days, clock = np.divmod(seconds, 86_400)
    first = int(days.min())
    span = int(days.max()) - first + 1
    if span <= 4 * len(days) + 1024:
        day_text = np.datetime_as_string(np.arange(first, first + span).astype("datetime64[D]"))
        day_index = days - first
    else:  # a few far-apart dates
        uniques, day_index = np.unique(days, return_inverse=True)
        day_text = np.datetime_as_string(uniques.astype("datetime64[D]"))
    day_part = pa.array(day_text, _LARGE).take(pa.array(day_index))
    clock_part = _CLOCK[0].take(pa.array(clock))
    return pc.binary_join_element_wise(day_part, clock_part, pa.scalar("T", _LARGE))


def message_ids(
    channel: pd.Series, thread: pd.Series, local_ts: pd.Series, sender: pd.Series, text: pd.Series
) -> pd.Series:
    """Deterministic ``message_id``: sha256 of channel, thread key, local timestamp, sender, text
    and the occurrence index of identical (timestamp, sender, text) tuples in the thread.

    The occurrence index is taken in the frame's order, which must be file order, so the same
    message in two exports gets the same id. Exactly: ``sha256(key).hexdigest()[:32]`` of the
    UTF-8 key ``channel␟thread␟YYYY-MM-DDTHH:MM:SS␟sender␟text␟occurrence`` (␟ = U+001F, a null
    sender written as U+0000), vectorised (see ``tests/test_model_ids.py``).
    """
    if len(local_ts) == 0:
        return pd.Series([], dtype="string", index=local_ts.index)
    ids = _message_ids_arrow(
        _arrow_text(channel.astype(str)),
        _arrow_text(thread.astype(str)),
        _wall_seconds(local_ts),
        _arrow_text(sender),
        _arrow_text(text.astype(str)),
    )
    return _to_pandas_strings(ids, local_ts.index)


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
    An optional ``thread_key`` column (one value per frame: e-mail reference chains,
    marketplace buyer-shop chats) replaces the key derived from ``thread_name``, and an
    optional ``in_holiday_mode`` column (marketplace) is kept (default false).

    One chat of :func:`canonical_batch`, which does the work."""
    return canonical_batch([Chat(channel, thread_name, raw, source_file, file_seq)], config=config,
                           batch_id=batch_id, roster=roster)


class Chat(NamedTuple):
    """One parsed chat (a source frame of raw messages) and the file it came from."""

    channel: str
    thread_name: str
    raw: pd.DataFrame
    source_file: str
    file_seq: int


_OPTIONAL_TEXT = ("sender_role", "agent_id", "customer_id")
_OPTIONAL_FLAGS = ("is_auto_reply", "in_holiday_mode")


def canonical_batch(
    chats: Sequence[Chat], *, config: Config, batch_id: str, roster: Roster | None = None,
) -> pd.DataFrame:
    """The raw messages of many chats (of many files) -> rows of ``marts.fct_message``, the
    chats' rows one after another in the given order: the same rows as
    :func:`canonical_messages` of each chat concatenated (issue 18 item 2,
    ``tests/test_batch_canonical.py``), computed in one vectorised pass.

    Per chat only its constants (thread key and id, chat name, customer id) and the column
    extraction run in Python; everything else runs once over the batch with Arrow kernels and
    NumPy (no Python loop per row except the sha256 of the id; roster and auto-reply look-ups
    once per distinct sender / agent-side text). A chat's optional columns apply to its own
    rows only (a chat without them gets the defaults), and the occurrence index of the message
    ids counts within each chat, as if it were canonicalised alone.
    """
    roster = roster or Roster.from_config(config)
    sizes: list[int] = []
    keys: list[str] = []
    names: list[str] = []
    by_name: list[bool] = []
    customers: list[str | None] = []
    own_customer: list[bool] = []
    stamps: list[np.ndarray] = []
    lines: list[np.ndarray] = []
    texts: dict[str, list[pa.Array]] = {"sender": [], "text": [], "message_type": []}
    optional: dict[str, list[pa.Array | np.ndarray | None]] = {c: [] for c in (*_OPTIONAL_TEXT, *_OPTIONAL_FLAGS)}
    for chat in chats:
        raw, thread_name = chat.raw, chat.thread_name
        n = len(raw)
        # A set: ``name in raw.columns`` builds the Index's hash engine, ~1 ms per new frame
        # (pandas 3 str Index), which was a good part of the per-file cost of many small chats.
        have = set(raw.columns.tolist())
        key = thread_key(thread_name, config)
        keyed_by_name = True
        if "thread_key" in have and n and raw["thread_key"].notna().any():
            key = str(raw["thread_key"].dropna().iloc[0])
            keyed_by_name = False
        if keyed_by_name:
            # renamed contacts (issue 14): the chat is stored under its current name
            thread_name = canonical_chat_name(thread_name, config)
        sizes.append(n)
        keys.append(key)
        names.append(thread_name)
        by_name.append(keyed_by_name)
        for column, parts in texts.items():
            parts.append(_arrow_text(raw[column]))
        stamps.append(_local_values(raw["local_ts"]))
        lines.append(raw["source_line"].to_numpy(dtype="int64"))
        for column in _OPTIONAL_TEXT:
            optional[column].append(_arrow_text(raw[column]) if column in have else None)
        for column in _OPTIONAL_FLAGS:
            optional[column].append(
                raw[column].astype("boolean").fillna(False).to_numpy(dtype=bool) if column in have else None
            )
        own = "customer_id" in have and bool(raw["customer_id"].notna().any())
        own_customer.append(own)
        customers.append(None if own else customer_id_for(thread_name))

    n = int(sum(sizes))
    size_array = np.array(sizes, dtype=np.int64)
    chat_of = np.repeat(np.arange(len(sizes), dtype=np.int64), size_array)  # each row's chat
    rows_chat = pa.array(chat_of)

    def per_row(values: list) -> pa.Array:
        return pa.array(values, _LARGE).take(rows_chat)

    def joined(parts: list, empty: pa.DataType = _LARGE) -> pa.Array:
        parts = [p for p, size in zip(parts, sizes) if size]
        if not parts:
            return pa.array([], empty)
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)

    def optional_text(column: str) -> pa.Array | None:
        parts = optional[column]
        if all(p is None for p in parts):
            return None
        return joined([pa.nulls(size, _LARGE) if p is None else p for p, size in zip(parts, sizes)])

    def optional_flags(column: str) -> np.ndarray | None:
        parts = optional[column]
        if all(p is None for p in parts):
            return None
        return np.concatenate([np.zeros(size, dtype=bool) if p is None else p for p, size in zip(parts, sizes)]) if n \
            else np.zeros(0, dtype=bool)

    channel = per_row([chat.channel for chat in chats])
    sender = joined(texts["sender"])
    if config.thread_aliases and n and any(by_name):
        # the contact's own display name as sender - old or new - becomes the chat's current
        # name too, before the message ids are computed, so a re-export under the new name dedupes
        sender = _aliased_senders(sender, chat_of, keys, names, by_name, config, roster)
    text = pc.fill_null(joined(texts["text"]), "")
    mtype = pc.fill_null(joined(texts["message_type"]), "text")

    # Roles: look-ups per distinct sender, not per row.
    distinct = pc.unique(sender.drop_null())
    agents = pa.array([roster.agent_of(s) for s in distinct.to_pylist()], _LARGE)
    agent_id = agents.take(pc.index_in(sender, value_set=distinct))
    is_system = _np_bool(pc.or_(pc.is_null(sender), pc.equal(mtype, "system")))
    is_agent_side = _np_bool(pc.is_valid(agent_id)) & ~is_system
    auto = np.zeros(n, dtype=bool)
    if roster.auto_reply is not None and is_agent_side.any():
        rows = np.flatnonzero(is_agent_side)
        enc = pc.dictionary_encode(text.take(pa.array(rows)))
        hit = np.array([roster.auto_reply.search(t) is not None for t in enc.dictionary.to_pylist()], dtype=bool)
        auto[rows] = hit[enc.indices.to_numpy(zero_copy_only=False)]
    role_code = np.where(is_system, 3, np.where(auto, 2, np.where(is_agent_side, 1, 0)))
    role = _ROLE_NAMES.take(pa.array(role_code.astype(np.int8)))
    given = optional_text("sender_role")
    if given is not None:
        role = pc.if_else(pc.fill_null(pc.is_in(given, value_set=_ROLE_NAMES), False), given, role)
    flagged = optional_flags("is_auto_reply")
    if flagged is not None:
        auto = auto | flagged
        human_or_customer = _np_bool(pc.is_in(role, value_set=pa.array(["agent", "customer"], _LARGE)))
        role = pc.if_else(pa.array(flagged & human_or_customer), pa.scalar("bot", _LARGE), role)
    given_agent = optional_text("agent_id")
    if given_agent is not None:
        agent_id = pc.coalesce(given_agent, agent_id)
    is_staff = pc.is_in(role, value_set=pa.array(["agent", "bot"], _LARGE))
    agent_id = pc.if_else(is_staff, agent_id, pa.scalar(None, _LARGE))
    role_is_system = pc.equal(role, "system")
    mtype = pc.if_else(role_is_system, pa.scalar("system", _LARGE), mtype)

    customer = per_row(customers)
    if any(own_customer):
        given_customer = optional_text("customer_id")
        customer = pc.if_else(pa.array(np.array(own_customer, dtype=bool)[chat_of]), given_customer, customer)

    local_values = np.concatenate(stamps) if stamps else np.zeros(0, dtype="datetime64[us]")
    if n and np.isnat(local_values).any():
        raise ValueError("message_ids: local_ts has missing values")
    seconds = local_values.view(np.int64) // 1_000_000
    if n and len(sizes) == 1:
        ids = _message_ids_arrow(chats[0].channel, keys[0], seconds, sender, text)
    elif n:
        ids = _message_ids_arrow(channel, per_row(keys), seconds, sender, text, chats=chat_of)
    else:
        ids = pa.array([], pa.string())
    holiday = optional_flags("in_holiday_mode")
    if holiday is None:
        holiday = np.zeros(n, dtype=bool)
    local_ts = pd.Series(local_values, copy=False)
    text_columns = {
        "message_id": ids,
        "thread_id": per_row([make_thread_id(chat.channel, key) for chat, key in zip(chats, keys)]),
        "thread_name": per_row(names),
        "channel": channel,
        "sender_name": sender,
        "sender_role": role,
        "agent_id": agent_id,
        "customer_id": customer,
        "message_type": mtype,
        "text": text,
        "source_file": per_row([chat.source_file for chat in chats]),
        "batch_id": _repeat(batch_id, n),
    }
    columns = {name: _string_array(values) for name, values in text_columns.items()}
    columns["sent_at"] = localize(local_ts, config.timezone) if n else pd.Series([], dtype="datetime64[us, UTC]")
    columns["sent_at_local"] = local_ts
    columns["is_auto_reply"] = auto
    columns["source_line"] = np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)
    columns["file_seq"] = np.repeat(np.array([chat.file_seq for chat in chats], dtype=np.int64), size_array)
    columns["in_holiday_mode"] = holiday
    return pd.DataFrame({name: columns[name] for name in MESSAGE_COLUMNS}, copy=False)


def _local_values(local_ts: pd.Series) -> np.ndarray:
    """A raw frame's naive local times as ``datetime64[us]`` values (``astype`` semantics)."""
    values = local_ts.array
    if isinstance(values, pd.arrays.DatetimeArray) and values.tz is None:
        return np.asarray(values).astype("datetime64[us]", copy=False)
    return local_ts.astype("datetime64[us]").to_numpy()


def _aliased_senders(
    sender: pa.Array, chat_of: np.ndarray, keys: list[str], names: list[str], by_name: list[bool], config: Config,
    roster: Roster,
) -> pa.Array:
    """Senders whose name is their chat's own contact under ``thread_aliases`` (its key after
    the aliases is the chat's key; agents excluded) written as the chat's current name, in the
    chats keyed by their name."""
    distinct = pc.unique(sender.drop_null())
    values = distinct.to_pylist()
    if not values:
        return sender
    codes: dict[str, int] = {}
    sender_key = np.array([-1 if roster.agent_of(s) is not None else codes.setdefault(thread_key(s, config), len(codes))
                           for s in values], dtype=np.int64)
    chat_key = np.array([codes.get(k, -2) if named else -3 for k, named in zip(keys, by_name)], dtype=np.int64)
    if not np.isin(chat_key, sender_key).any():
        return sender
    index = pc.index_in(sender, value_set=distinct).to_numpy(zero_copy_only=False)
    valid = ~np.isnan(index) if index.dtype.kind == "f" else np.ones(len(index), dtype=bool)
    row_key = np.full(len(index), -4, dtype=np.int64)
    row_key[valid] = sender_key[index[valid].astype(np.int64)]
    chat_name = pa.array(names, _LARGE).take(pa.array(chat_of))
    rename = (row_key == chat_key[chat_of]) & _np_bool(pc.not_equal(sender, chat_name))
    if not rename.any():
        return sender
    return pc.if_else(pa.array(rename), chat_name, sender)


_ROLE_NAMES = pa.array(list(ROLES), _LARGE)  # codes 0..3 = customer, agent, bot, system


def _string_array(values: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as the data of a pandas ``string`` column, without a copy."""
    return pd.arrays.ArrowStringArray(pa.chunked_array([values.cast(_LARGE)]))


def _np_bool(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _repeat(value: str | None, n: int) -> pa.Array:
    """``n`` copies of one value as a dictionary-free Arrow string array (shares one buffer)."""
    if value is None:
        return pa.nulls(n, _LARGE)
    return pa.repeat(pa.scalar(value, _LARGE), n)


def to_arrow(messages: pd.DataFrame) -> pa.Table:
    """A canonical message frame as an Arrow table with :data:`MESSAGE_SCHEMA` (fct_message's contract)."""
    return MESSAGE_CONTRACT.arrow_table(messages)


def empty_messages() -> pd.DataFrame:
    return MESSAGE_SCHEMA.empty_table().to_pandas()


def canonicalise(result: FileResult, config: Config, batch_id: str, roster: Roster | None = None) -> pd.DataFrame:
    """The parsed raw messages of one file as ``marts.fct_message`` rows."""
    return canonicalise_batch([result], config, batch_id, roster)


def canonicalise_batch(
    results: Sequence[FileResult], config: Config, batch_id: str, roster: Roster | None = None,
) -> pd.DataFrame:
    """The parsed raw messages of many files as ``marts.fct_message`` rows, file after file
    (each file's chats in its order), in one :func:`canonical_batch` pass."""
    chats = [
        Chat(channel, name, raw, result.label, result.file_seq or 0)
        for result in results for channel, name, raw in result.threads or []
    ]
    if not chats:
        return pd.DataFrame(columns=MESSAGE_COLUMNS)
    return canonical_batch(chats, config=config, batch_id=batch_id, roster=roster)
