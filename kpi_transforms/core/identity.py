"""Names, phone numbers and e-mail addresses as keys: the normalisation rules of SPEC 3 and 4."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata

from kpi_transforms.core.config import Config

# Bidi controls, zero-width characters, BOM and word joiner: invisible, but they end up in exports.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
_INVISIBLE_TABLE = str.maketrans("", "", INVISIBLE)
_SPACES = re.compile(r"\s+")
_PHONE_CHARS = re.compile(r"^[+(\d][\d\s().\-/\u00a0\u202f]{6,}$")
_PHONE_PLACEHOLDERS = frozenset({"-", "--", "—", "n/a", "na", "none", "null", "tidak ada", "tdk ada", "kosong", "0"})
DEFAULT_PHONE_REGION = "ID"


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


def normalise_phone(value: str | None, default_region: str = DEFAULT_PHONE_REGION) -> str | None:
    """A phone number as E.164 (``+628123456789``), parsed by ``phonenumbers`` with the default
    region Indonesia: ``08xx``, ``(0812) 3456-7890``, landlines ``(021) 555-1234``, spaces,
    dots, dashes, and the ``+62`` / ``0062`` / ``62`` / ``0`` prefixes all give the same
    number; other international numbers keep their country code. Anything that is not a phone
    number (letters, too few or too many digits) gives ``None``. ``default_region`` is a region
    code (``ID``) or a calling code (``62``)."""
    if value is None:
        return None
    import phonenumbers  # ~0.1-0.3 s to import: only runs that meet a phone number pay it

    if default_region.isdigit():
        default_region = phonenumbers.region_code_for_country_code(int(default_region))
    text = unicodedata.normalize("NFKC", strip_invisible(str(value))).strip()
    text = text.replace("\u00a0", " ").replace("\u202f", " ")
    if not _PHONE_CHARS.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7 or len(digits) > 15:
        return None
    explicit = text.startswith("+") or digits.startswith("00")
    if digits.startswith("00"):  # 00 + country code: the international call prefix written out
        text = "+" + digits[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    # a number of the default region must be a possible one; an explicit country code is
    # trusted as written (numbering plans of far countries change faster than the library)
    if not explicit and not phonenumbers.is_possible_number(number):
        return None
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return formatted if 8 <= len(formatted) <= 16 else None


def is_phone_placeholder(value: str | None) -> bool:
    """An empty-meaning cell of a phone column (``-``, ``n/a``, ``tidak ada``): not an error."""
    return value is None or normalise_name(value) in _PHONE_PLACEHOLDERS or not str(value).strip()


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


def thread_key(name: str, config: Config) -> str:
    """The normalised chat name, after the ``thread_aliases`` map (both sides normalised)."""
    key = normalise_name(name)
    aliases = {normalise_name(k): normalise_name(v) for k, v in config.thread_aliases.items()}
    seen: set[str] = set()
    while key in aliases and key not in seen:  # follow chains, stop on cycles
        seen.add(key)
        key = aliases[key]
    return key


def alias_targets(config: Config) -> dict[str, str]:
    """Normalised alias target -> its display form as the config writes it (the smallest
    spelling when several aliases write one target differently: deterministic)."""
    out: dict[str, str] = {}
    targets = sorted(str(v) for v in config.thread_aliases.values())
    for target in targets:  # a target that is itself an end of the alias chains
        if normalise_name(target) == (key := thread_key(target, config)):
            out.setdefault(key, target)
    for target in targets:  # chain ends written only as aliases (a cycle): the key itself
        out.setdefault(thread_key(target, config), thread_key(target, config))
    return out


def canonical_chat_name(name: str, config: Config) -> str:
    """The chat name a thread is stored under: for a name that ``thread_aliases`` involves (an
    old name or the current one, in any spelling), the current name as the config writes it,
    so ``thread_name`` and the ``name:`` customer id do not depend on which export was loaded
    first; any other name as given."""
    if not config.thread_aliases:
        return name
    return alias_targets(config).get(thread_key(name, config), name)


def make_thread_id(channel: str, key: str) -> str:
    """A short stable id for a thread: channel plus a hash of its key."""
    return f"{channel[:2]}_" + hashlib.sha256(f"{channel}|{key}".encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class Roster:
    """Agent lookup tables built once from the config."""

    by_name: dict[str, str]
    by_phone: dict[str, str]
    by_email: dict[str, str]
    auto_reply: re.Pattern[str] | None

    @classmethod
    def from_config(cls, config: Config) -> "Roster":
        by_name, by_phone, by_email = {}, {}, {}
        for agent in config.agents:
            for name in agent.names:
                by_name[normalise_name(name)] = agent.id
            for phone in agent.phones:
                if (p := normalise_phone(phone)) is not None:
                    by_phone[p] = agent.id
            for email in agent.emails:
                if (e := normalise_email(email)) is not None:
                    by_email[e] = agent.id
        pattern = None
        if config.auto_reply_patterns:
            pattern = re.compile("|".join(f"(?:{p})" for p in config.auto_reply_patterns), re.IGNORECASE)
        return cls(by_name, by_phone, by_email, pattern)

    def agent_of(self, sender: str | None) -> str | None:
        """The agent id of a sender name / phone / address, or None for a customer."""
        if sender is None:
            return None
        found = self.by_name.get(normalise_name(sender))
        if found is None and self.by_phone and (p := normalise_phone(sender)) is not None:
            found = self.by_phone.get(p)
        if found is None and self.by_email and (e := normalise_email(sender)) is not None:
            found = self.by_email.get(e)
        return found


def customer_id_for(name: str | None) -> str | None:
    """A customer key from a chat or sender name: the normalised phone when it is one
    (``+628...``), a lower-cased address for e-mail, else ``name:<normalised name>``."""
    if name is None or not str(name).strip():
        return None
    if (p := normalise_phone(name)) is not None:
        return p
    if (e := normalise_email(name)) is not None:
        return e
    return "name:" + normalise_name(name)
