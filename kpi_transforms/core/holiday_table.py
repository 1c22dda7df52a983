"""Public holidays without paying for the ``holidays`` library on every start.

``import holidays`` and building Indonesia's calendar (its Islamic and Chinese lunar dates) cost
about 0.6 s in every fresh process — a third of a small ingest (issue 18). The dates for the
default configuration (country ``ID``, categories public + government) are shipped in
``kpi_transforms/data/holidays.json``, generated from the pinned version of the library by
:func:`write_table`. :func:`lookup` answers from it only when the installed library has that
same version and the years asked are inside the table; otherwise (another country or
categories, a newer library, years outside) it returns None and the caller asks the library.
``tests/test_calendar.py`` checks the table equals the installed library's answer, so a lock
update that changes a date fails until the table is regenerated::

    .venv/bin/python -c "from kpi_transforms.core.holiday_table import write_table; write_table()"
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import json
from collections.abc import Iterable
from pathlib import Path

TABLE = Path(__file__).resolve().parents[1] / "data" / "holidays.json"
COUNTRY = "ID"
CATEGORIES = ("public", "government")
YEARS = range(1990, 2041)  # e-mail is plausible from 1990 (DECISIONS.md, issue 14 item 6)


@functools.cache
def _table() -> dict | None:
    try:
        raw = json.loads(TABLE.read_text(encoding="utf-8"))
        installed = importlib.metadata.version("holidays")
    except (OSError, ValueError, importlib.metadata.PackageNotFoundError):
        return None
    if raw.get("holidays_version") != installed:
        return None
    return raw


def covers(country: str | None, categories: Iterable[str]) -> bool:
    """True when the shipped table answers for this country and these categories."""
    table = _table()
    return bool(table) and country == table["country"] and tuple(categories) == tuple(table["categories"])


def lookup(country: str | None, categories: Iterable[str], years: Iterable[int]) -> set[dt.date] | None:
    """The holiday dates of ``years`` from the shipped table, or None where it does not apply."""
    years = list(years)
    if not covers(country, categories):
        return None
    table = _table()
    if any(not table["first_year"] <= y <= table["last_year"] for y in years):
        return None
    wanted = {str(y) for y in years}
    return {dt.date.fromisoformat(d) for d in table["dates"] if d[:4] in wanted}


def library_dates(country: str, categories: Iterable[str], years: Iterable[int]) -> set[dt.date]:
    """The same dates from the ``holidays`` library itself."""
    import holidays

    return set(holidays.country_holidays(country, years=list(years), categories=tuple(categories)).keys())


def write_table(path: Path = TABLE) -> Path:
    """Regenerate the shipped table from the installed library (after a lock update)."""
    dates = sorted(d.isoformat() for d in library_dates(COUNTRY, CATEGORIES, YEARS))
    payload = {
        "holidays_version": importlib.metadata.version("holidays"),
        "country": COUNTRY,
        "categories": list(CATEGORIES),
        "first_year": YEARS.start,
        "last_year": YEARS.stop - 1,
        "dates": dates,
    }
    path.write_text(json.dumps(payload, indent=0) + "\n", encoding="utf-8")
    _table.cache_clear()
    return path
