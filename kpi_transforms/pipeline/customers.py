"""Customer identity (SPEC 4, 7): one customer across WhatsApp, e-mail, marketplace chats and
the sales report.

Every thread and order carries a *source key*: the ``+62`` phone of a WhatsApp chat named by
a number, ``name:<normalised chat name>`` otherwise, the lower-cased address of an e-mail
thread, ``<marketplace>:<buyer>`` of a marketplace chat, and for an order the report's
customer id, else its phone / e-mail / ``name:`` key. ``marts.map_customer_key`` links source
keys to a canonical ``customer_id``; it is filled from

* the **customer_map** file (manual, always wins): columns ``customer_id`` and any of
  ``phone``, ``email``, ``name`` (a WhatsApp / marketplace chat name), ``key`` (any source key
  as written, e.g. ``tokopedia:98765``), optional ``note``;
* **customer lists**: a customer id, a name, phones, e-mails (several per cell, separated by
  ``,`` ``;`` ``/``) and a first-transaction date; the list's id and each phone / e-mail
  become keys of that customer (names are attributes, not keys: two customers may share one).

Resolution: a key found in the map takes the mapped id (single level, no chains); any other
key is its own customer id, so a WhatsApp chat named ``0812-...`` and an order with phone
``+62 812...`` meet without any file. Orders resolve by their customer id, then phone, then
e-mail; an order nobody maps keeps its phone (else e-mail, else its own key) as id.
:func:`resolve_customers` applies the map to messages when facts are built;
:func:`refresh_customers` rebuilds ``marts.dim_customer`` and then ``fct_thread.is_new_customer``
of the same customers under the one rule (:func:`refresh_new_customer_flags`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pandas as pd
from sqlalchemy.engine import Connection

from kpi_transforms.core.config import Config
from kpi_transforms.core.contracts import contract
from kpi_transforms.facts.threads import is_new_customer
from kpi_transforms.warehouse.engine import Warehouse

DIM_CONTRACT = contract("dim_customer")  # columns and Arrow types of marts.dim_customer


# -------------------------------------------------------------------------------------------
# Warehouse side: resolution, affected threads, dim_customer
def _with_keys(warehouse: Warehouse, conn: Connection, keys: Sequence[str], sql: str) -> pd.DataFrame:
    """Run ``sql`` (which joins ``staging.stg_row_key k``) with ``keys`` loaded as that table."""
    with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", sorted(set(keys))):
        return warehouse.read_df(sql, conn=conn)


def key_map(warehouse: Warehouse, conn: Connection, keys: Sequence[str]) -> dict[str, str]:
    """source key -> canonical customer id, for the keys that are mapped."""
    keys = [k for k in set(keys) if k is not None and k == k]
    if not keys:
        return {}
    frame = _with_keys(
        warehouse, conn, keys,
        "select m.customer_key, m.customer_id from marts.map_customer_key m join staging.stg_row_key k on k.row_key = m.customer_key",
    )
    return dict(zip(frame["customer_key"], frame["customer_id"]))


def resolve_customers(warehouse: Warehouse, conn: Connection, messages: pd.DataFrame) -> pd.DataFrame:
    """``messages`` with ``customer_id`` replaced by the canonical id of the mapping (keys not
    mapped stay as they are). Called by ``facts.rebuild_facts`` before pairs and threads."""
    if messages.empty or "customer_id" not in messages.columns:
        return messages
    mapping = key_map(warehouse, conn, messages["customer_id"].dropna().unique().tolist())
    if not mapping:
        return messages
    out = messages.copy()
    out["customer_id"] = out["customer_id"].map(lambda k: mapping.get(k, k) if k is not None and k == k else k).astype("string")
    return out


def resolve_order_customers(warehouse: Warehouse, conn: Connection) -> None:
    """Set ``marts.fct_order.customer_id`` from the key map (id, then phone, then e-mail),
    else the order's phone / e-mail / key: one set-based statement."""
    warehouse.execute(
        conn,
        "update marts.fct_order set customer_id = coalesce("
        " (select m.customer_id from marts.map_customer_key m where m.customer_key = marts.fct_order.customer_key),"
        " (select m.customer_id from marts.map_customer_key m where m.customer_key = marts.fct_order.customer_phone),"
        " (select m.customer_id from marts.map_customer_key m where m.customer_key = marts.fct_order.customer_email),"
        " customer_phone, customer_email, customer_key)",
    )


