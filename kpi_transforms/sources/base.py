"""The one shape every source returns, and the declaration a source registers with.

A source is one module in :mod:`kpi_transforms.sources` that defines a :class:`Source`:
its name, the file suffixes it reads (or, for ``.csv`` / ``.xlsx`` sheets, how it recognises
its header) and a ``parse`` function that turns one file (or zip member) into a
:class:`ParseResult`. :mod:`kpi_transforms.sources.registry` lists the sources; nothing else in
the package dispatches on a source's kind. Adding a source is one module, one registry entry
and its tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import NamedTuple

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.identity import Roster

REJECTED_COLUMNS = ("source_line", "raw", "reason")


class ChatThread(NamedTuple):
    """One conversation read from a file: its channel, name and raw messages.

    ``raw`` has ``local_ts`` (naive local time), ``sender``, ``text``, ``message_type`` and
    ``source_line``, plus optional columns a source knows (``sender_role``, ``is_auto_reply``,
    ``agent_id``, ``customer_id``, ``thread_key``, ``in_holiday_mode``); see
    :func:`kpi_transforms.sources.canonical.canonical_messages`."""

    channel: str
    name: str
    raw: pd.DataFrame


def no_rejected_rows() -> pd.DataFrame:
    return pd.DataFrame({"source_line": pd.Series([], dtype="int64"), "raw": pd.Series([], dtype=object),
                         "reason": pd.Series([], dtype=object)})


@dataclasses.dataclass
class ParseResult:
    """What a source makes of one file (or one chat member of a zip).

    Every input line is accounted for: ``lines_read = header_lines + continuation_lines +
    quarantined_lines`` for chat exports (a row file counts rows: ``header_lines`` are the rows
    used). Quarantined lines are in ``rejected`` with their reason."""

    layout: str
    threads: list[ChatThread] = dataclasses.field(default_factory=list)
    tables: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)  # row tables by warehouse name
    rejected: pd.DataFrame = dataclasses.field(default_factory=no_rejected_rows)
    lines_read: int = 0
    header_lines: int = 0
    continuation_lines: int = 0
    quarantined_lines: int = 0
    messages_read: int = 0
    date_order: str | None = None
    date_order_source: str | None = None
    ambiguous: bool = False
    chat_name: str | None = None  # the one chat of the file, when it has one
    thread_id: str | None = None  # its thread, when the source knows it before canonicalising


@dataclasses.dataclass(frozen=True)
class ParseContext:
    """What a source may know about the file besides its bytes."""

    config: Config
    roster: Roster
    suffix: str  # lower-case, with the dot
    path: str  # the file (for a zip member: the archive)
    member: str | None = None  # the zip member, if any
    name_from_file: str | None = None  # chat name carried by the file name, if any
    date_order_hints: Mapping[str, str] = dataclasses.field(default_factory=dict)  # thread_id -> decided order


class HeaderMatch(NamedTuple):
    """How well a sheet's header fits a table source: columns recognised, required ones missing."""

    recognised: int
    missing: list[str]


@dataclasses.dataclass(frozen=True)
class Source:
    """A registered input kind.

    ``suffixes``: the file suffixes read by ``parse`` (bytes -> result). A sheet source
    (``.csv`` / ``.xlsx``) instead gives ``match`` (header -> :class:`HeaderMatch`, or None when
    the header is not of this kind at all) and ``parse_sheet`` (the read sheet -> result); the
    registry reads the sheet once and hands it to the first complete match in registry order.
    ``label`` names the kind in messages ("a sales report")."""

    name: str
    label: str
    suffixes: tuple[str, ...] = ()
    parse: Callable[[bytes, ParseContext], ParseResult] | None = None
    match: Callable[[list[str]], HeaderMatch | None] | None = None
    parse_sheet: Callable[[object, bytes, ParseContext], ParseResult] | None = None
    missing_reason: Callable[[list[str]], str] | None = None  # the reason when this layout is the closest, incomplete
