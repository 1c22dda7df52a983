"""Declarative contracts of the warehouse's marts tables (issue 13): one YAML file per table in
this folder with its grain, its columns in table order, their types, NOT NULL and comments.

A column is described once, here. Every bulk load of a marts table passes
:meth:`Contract.arrow_table` (its Arrow schema is :meth:`Contract.arrow_schema`), so a frame
whose dtypes drifted is cast or refused before it reaches either engine, and no module states
a marts table's schema of its own. ``Warehouse.init`` writes the table and column comments
from here after the migrations (so a comment is edited here, not in a migration); the fact
suites' not-null checks come from the NOT NULL columns (``expectations.not_null``); and
``tests/test_contracts.py`` checks that the warehouse's actual columns, types, NOT NULL and
comments equal the contract on DuckDB and PostgreSQL, that every marts table has one, and that
every marts bulk load carries the contract's schema. A migration that adds a column or a table
changes the contracts in the same commit.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import pyarrow as pa
import yaml

HERE = Path(__file__).resolve().parent
FACT_TABLES = ("fct_reply_pair", "fct_thread", "fct_quote_response", "fct_case", "fct_follow_up", "fct_conversation")
# every table with a contract: the fact tables, then the KPI table and the other marts tables
OTHER_TABLES = ("fct_message", "dim_customer", "ref_customer_list", "fct_order", "fct_order_product", "fct_chat_rating",
                "map_customer_key", "fct_scorecard",
                "fct_survey_response", "email_message", "email_reference", "intent_model_version",
                "manual_case_resolution", "manual_intent_label")
TABLES = (*FACT_TABLES, "fct_kpi", *OTHER_TABLES)

# contract type -> Arrow type of the bulk loads
ARROW_TYPES = {
    "varchar": pa.string(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp": pa.timestamp("us"),
    "bigint": pa.int64(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "decimal(18,2)": pa.decimal128(18, 2),
    "boolean": pa.bool_(),
    "double": pa.float64(),
    "date": pa.date32(),
}


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str
    not_null: bool = False


@dataclasses.dataclass(frozen=True)
class Contract:
    table: str  # schema-qualified, e.g. marts.fct_case
    grain: tuple[str, ...]  # the columns that identify a row
    comment: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        """The Arrow schema of a bulk load into the table (table order; NOT NULL is the
        warehouse's to enforce, so every field is nullable here)."""
        return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in self.columns])

    def arrow_table(self, frame) -> pa.Table:
        """``frame`` (a DataFrame with at least the contract's columns) as an Arrow table of
        exactly the contract's columns, in table order, with the contract's types."""
        return pa.Table.from_pandas(frame[self.names], schema=self.arrow_schema(), preserve_index=False)


@functools.cache
def contract(table: str) -> Contract:
    """The contract of ``table`` (``fct_case`` or ``marts.fct_case``)."""
    name = table.split(".")[-1]
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        raise KeyError(f"no contract for table {table!r} (known: {', '.join(TABLES)})")
    # shipped files, not user input: libyaml's safe loader where built (10x the pure-Python one)
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    columns = tuple(
        Column(str(c["name"]), str(c["type"]), str(c["comment"]), bool(c.get("not_null", False))) for c in raw["columns"]
    )
    unknown = sorted({c.type for c in columns} - set(ARROW_TYPES))
    if unknown:
        raise ValueError(f"{path.name}: unknown column type(s) {unknown}")
    return Contract(str(raw["table"]), tuple(raw["grain"]), str(raw["comment"]), columns)
