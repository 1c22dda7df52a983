"""A vectorised evaluator of the gate's Great Expectations suites that does not import GX.

Importing ``great_expectations`` costs 3-11 s on the shared 2-core machines (its import graph:
every core expectation, scipy, altair, its data sources), more than a 60-message ingest takes
in all; every Airflow task is a fresh process and paid it again. The suites stay GX suites -
``expectations/<suite>.py`` lists them as data (``SPEC``) from which GX builds its objects -
and this module decides each expectation of ``SPEC`` with the pandas operations GX's own
pandas metrics use (``isnull``, ``duplicated(keep=False)``, ``isin``, ``>=`` / ``<=``,
``==``), after the same null filtering (``ignore_row_if``, null values skipped by column-map
expectations except the null checks themselves) and row conditions.

It answers one question per expectation: does it pass? :mod:`kpi_transforms.quality.gate`
uses it as a fast path only: when every expectation passes it reports the checks GX would
report for a pass (which carry no counts or samples); when anything fails, or cannot be
evaluated here (an unknown expectation, a missing column, a type it does not know how to
compare), the gate runs GX itself, whose result - counts, samples, Data Docs - is the one
reported. So a verdict of this module can only ever make the gate *ask GX*; the equivalence
tests (tests/test_quality.py) check that it passes exactly the frames GX passes.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

# GX classes whose result has no per-row counts (everything else here is a map expectation).
TABLE_LEVEL = frozenset({"ExpectTableRowCountToEqual"})


class CannotEvaluate(Exception):
    """The evaluator does not decide this expectation: GX must."""


def gx_type(kind: str) -> str:
    """GX's snake-case expectation type for class name ``kind``
    (``ExpectColumnPairValuesAToBeGreaterThanB`` -> ``expect_column_pair_values_a_to_be_greater_than_b``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def columns_of(entry: dict[str, Any]) -> list[str]:
    """The columns an expectation entry reads, its row condition's included."""
    names = [entry.get(k) for k in ("column", "column_A", "column_B")] + list(entry.get("column_list") or [])
    if entry.get("row_condition") is not None:
        names.append(entry["row_condition"][1])
    return [n for n in names if isinstance(n, str)]


def _parameter(value: Any, parameters: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        name = value["$PARAMETER"]
        if name not in parameters:
            raise CannotEvaluate(f"parameter {name} not given")
        return parameters[name]
    return value


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame.columns:
        raise CannotEvaluate(f"no column {name}")
    return frame[name]


def _condition(frame: pd.DataFrame, condition: Any) -> np.ndarray | None:
    """Rows a row condition keeps (None: all)."""
    if condition is None:
        return None
    op, column, value = condition
    values = _column(frame, column)
    if op == "is_in":
        kept = values.isin(list(value))
    elif op == "==":
        kept = values == value
    else:
        raise CannotEvaluate(f"row condition {op}")
    return _strict(kept)


def _strict(mask: Any) -> np.ndarray:
    """A boolean mask as NumPy, a missing verdict (NA) counted as False."""
    if isinstance(mask, pd.Series):
        return mask.to_numpy(dtype=bool, na_value=False)
    return np.asarray(mask, dtype=bool)


def passes(entry: dict[str, Any], frame: pd.DataFrame, parameters: dict[str, Any]) -> bool:
    """Whether expectation ``entry`` (one item of a suite's ``SPEC``) passes on ``frame``.
    Raises :class:`CannotEvaluate` when GX must decide."""
    kind = entry["kind"]
    known = {"kind", "column", "column_A", "column_B", "value_set", "min_value", "max_value", "value",
             "row_condition", "or_equal", "ignore_row_if", "description"}
    if set(entry) - known or entry.get("mostly") is not None:
        raise CannotEvaluate(f"{kind}: arguments {sorted(set(entry) - known)}")
    if kind == "ExpectTableRowCountToEqual":
        return len(frame) == int(_parameter(entry["value"], parameters))
    kept = _condition(frame, entry.get("row_condition"))
    if "column" in entry:
        values = _column(frame, entry["column"])
        if kept is not None:
            values = values[kept]
        if kind == "ExpectColumnValuesToNotBeNull":
            return not bool(values.isnull().any())
        if kind == "ExpectColumnValuesToBeNull":
            return bool(values.isnull().all())
        values = values[values.notnull().to_numpy(dtype=bool)]  # column-map metrics skip nulls
        if values.empty:
            return True
        if kind == "ExpectColumnValuesToBeUnique":
            return not bool(values.duplicated(keep=False).any())
        if kind == "ExpectColumnValuesToBeInSet":
            return bool(_strict(values.isin(list(entry["value_set"]))).all())
        if kind == "ExpectColumnValuesToBeBetween":
            low = _parameter(entry.get("min_value"), parameters)
            high = _parameter(entry.get("max_value"), parameters)
            if low is None and high is None or entry.get("strict_min") or entry.get("strict_max"):
                raise CannotEvaluate(kind)
            if values.dtype == object:
                raise CannotEvaluate(f"{kind} on object values")  # GX compares those row by row
            try:
                ok = np.ones(len(values), dtype=bool)
                if low is not None:
                    ok &= _strict(values >= low)
                if high is not None:
                    ok &= _strict(values <= high)
            except TypeError as exc:
                raise CannotEvaluate(str(exc)) from exc
            return bool(ok.all())
        raise CannotEvaluate(kind)
    if "column_A" in entry:
        a, b = _column(frame, entry["column_A"]), _column(frame, entry["column_B"])
        if kept is not None:
            a, b = a[kept], b[kept]
        ignore = entry.get("ignore_row_if", "both_values_are_missing")
        missing_a, missing_b = _strict(a.isnull()), _strict(b.isnull())
        if ignore == "both_values_are_missing":
            rows = ~(missing_a & missing_b)
        elif ignore == "either_value_is_missing":
            rows = ~(missing_a | missing_b)
        elif ignore == "neither":
            rows = np.ones(len(a), dtype=bool)
        else:
            raise CannotEvaluate(f"ignore_row_if={ignore}")
        a, b = a[rows], b[rows]
        if a.empty:
            return True
        if a.dtype == object or b.dtype == object:
            raise CannotEvaluate(f"{kind} on object values")
        try:
            if kind == "ExpectColumnPairValuesToBeEqual":
                ok = a.to_numpy() == b.to_numpy()
            elif kind == "ExpectColumnPairValuesAToBeGreaterThanB":
                ok = a.to_numpy() >= b.to_numpy() if entry.get("or_equal") else a.to_numpy() > b.to_numpy()
            else:
                raise CannotEvaluate(kind)
        except TypeError as exc:
            raise CannotEvaluate(str(exc)) from exc
        return bool(np.asarray(ok, dtype=bool).all())
    raise CannotEvaluate(kind)


def gx_order(entries: list[dict[str, Any]]) -> list[int]:
    """The positions of ``entries`` in the order one GX run lists its results: grouped by the
    ``column`` argument in order of first appearance, those without one (column pairs, table
    level) as one more group (``Validator.process_expectations_for_validation``)."""
    groups: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        column = entry.get("column")
        groups.setdefault(column if isinstance(column, str) else "_nocolumn", []).append(i)
    return [i for ids in groups.values() for i in ids]
