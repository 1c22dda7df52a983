"""The vocabularies and Arrow schemas of the warehouse contract (SPEC 4): channels, roles,
message types and ``marts.fct_message``.
"""

from __future__ import annotations

from kpi_transforms.core.contracts import contract

CHANNELS = ("whatsapp", "email", "marketplace", "other")
ROLES = ("customer", "agent", "bot", "system")
# Intent of a customer queue (SPEC 7), in priority order: complaint > quote_request > order > other.
INTENTS = ("complaint", "quote_request", "order")
OTHER = "other"
ALL_INTENTS = (*INTENTS, OTHER)
MESSAGE_TYPES = ("text", "media", "deleted", "system", "faq_card", "welcome_card", "sticker", "location")

# Arrow schema of marts.fct_message (and of the Parquet files in the lake): its contract's
# (core/contracts/fct_message.yaml), in table order.
MESSAGE_CONTRACT = contract("fct_message")
MESSAGE_SCHEMA = MESSAGE_CONTRACT.arrow_schema()
MESSAGE_COLUMNS = MESSAGE_SCHEMA.names
