"""E-mail input (SPEC 3): ``.mbox`` files and ``.eml`` messages -> threads of raw messages.

Built on the standard library: :mod:`email` with ``policy.default`` decodes headers (RFC 2047
encoded words, RFC 2231 parameters), MIME structure and transfer encodings; :mod:`html.parser`
turns HTML-only bodies into text. Nothing here touches the warehouse.

* **Splitting an mbox.** A message starts at a ``From `` line that looks like an mbox From_
  line (``From <sender> <asctime date>``), the rule of :class:`mailbox.mbox` plus a date check,
  so an unescaped "From time to time" inside a body does not start a bogus message. We split
  the bytes ourselves (rather than through :class:`mailbox.mbox`, which needs a file on disk
  and hides offsets) to keep each message's first line number for the audit trail; ``>From``
  escapes (mboxrd) are undone.
* **Threads.** Messages are linked through ``Message-ID`` / ``In-Reply-To`` / ``References``
  (a union of every id a message names, so a chain whose root is missing from the file is
  still one thread). A message that names no other message falls back to its normalised
  subject plus a shared non-company participant. The thread key is the root id of the
  thread's earliest message (first ``References`` id, else ``In-Reply-To``, else its own id),
  so the later messages of a chain exported in another file land in the same thread.
* **Sides.** Agent = an address of the roster (``agents[].emails``) or of a
  ``company_domains`` domain; everyone else is the customer. The thread's customer is the
  first customer-side sender, else the first non-agent recipient (lower-cased address).
* **New content only.** Quoted lines (``>``), quote headers ("On ... wrote:", "Pada ...
  menulis:"), Outlook header blocks (``From:/Sent:``, ``Dari:/Dikirim:``), "-----Original
  Message-----" and everything after a signature delimiter (``-- ``, "Sent from my iPhone",
  "Dikirim dari ...") are not counted as the message's text.
* **Attachments.** A message with new text is ``text`` with ``[attachment: a.pdf, b.jpg]``
  appended; a message with attachments and no new text is ``media``. Inline images embedded
  by Content-ID (signature logos) are not counted.
* **Time.** ``Date`` (RFC 5322 comments tolerated; a zone-less date is read as UTC) -> UTC ->
  local wall-clock time of the configured zone. Without a usable ``Date``: the newest
  ``Received`` hop, else the mbox From_ line (UTC). A message with no time, or with neither
  a sender nor a time, is quarantined with its position (mbox line or message index).
* **Auto replies and bounces.** ``Auto-Submitted`` (other than ``no``), ``X-Autoreply``,
  ``X-Autorespond`` and ``Precedence: auto_reply`` mark auto replies (``is_auto_reply``: a
  bot message for queues); delivery reports (``multipart/report``, MAILER-DAEMON,
  postmaster) are ``system`` lines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.header
import email.utils
import hashlib
import re
import zoneinfo
from collections.abc import Iterable
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser

import numpy as np
import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.identity import Roster
from kpi_transforms.sources.base import ChatThread, ParseContext, ParseResult, Source

CHANNEL = "email"

# -------------------------------------------------------------------------------------------
# mbox splitting
# -------------------------------------------------------------------------------------------

_FROM_LINE = re.compile(
    rb"^From \S*\s+(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*,?\s+)?(?:\w{3}\s+\d{1,2}|\d{1,2}\s+\w{3})"
    rb"\s+\d{1,2}:\d\d(?::\d\d)?(?:\s+\S+)?\s+\d{4}"
)
_MBOXRD_ESCAPE = re.compile(rb"^>(>*From )", re.M)


@dataclasses.dataclass
class RawMessage:
    """One message's bytes and where it sits in its file."""

    index: int  # 1-based position in the file
    line: int  # 1-based line of its first line (the From_ line in an mbox)
    data: bytes
    from_line: str | None = None  # the mbox From_ line, if any


def looks_like_mbox(data: bytes) -> bool:
    """True when the data starts (after blank lines) with an mbox From_ line."""
    head = data.lstrip(b" \t\r\n")[:300]
    return bool(_FROM_LINE.match(head))


