"""Parse a WhatsApp chat export (``.txt``) into one row per message.

Handles the Android layout (``12/04/25 14.17 - Nama: pesan``) and the iOS layout
(``[12/04/25 14.17.04] Nama: pesan``) in many locales: ``/ . -`` date separators, 2- or 4-digit
years, year-first dates, Indonesian dotted times, 12-hour clocks (``AM``, ``a. m.``, ``p.m.``,
U+202F / NBSP before the marker, Arabic ``ص``/``م``, CJK prefixes), time-first headers
(``[21:41:35, 3/27/22]``), Arabic-Indic digits, Buddhist-era years (``2565 BE``) and Japanese era
years (``R4``).

How it works (whole-file operations, no Python loop per line on the hot path):

1. decode once (UTF-8, with or without BOM; UTF-16 when it has a BOM or is clearly UTF-16),
   remove the invisible marks of :data:`INVISIBLE` and normalise line ends, all on bytes;
2. split lines with NumPy and wrap them zero-copy in an Arrow string array;
3. detect the file's header *layouts*: the first header line is parsed with a general Python
   pattern, turned into a layout-specific RE2 pattern and run over all lines with
   ``pyarrow.compute.extract_regex``; lines that match no layout yet but match the general
   pattern start the next layout (mixed files), a few leftovers are parsed line by line;
   in large files a cheaper match finds the headers as wide as the sample's (zero-padded
   exports), whose fields sit at fixed offsets (:class:`_FixedWidth`);
4. dates and times are parsed once per *distinct* string (a file has few; cached across
   files) and mapped back;
5. senders and texts are cut out of the byte buffer with offset arithmetic;
6. message kinds (notice, media, deleted) come from RE2 kernels on large files and from
   Python twins of the same patterns on small ones, where an Arrow regex kernel would spend
   more time compiling its pattern than matching (:func:`_python_twin`).

Definitions (copied to docs/DECISIONS.md):

* **Text joining.** A message is its header line plus every following line up to the next
  header line; continuation lines are joined with ``"\\n"`` exactly as in the file (a line that
  starts with ``- `` or looks like a date is a continuation unless it is a full header). Blank
  lines count as continuation lines; trailing whitespace of the whole text is stripped.
* **Invisible marks.** U+200E, U+200F, U+202A-U+202E, U+2066-U+2069 and U+FEFF (BOM) are
  removed from the whole file before parsing, wherever they occur (iOS puts U+200E before
  ``[`` and inside bodies; WhatsR-style files have BOMs at line starts and mid-line). U+202F and
  NBSP are kept in texts and names (NFKC in the role matcher turns them into spaces).
  ``rejected.raw`` shows a quarantined line after this removal.
* **Senders.** The sender is the text between the header and the first ``": "`` of the header
  line (or a final ``":"``: ``Carol:`` is Carol sending an empty message), kept as it appears,
  including the iOS ``~ `` prefix of non-contacts (``"~ User name 2"``, as langchain's gold).
  A header line without such a part is a ``system`` line (``You were added``, ``X created
  group``); so is a candidate sender containing a quote (``changed the subject to "a: b"``)
  and a body that is a known notice (end-to-end encryption in 17 languages, security code
  changed, business account, blocked contact, disappearing messages, message timer, default
  timer, joined by invite link, group icon / description / name changed, number changed; iOS
  writes ``Chat name: <U+200E>Messages and calls are end-to-end encrypted``). System lines have a
  null sender and keep the whole line after the header as text (``"Pokemon Chat: Messages
  ..."``). ``John Doe:.`` (no space after the colon) therefore is a system line, not a
  message. Limitation: other iOS group events written behind the group name
  (``Group: <U+200E>Alice added Bob``) are not recognised and stay ``text`` from "Group".
* **Message types.** ``deleted`` when the whole text is a deletion marker ("This message was
  deleted", "Pesan ini (telah) dihapus", "Anda menghapus pesan ini", ...); ``media`` when the
  first line is an omitted / attached media marker (``<Media tidak disertakan>``,
  ``image omitted``, ``gambar tidak disertakan``, ``<attached: ...>``, ``... (file terlampir)``,
  ...); the media caption on later lines stays in the text.
* **Date order.** An explicit ``date_order`` always wins (source ``config``). With ``auto`` all
  header dates of the file are examined: a first field > 12 means day-first, a second field
  > 12 month-first (source ``file``). If both occur (a file mixing locales, e.g. after a
  phone-locale change: ``6/30/23, 16:14`` then ``30/6/2023, 09:12``) each header *form* —
  date separator plus the position of a 4-digit year, or none — decides on its own when its
  evidence agrees; a form without evidence or with contradicting evidence takes the file's
  majority, and its lines that do not fit are quarantined. When every day and month is <= 12 the file is ambiguous
  and ``date_order_hint`` is used (source ``hint``), else day-first (source ``default``,
  Indonesian usage). A ``ymd`` hint (from an export with year-first dates) says nothing about
  day vs month of a ``dd/mm/yy``-style file and is ignored. A 4-digit (or era) field is
  always the year wherever it stands (``2019/01/20`` is y-m-d; ``06/2018/13`` is m-y-d); an
  explicit ``ymd`` only changes how 2-digit ``yy/mm/dd`` dates are read. Two-digit years are
  20yy.
* **Invalid 12-hour times.** A 12-hour marker on an hour above 12 (``23:59 PM``, seen in
  WhatsR's fixtures) is ignored: the hour is read as a 24-hour value. ``12 AM`` is 00 h,
  ``0 PM`` and ``12 PM`` are 12 h.
* **Impossible values.** A header line whose date or time is impossible (31/02, month 13
  under the file's order, minute 61) or whose year is outside 2009-2100 is quarantined with a
  reason, together with its continuation lines; the rest of the file proceeds. Lines before
  the first header are quarantined too. If no header line survives, the file is rejected.
* **Calendars.** Buddhist-era years need the ``BE`` marker (year - 543); Japanese era years
  ``M T S H R`` + number are converted (Reiwa 1 = 2019); Arabic-Indic and other Unicode
  decimal digits are read as digits. A bare year such as 2565 without a marker is out of range
  and quarantined, never guessed.
* **Encodings.** UTF-8 (BOM optional) and UTF-16 (BOM, or NUL bytes in every other position)
  are accepted. Anything else (Latin-1 / cp1252, binary data) is rejected with the offset of
  the first bad byte: WhatsApp itself always writes UTF-8, so a guess could only corrupt text.
* **Lines.** Physical lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r``; U+2028 and other
  Unicode separators are text. Every line is counted exactly once:
  ``lines_read == header_lines + continuation_lines + quarantined_lines``.
"""

from __future__ import annotations

import codecs
import concurrent.futures as cf
import dataclasses
import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpi_transforms.core.errors import RejectedFile

__all__ = ["INVISIBLE", "ParsedChat", "chat_name_from_filename", "parse_whatsapp"]

#: Marks removed from the whole text before parsing.
INVISIBLE = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_INVISIBLE_TABLE = dict.fromkeys(map(ord, INVISIBLE))

DATE_ORDERS = ("dmy", "mdy", "ymd")
MIN_YEAR, MAX_YEAR = 2009, 2100  # WhatsApp launched in 2009
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_ERA_BASE = {"M": 1867, "T": 1911, "S": 1925, "H": 1988, "R": 2018}  # Japanese eras
_PARALLEL_MIN = 100_000  # lines; smaller files are parsed on one thread
_MAX_LAYOUTS = 6  # layout-specific patterns tried before parsing leftovers line by line
# Up to this many strings (and bytes) a Python loop with a precompiled ``re`` pattern beats an
# Arrow regex kernel, which compiles its RE2 pattern on every call (0.1-1 ms).
_PY_MAX_ITEMS = 2_000
_FIXED_MIN_LINES = 50_000  # below this, one capture pass is cheaper than the fixed-width pass
_UNION_MIN_BYTES = 4 << 20  # texts; below this the union prefilter of message kinds does not pay
_PY_MAX_BYTES = 1 << 20
_MESSAGE_TYPES = pa.array(["text", "media", "deleted", "system"], type=pa.large_string())
_TEXT, _MEDIA, _DELETED, _SYSTEM = range(4)


@dataclasses.dataclass
class ParsedChat:
    """The messages of one export plus the bookkeeping that accounts for every line."""

    layout: str
    date_order: str
    date_order_source: str
    ambiguous: bool
    messages: pd.DataFrame
    rejected: pd.DataFrame
    lines_read: int
    header_lines: int
    continuation_lines: int
    quarantined_lines: int


