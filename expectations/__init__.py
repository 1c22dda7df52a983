"""Great Expectations 1.x suites, as code, for the chatkpi data-quality gate (SPEC 12).

One module per suite. Each module defines

* ``NAME`` - the suite name (also the name of the table it guards, without schema);
* ``ID_COLUMNS`` - columns shown beside every unexpected value, so a failure names its rows;
* ``PARAMETERS`` - the suite parameters (``{"$PARAMETER": name}``) each run must supply;
* ``expectations()`` - the expectation objects (built on call: GX is imported lazily).

The suites validate in-memory pandas frames (an ephemeral GX context, no warehouse connection)
before the load transaction commits; :mod:`kpi_transforms.quality` runs them. Some checks need
facts from other frames (does the pair's thread exist? do lines add up?): those are prepared as
*computed columns* by ``kpi_transforms.quality`` and named ``*_in_*`` / ``*_accounted``; the
module docstrings say which.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from kpi_transforms.core import schema as _schema

SUITES = ("stg_message", "file_manifest", "fct_reply_pair", "fct_thread", "fct_quote_response", "fct_case", "fct_follow_up")

# The warehouse contract's vocabularies, defined once in kpi_transforms.core.schema.
ROLES = _schema.ROLES
CHANNELS = _schema.CHANNELS
PAIR_STATUSES = ("answered", "unanswered")
CASE_STATUSES = ("open", "resolved", "unresolved")


def suite_module(name: str) -> ModuleType:
    """The module that defines suite ``name``."""
    if name not in SUITES:
        raise KeyError(f"no expectation suite {name!r} (known: {', '.join(SUITES)})")
    return import_module(f"{__name__}.{name}")
