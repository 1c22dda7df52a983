"""Which kind of table a ``.csv`` / ``.xlsx`` is, from its header row.
"""

from __future__ import annotations

from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.sources.flat import ALIASES as FLAT_ALIASES
from kpi_transforms.sources.flat import OPTIONAL as FLAT_OPTIONAL
from kpi_transforms.sources.flat import REQUIRED as FLAT_REQUIRED
from kpi_transforms.sources.marketplace.parser import detect_marketplace, missing_columns_reason
from kpi_transforms.sources.tables.customers import LIST_COLUMNS, is_customer_map
from kpi_transforms.sources.tables.manual import CASE_COLUMNS as MANUAL_CASE_COLUMNS
from kpi_transforms.sources.tables.manual import INTENT_COLUMNS
from kpi_transforms.sources.tables.orders import ORDER_COLUMNS, ORDER_REQUIRED
from kpi_transforms.sources.tables.rows import resolve_columns

# Which parser reads a table, by the kind detect_table_kind names.
TABLE_KINDS = (
    "customer_map", "canonical", "marketplace", "manual_intent_label", "manual_case_resolution", "orders", "customer_list",
)


def _table_candidates(header: list[str]) -> list[tuple[str, int, list[str]]]:
    """(kind, columns recognised, missing required columns) for every table layout."""

    out = []
    names = {str(h).strip().lower() for h in header}
    canon = {FLAT_ALIASES.get(n, n) for n in names}
    known = set(FLAT_REQUIRED) | set(FLAT_OPTIONAL)
    out.append(("canonical", len(canon & known), [c for c in FLAT_REQUIRED if c not in canon]))
    found = detect_marketplace(header)
    if found is not None:
        out.append(("marketplace", len(found.columns), [f"{found.map.columns[f][0]} ({f})" for f in found.missing]))
    if is_customer_map(header):
        out.append(("customer_map", len(header), []))
    order_cols = resolve_columns(header, ORDER_COLUMNS)
    out.append(("orders", len(order_cols), [f"{ORDER_COLUMNS[f][0]} ({f})" for f in ORDER_REQUIRED if f not in order_cols]))
    list_cols = resolve_columns(header, LIST_COLUMNS)
    out.append(("customer_list", len(list_cols), [f"{LIST_COLUMNS[f][0]} ({f})" for f in ("customer_id", "name") if f not in list_cols]))
    case_cols = resolve_columns(header, MANUAL_CASE_COLUMNS)
    case_missing = [m for m in ["thread_id"] if m not in case_cols]
    if "resolved_at" not in case_cols and "resolution" not in case_cols:
        case_missing.append("resolved_at")
    out.append(("manual_case_resolution", len(case_cols), case_missing))
    intent_cols = resolve_columns(header, INTENT_COLUMNS)
    intent_missing = [m for m in ["intent"] if m not in intent_cols]
    if "thread_id" not in intent_cols and "question_message_id" not in intent_cols:
        intent_missing.append("thread_id or question_message_id")
    out.append(("manual_intent_label", len(intent_cols), intent_missing))
    return out


def _table_header_score(cells: list[str]) -> int:
    """How well a row looks like a known header (used to skip title rows above it)."""
    return max((n for _kind, n, _missing in _table_candidates(cells)), default=0)


def detect_table_kind(header: list[str]) -> str:
    """The kind of a ``.csv`` / ``.xlsx`` from its header; RejectedFile naming the closest
    layout's missing columns when no layout is complete."""
    candidates = _table_candidates(header)
    complete = {kind for kind, n, missing in candidates if not missing and n > 0}
    for kind in TABLE_KINDS:
        if kind in complete:
            return kind
    kind, n, missing = max(candidates, key=lambda c: (c[1], -len(c[2])))
    shown = ", ".join(str(h) for h in header[:12])
    if n == 0:
        raise RejectedFile(
            f"unknown table layout (header: {shown}); expected canonical messages, a marketplace chat export, "
            "a sales report, a customer list, customer_map or a manual override file (see docs/INPUTS.md)"
        )
    if kind == "marketplace":

        raise RejectedFile(missing_columns_reason(detect_marketplace(header)))
    label = {"canonical": "canonical message file", "orders": "sales report", "customer_list": "customer list",
             "manual_case_resolution": "case-resolution file", "manual_intent_label": "intent-label file"}.get(kind, kind)
    raise RejectedFile(f"looks like a {label} but lacks column(s) {', '.join(missing)} (header: {shown}); see docs/INPUTS.md")