# --------------------------------------------------------------------------------------------
# Header patterns. One template renders both flavours: Python ``re`` (the reference, used for
# samples and leftovers) and RE2 (Arrow kernels). They accept the same language.
# --------------------------------------------------------------------------------------------
_AP_PREFIXES = ("上午", "下午", "午前", "午後", "오전", "오후")
_AP_PREFIX_PM = {"下午", "午後", "오후"}
_DTSEP_WORDS = r"-|klo|kl\.|à|um|at|alle|om"


def _general_pattern(flavor: str) -> str:
    if flavor == "py":
        d, sp = r"\d", "[ \t\u00a0\u202f\u2009]"
    else:
        d, sp = r"\p{Nd}", r"[ \t\x{00A0}\x{202F}\x{2009}]"
    field = rf"(?:[MTSHR]{d}{{1,2}}|{d}{{1,4}})"
    dsep = rf"{sp}?[./\-]{sp}?"
    date = rf"{field}{dsep}{d}{{1,4}}{dsep}{field}(?:{sp}?B\.?E\.?)?\.?"
    ap = rf"(?:[AaPp]\.?{sp}?[Mm]\.?|ص|م)"
    time = (
        rf"(?:(?:{'|'.join(_AP_PREFIXES)}){sp}?)?{d}{{1,2}}[:.]{d}{{2}}(?:[:.]{d}{{2}})?"
        rf"(?:(?:{sp}|_)*{ap})?"
    )
    dtsep = rf"(?:[,،]{sp}*|{sp}+)(?:(?:{_DTSEP_WORDS}){sp}+)?"
    tdsep = rf"[,،]?{sp}+"
    # ``13:34. - `` (a dot after the time, seen in real exports) belongs to the separator
    sep = rf"(?:{sp}*\]{sp}*|\.?{sp}*[-–:;]{sp}+|{sp}+)"
    return (
        rf"^(?P<lead>\[?{sp}*)(?:(?P<date>{date})(?P<dtsep>{dtsep})(?P<time>{time})"
        rf"|(?P<ttime>{time})(?P<tdsep>{tdsep})(?P<tdate>{date}))(?P<sep>{sep})"
    )


_GENERAL_PY = re.compile(_general_pattern("py"))
_GENERAL_RE2 = _general_pattern("re2")
_SP_CHARS = " \t\u00a0\u202f\u2009"

_SYSTEM_NOTICE_RE2 = (
    r"^(?:Messages and calls are end-to-end encrypted"
    r"|Messages (?:to|you send to) this (?:group|chat)(?: and calls)? are now secured with "
    r"end-to-end encryption"
    r"|Your security code with .+ changed"
    r"|Pesan dan (?:panggilan|telepon) terenkripsi"
    r"|Pesan yang (?:Anda )?kirim(?:kan)? ke (?:grup|chat) ini (?:sekarang |kini )?"
    r"(?:diamankan|dilindungi)"
    r"|Kode keamanan Anda dengan .+ (?:telah )?berubah"
    r"|Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt"
    r"|Deine Sicherheitsnummer für .+ hat sich geändert"
    r"|Los mensajes y las llamadas están cifrados de extremo a extremo"
    r"|Les messages et les appels sont chiffrés de bout en bout"
    r"|I messaggi e le chiamate sono crittografati end-to-end"
    r"|As mensagens e (?:as )?chamadas são (?:encriptadas ponto a ponto|protegidas com a "
    r"criptografia de ponta a ponta)"
    r"|Berichten en oproepen worden end-to-end versleuteld"
    r"|Zprávy a hovory jsou (?:zabezpečeny|opatřeny) koncovým šifrováním"
    r"|Сообщения и звонки защищены сквозным шифрованием"
    r"|Повідомлення й дзвінки захищено наскрізним шифруванням"
    r"|Tin nhắn và cuộc gọi được mã hóa đầu cuối"
    r"|الرسائل والمكالمات مشفرة"
    r"|मैसेजेस और कॉल्स एंड-टू-एंड एन्क्रिप्टेड"
    r"|メッセージと通話はエンドツーエンド暗号化"
    r"|ข้อความและการโทรได้รับการเข้ารหัสจากต้นทางถึงปลายทาง"
    # business-account and contact notices that iOS also writes behind the chat name
    r"|This business (?:uses|is now using) a secure service from Meta"
    r"|This chat is with (?:a|an official) business account"
    r"|Bisnis ini (?:menggunakan|kini menggunakan|sekarang menggunakan) layanan aman dari Meta"
    r"|Chat ini dengan akun bisnis(?: resmi)?"
    r"|You (?:un)?blocked this contact|Anda (?:membuka )?(?:blokir|memblokir) kontak ini"
    r"|.+ turned (?:on|off) disappearing messages"
    r"|.+ (?:mengaktifkan|menonaktifkan) pesan sementara"
    r"|.+ changed (?:their|his|her) phone number to a new number"
    r"|.+ (?:telah )?mengganti nomor (?:telepon|ponsel)nya"
    # message timer, security code, invite links, group icon / description (issue 14)
    r"|.+ (?:updated|changed) the message timer"
    r"|.+ (?:mengubah|memperbarui) pengatur waktu pesan"
    r"|.+ uses? a default timer for disappearing messages"
    r"|.+ menggunakan pengatur waktu default untuk pesan sementara"
    r"|.+'s? security code changed"
    r"|Kode keamanan .+ (?:telah )?berubah"
    r"|.+ joined using (?:this group's|your) invite link"
    r"|.+ bergabung (?:menggunakan|melalui|dengan) tautan undangan"
    r"|.+ changed (?:this group's icon|the group description|the group name)"
    r"|.+ mengubah (?:ikon|deskripsi|nama) grup)"
)
_DELETED_RE2 = (
    r"(?i)^(?:this message was deleted|you deleted this message"
    r"|pesan ini (?:telah )?dihapus|anda (?:telah )?menghapus pesan ini"
    r"|diese nachricht wurde gelöscht|du hast diese nachricht gelöscht"
    r"|se eliminó este mensaje|eliminaste este mensaje|este mensaje fue eliminado"
    r"|ce message a été supprimé|vous avez supprimé ce message"
    r"|questo messaggio è stato eliminato|hai eliminato questo messaggio"
    r"|esta mensagem foi apagada|você apagou esta mensagem"
    r"|dit bericht is verwijderd|(?:je|u) hebt dit bericht verwijderd"
    r"|tato zpráva byla (?:odstraněna|smazána)|tuto zprávu jste (?:odstranil|smazal)/a"
    r"|تم حذف هذه الرسالة|(?:لقد|أنت) حذ[\x{064E}]?فت هذه الرسالة"
    r"|यह मैसेज डिलीट कर दिया गया है|आपने यह मैसेज डिलीट किया"
    r"|это сообщение удалено|вы удалили это сообщение)(?: (?:by|oleh) [^\n]+)?\.?$"
)
_MEDIA_RE2 = (
    r"(?i)^(?:"
    r"<[^<>\n]*(?:omitted|tidak disertakan|ausgeschlossen|weggelassen|weggelaten|vynechány"
    r"|omitido|omitidos|omis|omessi|oculto|oculta|без медиафайлов)[^<>\n]*>"
    r"|(?:[^\n]*\s)?<\s*(?:attached|anhang|terlampir|lampiran|adjunto|anexado|allegato"
    r"|pièce jointe|bijlage)\s*:[^\n]*>"
    r"|[^\n]*<(?:attached|anhang|terlampir)>"
    r"|[^\n]*\((?:file attached|file terlampir|datei angehängt|bestand bijgevoegd"
    r"|archivo adjunto|fichier joint|arquivo anexado|file allegato|soubor připojen"
    r"|soubor byl přiložen"
    r"|файл добавлен|файл прикреплен|файл прикріплено)\)"
    r"|(?:[^\n]*\s)?(?:image|video|audio|sticker|gif|document|contact card|photo"
    r"|voice message|video note|media) omitted"
    r"|(?:[^\n]*\s)?(?:gambar|video|audio|stiker|gif|dokumen|kartu kontak|foto|pesan suara"
    r"|media) tidak disertakan"
    r"|(?:[^\n]*\s)?(?:bild|video|audio|sticker|gif|dokument|kontaktkarte|sprachnachricht)"
    r" (?:weggelassen|ausgelassen)"
    r")[ \t]*(?:\n|$)"
)
_KIND_RE2 = (_SYSTEM_NOTICE_RE2, _MEDIA_RE2, _DELETED_RE2)
# Large files: a text can only be a notice, media or deleted if it matches the union, and one
# DFA pass of the union costs about what one of the three costs (their ``.+`` / ``[^\n]*``
# branches make RE2 read every text to its end). The three then run on the union's hits only.
# Inline flags such as ``(?i)`` end with the group that holds them in RE2.
_KIND_ANY_RE2 = "|".join(f"(?:{p})" for p in _KIND_RE2)


