"""The declarative fact-table contracts (kpi_transforms/core/contracts/*.yaml, issue 13) equal
what the migrations build on both engines: columns in table order, types, NOT NULL, table and
column comments; and the bulk loads' Arrow schemas come from them."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

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


# -- every bulk load of a marts table takes its Arrow schema from the contract ---------------

PACKAGE = Path(__file__).resolve().parent.parent / "kpi_transforms"
_PA_TYPES = {"string", "large_string", "utf8", "int8", "int16", "int32", "int64", "float32", "float64", "bool_",
             "date32", "date64", "timestamp", "decimal128", "binary"}


def _is_pa(node: ast.AST, names: set[str]) -> bool:
    """``pa.<name>(...)`` / ``pyarrow.<name>(...)``."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names
            and isinstance(node.func.value, ast.Name) and node.func.value.id in ("pa", "pyarrow"))


def _declared_columns(tree: ast.AST) -> list[tuple[int, list[str]]]:
    """Column lists a module states with their types: ``pa.schema([...])`` (tuples or
    ``pa.field``), ``pa.field(...)`` lists, and dicts mapping names to Arrow types or dtype
    strings (``{"col": pa.string()}``, ``.astype({"col": "int64"})``)."""
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if _is_pa(node, {"schema"}) and node.args and isinstance(node.args[0], (ast.List, ast.Tuple)):
            for item in node.args[0].elts:
                if isinstance(item, ast.Tuple) and item.elts and isinstance(item.elts[0], ast.Constant):
                    names.append(str(item.elts[0].value))
                elif _is_pa(item, {"field"}) and item.args and isinstance(item.args[0], ast.Constant):
                    names.append(str(item.args[0].value))
        elif isinstance(node, (ast.List, ast.Tuple)):
            names = [str(e.args[0].value) for e in node.elts
                     if _is_pa(e, {"field"}) and e.args and isinstance(e.args[0], ast.Constant)]
        elif isinstance(node, ast.Dict):
            typed = [k.value for k, v in zip(node.keys, node.values)
                     if isinstance(k, ast.Constant) and isinstance(k.value, str)
                     and (_is_pa(v, _PA_TYPES) or (isinstance(v, ast.Constant) and str(v.value).startswith(
                         ("int", "float", "bool", "datetime64", "string", "object", "Int", "Float"))))]
            names = typed
        if len(names) >= 2:
            found.append((node.lineno, names))
    return found


def _restated(names: list[str]) -> list[str]:
    """The marts tables whose columns ``names`` restate: most of the table's columns, grain included."""
    out = []
    for table in TABLES:
        c = contract(table)
        common = set(names) & set(c.names)
        if set(c.grain) <= common and len(common) >= max(2, (len(c.names) + 1) // 2):
            out.append(table)
    return out


def test_no_module_states_a_marts_tables_schema_of_its_own():
    """A marts table's columns and types are written once, in its contract: no module outside
    core/contracts declares them again (an Arrow schema, a list of fields or a dtype dict)."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "contracts":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, names in _declared_columns(tree):
            for table in _restated(names):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line} restates marts.{table}")
    assert offenders == []


def test_the_schema_scan_finds_a_restated_schema():
    """The scan above can fail: the schemas the bulk loads stated before issue 13 are found."""
    old = ast.parse(
        "RATING_SCHEMA = pa.schema([('rating_id', pa.string()), ('thread_id', pa.string()), ('channel', pa.string()),"
        " ('rated_at', pa.timestamp('us', tz='UTC')), ('stars', pa.int16()), ('source_file', pa.string())])\n"
        "fields = [pa.field('email_message_id', pa.string()), pa.field('ref_id', pa.string())]\n"
        "frame.astype({'customer_id': 'string', 'name': 'string', 'n_threads': 'int64', 'n_orders': 'int64',"
        " 'phones': 'string', 'emails': 'string'})\n"
        "AUDIT = pa.schema([('batch_id', pa.string()), ('started_at', pa.timestamp('us', tz='UTC'))])\n")
    found = {line: _restated(names) for line, names in _declared_columns(old)}
    assert found == {1: ["fct_chat_rating"], 2: ["email_reference"], 3: ["dim_customer"], 4: []}


def test_every_marts_bulk_load_passes_the_contracts_arrow_table():
    """Outside the warehouse layer, a bulk_insert into anything but an audit or staging table
    passes ``<contract>.arrow_table(frame)``: never a DataFrame whose types Arrow would guess,
    nor a table built with a schema of its own."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "warehouse":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
                     for t in n.targets if isinstance(t, ast.Name)}  # TABLE = "audit.extract_checkpoint"
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "bulk_insert"):
                continue
            target, data = node.args[1], node.args[2]
            name = target.value if isinstance(target, ast.Constant) else constants.get(getattr(target, "id", None))
            if str(name).startswith(("audit.", "staging.")):
                continue
            if not (isinstance(data, ast.Call) and isinstance(data.func, ast.Attribute) and data.func.attr == "arrow_table"):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []


def test_bulk_loads_into_marts_carry_the_contract_schema(duckdb_url, tmp_path, monkeypatch):
    """Ingesting chats, a customer map, surveys, an order report with products and marketplace
    ratings: every Arrow table bulk-loaded or merged into a marts table has exactly the
    contract's schema (names, order and types)."""
    from kpi_transforms.cli import main

    seen: dict[str, list[pa.Schema]] = {}
    bulk_insert, merge_new = Warehouse.bulk_insert, Warehouse.merge_new

    def spy_bulk(self, conn, table, data):
        if table.startswith("marts."):
            seen.setdefault(table, []).append(data.schema if isinstance(data, pa.Table) else None)
        return bulk_insert(self, conn, table, data)

    def spy_merge(self, conn, target, staging, data, key):
        seen.setdefault(target, []).append(data.schema if isinstance(data, pa.Table) else None)
        return merge_new(self, conn, target, staging, data, key)

    monkeypatch.setattr(Warehouse, "bulk_insert", spy_bulk)
    monkeypatch.setattr(Warehouse, "merge_new", spy_merge)
    scenarios = Path(__file__).resolve().parent / "kpi_scenarios"
    for case in ("survey_customer_keys", "upsell_cross_sell_rate", "csat_rate"):
        folder = scenarios / case
        url = f"duckdb:///{tmp_path / case}.duckdb"
        args = ["--config", str(folder / "config.yaml"), "--warehouse", url]
        batches = sorted(p for p in folder.iterdir() if p.is_dir()) or [folder]
        for batch in batches:
            files = [str(f) for f in sorted(batch.iterdir()) if f.is_file() and f.suffix != ".yaml" and f.name != "expected.csv"]
            assert main([*args, "ingest", *files, "--lake", str(tmp_path / "lake")]) == 0
    wrong = {table: [s for s in schemas if s is None or not s.equals(contract(table).arrow_schema())]
             for table, schemas in seen.items()}
    assert {t: w for t, w in wrong.items() if w} == {}
    assert {"marts.fct_message", "marts.fct_reply_pair", "marts.fct_thread", "marts.dim_customer", "marts.map_customer_key",
            "marts.fct_survey_response", "marts.fct_order", "marts.fct_order_product", "marts.fct_chat_rating"} <= set(seen)
