"""The vocabularies and Arrow schemas of the warehouse contract (SPEC 4): channels, roles,
message types and ``marts.fct_message``.
"""

from __future__ import annotations

import pyarrow as pa

CHANNELS = ("whatsapp", "email", "marketplace", "other")
ROLES = ("customer", "agent", "bot", "system")
# Intent of a customer queue (SPEC 7), in priority order: complaint > quote_request > order > other.
INTENTS = ("complaint", "quote_request", "order")
OTHER = "other"
ALL_INTENTS = (*INTENTS, OTHER)
MESSAGE_TYPES = ("text", "media", "deleted", "system", "faq_card", "welcome_card", "sticker", "location")

# Arrow schema of marts.fct_message (and of the Parquet files in the lake). Order = table order.
MESSAGE_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("thread_id", pa.string()),
        ("thread_name", pa.string()),
        ("channel", pa.string()),
        ("sent_at", pa.timestamp("us", tz="UTC")),
        ("sent_at_local", pa.timestamp("us")),
        ("sender_name", pa.string()),
        ("sender_role", pa.string()),
        ("agent_id", pa.string()),
        ("customer_id", pa.string()),
        ("is_auto_reply", pa.bool_()),
        ("message_type", pa.string()),
        ("text", pa.string()),
        ("source_file", pa.string()),
        ("source_line", pa.int64()),
        ("file_seq", pa.int64()),
        ("batch_id", pa.string()),
        # V006: marketplace store holiday mode (seed 004); false for every other source.
        ("in_holiday_mode", pa.bool_()),
    ]
)
MESSAGE_COLUMNS = MESSAGE_SCHEMA.names
