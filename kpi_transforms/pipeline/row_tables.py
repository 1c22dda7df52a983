"""Row tables (sales report, customer list and map, manual labels and resolutions, ratings)
merged into the warehouse on their natural key, inside the batch transaction.

What a merge changes beyond its own table is decided here: the threads whose facts must be
rebuilt (orders and customer identities link threads to customers; manual files override
intents and case resolutions), and the refresh of ``marts.dim_customer``.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pyarrow as pa

from kpi_transforms.core.config import Config
from kpi_transforms.pipeline.customers import (
    after_customer_keys,
    after_customer_list,
    refresh_customers,
    resolve_order_customers,
    threads_of_keys,
)
from kpi_transforms.sources.registry import ROW_TABLES, FileResult
from kpi_transforms.warehouse.engine import Warehouse


def _after_orders(warehouse, conn, winners: pd.DataFrame) -> list[str]:
    resolve_order_customers(warehouse, conn)
    keys = set(winners["customer_key"].dropna()) | set(winners["customer_phone"].dropna()) | set(winners["customer_email"].dropna())
    return threads_of_keys(warehouse, conn, sorted(keys))


def _after_manual(warehouse, conn, winners: pd.DataFrame) -> list[str]:
    """Threads whose facts a manual file changes: named directly, or through the question
    message of a labelled queue. Manual files always win, also when they arrive after the chat."""
    threads = set(winners["thread_id"].dropna()) if "thread_id" in winners else set()
    if "question_message_id" in winners:
        questions = sorted(set(winners["question_message_id"].dropna()))
        if questions:
            threads |= set(_threads_of_messages(warehouse, conn, questions))
    known = set(warehouse.read_df("select distinct thread_id from marts.fct_thread", conn=conn)["thread_id"])
    return sorted(threads & known)


def _threads_of_messages(warehouse, conn, message_ids: list[str]) -> list[str]:
    with warehouse.staged_keys(conn, "staging.stg_thread_key", "thread_id", message_ids):
        return warehouse.read_df(
            "select distinct m.thread_id from marts.fct_message m join staging.stg_thread_key k on k.thread_id = m.message_id",
            conn=conn,
        )["thread_id"].tolist()


# table -> after_merge(warehouse, conn, winners): the threads whose facts must be rebuilt
AFTER_MERGE: dict[str, Callable[..., list[str]]] = {
    "marts.map_customer_key": after_customer_keys,
    "marts.ref_customer_list": after_customer_list,
    "marts.fct_order": _after_orders,
    "marts.manual_case_resolution": _after_manual,
    "marts.manual_intent_label": _after_manual,
}


def row_tables() -> dict[str, object]:
    """Every row table the loaders know (:class:`~kpi_transforms.sources.tables.rows.RowTable`), by name."""
    return dict(ROW_TABLES)


def _sortable(values: pd.Series, kind: pa.DataType) -> pd.Series:
    if pa.types.is_date(kind) or pa.types.is_timestamp(kind):
        return pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%dT%H:%M:%S").fillna("")
    if pa.types.is_integer(kind):
        return pd.to_numeric(values, errors="coerce").fillna(-1).astype("int64")
    return values.astype(str)


def merge_row_tables(warehouse: Warehouse, conn, parsed: list[FileResult], config: Config) -> list[str]:
    """Merge the row-table frames of the batch's loaded files into their tables, inside the
    caller's transaction; return the threads whose facts must be rebuilt.

    Per natural key the row with the highest (``precedence`` columns, ``file_seq``,
    ``source_line``) wins among the stored row and the batch's rows: stored rows that lose are
    deleted, winning batch rows inserted. Identity tables merge first (``RowTable.order``)."""
    specs = row_tables()
    pending: dict[str, list[pd.DataFrame]] = {}
    for result in parsed:
        if result.status != "parsed" or not result.tables:
            continue
        for name, frame in result.tables.items():
            if name not in specs:
                raise KeyError(f"no RowTable registered for {name}")
            pending.setdefault(name, []).append(frame.assign(source_file=result.label, file_seq=result.file_seq))
    if not pending:
        return []
    threads: set[str] = set()
    for name in sorted(pending, key=lambda n: (specs[n].order, n)):
        spec = specs[name]
        batch = pd.concat(pending[name], ignore_index=True)
        batch = pd.DataFrame({col: batch[col] if col in batch else None for col in spec.schema.names})
        if spec.group is not None:
            _merge_groups(warehouse, conn, spec, batch)
            continue
        order = [*spec.precedence, "file_seq", "source_line"]
        types = {field.name: field.type for field in spec.schema}
        ranked = batch.assign(**{f"__p{i}": _sortable(batch[c], types[c]) for i, c in enumerate(order)})
        pcols = [f"__p{i}" for i in range(len(order))]
        ranked = ranked.sort_values(pcols, kind="stable").drop_duplicates(spec.key, keep="last")
        with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", ranked[spec.key].astype(str).tolist()):
            stored = warehouse.read_df(
                f"select t.{spec.key}, {', '.join('t.' + c for c in order)} from {name} t"
                f" join staging.stg_row_key k on k.row_key = t.{spec.key}",
                conn=conn,
            )
        if len(stored):
            stored_rank = pd.DataFrame({f"__p{i}": _sortable(stored[c], types[c]) for i, c in enumerate(order)})
            stored_rank[spec.key] = stored[spec.key].astype(str).to_numpy()
            merged = ranked[[spec.key, *pcols]].assign(__new=True).astype({spec.key: str})
            both = pd.concat([stored_rank.assign(__new=False), merged], ignore_index=True)
            both = both.sort_values([*pcols, "__new"], kind="stable").drop_duplicates(spec.key, keep="last")
            winners_new = set(both.loc[both["__new"], spec.key])
        else:
            winners_new = set(ranked[spec.key].astype(str))
        winners = ranked[ranked[spec.key].astype(str).isin(winners_new)].drop(columns=pcols)
        if winners.empty:
            continue
        warehouse.delete_where_in(conn, name, spec.key, winners[spec.key].astype(str).tolist())
        warehouse.bulk_insert(conn, name, spec.contract.arrow_table(winners))
        if name in AFTER_MERGE:
            threads |= set(AFTER_MERGE[name](warehouse, conn, winners))

    refresh_customers(warehouse, conn, config)
    return sorted(threads)


def _merge_groups(warehouse: Warehouse, conn, spec, batch: pd.DataFrame) -> None:
    """Merge a grouped row table (``RowTable.group``, e.g. an order's product lines): per
    group the file with the highest (``precedence`` columns, ``file_seq``) among the batch's
    files and the stored rows wins, and its rows replace the stored rows of the group as a
    whole (a line the winning report no longer lists is deleted). The stored rows of a group
    all come from one file, so the outcome depends on the files, not on their batching: the
    same rule as the per-key merge, applied to the group."""
    group = spec.group
    order = [*spec.precedence, "file_seq"]
    types = {field.name: field.type for field in spec.schema}
    vcols = [f"__v{i}" for i in range(len(order))]
    ranked = batch.assign(**{f"__v{i}": _sortable(batch[c], types[c]) for i, c in enumerate(order)},
                          __line=_sortable(batch["source_line"], types["source_line"]))
    ranked = ranked.sort_values([*vcols, "__line"], kind="stable")
    best = ranked.drop_duplicates(group, keep="last")[[group, *vcols]]
    with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", best[group].astype(str).tolist()):
        stored = warehouse.read_df(
            f"select distinct t.{group}, {', '.join('t.' + c for c in order)} from {spec.name} t"
            f" join staging.stg_row_key k on k.row_key = t.{group}",
            conn=conn,
        )
    versions = best.assign(__new=True)
    if len(stored):
        stored_versions = pd.DataFrame({f"__v{i}": _sortable(stored[c], types[c]) for i, c in enumerate(order)})
        stored_versions[group] = stored[group].astype(str).to_numpy()
        versions = pd.concat([stored_versions.assign(__new=False), versions], ignore_index=True)
    versions = versions.sort_values([*vcols, "__new"], kind="stable").drop_duplicates(group, keep="last")
    won = versions.loc[versions["__new"], [group, *vcols]]
    if won.empty:
        return
    rows = ranked.merge(won, on=[group, *vcols], how="inner").sort_values([group, "__line"], kind="stable")
    rows = rows.drop_duplicates(spec.key, keep="last")
    warehouse.delete_where_in(conn, spec.name, group, won[group].astype(str).tolist())
    warehouse.bulk_insert(conn, spec.name, spec.contract.arrow_table(rows))
