"""Row tables: a warehouse table loaded from row files and merged on its natural key, and the
helpers the row parsers share (column resolution, quarantine frames).
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pyarrow as pa

from kpi_transforms.core.contracts import Contract, contract
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.sources.base import HeaderMatch, ParseResult
from kpi_transforms.sources.tables.reader import Table, cell_text, header_key


@dataclasses.dataclass(frozen=True)
class RowTable:
    """A warehouse table loaded from row files and merged on a natural key.

    ``precedence``: columns compared (as a tuple, then ``file_seq`` and ``source_line``) to
    pick the winning row per key among the stored row and the batch's rows. ``group``: a
    column whose rows are replaced as a whole instead (an order's product lines): per group the
    file with the highest (``precedence`` columns, ``file_seq``) wins, and its rows replace every
    stored row of the group. What a merge changes beyond the table (thread facts to rebuild,
    customer links) is the pipeline's business (:mod:`kpi_transforms.pipeline.row_tables`).
    """

    name: str
    key: str
    precedence: tuple[str, ...] = ()
    order: int = 50  # merge order inside a batch: identity tables first
    group: str | None = None

    @property
    def contract(self) -> Contract:
        """The table's contract (core/contracts): its columns and their types."""
        return contract(self.name)

    @property
    def schema(self) -> pa.Schema:
        """The Arrow schema of the table's bulk loads, from its contract."""
        return self.contract.arrow_schema()


def resolve_columns(header: list[str], spec: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """field -> header as written, matching accepted names after :func:`header_key`."""
    by_key: dict[str, str] = {}
    for column in header:
        by_key.setdefault(header_key(column), column)
    found = {}
    for field, names in spec.items():
        for name in names:
            if header_key(name) in by_key:
                found[field] = by_key[header_key(name)]
                break
    return found


def _reasons_frame(table: Table) -> pd.Series:
    frame = table.rows
    if "__error__" in frame:
        return frame["__error__"].astype(object).fillna("")
    return pd.Series("", index=frame.index, dtype=object)


def _raw_text(table: Table) -> pd.Series:
    frame = table.rows
    text = frame[table.header].map(cell_text).agg(" | ".join, axis=1) if len(frame) else pd.Series([], dtype=object)
    if "__raw__" in frame:
        text = frame["__raw__"].where(frame["__raw__"].notna(), text)
    return text.astype(str).str.slice(0, 500)


def _rejected(table: Table, reasons: pd.Series) -> pd.DataFrame:
    bad = reasons != ""
    return pd.DataFrame(
        {"source_line": table.rows.loc[bad, "__line__"].astype("int64"), "raw": _raw_text(table)[bad], "reason": reasons[bad]}
    ).reset_index(drop=True)


def row_result(
    table: Table, tables: dict[str, pd.DataFrame], reasons: pd.Series,
    date_order: str | None = None, date_order_source: str | None = None,
) -> ParseResult:
    """The :class:`ParseResult` of a row file: its table frames, and the rows with a reason
    quarantined. A file with no usable row is rejected as a whole."""
    rejected = _rejected(table, reasons)
    n = len(table.rows)
    kept = {name: frame for name, frame in tables.items() if len(frame)}
    if not kept:
        raise RejectedFile(f"no usable row ({len(rejected)} quarantined)")
    return ParseResult(layout=table.layout, tables=kept, rejected=rejected, lines_read=n, header_lines=n - len(rejected),
                       quarantined_lines=len(rejected), date_order=date_order, date_order_source=date_order_source)


def match_columns(header: list[str], columns: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> HeaderMatch:
    """A header's fit for a row layout: columns recognised, required ones missing (shown as
    ``<first accepted name> (<field>)``)."""
    found = resolve_columns(header, columns)
    return HeaderMatch(len(found), [f"{columns[f][0]} ({f})" for f in required if f not in found])
