"""Issue 18 item 2: the ingest canonicalises a batch in one pass; its tables are identical to
canonicalising file by file and chat by chat.

The reference below is ``canonical_messages`` as it was before the batch pass (per chat, per
file, kept only here); it replaces :func:`canonicalise_batch` in the ingest for the reference
run. Both runs load the scenarios of ``tests/batch_scenarios.py`` (realdata exports, the test
fixtures, the demo drop, e-mail, marketplace CSV, many generated chats, partly and wholly
implausible files, NULs, duplicate exports, an ambiguous export read again) and every table
(messages, reply pairs, threads, cases, quotes, follow-ups, customers, e-mail, orders,
manifest, quarantine) and every lake file must match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kpi_transforms.pipeline.ingest as ingest
from kpi_transforms.core.config import Config, load_config
from kpi_transforms.core.identity import Roster, canonical_chat_name, customer_id_for, make_thread_id, thread_key
from kpi_transforms.core.schema import MESSAGE_COLUMNS
from kpi_transforms.core.timezone import localize
from kpi_transforms.sources.canonical import (
    _LARGE,
    _ROLE_NAMES,
    _arrow_text,
    _message_ids_arrow,
    _np_bool,
    _repeat,
    _string_array,
    _wall_seconds,
    canonical_batch,
    Chat,
)

from tests import batch_scenarios
from tests.conftest import REALDATA


def _reference_aliased_senders(sender: pa.Array, key: str, chat_name: str, config: Config, roster: Roster) -> pa.Array:
    if not config.thread_aliases or len(sender) == 0:
        return sender
    distinct = pc.unique(sender.drop_null())
    names = distinct.to_pylist()
    renamed = [chat_name if (s != chat_name and roster.agent_of(s) is None and thread_key(s, config) == key) else s for s in names]
    if renamed == names:
        return sender
    return pa.array(renamed, _LARGE).take(pc.index_in(sender, value_set=distinct))


def _reference_canonical_messages(raw, *, channel, thread_name, config, source_file, file_seq, batch_id, roster=None):
    """``canonical_messages`` of one chat before issue 18 item 2 (verbatim but for names)."""
    roster = roster or Roster.from_config(config)
    n = len(raw)
    have = set(raw.columns.tolist())
    key = thread_key(thread_name, config)
    keyed_by_name = True
    if "thread_key" in have and n and raw["thread_key"].notna().any():
        key = str(raw["thread_key"].dropna().iloc[0])
        keyed_by_name = False
    thread_id = make_thread_id(channel, key)
    local_ts = raw["local_ts"].astype("datetime64[us]")
    sender = _arrow_text(raw["sender"])
    if keyed_by_name:
        # renamed contacts (issue 14): the chat is stored under its current name, and the
        # contact's own display name as sender - old or new - becomes that name too, before
        # the message ids are computed, so a re-export under the new name dedupes
        thread_name = canonical_chat_name(thread_name, config)
        sender = _reference_aliased_senders(sender, key, thread_name, config, roster)
    text = pc.fill_null(_arrow_text(raw["text"]), "")
    mtype = pc.fill_null(_arrow_text(raw["message_type"]), "text")

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
    if "sender_role" in have:
        given = _arrow_text(raw["sender_role"])
        role = pc.if_else(pc.fill_null(pc.is_in(given, value_set=_ROLE_NAMES), False), given, role)
    if "is_auto_reply" in have:
        flagged = raw["is_auto_reply"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        auto = auto | flagged
        human_or_customer = _np_bool(pc.is_in(role, value_set=pa.array(["agent", "customer"], _LARGE)))
        role = pc.if_else(pa.array(flagged & human_or_customer), pa.scalar("bot", _LARGE), role)
    if "agent_id" in have:
        agent_id = pc.coalesce(_arrow_text(raw["agent_id"]), agent_id)
    is_staff = pc.is_in(role, value_set=pa.array(["agent", "bot"], _LARGE))
    agent_id = pc.if_else(is_staff, agent_id, pa.scalar(None, _LARGE))
    role_is_system = pc.equal(role, "system")
    mtype = pc.if_else(role_is_system, pa.scalar("system", _LARGE), mtype)

    if "customer_id" in have and raw["customer_id"].notna().any():
        customer = _arrow_text(raw["customer_id"])
    else:
        customer = _repeat(customer_id_for(thread_name), n)

    seconds = _wall_seconds(local_ts) if n else np.zeros(0, dtype=np.int64)
    ids = _message_ids_arrow(channel, key, seconds, sender, text) if n else pa.array([], pa.string())
    holiday = (
        raw["in_holiday_mode"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if "in_holiday_mode" in have else np.zeros(n, dtype=bool)
    )
    local_ts = local_ts.reset_index(drop=True)
    text_columns = {
        "message_id": ids,
        "thread_id": _repeat(thread_id, n),
        "thread_name": _repeat(thread_name, n),
        "channel": _repeat(channel, n),
        "sender_name": sender,
        "sender_role": role,
        "agent_id": agent_id,
        "customer_id": customer,
        "message_type": mtype,
        "text": text,
        "source_file": _repeat(source_file, n),
        "batch_id": _repeat(batch_id, n),
    }
    columns = {name: _string_array(values) for name, values in text_columns.items()}
    # Series (not bare arrays) where data may be shared with ``raw``: copy-on-write then
    # protects the caller's frame from later edits of the result.
    columns["sent_at"] = localize(local_ts, config.timezone) if n else pd.Series([], dtype="datetime64[us, UTC]")
    columns["sent_at_local"] = local_ts
    columns["is_auto_reply"] = auto
    columns["source_line"] = raw["source_line"].astype("int64").reset_index(drop=True)
    columns["file_seq"] = np.full(n, file_seq, dtype=np.int64)
    columns["in_holiday_mode"] = holiday
    return pd.DataFrame({name: columns[name] for name in MESSAGE_COLUMNS}, copy=False)


def _reference_canonicalise_batch(results, config, batch_id, roster=None):
    """Each file's chats canonicalised one by one, concatenated as the ingest did per file."""
    roster = roster or Roster.from_config(config)
    frames = []
    for result in results:
        for channel, name, raw in result.threads or []:
            frames.append(_reference_canonical_messages(
                raw, channel=channel, thread_name=name, config=config, source_file=result.label,
                file_seq=result.file_seq or 0, batch_id=batch_id, roster=roster))
    if not frames:
        return pd.DataFrame(columns=MESSAGE_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _assert_same(batched: dict, reference: dict) -> None:
    assert batched.keys() == reference.keys()
    for scenario, tables in reference.items():
        assert batched[scenario].keys() == tables.keys(), scenario
        for name, expected in tables.items():
            got = batched[scenario][name]
            if isinstance(expected, pd.DataFrame):
                pd.testing.assert_frame_equal(got, expected, obj=f"{scenario}: {name}")
            elif isinstance(expected, dict):
                assert got.keys() == expected.keys(), f"{scenario}: lake files"
                for path, frame in expected.items():
                    pd.testing.assert_frame_equal(got[path], frame, obj=f"{scenario}: lake {path}")
            else:
                assert got == expected, f"{scenario}: {name}"


def test_batch_pass_equals_canonicalising_file_by_file(tmp_path, monkeypatch):
    realdata = REALDATA if REALDATA.is_dir() else None
    batched = batch_scenarios.run_all(tmp_path / "batched", realdata, inputs=tmp_path / "inputs")
    monkeypatch.setattr(ingest, "canonicalise_batch", _reference_canonicalise_batch)
    reference = batch_scenarios.run_all(tmp_path / "reference", realdata, inputs=tmp_path / "inputs")
    # the scenarios did load what they are meant to exercise
    hand = reference["hand"]
    statuses = [row[2] for row in hand["batch0"]]
    assert statuses.count("rejected") == 1 and statuses.count("loaded") == 5
    # Pak Joko: 3 implausible messages and 1 continuation line quarantined; Pak Masa rejected whole
    assert len(hand["audit.rejected_row"]) == 4
    # the rejected file's seq went to the next file; the ambiguous export read again kept its seq
    assert sorted(hand["audit.file_manifest"]["file_seq"].astype(int).tolist()) == list(range(1, 8))
    assert len(reference["generated"]["marts.fct_message"]) > 10_000
    if realdata is not None:
        assert len(reference["realdata"]["marts.fct_message"]) > 1_000
    _assert_same(batched, reference)