def _python_twin(pattern: str) -> re.Pattern:
    """The language of one of the RE2 patterns above as a Python pattern.

    Small files classify their texts in Python: the RE2 kernels recompile their pattern on
    every call (0.3-0.4 ms each), more than Python needs to match a few hundred texts. The
    translation covers exactly the constructs these patterns use:

    * ``(?i)``: Python folds case like RE2 for every letter of the patterns except ``i``, which
      Python also matches to ``ı`` (U+0131) and ``İ`` (U+0130), so ``i`` becomes ``[iI]``;
    * ``\\s`` is ``[\\t\\n\\f\\r ]`` in RE2 (ASCII only);
    * ``$`` without multi-line mode is the end of the text in RE2 (``\\Z``), while Python's
      ``$`` also matches before a final newline;
    * ``\\x{hhhh}`` is written ``\\uhhhh``.

    tests/parsers/test_whatsapp_equivalence.py compares both flavours on tricky texts.
    """
    flags = 0
    if pattern.startswith("(?i)"):
        pattern = pattern[len("(?i)") :].replace("i", "(?-i:[iI])")
        flags = re.IGNORECASE
    pattern = re.sub(r"\\x\{([0-9A-Fa-f]{4})\}", r"\\u\1", pattern)
    pattern = pattern.replace(r"\s", r"[\t\n\f\r ]").replace("$", r"\Z")
    assert "(?i" not in pattern and r"\p" not in pattern and r"\x" not in pattern
    return re.compile(pattern, flags)


_NOTICE_PY, _MEDIA_PY, _DELETED_PY = (_python_twin(p) for p in _KIND_RE2)
# Every branch of _MEDIA_RE2 needs "<", "(" or one of these words (case-insensitive; their
# letters fold only to their ASCII upper case in RE2, so ``str.lower`` finds them): a cheap test
# that spares the slow backtracking of the ``[^\n]*`` branches on ordinary texts.
_MEDIA_WORDS = ("omitted", "erta", "gela")  # ...omitted, ...tidak disertakan, ...gelassen


def _maybe_media(text: str) -> bool:
    if "<" in text or "(" in text:
        return True
    low = text.lower()
    return any(w in low for w in _MEDIA_WORDS)


# --------------------------------------------------------------------------------------------
# Decoding and byte-level normalisation
# --------------------------------------------------------------------------------------------
def _decode(data: bytes | bytearray | memoryview | str) -> tuple[bytes, bool]:
    """Clean UTF-8 bytes (invisible marks removed, ``\\n`` line ends) or reject.

    Also tells whether the decoded text ended with a line break, so that a last line made
    only of invisible marks still counts as a (blank) line."""
    if isinstance(data, str):
        try:
            raw = data.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise RejectedFile(
                f"text contains an unpaired surrogate at character {exc.start}"
            ) from None
    elif isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if not raw:
            raise RejectedFile("empty file")
        raw = _to_utf8(raw)
    else:
        raise TypeError(f"parse_whatsapp needs bytes or str, not {type(data).__name__}")
    final_break = raw.endswith((b"\n", b"\r"))
    raw = _remove_invisible(raw)
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if not raw or raw.isspace():
        raise RejectedFile("empty file (no text)")
    return raw, final_break


