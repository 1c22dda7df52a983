"""Names, phone numbers and e-mail addresses as keys: the normalisation rules of SPEC 3 and 4."""

from __future__ import annotations

import re
import unicodedata

# Bidi controls, zero-width characters, BOM and word joiner: invisible, but they end up in exports.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
_INVISIBLE_TABLE = str.maketrans("", "", INVISIBLE)
_SPACES = re.compile(r"\s+")
_PHONE_CHARS = re.compile(r"^[+\d][\d\s().\-\u00a0\u202f]{6,}$")


def strip_invisible(text: str) -> str:
    """Remove bidi marks, zero-width characters and BOMs."""
    return text.translate(_INVISIBLE_TABLE)


def normalise_name(name: str | None) -> str:
    """The comparison key of a display or chat name: NFKC, invisible marks removed, spaces
    collapsed, trimmed, case-folded. "Lia" and "Lia Jombang" stay different."""
    if name is None:
        return ""
    text = unicodedata.normalize("NFKC", strip_invisible(str(name)))
    return _SPACES.sub(" ", text).strip().casefold()


def normalise_phone(value: str | None, default_country: str = "62") -> str | None:
    """``08xx``, ``628xx``, ``+62 8xx-xxx`` -> ``+628xx``; other international numbers keep
    their country code; anything that is not a phone number gives ``None``."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", strip_invisible(str(value))).strip()
    if not _PHONE_CHARS.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7 or len(digits) > 15:
        return None
    if text.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        return "+" + default_country + digits[1:]
    if digits.startswith(default_country):
        return "+" + digits
    if digits.startswith("8"):  # local mobile number written without the trunk 0
        return "+" + default_country + digits
    return "+" + digits


def normalise_email(value: str | None) -> str | None:
    """Lower-cased address without display name or angle brackets; ``None`` if not an address."""
    if value is None:
        return None
    text = strip_invisible(str(value)).strip()
    match = re.search(r"<([^<>@\s]+@[^<>@\s]+)>", text)
    if match:
        text = match.group(1)
    text = text.strip().strip("<>").lower()
    if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", text):
        return text
    return None
