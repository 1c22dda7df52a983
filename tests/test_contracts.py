"""The declarative fact-table contracts (kpi_transforms/core/contracts/*.yaml, issue 13) equal
what the migrations build on both engines: columns in table order, types, NOT NULL, table and
column comments; and the bulk loads' Arrow schemas come from them."""

from __future__ import annotations

import dataclasses

import pyarrow as pa
import pytest

from kpi_transforms.core.contracts import ARROW_TYPES, TABLES, contract
from kpi_transforms.warehouse.engine import Warehouse

# information_schema.columns.data_type -> contract type, per engine
_TYPES = {
    "varchar": "varchar", "character varying": "varchar", "timestamp with time zone": "timestamptz",
    "timestamp": "timestamp", "timestamp without time zone": "timestamp", "bigint": "bigint", "integer": "integer",
    "boolean": "boolean", "double": "double", "double precision": "double", "date": "date",
    "smallint": "smallint", "decimal(18,2)": "decimal(18,2)",
}


def _actual(wh: Warehouse, table: str) -> tuple[list[tuple], str | None]:
    schema, name = table.split(".")
    if wh.dialect == "duckdb":
        cols = wh.read_df(
            "select column_name, data_type, is_nullable, comment from duckdb_columns()"
            " where schema_name = :s and table_name = :t order by column_index", {"s": schema, "t": name})
        comment = wh.scalar("select comment from duckdb_tables() where schema_name = :s and table_name = :t", {"s": schema, "t": name})
    else:
        cols = wh.read_df(
            "select c.column_name, case when c.data_type = 'numeric'"
            " then 'decimal(' || c.numeric_precision || ',' || c.numeric_scale || ')' else c.data_type end as data_type, c.is_nullable = 'YES' as is_nullable,"
            " col_description((c.table_schema || '.' || c.table_name)::regclass, c.ordinal_position) as comment"
            " from information_schema.columns c where c.table_schema = :s and c.table_name = :t order by c.ordinal_position",
            {"s": schema, "t": name})
        comment = wh.scalar("select obj_description(cast(:q as regclass), 'pg_class')", {"q": table})
    rows = [(r.column_name, _TYPES[str(r.data_type).lower()], not bool(r.is_nullable), r.comment) for r in cols.itertuples()]
    return rows, comment


@pytest.mark.parametrize("table", TABLES)
def test_the_warehouse_equals_the_contract_on_both_engines(warehouse_url, table):
    wh = Warehouse(warehouse_url)
    wh.init()
    try:
        rows, comment = _actual(wh, f"marts.{table}")
    finally:
        wh.dispose()
    c = contract(table)
    assert [r[0] for r in rows] == c.names  # columns and their order
    assert {r[0]: r[1] for r in rows} == {col.name: col.type for col in c.columns}
    assert {r[0]: r[2] for r in rows} == {col.name: col.not_null for col in c.columns}
    assert {r[0]: r[3] for r in rows} == {col.name: col.comment for col in c.columns}
    assert comment == c.comment
    assert c.grain and set(c.grain) <= set(c.names)


def test_arrow_schema_and_table_follow_the_contract():
    c = contract("marts.fct_follow_up")
    schema = c.arrow_schema()
    assert schema.names == c.names and schema.field("followed_up_at").type == pa.timestamp("us", tz="UTC")
    assert {f.type for f in schema} <= set(ARROW_TYPES.values())
    with pytest.raises(KeyError):
        contract("fct_nothing")


def test_a_comment_edited_in_the_contract_reaches_the_warehouse_without_a_migration(warehouse_url, monkeypatch):
    """init applies the contracts' comments after the migrations, only where they differ."""
    from kpi_transforms.warehouse import engine

    wh = Warehouse(warehouse_url)
    wh.init()
    try:
        with wh.begin() as conn:
            assert wh._apply_contract_comments(conn) == []  # as the contracts say: nothing written
        original = contract("fct_case")
        table_text = "Edited: one row per complaint case, it's the contract's text now."
        column_text = "Edited status: open | resolved | unresolved (:not_a_bind_param)."
        edited = dataclasses.replace(
            original, comment=table_text,
            columns=tuple(dataclasses.replace(c, comment=column_text) if c.name == "status" else c for c in original.columns))
        monkeypatch.setattr(engine, "contract", lambda name: edited if name.split(".")[-1] == "fct_case" else contract(name))
        assert wh.init() == []  # no migration applied
        rows, comment = _actual(wh, "marts.fct_case")
        assert comment == table_text
        comments = {r[0]: r[3] for r in rows}
        assert comments["status"] == column_text
        assert comments["category"] == original.columns[original.names.index("category")].comment  # the others untouched
        monkeypatch.undo()
        with wh.begin() as conn:
            assert wh._apply_contract_comments(conn) == ["marts.fct_case", "marts.fct_case.status"]  # back to the YAML
        rows, comment = _actual(wh, "marts.fct_case")
        assert comment == original.comment and {r[0]: r[3] for r in rows} == {c.name: c.comment for c in original.columns}
    finally:
        wh.dispose()


def test_every_marts_table_has_a_contract(duckdb_url):
    wh = Warehouse(duckdb_url)
    wh.init()
    try:
        tables = set(wh.read_df("select table_name from duckdb_tables() where schema_name = 'marts'")["table_name"])
    finally:
        wh.dispose()
    assert tables == set(TABLES)