def _to_utf8(raw: bytes) -> bytes:
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[3:]
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _from_utf16(raw, "utf-16", "UTF-16 (BOM)")
    else:
        head = np.frombuffer(raw[: 1 << 16], dtype=np.uint8)
        if len(head) >= 4 and len(raw) % 2 == 0:
            even_nul = np.count_nonzero(head[0::2] == 0) / (len(head) // 2)
            odd_nul = np.count_nonzero(head[1::2] == 0) / (len(head) // 2)
            if odd_nul > 0.3 and even_nul < 0.05:
                return _from_utf16(raw, "utf-16-le", "UTF-16LE")
            if even_nul > 0.3 and odd_nul < 0.05:
                return _from_utf16(raw, "utf-16-be", "UTF-16BE")
    buf = pa.py_buffer(raw)
    one = pa.LargeStringArray.from_buffers(
        1, pa.py_buffer(np.array([0, len(raw)], dtype=np.int64)), buf
    )
    try:
        one.validate(full=True)
    except pa.ArrowInvalid:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            kind = "binary data" if b"\x00" in raw[:4096] else "text in another encoding"
            raise RejectedFile(
                f"not UTF-8 or UTF-16 ({kind}): invalid byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start}"
            ) from None
        raise  # pragma: no cover - Arrow and Python disagree about UTF-8
    return raw


def _from_utf16(raw: bytes, codec: str, label: str) -> bytes:
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise RejectedFile(
            f"looks like {label} but does not decode: {exc.reason} at byte {exc.start}"
        ) from None
    try:
        return text.lstrip("\ufeff").encode("utf-8")
    except UnicodeEncodeError as exc:  # pragma: no cover - utf-16 decoding rejects these
        raise RejectedFile(f"{label} text contains an unpaired surrogate at {exc.start}") from None


def _remove_invisible(raw: bytes) -> bytes:
    """Drop the 3-byte UTF-8 sequences of :data:`INVISIBLE` (vectorised; no copy if none)."""
    a = np.frombuffer(raw, dtype=np.uint8)
    if len(a) < 3:
        return raw
    # Every mark starts with byte E2 or EF. ``bytes.__contains__`` of one byte is a memchr
    # (~2 ms for 80 MB) while a NumPy scan is ~30 ms per lead byte, and most Android exports
    # have no E2 / EF byte at all.
    none = np.empty(0, dtype=np.intp)
    head = a[:-2]
    e2 = np.flatnonzero(head == 0xE2) if b"\xe2" in raw else none
    b1, b2 = a[e2 + 1], a[e2 + 2]
    hit = ((b1 == 0x80) & ((b2 == 0x8E) | (b2 == 0x8F) | ((b2 >= 0xAA) & (b2 <= 0xAE)))) | (
        (b1 == 0x81) & (b2 >= 0xA6) & (b2 <= 0xA9)
    )
    ef = np.flatnonzero(head == 0xEF) if b"\xef" in raw else none
    hit2 = (a[ef + 1] == 0xBB) & (a[ef + 2] == 0xBF)
    starts = np.concatenate([e2[hit], ef[hit2]])
    if not len(starts):
        return raw
    keep = np.ones(len(a), dtype=bool)
    keep[starts] = False
    keep[starts + 1] = False
    keep[starts + 2] = False
    return a[keep].tobytes()


# --------------------------------------------------------------------------------------------
# Header layouts
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _FixedWidth:
    """A layout with every field exactly as wide as in its sample, for large files.

    Zero-padded exports (``09/04/25 08.05 - ``) have headers of one width. A plain RE2 match
    finds those lines (much cheaper than extracting capture groups), their fields then sit at
    fixed byte offsets, and the layout's capture pattern only runs on the other lines. Every
    line this pattern matches is matched by the layout pattern with the same fields: the digit
    runs are delimited by literal non-digits, and the separator is followed by a non-space,
    so the layout's greedy run of spaces ends at the same place.
    """

    pattern: str  # RE2, no groups
    date: tuple[int, int]  # (byte offset from the line start, byte width)
    time: tuple[int, int]
    length: int  # bytes of the whole header, separator included


@dataclasses.dataclass
class _Layout:
    sample: re.Match
    pattern: str  # RE2 with groups ``date``, ``time`` and ``sep``; "" when parsed line by line
    const_len: int  # bytes of the other literal parts (lead, date-time separator)
    time_first: bool
    count: int = 0
    fixed: _FixedWidth | None = None  # None when the sample has non-ASCII digits


def _re2_literal(text: str) -> str:
    out = []
    for ch in text:
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch == " ":
            out.append(" ")
        elif ch.isascii() and ch.isprintable():
            out.append("\\" + ch)
        else:
            out.append(f"\\x{{{ord(ch):04X}}}")
    return "".join(out)


_DATE_TOKEN_PY = re.compile(r"([MTSHR])?(\d+)|B\.?E\.?|.", re.S)
_TIME_TOKEN_PY = re.compile(
    rf"({'|'.join(_AP_PREFIXES)})|(\d+)|([AaPp])|([Mm])|([صم])|.", re.S
)


def _digit_class(text: str) -> str:
    return "[0-9]" if all(c.isascii() for c in text if c.isdigit()) else r"\p{Nd}"


def _date_pattern(date: str, fixed: bool = False) -> str:
    """RE2 for dates written like ``date``; with ``fixed``, only as wide as ``date``."""
    d = _digit_class(date)
    out = []
    for m in _DATE_TOKEN_PY.finditer(date):
        if m.group(2) is not None:
            width = f"{{{len(m.group(2))}}}" if fixed else ("{1,2}" if m.group(1) else "{1,4}")
            out.append(("[MTSHR]" if m.group(1) else "") + d + width)
        else:
            out.append(_re2_literal(m.group(0)))
    return "".join(out)


def _time_pattern(time: str, fixed: bool = False) -> str:
    """RE2 for times written like ``time``; with ``fixed``, only as wide as ``time``."""
    d = _digit_class(time)
    out = []
    digit_runs = 0
    for m in _TIME_TOKEN_PY.finditer(time):
        if m.group(1):  # every prefix is 6 bytes in UTF-8 (asserted below)
            out.append("(?:" + "|".join(_AP_PREFIXES) + ")")
        elif m.group(2):  # hour 1-2 digits, minutes and seconds exactly 2
            if fixed:
                out.append(f"{d}{{{len(m.group(2))}}}")
            else:
                out.append(d + ("{1,2}" if digit_runs == 0 else "{2}"))
            digit_runs += 1
        elif m.group(3):
            out.append("[AaPp]")
        elif m.group(4):
            out.append("[Mm]")
        elif m.group(5):
            out.append("[\\x{0635}\\x{0645}]")
        else:
            out.append(_re2_literal(m.group(0)))
    return "".join(out)


_RE2_SP = r"[ \t\x{00A0}\x{202F}\x{2009}]"
_RE2_NOT_SP = r"[^ \t\x{00A0}\x{202F}\x{2009}]"
assert len({len(p.encode("utf-8")) for p in _AP_PREFIXES}) == 1  # see _FixedWidth


def _layout_from_sample(m: re.Match) -> _Layout | None:
    """A layout-specific RE2 pattern that matches a subset of what the reference pattern
    matches and splits it the same way; None for a bare-space separator (those lines are
    parsed line by line, because the reference prefers ``" - "`` where both fit)."""
    sep = m["sep"]
    core = sep.rstrip(_SP_CHARS)
    if not core.strip(_SP_CHARS):
        return None
    # the reference pattern ends with a greedy run of spaces: mirror it, in a group
    sep_pattern = _re2_literal(core) + (_RE2_SP + ("*" if core.endswith("]") else "+"))
    time_first = m.group("ttime") is not None
    if time_first:
        parts = [("lit", m["lead"]), ("time", m["ttime"]), ("lit", m["tdsep"])]
        parts.append(("date", m["tdate"]))
    else:
        parts = [("lit", m["lead"]), ("date", m["date"]), ("lit", m["dtsep"])]
        parts.append(("time", m["time"]))
    pattern = ["^"]
    const_len = 0
    for kind, text in parts:
        if kind == "lit":
            pattern.append(_re2_literal(text))
            const_len += len(text.encode("utf-8"))
        elif kind == "date":
            pattern.append(f"(?P<date>{_date_pattern(text)})")
        else:
            pattern.append(f"(?P<time>{_time_pattern(text)})")
    pattern.append(f"(?P<sep>{sep_pattern})")
    return _Layout(m, "".join(pattern), const_len, time_first, fixed=_fixed_width(parts, sep))


def _fixed_width(parts: list[tuple[str, str]], sep: str) -> _FixedWidth | None:
    if any(kind != "lit" and _digit_class(text) != "[0-9]" for kind, text in parts):
        return None  # other digits have other byte widths
    pattern = ["^"]
    spans: dict[str, tuple[int, int]] = {}
    offset = 0
    for kind, text in parts:
        width = len(text.encode("utf-8"))
        if kind == "lit":
            pattern.append(_re2_literal(text))
        elif kind == "date":
            pattern.append(_date_pattern(text, fixed=True))
        else:
            pattern.append(_time_pattern(text, fixed=True))
        spans[kind] = (offset, width)
        offset += width
    # the separator exactly as in the sample, then no further space
    pattern.append(f"{_re2_literal(sep)}(?:{_RE2_NOT_SP}|$)")
    length = offset + len(sep.encode("utf-8"))
    return _FixedWidth("".join(pattern), spans["date"], spans["time"], length)


def _match_header_py(line: str) -> re.Match | None:
    """The reference header match of one line (no trailing newline), or None."""
    m = _GENERAL_PY.match(line)
    if m is None:
        return None
    if ("[" in m["lead"]) != ("]" in m["sep"]):
        return None
    return m


# --------------------------------------------------------------------------------------------
# Dates and times, parsed once per distinct string. The results are pure functions of the
# string (and the day/month order), so they are cached across files: a batch of exports from
# one shop repeats the same few hundred dates, and parsing them cost ~3 ms per small file.
# --------------------------------------------------------------------------------------------
_STRING_CACHE = 1 << 16  # entries per cache; a date or time string is tens of bytes


@dataclasses.dataclass(frozen=True)  # frozen: cached instances are shared between parses
class _DateInfo:
    values: tuple[int, int, int]
    widths: tuple[int, int, int]
    year_pos: int  # 0, 1, 2, or -1 when every field has at most 2 digits
    year: int | None  # the year of the year-like field (era / BE converted)
    sep: str
    error: str | None = None

    @functools.cached_property  # the instances are cached and shared (see _analyse_date)
    def evidence(self) -> str | None:
        """'dmy' / 'mdy' when this date alone decides the day/month order."""
        if self.error or self.year_pos == 0:
            return None
        p, q = self._pair()
        if p > 12 >= q:
            return "dmy"
        if q > 12 >= p:
            return "mdy"
        return None

    def _pair(self) -> tuple[int, int]:
        v = self.values
        return (v[0], v[2]) if self.year_pos == 1 else (v[0], v[1])


@functools.lru_cache(maxsize=_STRING_CACHE)
def _analyse_date(text: str) -> _DateInfo:
    tokens = [m for m in _DATE_TOKEN_PY.finditer(text) if m.group(2) is not None]
    sep_m = re.search(r"[./\-]", text)
    sep = sep_m.group(0) if sep_m else "?"
    be = re.search(r"B\.?E\.?", text) is not None
    if len(tokens) != 3:
        return _DateInfo((0, 0, 0), (0, 0, 0), -1, None, sep, f"unreadable date {text!r}")
    values, widths, year_like, year = [], [], [], None
    for m in tokens:
        era, digits = m.group(1), m.group(2)
        v = int(digits)
        values.append(v)
        widths.append(len(digits))
        if era:
            year_like.append(True)
            year = _ERA_BASE[era] + v
        elif len(digits) >= 3:
            year_like.append(True)
            year = v - 543 if be else v
        else:
            year_like.append(False)
    year_pos, error = -1, None
    n_year = sum(year_like)
    if n_year > 1:
        error = f"unreadable date {text!r} (more than one year-like field)"
    elif n_year == 1:
        year_pos = year_like.index(True)
    elif be:
        error = f"unreadable date {text!r} (Buddhist-era marker on a 2-digit year)"
    return _DateInfo(
        tuple(values), tuple(widths), year_pos, year, sep, error  # type: ignore[arg-type]
    )


@functools.lru_cache(maxsize=_STRING_CACHE)
def _date_days(text: str, order: str) -> tuple[int, str | None]:
    """:func:`_resolve_date` of a date string read in ``order`` (cached)."""
    return _resolve_date(_analyse_date(text), order, text)


def _resolve_date(info: _DateInfo, order: str, text: str) -> tuple[int, str | None]:
    """(days since 1970-01-01, None) or (0, reason)."""
    if info.error:
        return 0, info.error
    v = info.values
    if info.year_pos == 0:
        y, m, d = info.year, v[1], v[2]
    elif info.year_pos == -1 and order == "ymd":
        y, m, d = 2000 + v[0], v[1], v[2]
    else:
        if info.year_pos == -1:
            y = 2000 + v[2]
        else:
            y = info.year
        p, q = info._pair()
        d, m = (p, q) if order == "dmy" else (q, p)
    assert y is not None
    if not MIN_YEAR <= y <= MAX_YEAR:
        hint = ""
        if 2552 <= y <= 2643:
            hint = " (a Buddhist-era year without the 'BE' marker?)"
        elif 1430 <= y <= 1530:
            hint = " (a Hijri or Persian calendar year? not supported)"
        return 0, f"year {y} of date {text!r} is outside {MIN_YEAR}-{MAX_YEAR}{hint}"
    try:
        return dt.date(y, m, d).toordinal() - _EPOCH_ORDINAL, None
    except ValueError:
        return 0, (
            f"impossible date {text!r} (read {order}: day {d}, month {m}, year {y})"
        )


_TIME_PY = re.compile(
    rf"^(?:(?P<pre>{'|'.join(_AP_PREFIXES)})\s*)?(?P<h>\d{{1,2}})[:.](?P<m>\d{{2}})"
    r"(?:[:.](?P<s>\d{2}))?[\s_]*(?:(?P<ap>[AaPp])\.?\s*[Mm]\.?|(?P<ar>[صم]))?$"
)


@functools.lru_cache(maxsize=_STRING_CACHE)
def _parse_time(text: str) -> tuple[int, str | None]:
    """(seconds after midnight, None) or (0, reason)."""
    m = _TIME_PY.match(text)
    if m is None:
        return 0, f"unreadable time {text!r}"
    h, mi, s = int(m["h"]), int(m["m"]), int(m["s"] or 0)
    pm: bool | None = None
    if m["pre"]:
        pm = m["pre"] in _AP_PREFIX_PM
    elif m["ap"]:
        pm = m["ap"] in "Pp"
    elif m["ar"]:
        pm = m["ar"] == "م"
    if pm is not None and h <= 12:
        h = h % 12 + (12 if pm else 0)
    # an hour above 12 with a 12-hour marker (``23:59 PM``) is read as a 24-hour value
    if h > 23 or mi > 59 or s > 59:
        return 0, f"impossible time {text!r}"
    return h * 3600 + mi * 60 + s, None


def _form(info: _DateInfo) -> tuple[str, int]:
    """The header form of a date for the day/month decision: its separator and where its
    year stands (-1: a 2-digit year). ``6/30/23`` and ``30/6/2023`` are two forms."""
    return info.sep, info.year_pos


def _resolve_order(
    infos: Sequence[_DateInfo], weights: np.ndarray, date_order: str, hint: str | None
) -> tuple[str, str, bool, dict[str, str]]:
    """Return (order, source, ambiguous, per-form overrides, see :func:`_form`)."""
    votes = {"dmy": 0, "mdy": 0}
    per_sep: dict[str, dict[str, int]] = {}
    any_day_month = False
    for info, w in zip(infos, weights):
        if w == 0 or info.error:
            continue
        if info.year_pos != 0:
            any_day_month = True
        ev = info.evidence
        if ev:
            votes[ev] += int(w)
            per_sep.setdefault(_form(info), {"dmy": 0, "mdy": 0})[ev] += int(w)
    decided = votes["dmy"] > 0 or votes["mdy"] > 0
    ambiguous = any_day_month and not decided
    if date_order != "auto":
        return date_order, "config", ambiguous, {}
    if not any_day_month:
        return "ymd", "file", False, {}
    if not decided:
        if hint in ("dmy", "mdy"):  # a 'ymd' hint says nothing about d/m vs m/d here
            return hint, "hint", True, {}
        return "dmy", "default", True, {}
    majority = "dmy" if votes["dmy"] >= votes["mdy"] else "mdy"
    overrides: dict[str, str] = {}
    if votes["dmy"] and votes["mdy"]:
        # each header form decides on its own when its evidence agrees; a form without
        # evidence, or with contradicting evidence, takes the file's majority
        overrides = {form: ("dmy" if v["dmy"] else "mdy") for form, v in per_sep.items() if min(v.values()) == 0}
    return majority, "file", False, overrides


# --------------------------------------------------------------------------------------------
# The parser
# --------------------------------------------------------------------------------------------
def _interleave(*columns: np.ndarray, end: int) -> np.ndarray:
    """Offsets ``[c0[0], c1[0], ..., c0[1], c1[1], ..., end]`` as int64."""
    n = len(columns[0])
    out = np.empty(n * len(columns) + 1, dtype=np.int64)
    for k, col in enumerate(columns):
        out[k : n * len(columns) : len(columns)] = col
    out[-1] = end
    return out


def _spans_with_quotes(raw: bytes, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Which byte spans ``[lo, hi)`` (sorted, disjoint) contain ``"``, ``“`` or ``”``."""
    a = np.frombuffer(raw, dtype=np.uint8)
    none = np.empty(0, dtype=np.intp)
    # memchr first (see _remove_invisible): most exports have no quote at all
    straight = np.flatnonzero(a == 0x22) if b'"' in raw else none
    e2 = np.flatnonzero(a[:-2] == 0xE2) if len(a) >= 3 and b"\xe2" in raw else none
    curly = e2[(a[e2 + 1] == 0x80) & ((a[e2 + 2] == 0x9C) | (a[e2 + 2] == 0x9D))]
    hits = np.concatenate([straight, curly])
    out = np.zeros(len(lo), dtype=bool)
    if len(hits) and len(lo):
        k = np.searchsorted(lo, hits, side="right") - 1
        inside = (k >= 0) & (hits < hi[np.maximum(k, 0)])
        out[k[inside]] = True
    return out


def _views(offsets: np.ndarray, buf: pa.Buffer) -> pa.LargeStringArray:
    return pa.LargeStringArray.from_buffers(len(offsets) - 1, pa.py_buffer(offsets), buf)


def _take_every(values: pa.Array, positions: np.ndarray) -> pa.Array:
    return values.take(pa.array(positions, type=pa.int64()))


def _str_array(arr: pa.Array, *, na_value) -> pd.api.extensions.ExtensionArray:
    """A pandas string column backed by ``arr`` (no copy; cheaper than building a Series)."""
    return pd.array(arr, dtype=pd.StringDtype("pyarrow", na_value=na_value))


def _newlines(a: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Positions of the ``\\n`` bytes, found in 4 MB chunks: one ``a == 10`` over an 80 MB file
    would allocate (and page-fault) an 80 MB temporary."""
    if len(a) <= chunk:
        return np.flatnonzero(a == 10)
    return np.concatenate(
        [np.flatnonzero(a[k : k + chunk] == 10) + k for k in range(0, len(a), chunk)]
    )


class _Lines:
    """The decoded file split into physical lines (byte offsets into one buffer)."""

    def __init__(self, raw: bytes, final_break: bool = True):
        self.raw = raw
        self.a = np.frombuffer(raw, dtype=np.uint8)
        self.buf = pa.py_buffer(raw)
        nl = _newlines(self.a)
        starts = np.empty(len(nl) + 1, dtype=np.int64)
        starts[0] = 0
        starts[1:] = nl + 1
        drop_last = starts[-1] == len(raw) and final_break
        if drop_last:  # "a\nb\n" is two lines, not three
            starts = starts[:-1]
        self.starts = starts
        self.ends = np.empty_like(starts)  # end of line content, without the newline
        self.ends[:-1] = starts[1:] - 1
        self.ends[-1] = len(raw) - 1 if drop_last else len(raw)
        self.n = len(starts)
        self.array = _views(np.append(starts, len(raw)), self.buf)

    def text(self, i: int) -> str:
        return self.raw[self.starts[i] : self.ends[i]].decode("utf-8")


def _find_headers(lines: _Lines, run: _Runner, max_layouts: int = _MAX_LAYOUTS):
    """Header candidates: (line indices, date strings, time strings, header byte lengths,
    bare-separator flags, layouts)."""
    found_idx: list[np.ndarray] = []
    found_date: list[pa.Array] = []
    found_time: list[pa.Array] = []
    found_len: list[np.ndarray] = []
    found_bare: list[np.ndarray] = []
    layouts: list[_Layout] = []

    # candidate lines still to classify: None means "every line" (nothing examined yet)
    remaining: np.ndarray | None = None
    sample: re.Match | None = None
    if max_layouts > 0:
        for i in range(min(lines.n, 200)):
            sample = _match_header_py(lines.text(i))
            if sample is not None:
                break
    if sample is None:
        remaining = _general_candidates(lines, np.arange(lines.n, dtype=np.int64))

    attempts = 0
    by_line: list[int] = []  # sample lines whose layout is left to the reference pattern
    while attempts < max_layouts:
        if remaining is not None:
            sample = None
            while len(remaining) and sample is None:
                sample = _match_header_py(lines.text(int(remaining[0])))
                if sample is None:  # the RE2 screen is wider than the reference pattern
                    remaining = remaining[1:]
            if sample is None:
                break
        assert sample is not None
        layout = _layout_from_sample(sample)
        if layout is None:
            if remaining is None:
                remaining = _general_candidates(lines, np.arange(lines.n, dtype=np.int64))
            by_line.append(int(remaining[0]))
            remaining = remaining[1:]
            continue
        attempts += 1
        ok, date_arr, time_arr, hdr_len = _match_layout(lines, remaining, layout, run)
        if remaining is None:
            idx = np.flatnonzero(ok).astype(np.int64)
            remaining = _general_candidates(lines, np.flatnonzero(~ok).astype(np.int64))
        else:
            idx = remaining[ok]
            remaining = remaining[~ok]
        if len(idx) == 0:  # pragma: no cover - a layout always matches its own sample
            continue
        layout.count = len(idx)
        layouts.append(layout)
        found_idx.append(idx)
        found_date.append(date_arr)
        found_time.append(time_arr)
        found_len.append(hdr_len)
        found_bare.append(np.zeros(len(idx), dtype=bool))
    if by_line:
        rest = remaining if remaining is not None else np.empty(0, dtype=np.int64)
        remaining = np.union1d(rest, np.array(by_line, dtype=np.int64))

    # leftovers: line by line with the reference pattern
    if remaining is not None and len(remaining):
        idx_l, date_l, time_l, len_l, bare_l = [], [], [], [], []
        for i in remaining.tolist():
            line = lines.text(i)
            m = _match_header_py(line)
            if m is None:
                continue
            idx_l.append(i)
            date_l.append(m["date"] if m["date"] is not None else m["tdate"])
            time_l.append(m["time"] if m["time"] is not None else m["ttime"])
            len_l.append(len(line[: m.end()].encode("utf-8")))
            bare_l.append(m["sep"].strip(_SP_CHARS) == "")
        if idx_l:
            first = _match_header_py(lines.text(idx_l[0]))
            assert first is not None
            layouts.append(_Layout(first, "", 0, first["ttime"] is not None, len(idx_l)))
            found_idx.append(np.array(idx_l, dtype=np.int64))
            found_date.append(pa.array(date_l, type=pa.large_string()))
            found_time.append(pa.array(time_l, type=pa.large_string()))
            found_len.append(np.array(len_l, dtype=np.int64))
            found_bare.append(np.array(bare_l, dtype=bool))

    if not found_idx:
        return None
    if len(found_idx) == 1:  # one layout (the usual case): already in file order
        return (
            found_idx[0],
            found_date[0].cast(pa.large_string()),
            found_time[0].cast(pa.large_string()),
            found_len[0],
            found_bare[0],
            layouts,
        )
    idx = np.concatenate(found_idx)
    order = np.argsort(idx, kind="stable")
    take = pa.array(order, type=pa.int64())
    dates = pa.concat_arrays([a.cast(pa.large_string()) for a in found_date]).take(take)
    times = pa.concat_arrays([a.cast(pa.large_string()) for a in found_time]).take(take)
    return (
        idx[order],
        dates,
        times,
        np.concatenate(found_len)[order],
        np.concatenate(found_bare)[order],
        layouts,
    )


def _match_layout(lines: _Lines, rows: np.ndarray | None, layout: _Layout, run: _Runner):
    """The lines ``rows`` (None: all lines) in ``layout``: (mask over the rows, then the date
    strings, time strings and header byte lengths of the matched rows)."""
    subset = lines.array if rows is None else _take_every(lines.array, rows)
    fixed = layout.fixed
    if fixed is None or len(subset) < _FIXED_MIN_LINES or not _mostly_fixed(subset, layout):
        return _extract_layout(subset, layout, run)
    hit = run.bools(lambda x: pc.match_substring_regex(x, fixed.pattern), subset)
    starts = (lines.starts if rows is None else lines.starts[rows])[hit]
    dates = _fixed_field(lines, starts, fixed.date)
    times = _fixed_field(lines, starts, fixed.time)
    lengths = np.full(len(starts), fixed.length, dtype=np.int64)
    # the other lines: continuation lines, and headers whose fields have other widths
    others = np.flatnonzero(~hit)
    o_ok, o_dates, o_times, o_lengths = _extract_layout(_take_every(subset, others), layout, run)
    if not o_ok.any():
        return hit, dates, times, lengths
    rows_f, rows_o = np.flatnonzero(hit), others[o_ok]
    order = pa.array(np.argsort(np.concatenate([rows_f, rows_o]), kind="stable"))
    hit[rows_o] = True
    return (
        hit,
        pa.concat_arrays([dates, o_dates.cast(pa.large_string())]).take(order),
        pa.concat_arrays([times, o_times.cast(pa.large_string())]).take(order),
        np.concatenate([lengths, o_lengths])[order.to_numpy()],
    )


def _extract_layout(subset: pa.Array, layout: _Layout, run: _Runner):
    got = run.halves(lambda x: pc.extract_regex(x, pattern=layout.pattern), subset)
    ok = np.asarray(got.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    got = got.filter(pa.array(ok))
    hdr_len = layout.const_len + sum(
        pc.binary_length(got.field(f)).to_numpy().astype(np.int64)
        for f in ("date", "time", "sep")
    )
    return ok, got.field("date"), got.field("time"), hdr_len


def _mostly_fixed(subset: pa.Array, layout: _Layout) -> bool:
    """Whether most headers among the first lines have the sample's widths (if they do not,
    as in ``1/2/22, 9:41 PM`` exports, the fixed pattern would only add a pass)."""
    head = subset.slice(0, 2_000)
    assert layout.fixed is not None
    n_fixed = pc.sum(pc.match_substring_regex(head, layout.fixed.pattern)).as_py() or 0
    n_all = pc.sum(pc.match_substring_regex(head, layout.pattern)).as_py() or 0
    return n_fixed >= 0.8 * n_all


def _fixed_field(lines: _Lines, starts: np.ndarray, span: tuple[int, int]) -> pa.Array:
    """The strings ``[start + offset, start + offset + width)`` of each line start."""
    lo = starts + span[0]
    views = _views(_interleave(lo, lo + span[1], end=len(lines.raw)), lines.buf)
    return _take_every(views, np.arange(0, 2 * len(starts), 2, dtype=np.int64))


def _general_candidates(lines: _Lines, idx: np.ndarray) -> np.ndarray:
    """The lines of ``idx`` that match the general header pattern (a screen: the reference
    check with :func:`_match_header_py` follows)."""
    if len(idx) == 0:
        return idx
    if len(idx) <= _PY_MAX_ITEMS and _span_bytes(lines, idx) <= _PY_MAX_BYTES:
        # The same pattern in Python: compiling the RE2 one (its \p{Nd} classes) costs ~1 ms,
        # more than matching a few hundred continuation lines here.
        hit = [_GENERAL_PY.match(lines.text(i)) is not None for i in idx.tolist()]
        return idx[np.array(hit, dtype=bool)]
    hit = pc.match_substring_regex(_take_every(lines.array, idx), pattern=_GENERAL_RE2)
    return idx[np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)]


def _span_bytes(lines: _Lines, idx: np.ndarray) -> int:
    return int((lines.ends[idx] - lines.starts[idx]).sum())


class _Runner:
    """Runs an Arrow kernel on two halves of a large array, one of them on a worker thread.

    Arrow kernels release the GIL, so a 1 M-line export uses both cores. A fresh worker per
    parse keeps this safe in forked workers (Celery prefork)."""

    def __init__(self, n_items: int):
        self.ex = cf.ThreadPoolExecutor(1, "whatsapp-parse") if n_items >= _PARALLEL_MIN else None

    def halves(self, fn, arr: pa.Array) -> pa.Array:
        if self.ex is None or len(arr) < _PARALLEL_MIN:
            return fn(arr)
        half = len(arr) // 2
        later = self.ex.submit(fn, arr.slice(half))
        first = fn(arr.slice(0, half))
        return pa.concat_arrays([first, later.result()])

    def bools(self, fn, arr: pa.Array) -> np.ndarray:
        out = self.halves(fn, arr)
        return np.asarray(out.to_numpy(zero_copy_only=False), dtype=bool)

    def close(self) -> None:
        if self.ex is not None:
            self.ex.shutdown(wait=True)


def _check_order(name: str, value: str | None, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def parse_whatsapp(
    data: bytes | str, *, date_order: str = "auto", date_order_hint: str | None = None
) -> ParsedChat:
    """Parse one WhatsApp export; one row per message in file order.

    Raises :class:`RejectedFile` when the whole file is unusable (empty, not text, no
    WhatsApp header line, no header with a usable date).
    """
    _check_order("date_order", date_order, ("auto", *DATE_ORDERS))
    _check_order("date_order_hint", date_order_hint, DATE_ORDERS)
    return _parse(data, date_order=date_order, hint=date_order_hint)


def _parse(data, *, date_order: str, hint: str | None, max_layouts: int = _MAX_LAYOUTS):
    raw, final_break = _decode(data)
    lines = _Lines(raw, final_break)
    run = _Runner(lines.n)
    try:
        return _parse_lines(lines, run, date_order=date_order, hint=hint, max_layouts=max_layouts)
    finally:
        run.close()


def _parse_lines(lines: _Lines, run: _Runner, *, date_order, hint, max_layouts) -> ParsedChat:
    raw = lines.raw
    found = _find_headers(lines, run, max_layouts=max_layouts)
    if found is None:
        first = lines.text(0)[:80] if lines.n else ""
        raise RejectedFile(f"no WhatsApp message header line found (first line: {first!r})")
    h_idx, dates, times, hdr_len, bare, layouts = found

    # ---- senders: first ": " (or a final ":") on the header line, after the header --------
    a = lines.a
    ls = lines.starts[h_idx]
    le = lines.ends[h_idx]
    bs = ls + hdr_len
    bodies = _views(_interleave(ls, bs, end=len(raw)), lines.buf)
    pos = run.halves(lambda x: pc.find_substring(x, ": "), bodies).to_numpy()[1::2]
    pos = pos.astype(np.int64)
    colon = np.where(pos >= 0, bs + pos, -1)
    colon = np.where(colon < le, colon, -1)
    colon_len = np.where(colon >= 0, 2, 0)
    eol = (colon < 0) & (le > bs) & (a[np.maximum(le - 1, 0)] == ord(":"))
    colon = np.where(eol, le - 1, colon)
    colon_len = np.where(eol, 1, colon_len)
    has_colon = colon >= 0
    cp = np.where(has_colon, colon, bs)
    # even elements are the candidate senders [bs, cp); they are copied out only once, at the
    # end, for the messages that keep a sender
    sender_views = _views(_interleave(bs, cp, end=len(raw)), lines.buf)
    space = pc.utf8_is_space(sender_views).to_numpy(zero_copy_only=False)[0::2]
    bad_sender = (cp == bs) | np.asarray(space, dtype=bool) | _spans_with_quotes(raw, bs, cp)
    sender_form = has_colon & ~bad_sender
    header_no = np.arange(len(h_idx), dtype=np.int64)  # position in sender_views // 2

    # a header whose separator is only a space must carry a sender, else it is text
    keep = ~(bare & ~sender_form)
    if not keep.all():
        sel = np.flatnonzero(keep)
        h_idx, hdr_len, bs, sender_form = h_idx[sel], hdr_len[sel], bs[sel], sender_form[sel]
        colon, colon_len, ls, header_no = colon[sel], colon_len[sel], ls[sel], header_no[sel]
        dates = dates.take(pa.array(sel))
        times = times.take(pa.array(sel))
        if len(h_idx) == 0:
            first = lines.text(0)[:80]
            raise RejectedFile(f"no WhatsApp message header line found (first line: {first!r})")

    # ---- dates and times, once per distinct string (cached across files) ------------------
    d_enc = pc.dictionary_encode(dates)
    d_codes = d_enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    d_uniques = d_enc.dictionary.to_pylist()
    infos = [_analyse_date(s) for s in d_uniques]
    weights = np.bincount(d_codes, minlength=len(d_uniques))
    order, source, ambiguous, overrides = _resolve_order(infos, weights, date_order, hint)
    d_res = [_date_days(s, overrides.get(_form(i), order)) for s, i in zip(d_uniques, infos)]
    d_days = np.array([days for days, _ in d_res], dtype=np.int64)
    d_err = [err for _, err in d_res]
    d_bad = np.array([e is not None for e in d_err], dtype=bool)

    t_enc = pc.dictionary_encode(times)
    t_codes = t_enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    t_res = [_parse_time(s) for s in t_enc.dictionary.to_pylist()]
    t_secs = np.array([secs for secs, _ in t_res], dtype=np.int64)
    t_err = [err for _, err in t_res]
    t_bad = np.array([e is not None for e in t_err], dtype=bool)

    valid = ~d_bad[d_codes] & ~t_bad[t_codes]
    if not valid.any():
        k = 0
        reason = d_err[d_codes[k]] or t_err[t_codes[k]]
        raise RejectedFile(
            f"none of the {len(h_idx)} header lines has a usable date and time; "
            f"line {h_idx[k] + 1}: {reason}"
        )

    # ---- groups: each header owns the lines up to the next header -------------------------
    n = lines.n
    g_start_line = h_idx
    g_end_line = np.append(h_idx[1:], n)
    g_nlines = g_end_line - g_start_line
    v_idx = np.flatnonzero(valid)
    # ``x[v]`` selects the valid messages; a plain slice when all are valid (no 1 M-row copy)
    v = slice(None) if len(v_idx) == len(valid) else v_idx
    # a text runs from its header line's body to the end of the group's last line
    t_lo = np.where(sender_form, colon + colon_len, bs)[v]
    texts = _trimmed_texts(lines, t_lo, lines.ends[g_end_line[v] - 1])
    v_sender_form = sender_form[v]

    # ---- message types ---------------------------------------------------------------------
    notice, media, deleted = _message_kinds(texts, run)
    mtype = np.full(len(v_idx), _TEXT, dtype=np.int8)
    system = ~v_sender_form | (v_sender_form & notice)
    mtype[media] = _MEDIA
    mtype[deleted] = _DELETED
    mtype[system] = _SYSTEM

    secs = (d_days[d_codes[v]] * 86400 + t_secs[t_codes[v]]) * 1_000_000
    # one take picks the senders of the kept messages; a null index gives a null sender
    sender_pos = pa.array(header_no[v] * 2, type=pa.int64(), mask=system)
    senders = sender_views.take(sender_pos)
    relabel = np.flatnonzero(v_sender_form & notice)
    if len(relabel):  # a notice behind "Chat name: " keeps that prefix in its text
        prefixed = [
            f"{s}{':' if colon_len[v_idx[k]] == 1 else ': '}{t}"
            for k, s, t in zip(
                relabel.tolist(),
                sender_views.take(pa.array(header_no[v_idx[relabel]] * 2)).to_pylist(),
                texts.take(pa.array(relabel)).to_pylist(),
            )
        ]
        mask = np.zeros(len(texts), dtype=bool)
        mask[relabel] = True
        texts = pc.replace_with_mask(texts, pa.array(mask), pa.array(prefixed, texts.type))
    messages = pd.DataFrame(
        {
            "local_ts": secs.view("datetime64[us]"),
            "sender": _str_array(senders, na_value=pd.NA),
            "text": _str_array(texts, na_value=np.nan),
            "message_type": _str_array(_MESSAGE_TYPES.take(pa.array(mtype)), na_value=np.nan),
            "source_line": g_start_line[v] + 1,
            "n_lines": g_nlines[v],
        },
        copy=False,  # every column is a fresh array of this parse
    )
    _keep_raw_of_implausible(messages, secs, lines, g_start_line[v], g_end_line[v])

    # ---- quarantine: lines before the first header, invalid headers and their lines -------
    q_lines: list[int] = []
    q_reasons: list[str] = []
    first = int(h_idx[0])
    q_lines.extend(range(first))
    q_reasons.extend(["text before the first message header"] * first)
    for k in np.flatnonzero(~valid).tolist():
        line0 = int(h_idx[k])
        reason = d_err[d_codes[k]] or t_err[t_codes[k]] or "invalid header"
        q_lines.append(line0)
        q_reasons.append(reason)
        for j in range(line0 + 1, int(g_end_line[k])):
            q_lines.append(j)
            q_reasons.append(f"continuation of quarantined header line {line0 + 1}")
    rejected = _rejected_frame(
        np.array(q_lines, dtype=np.int64) + 1, [lines.text(i)[:500] for i in q_lines], q_reasons
    )

    header_lines = int(len(v_idx))
    continuation_lines = int(g_nlines[v].sum() - header_lines)
    layout_text = _describe_layouts(layouts, order, overrides, infos, d_uniques)
    return ParsedChat(
        layout=layout_text,
        date_order=order,
        date_order_source=source,
        ambiguous=bool(ambiguous),
        messages=messages,
        rejected=rejected,
        lines_read=int(n),
        header_lines=header_lines,
        continuation_lines=continuation_lines,
        quarantined_lines=len(q_lines),
    )


# Messages dated outside this window are quarantined after parsing (quality.gate, which uses
# 2009-01-01 .. ingest time + 1 day); for them alone the parser keeps the raw lines, so
# ``audit.rejected_row.raw`` holds the line as written, not a rebuilt one (issue 15).
_PLAUSIBLE_FROM_US = int((dt.datetime(2009, 1, 1) - dt.datetime(1970, 1, 1)).total_seconds()) * 1_000_000
_FUTURE_SLACK_US = 86400 * 1_000_000


def _keep_raw_of_implausible(messages: pd.DataFrame, secs: np.ndarray, lines: _Lines, start: np.ndarray, end: np.ndarray) -> None:
    """Add ``raw_lines`` (the message's lines as written, ``\n``-joined; null elsewhere) when a
    message lies outside the window above; no column at all in the usual case."""
    now_us = int((dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
    odd = np.flatnonzero((secs < _PLAUSIBLE_FROM_US) | (secs > now_us + _FUTURE_SLACK_US))
    if not len(odd):
        return
    raw = np.full(len(messages), None, dtype=object)
    for k in odd.tolist():
        raw[k] = "\n".join(lines.text(i) for i in range(int(start[k]), int(end[k])))
    messages["raw_lines"] = raw


def _trimmed_texts(lines: _Lines, lo: np.ndarray, hi: np.ndarray) -> pa.Array:
    """The texts ``raw[lo:hi]`` (disjoint, in order) without trailing whitespace, as
    ``utf8_rtrim_whitespace`` trims it, copied out of the buffer once.

    Arrow's whitespace is Python's ``str.isspace``: ASCII up to 0x20, U+0085, U+00A0 (UTF-8
    lead byte C2) and U+1680-U+3000 (lead bytes E1-E3). Only texts whose last character may
    be one of those go through the trim kernel; a full pass would copy every text a second
    time, and texts often end with an emoji (4 bytes)."""
    a = lines.a
    last = a[np.maximum(hi - 1, 0)]
    lead2 = a[np.maximum(hi - 2, 0)]
    lead3 = a[np.maximum(hi - 3, 0)]
    maybe_space = (last <= 0x20) | (
        (last >= 0x80) & ((lead2 == 0xC2) | ((lead3 >= 0xE1) & (lead3 <= 0xE3)))
    )
    maybe = np.flatnonzero((hi > lo) & maybe_space)
    if len(maybe):
        views = _views(_interleave(lo, hi, end=len(lines.raw)), lines.buf)
        trimmed = pc.utf8_rtrim_whitespace(_take_every(views, maybe * 2))
        hi = hi.copy()
        hi[maybe] = lo[maybe] + pc.binary_length(trimmed).to_numpy()
    views = _views(_interleave(lo, hi, end=len(lines.raw)), lines.buf)
    return _take_every(views, np.arange(0, 2 * len(lo), 2, dtype=np.int64))


def _rejected_frame(source_line: np.ndarray, raw: list[str], reason: list[str]) -> pd.DataFrame:
    if not len(source_line):  # the usual case: a copy of a prebuilt empty frame is 10x cheaper
        return _NO_REJECTED.copy()
    return pd.DataFrame(
        {
            "source_line": source_line,
            "raw": pd.array(raw, dtype="str"),
            "reason": pd.array(reason, dtype="str"),
        },
        copy=False,
    )


_NO_REJECTED = pd.DataFrame(
    {
        "source_line": np.empty(0, dtype=np.int64),
        "raw": pd.array([], dtype="str"),
        "reason": pd.array([], dtype="str"),
    }
)


def _message_kinds(texts: pa.Array, run: _Runner) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which texts match the notice, media and deleted patterns."""
    n = len(texts)
    if n <= _PY_MAX_ITEMS and texts.nbytes <= _PY_MAX_BYTES:
        # each distinct text once (chats repeat short texts and auto-replies)
        enc = pc.dictionary_encode(texts)
        flags = np.array(
            [
                (
                    _NOTICE_PY.match(text) is not None,
                    _maybe_media(text) and _MEDIA_PY.match(text) is not None,
                    _DELETED_PY.match(text) is not None,
                )
                for text in enc.dictionary.to_pylist()
            ],
            dtype=bool,
        ).reshape(-1, 3)[enc.indices.to_numpy(zero_copy_only=False)]
        return flags[:, 0], flags[:, 1], flags[:, 2]
    if texts.nbytes < _UNION_MIN_BYTES:  # compiling the union would cost more than it saves
        out = [run.bools(lambda x: pc.match_substring_regex(x, p), texts) for p in _KIND_RE2]
        return out[0], out[1], out[2]
    out = [np.zeros(n, dtype=bool) for _ in _KIND_RE2]
    hit = np.flatnonzero(run.bools(lambda x: pc.match_substring_regex(x, _KIND_ANY_RE2), texts))
    if len(hit):
        few = _take_every(texts, hit)
        for flags, pattern in zip(out, _KIND_RE2):
            got = pc.match_substring_regex(few, pattern).to_numpy(zero_copy_only=False)
            flags[hit] = np.asarray(got, dtype=bool)
    return out[0], out[1], out[2]


def _describe_layouts(layouts, order, overrides, infos, d_uniques) -> str:
    info_by_text = dict(zip(d_uniques, infos))
    parts = []
    for lay in sorted(layouts, key=lambda x: -x.count):
        m = lay.sample
        date = m["tdate"] if lay.time_first else m["date"]
        time = m["ttime"] if lay.time_first else m["time"]
        info = info_by_text.get(date) or _analyse_date(date)
        date_t = _date_template(date, info, overrides.get(_form(info), order))
        time_t = _time_template(time)
        kind = "ios" if "[" in m["lead"] else "android"
        if lay.time_first:
            body = f"{m['lead']}{time_t}{m['tdsep']}{date_t}"
        else:
            body = f"{m['lead']}{date_t}{m['dtsep']}{time_t}"
        sep = m["sep"].strip(_SP_CHARS)
        body = body + ("]" if sep == "]" else "")
        parts.append(f"{kind} {body.strip()}")
        if len(parts) == 3 and len(layouts) > 3:
            parts.append(f"+{len(layouts) - 3} more")
            break
    return " | ".join(parts)


def _date_template(date: str, info: _DateInfo, order: str) -> str:
    if info.error:
        return date
    if info.year_pos == 0 or (info.year_pos == -1 and order == "ymd"):
        roles = "ymd"
    elif info.year_pos == 1:
        roles = "myd" if order != "dmy" else "dym"
    else:
        roles = "dmy" if order == "dmy" else "mdy"
    out, k = [], 0
    for m in _DATE_TOKEN_PY.finditer(date):
        if m.group(2) is not None:
            out.append(("E" if m.group(1) else "") + roles[k] * len(m.group(2)))
            k += 1
        else:
            out.append(m.group(0))
    return "".join(out)


def _time_template(time: str) -> str:
    twelve = _TIME_PY.match(time)
    is12 = bool(twelve and (twelve["ap"] or twelve["ar"] or twelve["pre"]))
    letters = iter(["h" if is12 else "H", "m", "s"])
    out = []
    for m in _TIME_TOKEN_PY.finditer(time):
        if m.group(2):
            ch = next(letters, "?")
            out.append(ch * max(2, len(m.group(2))) if ch != "h" else "h")
        else:
            out.append(m.group(0))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Chat name from the file name
# --------------------------------------------------------------------------------------------
_CHAT_NAME_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^Chat WhatsApp dengan (?P<name>.+)$",
        r"^WhatsApp Chat with (?P<name>.+)$",
        r"^WhatsApp Chat - (?P<name>.+)$",
        r"^WhatsApp-Chat mit (?P<name>.+)$",
        r"^Chat de WhatsApp con (?P<name>.+)$",
        r"^Conversa do WhatsApp com (?P<name>.+)$",
        r"^Discussion WhatsApp avec (?P<name>.+)$",
    )
]


def chat_name_from_filename(name: str) -> str | None:
    """The chat name in an export's file name (``WhatsApp Chat with X.txt`` -> ``X``), else None.

    Works on a bare name or a path (either slash), ``.txt`` or ``.zip``; bidi marks are
    stripped, the result is NFC; a browser's duplicate suffix `` (1)`` is dropped.
    """
    base = re.split(r"[\\/]", str(name))[-1]
    base = unicodedata.normalize("NFC", base.translate(_INVISIBLE_TABLE)).strip()
    base = re.sub(r"\.(?:txt|zip)$", "", base, flags=re.IGNORECASE)
    base = re.sub(r" \(\d+\)$", "", base).strip()
    for pattern in _CHAT_NAME_PATTERNS:
        m = pattern.match(base)
        if m:
            found = m.group("name").strip()
            return found or None
    return None
