"""Marketplace chat ratings (``marts.fct_chat_rating``), read with the marketplace exports.
"""

from __future__ import annotations

from kpi_transforms.sources.tables.rows import RowTable

RATING_TABLE = RowTable("marts.fct_chat_rating", "rating_id", order=30)
