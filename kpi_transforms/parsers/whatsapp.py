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
4. dates and times are parsed once per *distinct* string (a file has few) and mapped back;
5. senders and texts are cut out of the byte buffer with offset arithmetic.

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
  changed, business account, blocked contact, disappearing messages, number changed; iOS
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
  > 12 month-first (source ``file``). If both occur (a file mixing locales) each date
  separator decides on its own when that is consistent, else the majority wins and the lines
  that do not fit are quarantined. When every day and month is <= 12 the file is ambiguous
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
import re
import unicodedata
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kpi_transforms.errors import RejectedFile

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
    sep = rf"(?:{sp}*\]{sp}*|{sp}*[-–:;]{sp}+|{sp}+)"
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
    r"|.+ (?:telah )?mengganti nomor (?:telepon|ponsel)nya)"
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
    head = a[:-2]
    e2 = np.flatnonzero(head == 0xE2)
    b1, b2 = a[e2 + 1], a[e2 + 2]
    hit = ((b1 == 0x80) & ((b2 == 0x8E) | (b2 == 0x8F) | ((b2 >= 0xAA) & (b2 <= 0xAE)))) | (
        (b1 == 0x81) & (b2 >= 0xA6) & (b2 <= 0xA9)
    )
    ef = np.flatnonzero(head == 0xEF)
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
class _Layout:
    sample: re.Match
    pattern: str  # RE2 with groups ``date``, ``time`` and ``sep``; "" when parsed line by line
    const_len: int  # bytes of the other literal parts (lead, date-time separator)
    time_first: bool
    count: int = 0


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


def _date_pattern(date: str) -> str:
    d = _digit_class(date)
    out = []
    for m in _DATE_TOKEN_PY.finditer(date):
        if m.group(2) is not None:
            out.append(("[MTSHR]" + d + "{1,2}") if m.group(1) else (d + "{1,4}"))
        else:
            out.append(_re2_literal(m.group(0)))
    return "".join(out)


def _time_pattern(time: str) -> str:
    d = _digit_class(time)
    out = []
    digit_runs = 0
    for m in _TIME_TOKEN_PY.finditer(time):
        if m.group(1):
            out.append("(?:" + "|".join(_AP_PREFIXES) + ")")
        elif m.group(2):  # hour 1-2 digits, minutes and seconds exactly 2
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
    return _Layout(m, "".join(pattern), const_len, time_first)


def _match_header_py(line: str) -> re.Match | None:
    """The reference header match of one line (no trailing newline), or None."""
    m = _GENERAL_PY.match(line)
    if m is None:
        return None
    if ("[" in m["lead"]) != ("]" in m["sep"]):
        return None
    return m


# --------------------------------------------------------------------------------------------
# Dates and times, parsed once per distinct string
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _DateInfo:
    values: tuple[int, int, int]
    widths: tuple[int, int, int]
    year_pos: int  # 0, 1, 2, or -1 when every field has at most 2 digits
    year: int | None  # the year of the year-like field (era / BE converted)
    sep: str
    error: str | None = None

    @property
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
    info = _DateInfo(tuple(values), tuple(widths), -1, year, sep)  # type: ignore[arg-type]
    n_year = sum(year_like)
    if n_year > 1:
        info.error = f"unreadable date {text!r} (more than one year-like field)"
    elif n_year == 1:
        info.year_pos = year_like.index(True)
    elif be:
        info.error = f"unreadable date {text!r} (Buddhist-era marker on a 2-digit year)"
    return info


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


def _resolve_order(
    infos: Sequence[_DateInfo], weights: np.ndarray, date_order: str, hint: str | None
) -> tuple[str, str, bool, dict[str, str]]:
    """Return (order, source, ambiguous, per-separator overrides)."""
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
            per_sep.setdefault(info.sep, {"dmy": 0, "mdy": 0})[ev] += int(w)
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
    if votes["dmy"] and votes["mdy"] and all(min(v.values()) == 0 for v in per_sep.values()):
        overrides = {sep: ("dmy" if v["dmy"] else "mdy") for sep, v in per_sep.items()}
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


