"""E-mail thread identity across files and batches (issue 14, item 2).

Inside one file :func:`kpi_transforms.sources.email.thread_records` groups mails by their
Message-ID / References graph (and, for mail without references, by subject and people). This
module extends that graph to the whole warehouse and the whole batch, before the batch's
messages get their ids:

* **nodes** are e-mails (Message-IDs); **edges** join a mail to every id it references
  (``In-Reply-To`` and every ``References`` id, a typo included: it joins nothing unless
  some mail has that id), the mails one file put in one thread, and the stored mails of one
  stored thread;
* a **conversation** is a connected component. Its thread key is ``email:`` + the root guess
  (first References id, else In-Reply-To, else its own id) of its *earliest* mail (local time,
  then Message-ID), its name that mail's subject, its customer the first customer sender in
  time order, else the first customer recipient. All three depend only on the set of mails,
  never on which file or batch brought them;
* a stored thread whose key, name or customer changes (a later mail joined two threads, or an
  earlier mail arrived) is **re-keyed**: its messages are rewritten under the new thread id
  with recomputed message ids, and both the old and the new thread ids are handed back so
  their facts are rebuilt (the old ones vanish).

``marts.email_message`` / ``marts.email_reference`` (migration V015) hold what the graph needs.
Mail loaded before V015 has no rows there and is not re-threaded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from kpi_transforms.core.contracts import contract
from kpi_transforms.core.identity import customer_id_for, make_thread_id
from kpi_transforms.core.schema import MESSAGE_COLUMNS
from kpi_transforms.sources.base import ChatThread
from kpi_transforms.sources.canonical import message_ids, to_arrow
from kpi_transforms.sources.registry import FileResult
from kpi_transforms.warehouse.engine import Warehouse

CHANNEL = "email"
_META_COLUMNS = ("email_message_id", "thread_key", "root_guess", "sent_at_local", "subject", "customer_sender",
                 "customer_recipient")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _read_in(warehouse: Warehouse, conn: Connection, sql: str, keys: Sequence[str]) -> pd.DataFrame:
    """``sql``, which joins the key table ``staging.stg_row_key`` (column ``row_key``), with
    ``keys`` staged there for the statement (no values in the SQL text)."""
    with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", sorted(set(keys))):
        return warehouse.read_df(sql, conn=conn)


_RAW_COLUMNS = ["email_message_id", "email_root", "local_ts", "email_subject", "email_customer_sender",
                "email_customer_recipient", "email_refs", "email_subject_keys"]


def _batch_mails(results: Sequence[FileResult]) -> tuple[pd.DataFrame, list[tuple[FileResult, int]]]:
    """One row per e-mail of the batch's raw frames (first copy wins) and the raw threads.
    The frames are concatenated once and converted once (a frame per file cost ~3 ms each)."""
    pieces, groups, shas, threads = [], [], [], []
    for result in results:
        for k, (channel, _name, raw) in enumerate(result.threads or []):
            if channel != CHANNEL or "email_message_id" not in raw.columns or raw.empty:
                continue
            threads.append((result, k))
            pieces.append(raw[_RAW_COLUMNS])
            groups.append((f"file:{len(threads) - 1}", len(raw)))
            shas.append(result.sha256)
    if not pieces:
        return pd.DataFrame(), threads
    raw = pd.concat(pieces, ignore_index=True)
    sizes = [n for _g, n in groups]
    mails = pd.DataFrame({
        "email_message_id": raw["email_message_id"].astype(str),
        "root_guess": raw["email_root"].astype(str),
        "sent_at_local": raw["local_ts"].astype("datetime64[us]"),
        "subject": raw["email_subject"].astype(object),
        "customer_sender": raw["email_customer_sender"].astype(object),
        "customer_recipient": raw["email_customer_recipient"].astype(object),
        # ids it references, and for a mail that references none its subject + person
        # keys (the in-file fallback, kept as pseudo-references so it works across files)
        "refs": [" ".join(r.split()) + ("\x1f" + k if k else "") for r, k in
                 zip(raw["email_refs"].fillna("").astype(str), raw["email_subject_keys"].fillna("").astype(str))],
        "group": np.repeat(np.array([g for g, _n in groups], dtype=object), sizes),
        "sha256": np.repeat(np.array(shas, dtype=object), sizes),
    })
    return mails, threads


def _split_refs(text: str) -> list[str]:
    """Message ids (space-separated) then subject keys (each after U+001F)."""
    ids, *keys = text.split("\x1f")
    return [r for r in ids.split() if r] + [k for k in keys if k]


def link_email_threads(
    warehouse: Warehouse, conn: Connection, results: Sequence[FileResult], batch_id: str,
) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """Give the batch's e-mail threads their conversation keys (in place: the raw frames'
    ``thread_key`` / ``customer_id`` and the thread names) and re-key stored threads that
    the batch joins or merges. Returns the thread ids whose facts must be rebuilt, and the
    ``marts.email_message`` / ``marts.email_reference`` rows of the batch (written by
    :func:`store_email_rows` once the files are loaded)."""
    mails, threads = _batch_mails(results)
    if mails.empty:
        return [], pd.DataFrame(), pd.DataFrame()
    refs = {m: _split_refs(r) for m, r in zip(mails["email_message_id"], mails["refs"])}
    batch_ids = set(mails["email_message_id"])
    all_refs = {r for rs in refs.values() for r in rs}

    # stored mails the batch touches: referenced by it, referencing it or what it references
    # (a ticket id no mail has), or the same mail
    hit = _read_in(warehouse, conn, "select distinct thread_key from marts.email_message where email_message_id in (select row_key from staging.stg_row_key)",
                   sorted(batch_ids | all_refs))
    back = _read_in(warehouse, conn,
                    "select distinct m.thread_key from marts.email_reference r join marts.email_message m"
                    " on m.email_message_id = r.email_message_id where r.ref_id in (select row_key from staging.stg_row_key)", sorted(batch_ids | all_refs))
    keys = sorted(set(hit.get("thread_key", pd.Series(dtype=object))) | set(back.get("thread_key", pd.Series(dtype=object))))
    stored = (_read_in(warehouse, conn, "select " + ", ".join(_META_COLUMNS) + " from marts.email_message"
                       " where thread_key in (select row_key from staging.stg_row_key)", keys) if keys else pd.DataFrame())
    stored_refs = (_read_in(warehouse, conn, "select email_message_id, ref_id from marts.email_reference"
                            " where email_message_id in (select row_key from staging.stg_row_key)", sorted(stored["email_message_id"]))
                   if len(stored) else pd.DataFrame(columns=["email_message_id", "ref_id"]))

    uf = _UnionFind()
    for m, rs in refs.items():
        uf.find("id:" + m)
        for r in rs:
            uf.union("id:" + m, "id:" + r)
    for m, group in zip(mails["email_message_id"], mails["group"]):
        uf.union("id:" + m, group)
    if len(stored):
        for m, key in zip(stored["email_message_id"], stored["thread_key"]):
            uf.union("id:" + m, "stored:" + key)
        for m, r in zip(stored_refs["email_message_id"], stored_refs["ref_id"]):
            uf.union("id:" + m, "id:" + r)

    # every present mail once: stored rows first (their copy is the one in the warehouse)
    present = pd.concat([stored.drop(columns=["thread_key"]) if len(stored) else None,
                         mails.drop(columns=["refs", "group"])], ignore_index=True)
    present = present.drop_duplicates("email_message_id", keep="first")
    present["sent_at_local"] = pd.to_datetime(present["sent_at_local"]).astype("datetime64[us]")
    present["component"] = ["id:" + m for m in present["email_message_id"]]
    present["component"] = present["component"].map(uf.find)
    present = present.sort_values(["sent_at_local", "email_message_id"], kind="stable")
    first = present.groupby("component", sort=False).first()
    conv = pd.DataFrame({
        "thread_key": "email:" + present.groupby("component", sort=False)["root_guess"].first(),
        "thread_name": first["subject"].map(lambda s: s if isinstance(s, str) and s else "(no subject)"),
        "customer_id": present.groupby("component", sort=False)["customer_sender"].first()
                       .combine_first(present.groupby("component", sort=False)["customer_recipient"].first()),
    })

    # a conversation without a customer address falls back like canonical_messages does
    conv["customer_id"] = [c if isinstance(c, str) else customer_id_for(n) for c, n in zip(conv["customer_id"], conv["thread_name"])]
    # the batch's raw threads take their conversation's key, name and customer
    for n, (result, k) in enumerate(threads):
        if not isinstance(result.threads, list):
            result.threads = list(result.threads)
        channel, _name, raw = result.threads[k]
        c = conv.loc[uf.find(f"file:{n}")]
        raw = raw.copy()
        raw["thread_key"] = c["thread_key"]
        raw["customer_id"] = c["customer_id"] if isinstance(c["customer_id"], str) else None
        raw["thread_key"] = raw["thread_key"].astype("string")
        raw["customer_id"] = raw["customer_id"].astype("string")
        result.threads[k] = ChatThread(channel, c["thread_name"], raw)  # staged results carry plain tuples
        if len(result.threads) == 1:
            result.chat_name = c["thread_name"]

    # stored threads whose key, name or customer changed are rewritten
    affected: list[str] = []
    if len(stored):
        old_key = stored.drop_duplicates("thread_key").set_index("thread_key")
        for key in old_key.index:
            c = conv.loc[uf.find("stored:" + key)]
            affected += _rekey(warehouse, conn, key, c["thread_key"], c["thread_name"],
                               c["customer_id"] if isinstance(c["customer_id"], str) else None)
        moved = stored[["email_message_id"]].copy()
        moved["thread_key"] = [conv.loc[uf.find("id:" + m), "thread_key"] for m in moved["email_message_id"]]
        moved = moved[moved["thread_key"].to_numpy() != stored["thread_key"].to_numpy()]
        for new_key, ids in moved.groupby("thread_key")["email_message_id"]:
            with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", sorted(ids)):
                warehouse.execute(conn, "update marts.email_message set thread_key = :key"
                                  " where email_message_id in (select row_key from staging.stg_row_key)", {"key": new_key})

    new_rows = mails[~mails["email_message_id"].isin(set(stored.get("email_message_id", [])))].copy()
    new_rows["thread_key"] = [conv.loc[uf.find("id:" + m), "thread_key"] for m in new_rows["email_message_id"]]
    ref_rows = pd.DataFrame(
        [(m, r) for m in dict.fromkeys(new_rows["email_message_id"]) for r in dict.fromkeys(refs.get(m, []))],
        columns=["email_message_id", "ref_id"],
    )
    return sorted(set(affected)), new_rows[[*_META_COLUMNS, "sha256"]].reset_index(drop=True), ref_rows


def _rekey(warehouse: Warehouse, conn: Connection, old_key: str, new_key: str, name: str, customer: str | None) -> list[str]:
    """Rewrite the stored messages of thread ``old_key`` under ``new_key`` (and its name and
    customer); return the thread ids to rebuild (none when nothing changes)."""
    old_id, new_id = make_thread_id(CHANNEL, old_key), make_thread_id(CHANNEL, new_key)
    rows = warehouse.read_df("select * from marts.fct_message where thread_id = :t", {"t": old_id}, conn=conn)
    if rows.empty:
        return []
    same_customer = rows["customer_id"].isna().all() if customer is None else (rows["customer_id"] == customer).all()
    if old_id == new_id and (rows["thread_name"] == name).all() and same_customer:
        return []
    rows = rows.sort_values(["sent_at_local", "file_seq", "source_line"], kind="stable").reset_index(drop=True)
    rows["thread_id"] = new_id
    rows["thread_name"] = name
    rows["customer_id"] = customer
    if old_id != new_id:
        rows["message_id"] = message_ids(rows["channel"], pd.Series(new_key, index=rows.index), rows["sent_at_local"],
                                         rows["sender_name"], rows["text"]).astype(object)
    warehouse.delete_where_in(conn, "marts.fct_message", "thread_id", [old_id])
    warehouse.merge_new(conn, "marts.fct_message", "staging.stg_message", to_arrow(rows[list(MESSAGE_COLUMNS)]), "message_id")
    return [old_id, new_id]


def store_email_rows(warehouse: Warehouse, conn: Connection, mails: pd.DataFrame, refs: pd.DataFrame,
                     loaded_files: set[str]) -> None:
    """Record the new mails of the files that were loaded (by sha256) in V015's tables."""
    if mails.empty:
        return
    mails = mails[mails["sha256"].isin(loaded_files)].drop_duplicates("email_message_id")[list(_META_COLUMNS)]
    refs = refs[refs["email_message_id"].isin(set(mails["email_message_id"]))]
    if len(mails):
        warehouse.bulk_insert(conn, "marts.email_message", contract("email_message").arrow_table(mails))
    if len(refs):
        warehouse.bulk_insert(conn, "marts.email_reference", contract("email_reference").arrow_table(refs))
