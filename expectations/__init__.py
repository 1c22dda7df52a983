"""Great Expectations 1.x suites, as code, for the chatkpi data-quality gate (SPEC 12).

One module per suite. Each module defines

* ``NAME`` - the suite name (also the name of the table it guards, without schema);
* ``ID_COLUMNS`` - columns shown beside every unexpected value, so a failure names its rows;
* ``PARAMETERS`` - the suite parameters (``{"$PARAMETER": name}``) each run must supply;
* ``SPEC`` - the suite as data: one :func:`spec` entry per expectation (GX class name and its
  arguments; a row condition as ``("is_in", column, values)`` or ``("==", column, value)``);
* ``expectations()`` - the GX expectation objects built from ``SPEC`` (GX is imported on call).

``kpi_transforms.quality`` evaluates ``SPEC`` with a vectorised evaluator of the same semantics
in a normal run (importing GX costs 3-11 s) and runs GX itself for Data Docs, for any batch the
evaluator does not pass, and in ``--gx`` mode.

The suites validate in-memory pandas frames (an ephemeral GX context, no warehouse connection)
before the load transaction commits; :mod:`kpi_transforms.quality` runs them. Some checks need
facts from other frames (does the pair's thread exist? do lines add up?): those are prepared as
*computed columns* by ``kpi_transforms.quality`` and named ``*_in_*`` / ``*_accounted``; the
module docstrings say which.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from kpi_transforms.core import schema as _schema
from kpi_transforms.core.contracts import contract

SUITES = ("stg_message", "file_manifest", "fct_reply_pair", "fct_thread", "fct_quote_response", "fct_case", "fct_follow_up",
          "fct_conversation")

# The warehouse contract's vocabularies, defined once in kpi_transforms.core.schema.
ROLES = _schema.ROLES
CHANNELS = _schema.CHANNELS
PAIR_STATUSES = ("answered", "unanswered")
CASE_STATUSES = ("open", "resolved", "unresolved")
CONVERSATION_STATUSES = ("open", "resolved", "unanswered")
INTENTS = _schema.ALL_INTENTS


def suite_module(name: str) -> ModuleType:
    """The module that defines suite ``name``."""
    if name not in SUITES:
        raise KeyError(f"no expectation suite {name!r} (known: {', '.join(SUITES)})")
    return import_module(f"{__name__}.{name}")


def spec(kind: str, **kwargs: Any) -> dict[str, Any]:
    """One expectation of a suite as data: GX class ``kind`` (e.g. ``ExpectColumnValuesToBeUnique``)
    and its keyword arguments."""
    return {"kind": kind, **kwargs}


def not_null(table: str, described: dict[str, str] | None = None, also: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """``ExpectColumnValuesToNotBeNull`` for every NOT NULL column of ``table``'s contract
    (``kpi_transforms/core/contracts``), in table order, then for the columns ``also`` the gate
    requires although the warehouse allows null. The fact suites' must-be-set column lists come
    from here, so a column made NOT NULL in the contract is checked by the gate too (a missing
    column fails the check). ``described``: column -> the check's description (default: the
    contract's comment of the column)."""
    c = contract(table)
    comments = {col.name: col.comment for col in c.columns}
    names = [col.name for col in c.columns if col.not_null] + [n for n in also if n not in c.names or not c.columns[c.names.index(n)].not_null]
    described = described or {}
    return [
        spec("ExpectColumnValuesToNotBeNull", column=name,
             description=described.get(name) or f"NOT NULL in the contract of {c.table}: {comments.get(name, '')}".rstrip(": "))
        for name in names
    ]


def build(entries: list[dict[str, Any]]) -> list:
    """GX expectation objects for ``entries`` (imports Great Expectations)."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    out = []
    for entry in entries:
        kwargs = {k: v for k, v in entry.items() if k != "kind"}
        condition = kwargs.get("row_condition")
        if condition is not None:
            op, column, value = condition
            if op == "is_in":
                kwargs["row_condition"] = Column(column).is_in(list(value))
            elif op == "==":
                kwargs["row_condition"] = Column(column) == value
            else:
                raise ValueError(f"unknown row condition {op!r}")
        out.append(getattr(gx.expectations, entry["kind"])(**kwargs))
    return out