def split_mbox(data: bytes) -> list[RawMessage]:
    """The messages of an mbox, each with its first line number. Text before the first
    From_ line (if any) is returned as message 0 only when it is not blank."""
    lines = data.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith(b"From ") and _FROM_LINE.match(line)]
    out: list[RawMessage] = []
    if not starts:
        return [RawMessage(1, 1, data)] if data.strip() else []
    if b"".join(lines[: starts[0]]).strip():
        out.append(RawMessage(0, 1, b"".join(lines[: starts[0]])))
    bounds = starts + [len(lines)]
    for n, (a, b) in enumerate(zip(bounds, bounds[1:]), start=1):
        body = b"".join(lines[a + 1 : b])
        body = _MBOXRD_ESCAPE.sub(rb"\1", body)
        from_line = lines[a].rstrip(b"\r\n").decode("latin-1")
        out.append(RawMessage(n, a + 1, body, from_line))
    return out


# -------------------------------------------------------------------------------------------
# Header helpers
# -------------------------------------------------------------------------------------------

_ID_IN_BRACKETS = re.compile(r"<([^<>]*)>")
_COMMENT = re.compile(r"\([^()]*\)")


def parse_msg_ids(value: str | None, *, strict: bool = False) -> list[str]:
    """Message ids of a ``Message-ID`` / ``In-Reply-To`` / ``References`` value, in order,
    without angle brackets. Ids without brackets are accepted (whitespace-separated tokens;
    with ``strict`` only tokens containing ``@``, so an old-style ``In-Reply-To: "X"'s message
    of "date"`` names no message); ``<>`` gives nothing; a blank line ends the value (as it
    ends a header)."""
    if value is None:
        return []
    text = str(value)
    text = re.split(r"\r?\n[ \t]*\r?\n", text, maxsplit=1)[0]
    found = [m.strip() for m in _ID_IN_BRACKETS.findall(text)]
    if found:
        return [i for i in found if i]
    tokens = [tok for tok in text.split() if tok]
    if strict:
        tokens = [tok for tok in tokens if "@" in tok and not tok.startswith(('"', "'"))]
    return tokens