def threads_of_keys(warehouse: Warehouse, conn: Connection, keys: Sequence[str]) -> list[str]:
    """Threads whose source key or resolved customer is one of ``keys``."""
    keys = [k for k in keys if k]
    if not keys:
        return []
    raw = _with_keys(
        warehouse, conn, keys,
        "select distinct m.thread_id from marts.fct_message m join staging.stg_row_key k on k.row_key = m.customer_id",
    )
    resolved = _with_keys(
        warehouse, conn, keys,
        "select distinct t.thread_id from marts.fct_thread t join staging.stg_row_key k on k.row_key = t.customer_id",
    )
    return sorted(set(raw["thread_id"]) | set(resolved["thread_id"]))


def after_customer_keys(warehouse: Warehouse, conn: Connection, winners: pd.DataFrame) -> list[str]:
    resolve_order_customers(warehouse, conn)
    keys = set(winners["customer_key"].dropna()) | set(winners["customer_id"].dropna())
    return threads_of_keys(warehouse, conn, sorted(keys))


def after_customer_list(warehouse: Warehouse, conn: Connection, winners: pd.DataFrame) -> list[str]:
    return threads_of_keys(warehouse, conn, sorted(set(winners["customer_id"].dropna())))


def _join(values) -> str | None:
    items = sorted({str(v) for v in values if v is not None and v == v and str(v)})
    return ", ".join(items) if items else None


