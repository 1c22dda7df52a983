"""Marketplace chat ratings (``marts.fct_chat_rating``), read with the marketplace exports.
"""

from __future__ import annotations

import pyarrow as pa

from kpi_transforms.sources.tables.rows import RowTable

RATING_SCHEMA = pa.schema(
    [
        ("rating_id", pa.string()), ("thread_id", pa.string()), ("channel", pa.string()),
        ("rated_at", pa.timestamp("us", tz="UTC")), ("rated_at_local", pa.timestamp("us")), ("stars", pa.int16()),
        ("source_file", pa.string()), ("source_line", pa.int64()), ("file_seq", pa.int64()),
    ]
)
RATING_TABLE = RowTable("marts.fct_chat_rating", "rating_id", RATING_SCHEMA, order=30)