def _spans_with_quotes(a: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Which byte spans ``[lo, hi)`` (sorted, disjoint) contain ``"``, ``“`` or ``”``."""
    straight = np.flatnonzero(a == 0x22)
    e2 = np.flatnonzero(a[:-2] == 0xE2) if len(a) >= 3 else np.empty(0, dtype=np.intp)
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


def _str_series(arr: pa.Array, *, na_value) -> pd.Series:
    dtype = pd.StringDtype("pyarrow", na_value=na_value)
    if len(arr) == 0:
        return pd.Series([], dtype=dtype)
    return arr.to_pandas(
        types_mapper=lambda t: dtype if t in (pa.string(), pa.large_string()) else None
    )


class _Lines:
    """The decoded file split into physical lines (byte offsets into one buffer)."""

    def __init__(self, raw: bytes, final_break: bool = True):
        self.raw = raw
        self.a = np.frombuffer(raw, dtype=np.uint8)
        self.buf = pa.py_buffer(raw)
        nl = np.flatnonzero(self.a == 10)
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
        subset = lines.array if remaining is None else _take_every(lines.array, remaining)
        got = run.halves(lambda x: pc.extract_regex(x, pattern=layout.pattern), subset)
        ok = np.asarray(got.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        if remaining is None:
            idx = np.flatnonzero(ok).astype(np.int64)
            remaining = _general_candidates(lines, np.flatnonzero(~ok).astype(np.int64))
        else:
            idx = remaining[ok]
            remaining = remaining[~ok]
        if len(idx) == 0:  # pragma: no cover - a layout always matches its own sample
            continue
        got = got.filter(pa.array(ok))
        date_arr, time_arr = got.field("date"), got.field("time")
        hdr_len = layout.const_len + sum(
            pc.binary_length(got.field(f)).to_numpy().astype(np.int64)
            for f in ("date", "time", "sep")
        )
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


def _general_candidates(lines: _Lines, idx: np.ndarray) -> np.ndarray:
    if len(idx) == 0:
        return idx
    hit = pc.match_substring_regex(_take_every(lines.array, idx), pattern=_GENERAL_RE2)
    return idx[np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)]


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
    senders_all = _views(_interleave(ls, bs, cp, end=len(raw)), lines.buf)
    senders = _take_every(senders_all, np.arange(len(h_idx), dtype=np.int64) * 3 + 1)
    bad_sender = (
        (cp == bs)
        | np.asarray(pc.utf8_is_space(senders).to_numpy(zero_copy_only=False), dtype=bool)
        | _spans_with_quotes(a, bs, cp)
    )
    sender_form = has_colon & ~bad_sender

    # a header whose separator is only a space must carry a sender, else it is text
    keep = ~(bare & ~sender_form)
    if not keep.all():
        sel = np.flatnonzero(keep)
        h_idx, hdr_len, bs, sender_form = h_idx[sel], hdr_len[sel], bs[sel], sender_form[sel]
        colon, colon_len, ls = colon[sel], colon_len[sel], ls[sel]
        dates = dates.take(pa.array(sel))
        times = times.take(pa.array(sel))
        senders = senders.take(pa.array(sel))
        if len(h_idx) == 0:
            first = lines.text(0)[:80]
            raise RejectedFile(f"no WhatsApp message header line found (first line: {first!r})")

    # ---- dates and times, once per distinct string ----------------------------------------
    d_enc = pc.dictionary_encode(dates)
    d_codes = d_enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    d_uniques = d_enc.dictionary.to_pylist()
    infos = [_analyse_date(s) for s in d_uniques]
    weights = np.bincount(d_codes, minlength=len(d_uniques))
    order, source, ambiguous, overrides = _resolve_order(infos, weights, date_order, hint)
    d_days = np.zeros(len(d_uniques), dtype=np.int64)
    d_err: list[str | None] = []
    for k, (info, text) in enumerate(zip(infos, d_uniques)):
        days, err = _resolve_date(info, overrides.get(info.sep, order), text)
        d_days[k] = days
        d_err.append(err)
    d_bad = np.array([e is not None for e in d_err], dtype=bool)

    t_enc = pc.dictionary_encode(times)
    t_codes = t_enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    t_uniques = t_enc.dictionary.to_pylist()
    t_secs = np.zeros(len(t_uniques), dtype=np.int64)
    t_err: list[str | None] = []
    for k, text in enumerate(t_uniques):
        secs, err = _parse_time(text)
        t_secs[k] = secs
        t_err.append(err)
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
    gs = lines.starts[g_start_line]
    ts = np.where(sender_form, colon + colon_len, bs)
    ts = np.where(valid, ts, gs)
    texts_all = _views(_interleave(gs, ts, end=len(raw)), lines.buf)
    v_idx = np.flatnonzero(valid)
    texts = run.halves(pc.utf8_rtrim_whitespace, _take_every(texts_all, v_idx * 2 + 1))
    v_sender_form = sender_form[v_idx]
    v_senders = senders.take(pa.array(v_idx))

    # ---- message types ---------------------------------------------------------------------
    mtype = np.full(len(v_idx), _TEXT, dtype=np.int8)
    notice = run.bools(lambda x: pc.match_substring_regex(x, _SYSTEM_NOTICE_RE2), texts)
    system = ~v_sender_form | (v_sender_form & notice)
    media = run.bools(lambda x: pc.match_substring_regex(x, _MEDIA_RE2), texts)
    deleted = run.bools(lambda x: pc.match_substring_regex(x, _DELETED_RE2), texts)
    mtype[media] = _MEDIA
    mtype[deleted] = _DELETED
    mtype[system] = _SYSTEM

    secs = (d_days[d_codes[v_idx]] * 86400 + t_secs[t_codes[v_idx]]) * 1_000_000
    sender_col = _str_series(
        pc.if_else(pa.array(system), pa.scalar(None, pa.large_string()), v_senders),
        na_value=pd.NA,
    )
    text_col = _str_series(texts, na_value=np.nan)
    relabel = np.flatnonzero(v_sender_form & notice)
    if len(relabel):  # a notice behind "Chat name: " keeps that prefix in its text
        prefixed = [
            f"{s}{':' if colon_len[v_idx[k]] == 1 else ': '}{t}"
            for k, s, t in zip(
                relabel.tolist(),
                v_senders.take(pa.array(relabel)).to_pylist(),
                texts.take(pa.array(relabel)).to_pylist(),
            )
        ]
        text_col = text_col.copy()
        text_col.iloc[relabel] = prefixed
    messages = pd.DataFrame(
        {
            "local_ts": pd.Series(secs.view("datetime64[us]")),
            "sender": sender_col,
            "text": text_col,
            "message_type": _str_series(
                _MESSAGE_TYPES.take(pa.array(mtype)), na_value=np.nan
            ),
            "source_line": pd.Series(g_start_line[v_idx] + 1, dtype="int64"),
            "n_lines": pd.Series(g_nlines[v_idx], dtype="int64"),
        }
    )

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
    rejected = pd.DataFrame(
        {
            "source_line": pd.Series(np.array(q_lines, dtype=np.int64) + 1, dtype="int64"),
            "raw": pd.Series([lines.text(i)[:500] for i in q_lines], dtype="str"),
            "reason": pd.Series(q_reasons, dtype="str"),
        }
    )

    header_lines = int(len(v_idx))
    continuation_lines = int(g_nlines[v_idx].sum() - header_lines)
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


def _describe_layouts(layouts, order, overrides, infos, d_uniques) -> str:
    info_by_text = dict(zip(d_uniques, infos))
    parts = []
    for lay in sorted(layouts, key=lambda x: -x.count):
        m = lay.sample
        date = m["tdate"] if lay.time_first else m["date"]
        time = m["ttime"] if lay.time_first else m["time"]
        info = info_by_text.get(date) or _analyse_date(date)
        date_t = _date_template(date, info, overrides.get(info.sep, order))
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
