"""Declarative column maps of marketplace "Detail Chat" exports (SPEC 3), one module per
marketplace. To support another marketplace or a renamed column, add a module here that
defines ``MAP = MarketplaceMap(...)`` (or add an alias to an existing one): it is picked up
automatically; no parser code changes.

A map names, for each field the pipeline needs, the header names that may carry it (matched
after NFKC, case-folding and removal of spaces and punctuation, so ``No. Pesanan``,
``no_pesanan`` and ``NO PESANAN`` are the same header), and translates the values of the
sender-role and message-type columns. docs/INPUTS.md lists every accepted header.

Fields:

=================  ========================================================================
``buyer``          buyer display name (thread name); ``buyer_id`` the buyer's account id
``shop``           store name (one export may hold several stores)
``chat_id``        conversation id (kept for reference; the thread is the buyer-shop pair)
``sender_role``    who wrote the row: buyer / seller / agent / bot / system (see ``roles``)
``sender_name``    display name of the writer; ``agent`` the CS agent who answered
``timestamp``      local date-time (text, Excel serial or epoch seconds / milliseconds)
``message``        message text (a JSON object's ``content`` / ``text`` is unwrapped)
``message_type``   text, image, product card, auto reply, FAQ card, welcome card, ... (``types``)
``auto_reply``     optional yes/no flag: the row is an auto reply
``holiday_mode``   optional yes/no flag: the store was in holiday mode (seed 004)
``rating``         optional chat rating, 1-5 stars
=================  ========================================================================
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Mapping

from kpi_transforms.sources.tables.reader import header_key

FIELDS = (
    "chat_id", "buyer", "buyer_id", "shop", "sender_role", "sender_name", "agent", "timestamp",
    "message", "message_type", "auto_reply", "holiday_mode", "rating",
)
ROLES = ("customer", "agent", "bot", "system")


@dataclasses.dataclass(frozen=True)
class TypeRule:
    """What a message-type value means."""

    message_type: str = "text"  # text | media | sticker | faq_card | welcome_card | system
    is_auto_reply: bool = False
    role: str | None = None  # overrides the sender role (e.g. a "bot" type)


@dataclasses.dataclass(frozen=True)
class MarketplaceMap:
    name: str  # marketplace code: tokopedia | shopee | tiktok
    label: str
    columns: Mapping[str, tuple[str, ...]]  # field -> accepted header names
    roles: Mapping[str, str]  # sender-role value -> customer | agent | bot | system
    types: Mapping[str, TypeRule]  # message-type value -> rule
    required: tuple[str, ...] = ("buyer", "sender_role", "timestamp", "message")

    def __post_init__(self) -> None:
        unknown = set(self.columns) - set(FIELDS)
        if unknown:
            raise ValueError(f"marketplace map {self.name}: unknown field(s) {sorted(unknown)}")
        bad = {v for v in self.roles.values() if v not in ROLES}
        if bad:
            raise ValueError(f"marketplace map {self.name}: unknown role(s) {sorted(bad)}")

    def resolve(self, header: list[str]) -> dict[str, str]:
        """field -> the header (as written) that carries it; first matching alias wins."""
        by_key: dict[str, str] = {}
        for column in header:
            by_key.setdefault(header_key(column), column)
        found = {}
        for field, aliases in self.columns.items():
            for alias in aliases:
                if header_key(alias) in by_key:
                    found[field] = by_key[header_key(alias)]
                    break
        return found

    def role_of(self, value: object) -> str | None:
        return {header_key(k): v for k, v in self.roles.items()}.get(header_key(value))

    def type_of(self, value: object) -> TypeRule | None:
        return {header_key(k): v for k, v in self.types.items()}.get(header_key(value))


def all_maps() -> dict[str, MarketplaceMap]:
    """Every ``MAP`` defined by a module of this package, by marketplace code."""
    maps: dict[str, MarketplaceMap] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found = getattr(module, "MAP", None)
        if isinstance(found, MarketplaceMap):
            maps[found.name] = found
    return maps