def build_dim_customer(warehouse: Warehouse, conn: Connection, customers: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per canonical customer (``marts.dim_customer``) from threads, their source
    keys, orders, the key map and customer lists; only for ``customers`` when given (every
    value of a row depends on that customer's own threads, orders and keys only)."""
    scoped = customers is not None
    # the customers are loaded once as staging.stg_row_key and every read joins them (an
    # unscoped build stages no keys and filters nothing)
    only = " and customer_id in (select row_key from staging.stg_row_key)" if scoped else ""
    only_t = " and t.customer_id in (select row_key from staging.stg_row_key)" if scoped else ""
    staged = warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", sorted(set(customers))) if scoped else None
    with staged or contextlib.nullcontext():
        threads = warehouse.read_df(
            "select thread_id, thread_name, channel, customer_id, first_message_at from marts.fct_thread"
            " where customer_id is not null" + only,
            conn=conn,
        )
        raw_keys = warehouse.read_df(
            "select distinct t.customer_id, m.customer_id as source_key from marts.fct_message m"
            " join marts.fct_thread t on t.thread_id = m.thread_id where t.customer_id is not null and m.customer_id is not null"
            + only_t,
            conn=conn,
        )
        orders = warehouse.read_df(
            "select customer_id, order_date, customer_name, customer_key, customer_phone, customer_email, source_line, file_seq"
            " from marts.fct_order where customer_id is not null" + only,
            conn=conn,
        )
        keys = warehouse.read_df("select customer_key, customer_id, key_type from marts.map_customer_key where true" + only, conn=conn)
        listed = warehouse.read_df(
            "select customer_id, name, first_transaction_at from marts.ref_customer_list where true" + only, conn=conn
        )

    ids = sorted(set(threads["customer_id"]) | set(orders["customer_id"]) | set(keys["customer_id"]) | set(listed["customer_id"]))
    dim = pd.DataFrame({"customer_id": pd.Series(ids, dtype=object)})
    if not ids:
        return dim.assign(**{name: [] for name in DIM_CONTRACT.names if name != "customer_id"})

    # names: customer list, else the sales report, else the first WhatsApp / marketplace chat name
    names = dict(zip(listed["customer_id"], listed["name"]))
    if len(orders):
        named = orders.dropna(subset=["customer_name"]).sort_values(["file_seq", "source_line"])
        for cid, name in zip(named["customer_id"], named["customer_name"]):
            names.setdefault(cid, name)
    chats = threads[threads["channel"].isin(["whatsapp", "marketplace"])].copy()
    chats["first_message_at"] = pd.to_datetime(chats["first_message_at"], utc=True)
    for cid, name in chats.sort_values("first_message_at")[["customer_id", "thread_name"]].itertuples(index=False):
        names.setdefault(cid, name)

    all_keys = pd.concat(
        [
            raw_keys.rename(columns={"source_key": "key"})[["customer_id", "key"]],
            keys.rename(columns={"customer_key": "key"})[["customer_id", "key"]],
            orders.rename(columns={"customer_phone": "key"})[["customer_id", "key"]],
            orders.rename(columns={"customer_email": "key"})[["customer_id", "key"]],
        ],
        ignore_index=True,
    ).dropna()
    phones = all_keys[all_keys["key"].astype(str).str.fullmatch(r"\+\d{7,15}")].groupby("customer_id")["key"].agg(_join)
    emails = all_keys[all_keys["key"].astype(str).str.contains("@") & ~all_keys["key"].astype(str).str.contains(":")]
    emails = emails.groupby("customer_id")["key"].agg(_join)
    source_keys = pd.concat(
        [raw_keys.rename(columns={"source_key": "key"})[["customer_id", "key"]],
         orders.rename(columns={"customer_key": "key"})[["customer_id", "key"]]], ignore_index=True
    ).dropna().groupby("customer_id")["key"].agg(_join)

    first_order = pd.to_datetime(orders["order_date"]).groupby(orders["customer_id"]).min() if len(orders) else pd.Series(dtype="datetime64[us]")
    n_orders = orders.groupby("customer_id").size() if len(orders) else pd.Series(dtype="int64")
    listed_first = pd.to_datetime(listed["first_transaction_at"]).groupby(listed["customer_id"]).min() if len(listed) else pd.Series(dtype="datetime64[us]")
    threads["first_message_at"] = pd.to_datetime(threads["first_message_at"], utc=True)
    by_customer = threads.groupby("customer_id")
    dim["name"] = dim["customer_id"].map(names)
    dim["phones"] = dim["customer_id"].map(phones)
    dim["emails"] = dim["customer_id"].map(emails)
    dim["first_order_at"] = dim["customer_id"].map(first_order.to_dict())
    list_first = dim["customer_id"].map(listed_first.to_dict())
    order_first, known_first = pd.to_datetime(dim["first_order_at"].astype(object)), pd.to_datetime(list_first.astype(object))
    dim["first_transaction_at"] = order_first.where(known_first.isna() | (order_first.notna() & (order_first <= known_first)), known_first)
    dim["first_thread_at"] = pd.to_datetime(dim["customer_id"].map(by_customer["first_message_at"].min().to_dict()), utc=True)
    dim["n_threads"] = dim["customer_id"].map(by_customer.size()).fillna(0).astype("int64")
    dim["n_orders"] = dim["customer_id"].map(n_orders).fillna(0).astype("int64")
    dim["channels"] = dim["customer_id"].map(by_customer["channel"].agg(_join))
    dim["source_keys"] = dim["customer_id"].map(source_keys)
    for col in ("first_order_at", "first_transaction_at"):
        dim[col] = pd.to_datetime(dim[col]).map(lambda t: t.date() if pd.notna(t) else None)
    return dim


def stale_customers(warehouse: Warehouse, conn: Connection, threads: Sequence[str]) -> list[str]:
    """Customers whose ``marts.dim_customer`` row may be out of date after the facts of
    ``threads`` were rebuilt: those threads' customers, and every customer whose stored thread
    count differs from ``marts.fct_thread`` (a thread moved to another customer, a customer
    appeared or lost their last thread). Reads thread-level tables only, never the messages."""
    rebuilt = _with_keys(
        warehouse, conn, threads,
        "select distinct t.customer_id from marts.fct_thread t join staging.stg_row_key k on k.row_key = t.thread_id"
        " where t.customer_id is not null",
    )
    drifted = warehouse.read_df(
        "select coalesce(t.customer_id, d.customer_id) as customer_id"
        " from (select customer_id, count(*) as n from marts.fct_thread where customer_id is not null group by customer_id) t"
        " full join marts.dim_customer d on d.customer_id = t.customer_id"
        " where d.customer_id is null or coalesce(t.n, 0) <> d.n_threads",
        conn=conn,
    )
    return sorted(set(rebuilt["customer_id"]) | set(drifted["customer_id"].dropna()))


def refresh_customers(
    warehouse: Warehouse, conn: Connection, config: Config, threads: Sequence[str] | None = None
) -> int:
    """Rebuild ``marts.dim_customer``, then ``fct_thread.is_new_customer`` of the same customers
    (:func:`refresh_new_customer_flags`). Called at the end of ``facts.rebuild_facts`` with the
    rebuilt ``threads`` (only the :func:`stale_customers` are rebuilt, so a daily batch costs
    what its threads cost, not what the warehouse holds) and, for every customer, after
    identity / order files are merged. Returns the number of customers rebuilt."""
    customers = None if threads is None else stale_customers(warehouse, conn, threads)
    if customers is not None and not customers:
        return 0
    dim = build_dim_customer(warehouse, conn, customers)
    if customers is None:
        warehouse.execute(conn, "delete from marts.dim_customer")
    else:
        warehouse.delete_where_in(conn, "marts.dim_customer", "customer_id", customers)
    if len(dim):
        warehouse.bulk_insert(conn, "marts.dim_customer", DIM_CONTRACT.arrow_table(dim))
    refresh_new_customer_flags(warehouse, conn, config, customers)
    return len(dim)


def refresh_new_customer_flags(
    warehouse: Warehouse, conn: Connection, config: Config, customers: Sequence[str] | None = None
) -> int:
    """``marts.fct_thread.is_new_customer`` of every thread of ``customers`` (None: all) under
    the one rule, :func:`kpi_transforms.facts.threads.is_new_customer`, over all of the
    customer's threads in the warehouse and ``marts.dim_customer.first_transaction_at``
    (refreshed just before). Only rows whose flag changes are written, true or false. Returns
    that number."""
    sql = (
        "select t.thread_id, t.customer_id, t.first_message_at, t.is_new_customer, d.first_transaction_at"
        " from marts.fct_thread t left join marts.dim_customer d on d.customer_id = t.customer_id"
        " where t.customer_id is not null"
    )
    if customers is None:
        threads = warehouse.read_df(sql, conn=conn)
    else:
        if not customers:
            return 0
        threads = _with_keys(warehouse, conn, customers, sql + " and t.customer_id in (select row_key from staging.stg_row_key)")
    if threads.empty:
        return 0
    first = threads.dropna(subset=["first_transaction_at"]).drop_duplicates("customer_id")
    flags = is_new_customer(
        threads["customer_id"], threads["thread_id"], pd.to_datetime(threads["first_message_at"], utc=True),
        dict(zip(first["customer_id"], first["first_transaction_at"])), config.timezone,
    )
    stored = threads["is_new_customer"].astype("boolean")
    changed = (stored != flags).fillna(True).to_numpy(dtype=bool)
    for value in (True, False):
        keys = threads.loc[changed & (flags == value).fillna(False).to_numpy(dtype=bool), "thread_id"].tolist()
        if keys:
            with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", keys):
                warehouse.execute(
                    conn,
                    "update marts.fct_thread set is_new_customer = :v"
                    " where thread_id in (select row_key from staging.stg_row_key)",
                    {"v": value},
                )
    return int(changed.sum())
