"""Numbers as Indonesian readers write them: half-up rounding, ``.`` thousands, ``,`` decimals.
"""

from __future__ import annotations

import decimal


def round_half_up(value: float, digits: int = 0) -> decimal.Decimal:
    """Displayed figures round half up (SPEC 8), not to even."""
    quant = decimal.Decimal(1).scaleb(-digits)
    return decimal.Decimal(repr(float(value))).quantize(quant, rounding=decimal.ROUND_HALF_UP)


def id_number(value: float, digits: int = 0) -> str:
    """Indonesian number format: 18,4 and 1.250."""
    text = f"{round_half_up(value, digits):,.{digits}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")