def _strip_comments(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, _COMMENT.sub(" ", text)
    return text


def parse_date(value: str | None) -> dt.datetime | None:
    """An RFC 5322 date (comments and obsolete zones tolerated) as an aware UTC datetime;
    ``None`` if unreadable. A date without a usable zone is read as UTC. A ``Received``
    value (``... ; date``) is accepted too."""
    if value is None:
        return None
    text = re.split(r"\r?\n(?![ \t])", str(value).strip("\r\n"))[0]  # an unfolded line break ends it
    text = " ".join(text.split())
    if ";" in text:
        text = text.rsplit(";", 1)[1]
    for candidate in (text, _strip_comments(text)):
        try:
            parsed = email.utils.parsedate_to_datetime(candidate.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if parsed is None:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        try:
            return parsed.astimezone(dt.timezone.utc)
        except (OverflowError, ValueError):
            return None
    return None


def _from_line_date(from_line: str | None) -> dt.datetime | None:
    """The asctime date of an mbox From_ line (``From sender Sun Aug  7 11:40:37 2022``), UTC."""
    if not from_line:
        return None
    match = re.search(r"(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d)(?::(\d\d))?(?:\s+\S+)?\s+(\d{4})", from_line)
    if not match:
        return None
    mon, day, hh, mm, ss, year = match.groups()
    try:
        month = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"].index(mon.lower()) + 1
        return dt.datetime(int(year), month, int(day), int(hh), int(mm), int(ss or 0), tzinfo=dt.timezone.utc)
    except ValueError:
        return None


_REPLY_PREFIX = re.compile(
    r"^\s*((?:\[[^\]]{0,60}\]\s*)*)"
    r"(?:re|fwd?|fw|aw|wg|sv|vs|tr|antw|rif|r|bls|balas|trs|tl|ref)\s*(?:\[\d+\]|\(\d+\)|\^\d+)?\s*[:：]\s*",
    re.IGNORECASE,
)


def normalise_subject(subject: str | None) -> str:
    """A subject without reply / forward prefixes (Re:, RE:, Fwd:, FW:, AW:, Bls:, Balas:, R:,
    repeated or behind a ``[list]`` tag), whitespace collapsed; display case kept."""
    text = " ".join(str(subject or "").split())
    while True:
        match = _REPLY_PREFIX.match(text)
        if not match:
            break
        text = (match.group(1) + text[match.end():]).strip()
    return text


def _header(msg: EmailMessage, name: str) -> str | None:
    """A header as decoded text; falls back to the raw value when the structured parser of
    ``policy.default`` fails on a malformed header."""
    try:
        value = msg.get(name)
        return None if value is None else str(value)
    except Exception:  # noqa: BLE001 - malformed header: fall back to a plain decode
        for key, raw in msg.raw_items():
            if key.lower() == name.lower():
                try:
                    return str(email.header.make_header(email.header.decode_header(raw)))
                except Exception:  # noqa: BLE001
                    return str(raw)
        return None


def _addresses(msg: EmailMessage, *names: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) of the given address headers, in order."""
    out: list[tuple[str, str]] = []
    for name in names:
        try:
            headers = msg.get_all(name) or []
            for header in headers:
                addresses = getattr(header, "addresses", None)
                if addresses is None:
                    raise ValueError("unstructured")
                for address in addresses:
                    if address.addr_spec and "@" in address.addr_spec:
                        out.append((address.display_name or "", address.addr_spec.lower()))
        except Exception:  # noqa: BLE001 - malformed address header: lenient fallback
            raw = [str(v) for k, v in msg.raw_items() if k.lower() == name.lower()]
            for display, addr in email.utils.getaddresses(raw):
                if addr and "@" in addr:
                    try:
                        display = str(email.header.make_header(email.header.decode_header(display)))
                    except Exception:  # noqa: BLE001
                        pass
                    out.append((display, addr.lower()))
    return out


# -------------------------------------------------------------------------------------------
# Bodies: HTML to text, new content only
# -------------------------------------------------------------------------------------------

_BLOCK = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre", "section", "article", "header", "footer", "blockquote"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "param", "source", "track", "wbr"}
_SKIP_TAGS = {"script", "style", "head", "title", "blockquote", "template"}
_SKIP_CLASSES = re.compile(r"gmail_quote|gmail_signature|yahoo_quoted|moz-cite-prefix|moz-signature|x_gmail_quote|divRplyFwdMsg|appendonsend|OutlookMessageHeader", re.I)


class _TextExtractor(HTMLParser):
    """Visible text of an HTML body; quoted blocks and marked signatures are left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_stack: list[str] = []  # tag names of open skipped elements (nesting)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.lower()
        if self.skip_stack:
            if tag not in _VOID:
                self.skip_stack.append(tag)
            return
        marks = " ".join(v or "" for k, v in attrs if k in ("class", "id", "data-smartmail"))
        if tag in _SKIP_TAGS or (marks and _SKIP_CLASSES.search(marks)):
            if tag not in _VOID:
                self.skip_stack.append(tag)
            return
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skip_stack and tag.lower() in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        tag = tag.lower()
        if self.skip_stack:
            # close up to the matching open tag (tolerates unclosed inner tags)
            if tag in self.skip_stack:
                while self.skip_stack:
                    if self.skip_stack.pop() == tag:
                        break
            return
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip_stack:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML body (``html.parser``): block elements become line breaks,
    runs of spaces collapse, quoted ``<blockquote>`` / Gmail / Outlook quote containers and
    marked signatures are dropped."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; keep what was read
        pass
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_QUOTE_HEADER = re.compile(
    r"^[ \t]*(?:On|Pada|Le|Am|El|Il|Op)\s(?:[^\n]*\S[^\n]*\n){0,2}?[^\n]*"
    r"(?:wrote|menulis|a écrit|schrieb|escribió|ha scritto|schreef)\s*:[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_ATTRIBUTION = re.compile(r"^[^>\n]{1,120}(?:wrote|menulis|writes|schrieb)\s*:[ \t]*$", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^[ \t]*-{2,}\s*(?:Original Message|Pesan Asli|Ursprüngliche Nachricht|Message d'origine|Mensaje original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^[ \t]*\*?(?:From|Dari|Von|De|Van)\s*:\*?\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^[ \t]*\*?(?:Sent|Date|Dikirim|Terkirim|Tanggal|Gesendet|Envoyé|Enviado|To|Kepada|Subject|Subjek|Perihal)\s*:\*?\s", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^[ \t]*(?:Sent from my\b|Sent from (?:Mail|Yahoo|Outlook|Samsung|my)\b|Sent with\b|Get Outlook for\b|"
    r"Dikirim dari\b|Dikirim melalui\b|Kirim dari\b|Terkirim dari\b|Diketik dari\b)[^\n]{0,70}$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^[ \t]*[-_=*]{2,}[ \t]*$")
_UNDERSCORES = re.compile(r"^[ \t]*_{2,}[ \t]*$")


def new_content(body: str) -> str:
    """The part of a plain-text body the sender wrote now: quoted lines, quote headers,
    Outlook header blocks, "Original Message" blocks and signatures removed."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    n = len(lines)
    drop = [False] * n
    cut = n

    # quote headers: drop when followed by '>' lines (interleaved replies), else cut there
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for match in _QUOTE_HEADER.finditer(text):
        first = _line_at(offsets, match.start())
        last = _line_at(offsets, max(match.end() - 1, match.start()))
        if first >= cut:
            break
        nxt = last + 1
        while nxt < n and not lines[nxt].strip():
            nxt += 1
        if nxt < n and lines[nxt].lstrip().startswith(">"):
            for i in range(first, last + 1):
                drop[i] = True
        else:
            cut = min(cut, first)
            break

    # "X wrote:" attribution lines directly above quoted lines (any wording before 'wrote:')
    for i, line in enumerate(lines[:cut]):
        if not drop[i] and _ATTRIBUTION.match(line):
            nxt = i + 1
            while nxt < n and not lines[nxt].strip():
                nxt += 1
            if nxt < n and lines[nxt].lstrip().startswith(">"):
                drop[i] = True

    for i, line in enumerate(lines[:cut]):
        stripped = line.rstrip()
        if _ORIGINAL.match(line):
            cut = i
            break
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_NEXT.match(x) for x in lines[i + 1 : i + 5]):
            cut = i
            break
        if stripped in ("--", "-- ") or line == "-- " or _UNDERSCORES.match(line):
            cut = i
            break
        if _SIGNATURE.match(line):
            cut = i
            break

    kept = [line for i, line in enumerate(lines[:cut]) if not drop[i] and not line.lstrip().startswith(">")]
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1])):
        kept.pop()
    out = "\n".join(line.rstrip() for line in kept)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def _line_at(offsets: list[int], pos: int) -> int:
    import bisect

    return bisect.bisect_right(offsets, pos) - 1


# -------------------------------------------------------------------------------------------
# One message
@dataclasses.dataclass
class EmailRecord:
    """What the pipeline keeps of one e-mail."""

    index: int
    line: int
    message_id: str
    refs: list[str]  # References ids then In-Reply-To ids, in order, without duplicates
    root_id: str
    subject: str
    sender_name: str
    sender: str | None  # lower-cased address
    recipients: list[str]
    sent_at: dt.datetime | None  # UTC
    time_source: str
    text: str
    attachments: list[str]
    is_auto_reply: bool
    is_system: bool


def _parts(msg: EmailMessage) -> tuple[list[str], list[str], list[str]]:
    """(plain texts, html texts, attachment names) of the body, choosing the best alternative
    of each ``multipart/alternative``."""
    plain: list[str] = []
    html: list[str] = []
    attachments: list[str] = []

    def content(part: EmailMessage) -> str:
        try:
            return part.get_content()
        except Exception:  # noqa: BLE001 - unknown charset / broken encoding: decode leniently
            payload = part.get_payload(decode=True) or b""
            return payload.decode(part.get_content_charset() or "utf-8", errors="replace") if isinstance(payload, bytes) else str(payload)

    def walk(part: EmailMessage) -> None:
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        try:
            filename = part.get_filename()
        except Exception:  # noqa: BLE001
            filename = None
        if part.is_multipart():
            subparts = list(part.iter_parts())
            if ctype == "multipart/alternative" and subparts:
                ranked = sorted(
                    subparts,
                    key=lambda p: {"text/plain": 0, "text/html": 1}.get(p.get_content_type(), 2 if not p.is_multipart() else 1),
                )
                plains = [p for p in subparts if p.get_content_type() == "text/plain"]
                walk(plains[0] if plains else ranked[0])
                return
            if ctype == "multipart/report":
                for sub in subparts[:1]:
                    walk(sub)
                return
            for sub in subparts:
                walk(sub)
            return
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else inner
            subject = ""
            if isinstance(inner_msg, EmailMessage):
                subject = _header(inner_msg, "Subject") or ""
            attachments.append(f"message: {subject}".strip() if subject else "message")
            return
        if ctype in ("message/delivery-status", "application/pgp-signature", "application/pkcs7-signature"):
            return
        if ctype.startswith("multipart/"):
            return  # a multipart whose boundary was not found (a parse defect): nothing readable
        embedded = part.get("Content-ID") is not None and disposition != "attachment"
        if disposition == "attachment" or filename or not ctype.startswith("text/"):
            if not embedded:
                attachments.append(filename or ctype)
            return
        if ctype == "text/html":
            html.append(content(part))
        else:
            plain.append(content(part))

    walk(msg)
    return plain, html, attachments


def _is_auto(msg: EmailMessage) -> bool:
    auto = (_header(msg, "Auto-Submitted") or "").strip().lower()
    if auto and auto != "no":
        return True
    if msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None:
        return True
    precedence = (_header(msg, "Precedence") or "").strip().lower()
    return precedence == "auto_reply"


def _is_bounce(msg: EmailMessage, sender: str | None) -> bool:
    if msg.get_content_type() == "multipart/report":
        return True
    local = (sender or "").split("@")[0]
    return local in ("mailer-daemon", "postmaster")


def parse_message(raw: RawMessage) -> EmailRecord:
    """Decode one message. Raises ``ValueError`` with a reason when it is not usable."""
    msg = email.message_from_bytes(raw.data, policy=policy.default)
    senders = _addresses(msg, "From") or _addresses(msg, "Sender") or _addresses(msg, "Reply-To")
    sender_name, sender = (senders[0] if senders else ("", None))
    if sender is None:
        sender_name = (_header(msg, "From") or "").strip()
    sent_at = parse_date(_header(msg, "Date"))
    time_source = "Date"
    if sent_at is None:
        received = msg.get_all("Received") or []
        for value in received:
            sent_at = parse_date(str(value))
            if sent_at is not None:
                time_source = "Received"
                break
    if sent_at is None:
        sent_at = _from_line_date(raw.from_line)
        time_source = "mbox From_ line"
    if not any(True for _ in msg.raw_items()):
        raise ValueError("not an e-mail message: no header lines")
    problems = []
    if not sender and not sender_name:
        problems.append("no From header")
    if sent_at is None:
        problems.append("no usable Date header (nor a Received hop or an mbox From_ line date)")
    if problems:
        raise ValueError("; ".join(problems))
    own_ids = parse_msg_ids(_header(msg, "Message-ID"))
    refs = parse_msg_ids(_header(msg, "References"), strict=True) + parse_msg_ids(_header(msg, "In-Reply-To"), strict=True)
    refs = list(dict.fromkeys(r for r in refs if r not in own_ids[:1]))
    subject = _header(msg, "Subject") or ""
    if own_ids:
        message_id = own_ids[0]
    else:
        digest = hashlib.sha256(f"{sender}|{sent_at.isoformat()}|{subject}".encode()).hexdigest()[:24]
        message_id = f"{digest}@chatkpi.invalid"
    root_id = refs[0] if refs else message_id
    plain, html, attachments = _parts(msg)
    if plain:
        body = "\n\n".join(p for p in plain if p)
    else:
        body = "\n\n".join(html_to_text(h) for h in html if h)
    recipients = [addr for _n, addr in _addresses(msg, "To", "Cc")]
    return EmailRecord(
        index=raw.index, line=raw.line, message_id=message_id, refs=refs, root_id=root_id,
        subject=" ".join(subject.split()), sender_name=sender_name, sender=sender, recipients=recipients,
        sent_at=sent_at, time_source=time_source, text=new_content(body), attachments=attachments,
        is_auto_reply=_is_auto(msg), is_system=_is_bounce(msg, sender),
    )


# -------------------------------------------------------------------------------------------
# Threads
class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:  # path compression
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclasses.dataclass(frozen=True)
class Sides:
    """Who is the business: roster addresses and company domains."""

    roster: Roster
    domains: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Config, roster: Roster | None = None) -> "Sides":
        return cls(roster or Roster.from_config(config), tuple(d.lower() for d in config.company_domains))

    def agent_id(self, address: str | None) -> str | None:
        return self.roster.by_email.get(address or "") if address else None

    def is_agent(self, address: str | None) -> bool:
        if not address:
            return False
        if address in self.roster.by_email:
            return True
        domain = address.rsplit("@", 1)[-1]
        return any(domain == d or domain.endswith("." + d) for d in self.domains)


_SUBJECT_KEY_SEP = "\x1f"


def subject_keys(rec: EmailRecord, sides: Sides) -> list[str]:
    """The subject + person keys that join a message naming no other message to a thread:
    ``subject:<normalised, case-folded subject>|<non-company participant>``."""
    if rec.refs:
        return []
    subject = normalise_subject(rec.subject).casefold()
    if not subject:
        return []
    people = [a for a in [rec.sender, *rec.recipients] if a and not sides.is_agent(a)]
    return [f"subject:{subject}|{person}" for person in dict.fromkeys(people)]


def thread_records(records: list[EmailRecord], sides: Sides) -> list[list[EmailRecord]]:
    """Group messages into threads (see the module docstring); each thread in time order,
    threads ordered by their first message."""
    uf = _UnionFind()
    for rec in records:
        node = "id:" + rec.message_id
        uf.find(node)
        for ref in rec.refs:
            uf.union(node, "id:" + ref)
        for key in subject_keys(rec, sides):
            uf.union(node, key)
    groups: dict[str, list[EmailRecord]] = {}
    for rec in records:
        groups.setdefault(uf.find("id:" + rec.message_id), []).append(rec)
    threads = [sorted(g, key=lambda r: (r.sent_at, r.index)) for g in groups.values()]
    threads.sort(key=lambda g: (g[0].sent_at, g[0].index))
    return threads


def _customer(thread: list[EmailRecord], sides: Sides) -> str | None:
    for rec in thread:
        if rec.sender and not sides.is_agent(rec.sender) and not rec.is_system:
            return rec.sender
    for rec in thread:
        for addr in rec.recipients:
            if not sides.is_agent(addr):
                return addr
    return None


# -------------------------------------------------------------------------------------------
# File -> raw frames
@dataclasses.dataclass
class ParsedEmail:
    threads: list[tuple[str, str, pd.DataFrame]]  # ("email", thread name, raw messages)
    rejected: pd.DataFrame  # source_line, raw, reason
    records: list[EmailRecord]
    messages_read: int
    lines_read: int
    kind: str  # mbox | eml


def display_address(name: str | None, address: str) -> str:
    """``Name <address>`` as a person reads it: the decoded display name (``François
    Boulogne``, not ``=?utf-8?q?Fran=C3=A7ois...?=``: ``formataddr`` re-encodes non-ASCII
    names for the wire), quoted only when it holds address specials; the bare address when
    there is no name."""
    name = str(name or "")
    if not name.strip():
        return address
    if any(ch in name for ch in '()<>@,;:\\".[]'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def _attachment_note(names: Iterable[str]) -> str:
    return "[attachment: " + ", ".join(names) + "]"


_STRING_COLUMNS = frozenset({"sender", "text", "message_type", "sender_role", "agent_id", "customer_id", "thread_key",
                             "email_message_id", "email_refs", "email_subject_keys", "email_root", "email_subject",
                             "email_customer_sender", "email_customer_recipient"})


def _typed_frame(rows: list[dict]) -> pd.DataFrame:
    """The raw frame of a thread's rows, each column built once in its final type (a frame of
    object columns converted column by column cost ~4 ms a file)."""
    columns = {}
    for col in rows[0]:
        values = [row[col] for row in rows]
        if col == "local_ts":
            columns[col] = pd.Series(values).astype("datetime64[us]")
        elif col in _STRING_COLUMNS:
            columns[col] = pd.array(values, dtype="string")
        elif col == "source_line":
            columns[col] = np.array(values, dtype="int64")
        elif col == "is_auto_reply":
            columns[col] = np.array(values, dtype=bool)
        else:
            columns[col] = values
    return pd.DataFrame(columns)


def parse_email(data: bytes, config: Config, *, kind: str | None = None, roster: Roster | None = None) -> ParsedEmail:
    """Parse an mbox or a single message into threads of raw messages (for
    :func:`kpi_transforms.model.canonical_messages`) plus quarantined messages.

    ``kind`` is ``mbox`` or ``eml``; by default an input starting with a From_ line is an mbox.
    ``source_line`` of a message is the line its From_ line is on (1 for a single message).
    """
    kind = kind or ("mbox" if looks_like_mbox(data) else "eml")
    raws = split_mbox(data) if kind == "mbox" else ([RawMessage(1, 1, data)] if data.strip() else [])
    sides = Sides.from_config(config, roster)
    tz = zoneinfo.ZoneInfo(config.timezone)
    records: list[EmailRecord] = []
    rejected: list[dict] = []
    for raw in raws:
        if raw.index == 0:
            rejected.append({"source_line": raw.line, "raw": raw.data[:500].decode("utf-8", "replace"),
                             "reason": "text before the first mbox From_ line"})
            continue
        try:
            records.append(parse_message(raw))
        except Exception as exc:  # noqa: BLE001 - one broken message never stops the file
            reason = str(exc) if isinstance(exc, ValueError) else f"cannot parse message: {type(exc).__name__}: {exc}"
            where = f"message {raw.index}" if kind == "mbox" else "message"
            rejected.append({"source_line": raw.line, "raw": raw.data[:500].decode("utf-8", "replace"),
                             "reason": f"{where}: {reason}"})

    threads: list[tuple[str, str, pd.DataFrame]] = []
    for group in thread_records(records, sides):
        customer = _customer(group, sides)
        first = group[0]
        name = normalise_subject(first.subject) or "(no subject)"
        rows = []
        for rec in group:
            agent_side = sides.is_agent(rec.sender)
            if rec.is_system:
                role, mtype = "system", "system"
            else:
                role = "agent" if agent_side else "customer"
                mtype = "text" if rec.text or not rec.attachments else "media"
            text = rec.text
            if rec.attachments:
                text = (text + "\n" + _attachment_note(rec.attachments)) if text else _attachment_note(rec.attachments)
            display = display_address(rec.sender_name, rec.sender) if rec.sender else (rec.sender_name or None)
            rows.append(
                {
                    "local_ts": pd.Timestamp(rec.sent_at.astimezone(tz).replace(tzinfo=None)),
                    "sender": display,
                    "text": text,
                    "message_type": mtype,
                    "source_line": rec.line,
                    "sender_role": role,
                    "is_auto_reply": bool(rec.is_auto_reply and not rec.is_system),
                    "agent_id": sides.agent_id(rec.sender) if agent_side else None,
                    "customer_id": customer,
                    "thread_key": "email:" + first.root_id,
                    "email_message_id": rec.message_id,
                    # what cross-file threading needs (kpi_transforms.pipeline.email_threads)
                    "email_refs": " ".join(rec.refs),
                    "email_subject_keys": _SUBJECT_KEY_SEP.join(subject_keys(rec, sides)),
                    "email_root": rec.root_id,
                    "email_subject": normalise_subject(rec.subject),
                    "email_customer_sender": rec.sender if (rec.sender and not agent_side and not rec.is_system) else None,
                    "email_customer_recipient": next((a for a in rec.recipients if not sides.is_agent(a)), None),
                }
            )
        frame = _typed_frame(rows)
        # thread order = time, then file position (canonical_messages keeps this order)
        if len(frame) > 1:
            frame = frame.sort_values(["local_ts", "source_line"], kind="stable").reset_index(drop=True)
        threads.append((CHANNEL, name, frame))
    rejected_frame = pd.DataFrame(rejected, columns=["source_line", "raw", "reason"])
    rejected_frame["source_line"] = rejected_frame["source_line"].astype("int64")
    return ParsedEmail(
        threads=threads, rejected=rejected_frame, records=records, messages_read=len(records),
        lines_read=data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1), kind=kind,
    )


def _parse_source(data: bytes, context: ParseContext) -> ParseResult:
    parsed = parse_email(data, context.config, kind="eml" if context.suffix == ".eml" else "mbox", roster=context.roster)
    if not parsed.records:
        reason = parsed.rejected["reason"].iloc[0] if len(parsed.rejected) else "no e-mail message"
        raise RejectedFile(f"no usable e-mail message: {reason}")
    threads = [ChatThread(*t) for t in parsed.threads]
    return ParseResult(
        layout=parsed.kind, threads=threads, rejected=parsed.rejected, lines_read=parsed.lines_read,
        header_lines=parsed.messages_read, quarantined_lines=len(parsed.rejected), messages_read=parsed.messages_read,
        chat_name=threads[0].name if len(threads) == 1 else None,
    )


SOURCE = Source(name="email", label="e-mail file", suffixes=(".mbox", ".eml"), parse=_parse_source)
