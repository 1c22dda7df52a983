"""WhatsApp Business Platform (Cloud API) webhook archives -> threads of raw messages.

A webhook receiver stores what Meta POSTs: one payload per line (``.jsonl``) or one payload per
file (``.json``; a JSON array of payloads is accepted too). Each payload is the documented
envelope ``{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field",
"value"}]}]}``. This module maps the changes of field ``messages`` (``value.messages`` from
customers, ``value.statuses`` of the business's own messages) and ``smb_message_echoes``
(``value.message_echoes``: what the business sent from the WhatsApp Business app) to the raw
message frame of :func:`kpi_transforms.sources.canonical.canonical_messages`, one frame per thread, like the
e-mail and marketplace parsers (``ParsedCloud.threads``). Nothing here touches the warehouse.

Definitions (copied to docs/DECISIONS.md, "WhatsApp Business Platform webhooks"):

* **Thread.** One thread per customer: the customer's ``wa_id`` normalised as a phone number
  (``+6281234567890``) is the customer key, and the thread name is that number written the way
  WhatsApp shows an unsaved contact (libphonenumber's international format, ``+62 812-3456-7890``),
  so ``Chat WhatsApp dengan +62 812-3456-7890.txt`` exported from the business phone lands in the
  same thread. ``thread_aliases`` apply as for exports. Group messages (``group_id``) form one
  thread per group.
* **Time.** ``timestamp`` is UTC epoch seconds; ``local_ts`` is its wall-clock time in the
  configured zone.
* **Customer messages.** ``text`` is its body; media become markers with the caption on the
  next line (``[gambar]``, ``[video]``, ``[audio]``, ``[pesan suara]``, ``[dokumen: a.pdf]``,
  ``[stiker]``), ``location`` / ``contacts`` one-line summaries; button and list replies are the
  title the customer tapped; an ``unsupported`` (or unknown) type is a ``media`` message
  ``[pesan tidak didukung: <type>]`` - the customer did write, so a reply is still owed.
  Reactions and ``system`` changes (number changed, ...) are ``system`` lines.
* **Business messages.** An echo (``smb_message_echoes``) gives the business's text. Without an
  echo, the first ``sent`` status of an outgoing message id becomes an agent message at the
  status time whose text is ``[pesan keluar]`` (``[pesan keluar: template <category>]`` when the
  pricing category is a template category); webhooks never carry the body of a message sent
  through the API. A ``failed`` status is a ``system`` line ``[pesan gagal terkirim: ...]``.
  ``delivered`` / ``read`` / ``played`` statuses are not messages. The agent is
  ``CloudOptions.agent_by_phone_number`` (business phone-number id or display number), else the
  roster entry whose phone is the business number, else ``CloudOptions.default_agent_id``.
* **Duplicates.** Meta retries a webhook until it is acknowledged, so the same message, echo or
  status may be stored twice: within a file the first copy by message id (statuses by id and
  status) is kept; across files the deterministic ``message_id`` makes the repeats equal.
* **Bad input.** A line that is not JSON, not a WhatsApp Business Account payload, or a message
  without id / sender / usable timestamp is quarantined with its line number and reason; the
  rest of the file is read. Unknown fields are ignored; changes of other fields
  (``account_update``, template status, ...) are counted, not read.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.identity import Roster, normalise_phone
from kpi_transforms.sources.base import ChatThread, ParseContext, ParseResult, Source

CHANNEL = "whatsapp"
PAYLOAD_OBJECT = "whatsapp_business_account"
OUTGOING_TEXT = "[pesan keluar]"
TEMPLATE_CATEGORIES = {"marketing", "marketing_lite", "utility", "authentication", "authentication_international"}
MEDIA_MARKERS = {"image": "[gambar]", "video": "[video]", "audio": "[audio]", "sticker": "[stiker]", "gif": "[gif]"}
_RAW_LIMIT = 500  # characters of a quarantined line kept in ``rejected.raw``


@dataclasses.dataclass(frozen=True)
class CloudOptions:
    """Settings of the webhook mapping that the YAML config does not carry (yet)."""

    # business phone_number_id or display number (any format) -> agent id of its replies
    agent_by_phone_number: Mapping[str, str] = dataclasses.field(default_factory=dict)
    default_agent_id: str | None = None
    # business replies from ``sent`` statuses when no echo gives their text
    outgoing_from_statuses: bool = True
    default_country: str = "62"


@dataclasses.dataclass
class ParsedCloud:
    threads: list[ChatThread]  # ("whatsapp", thread name, raw messages)
    rejected: pd.DataFrame  # source_line, raw, reason
    kind: str  # jsonl | json
    lines_read: int
    payloads_read: int
    messages_read: int  # rows produced (customer, business and system lines)
    duplicates: int  # repeated deliveries of a message, echo or status that were dropped
    statuses_read: int
    statuses_unmatched: int  # delivered/read/played statuses of ids neither sent nor echoed in the file
    ignored_changes: int  # changes of other webhook fields
    webhook_errors: int  # value-level ``errors`` (not tied to a message)


def options_from_mapping(raw: Mapping[str, Any] | None) -> CloudOptions:
    """The ``extract.whatsapp_cloud`` config mapping as :class:`CloudOptions` (keys checked by
    :mod:`kpi_transforms.extract.settings`): ``agents`` (business number or phone-number id ->
    agent id), ``default_agent``, ``outgoing_from_statuses``."""
    raw = raw or {}
    agents = raw.get("agents") or {}
    return CloudOptions(
        agent_by_phone_number={str(k): str(v) for k, v in agents.items()} if isinstance(agents, Mapping) else {},
        default_agent_id=str(raw["default_agent"]) if raw.get("default_agent") else None,
        outgoing_from_statuses=bool(raw.get("outgoing_from_statuses", True)),
    )


def _parse_source(data: bytes, ctx: ParseContext) -> ParseResult:
    extract = getattr(ctx.config, "extract", None) or {}
    return parse(data, ctx, options_from_mapping(extract.get("whatsapp_cloud") if isinstance(extract, Mapping) else None))


def looks_like_cloud_webhook(data: bytes) -> bool:
    """Whether a ``.json`` / ``.jsonl`` file holds WhatsApp Business Account webhook payloads
    (its first non-blank line or document names the ``whatsapp_business_account`` object)."""
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n[")
    return head.startswith(b"{") and re.search(rb'"object"\s*:\s*"whatsapp_business_account"', head) is not None


@functools.lru_cache(maxsize=65_536)
def phone_display(wa_id: str, default_country: str = "62") -> str:
    """A WhatsApp id as WhatsApp shows an unsaved contact (``+62 812-3456-7890``); ids that are
    not valid phone numbers keep ``+`` and their digits."""
    import phonenumbers

    digits = re.sub(r"\D", "", str(wa_id))
    e164 = normalise_phone("+" + digits, default_country) if digits else None
    if e164 is None:
        return str(wa_id)
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@functools.lru_cache(maxsize=65_536)
def _e164(wa_id: str, default_country: str = "62") -> str | None:
    """``+<digits>`` of a WhatsApp id, normalised like every other phone key (cached: a
    customer writes many messages)."""
    digits = re.sub(r"\D", "", str(wa_id))
    return normalise_phone("+" + digits, default_country) if digits else None


def parse(data: bytes, ctx: ParseContext, options: CloudOptions | None = None) -> ParseResult:
    """The webhook archive as the registry's :class:`ParseResult` (the registry hands it the
    ``.json`` / ``.jsonl`` files that :func:`looks_like_cloud_webhook`). Every line is
    accounted for: payload lines, blank lines (as continuation lines) and quarantined lines."""
    parsed = parse_whatsapp_cloud(data, ctx.config, kind="json" if ctx.suffix == ".json" else None,
                                  roster=ctx.roster, options=options)
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    blank = sum(1 for line in lines if not line.strip())
    quarantined = int(parsed.rejected["source_line"].nunique())
    return ParseResult(
        layout=f"whatsapp cloud webhooks ({parsed.kind})", threads=parsed.threads, rejected=parsed.rejected,
        lines_read=parsed.lines_read, header_lines=parsed.lines_read - blank - quarantined, continuation_lines=blank,
        quarantined_lines=quarantined, messages_read=parsed.messages_read,
        chat_name=parsed.threads[0].name if len(parsed.threads) == 1 else None,
    )


# -- payload reading ------------------------------------------------------------------------


def _payloads(data: bytes, kind: str | None) -> tuple[str, int, list[tuple[int, Any, str | None, str]]]:
    """(kind, lines read, [(line, payload or None, reason if bad, raw text)])."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if kind is None:
        stripped = data.strip()
        kind = "jsonl"
        if stripped.startswith(b"[") or (b"\n" in stripped and stripped.startswith(b"{")):
            try:
                json.loads(stripped)
                kind = "json"
            except ValueError:
                kind = "jsonl"
    if kind == "json":
        text = data.decode("utf-8", errors="replace")
        try:
            doc = json.loads(data)
        except ValueError as exc:
            return kind, len(lines), [(1, None, f"not valid JSON: {exc}", text[:_RAW_LIMIT])]
        docs = doc if isinstance(doc, list) else [doc]
        return kind, len(lines), [(1, d, None, json.dumps(d, ensure_ascii=False)[:_RAW_LIMIT]) for d in docs]
    out: list[tuple[int, Any, str | None, str]] = []
    for number, raw_line in enumerate(lines, start=1):
        if not raw_line.strip():
            continue
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            shown = raw_line.decode("utf-8", errors="replace")[:_RAW_LIMIT]
            out.append((number, None, f"line is not valid UTF-8 (byte {exc.start + 1})", shown))
            continue
        try:
            out.append((number, json.loads(line), None, line[:_RAW_LIMIT]))
        except ValueError as exc:
            reason = f"not valid JSON: {exc.msg} (column {exc.colno})" if hasattr(exc, "msg") else f"not valid JSON: {exc}"
            out.append((number, None, reason, line.rstrip("\r")[:_RAW_LIMIT]))
    return kind, len(lines), out


def _changes(payload: Any) -> Iterator[tuple[str, dict]]:
    """(field, value) of every change of a payload; ValueError if it is not one."""
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("object") != PAYLOAD_OBJECT:
        raise ValueError(f"not a WhatsApp Business Account webhook payload (object={payload.get('object')!r})")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise ValueError("payload has no entry list")
    for entry in entries:
        for change in (entry or {}).get("changes") or []:
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                yield str(change.get("field") or ""), change["value"]


def _epoch(value: Any) -> int:
    seconds = int(str(value).strip())
    if not 1_230_768_000 <= seconds <= 4_102_444_800:  # 2009 .. 2100, like the export parser
        raise ValueError(f"timestamp {value!r} is outside 2009-2100")
    return seconds


# -- content -> (message_type, text) ----------------------------------------------------------


def _media_text(kind: str, body: dict) -> str:
    if kind == "document":
        name = body.get("filename")
        marker = f"[dokumen: {name}]" if name else "[dokumen]"
    elif kind == "audio" and body.get("voice"):
        marker = "[pesan suara]"
    else:
        marker = MEDIA_MARKERS.get(kind, f"[{kind}]")
    caption = str(body.get("caption") or "").strip()
    return f"{marker}\n{caption}" if caption else marker


def _location_text(loc: dict) -> str:
    parts = [str(loc[k]).strip() for k in ("name", "address") if str(loc.get(k) or "").strip()]
    where = ", ".join(parts)
    coords = f"{loc.get('latitude')}, {loc.get('longitude')}" if loc.get("latitude") is not None else ""
    inner = f"{where} ({coords})" if where and coords else (where or coords)
    return f"[lokasi: {inner}]" if inner else "[lokasi]"


def _contacts_text(cards: list) -> str:
    shown = []
    for card in cards or []:
        name = ((card or {}).get("name") or {}).get("formatted_name") or ""
        phones = [p.get("phone") or p.get("wa_id") for p in (card or {}).get("phones") or [] if isinstance(p, dict)]
        shown.append(" ".join(x for x in [name, *(str(p) for p in phones if p)] if x))
    return "[kontak: " + "; ".join(s for s in shown if s) + "]" if any(shown) else "[kontak]"


def content_of(message: dict) -> tuple[str, str, str | None]:
    """(message_type, text, role override) of a customer message or a business echo; the role
    override is ``system`` for reactions and system notices, else None."""
    kind = str(message.get("type") or "")
    body = message.get(kind) if isinstance(message.get(kind), dict) else {}
    if kind == "text":
        return "text", str(body.get("body") or ""), None
    if kind in ("image", "video", "audio", "document", "gif"):
        return "media", _media_text(kind, body), None
    if kind == "sticker":
        return "sticker", _media_text(kind, body), None
    if kind == "location":
        return "location", _location_text(body), None
    if kind == "contacts":
        return "media", _contacts_text(message.get("contacts") if isinstance(message.get("contacts"), list) else []), None
    if kind == "button":  # quick-reply button of a template
        return "text", str(body.get("text") or body.get("payload") or ""), None
    if kind == "interactive":
        sub = str(body.get("type") or "")
        reply = body.get(sub) if isinstance(body.get(sub), dict) else {}
        if sub in ("button_reply", "list_reply"):
            return "text", str(reply.get("title") or reply.get("id") or ""), None
        if sub == "nfm_reply":
            return "text", f"[formulir: {reply.get('name') or reply.get('body') or 'terkirim'}]", None
        text = ((body.get("body") or {}).get("text") if isinstance(body.get("body"), dict) else None)  # echo of a sent one
        return "text", str(text or f"[interaktif: {sub or 'pesan'}]"), None
    if kind == "template":  # echo of a template message (send format)
        name = body.get("name")
        return "text", f"[template: {name}]" if name else "[template]", None
    if kind == "reaction":
        emoji = str(body.get("emoji") or "")
        return "system", f"[reaksi: {emoji}]" if emoji else "[reaksi dihapus]", "system"
    if kind == "system":
        return "system", str(body.get("body") or f"[sistem: {body.get('type') or ''}]").strip(), "system"
    if kind == "order":
        items = body.get("product_items") or []
        return "text", f"[pesanan: {len(items)} barang]", None
    if kind == "request_welcome":
        return "system", "[pelanggan membuka chat]", "system"
    if kind == "unsupported" or not kind:
        detail = body.get("type") or next((e.get("title") for e in message.get("errors") or [] if isinstance(e, dict)), None)
        return "media", f"[pesan tidak didukung: {detail or 'unknown'}]", None
    return "media", f"[pesan tidak didukung: {kind}]", None


# -- the parser -------------------------------------------------------------------------------


@dataclasses.dataclass
class _Row:
    seconds: int
    line: int
    seq: int
    thread: str  # thread name
    customer: str | None
    sender: str | None
    text: str
    message_type: str
    role: str
    agent_id: str | None = None
    auto: bool = False


def parse_whatsapp_cloud(
    data: bytes,
    config: Config,
    *,
    kind: str | None = None,
    roster: Roster | None = None,
    options: CloudOptions | None = None,
) -> ParsedCloud:
    """Parse a webhook archive into threads of raw messages plus quarantined lines.

    ``kind`` is ``jsonl`` (one payload per line) or ``json`` (one payload, or an array of them,
    per file); by default a file that is one JSON document is ``json``."""
    options = options or CloudOptions()
    roster = roster or Roster.from_config(config)
    kind, lines_read, payloads = _payloads(data, kind)
    country = options.default_country
    agents = {_agent_key(k, country): v for k, v in options.agent_by_phone_number.items()}

    rows: list[_Row] = []
    rejected: list[dict] = []
    seen: set[tuple] = set()
    echoed: set[str] = set()
    sent: dict[str, tuple[int, int, int, dict, dict]] = {}  # id -> first sent status and its context
    other_status_ids: list[str] = []
    counts = dict(payloads=0, duplicates=0, statuses=0, ignored=0, errors=0)
    seq = 0

    def reject(line: int, raw: str, reason: str) -> None:
        rejected.append({"source_line": line, "raw": raw, "reason": reason})

    def business(meta: dict) -> tuple[str | None, str | None]:
        display = str(meta.get("display_phone_number") or "") or None
        number_id = str(meta.get("phone_number_id") or "") or None
        sender = phone_display(display, country) if display else None
        agent = agents.get(_agent_key(number_id, country)) or agents.get(_agent_key(display, country))
        if agent is None and display:
            agent = roster.agent_of(sender)
        return sender, agent or options.default_agent_id

    for line, payload, reason, raw in payloads:
        if reason:
            reject(line, raw, reason)
            continue
        try:
            changes = list(_changes(payload))
        except ValueError as exc:
            reject(line, raw, str(exc))
            continue
        counts["payloads"] += 1
        for field, value in changes:
            meta = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
            if field == "messages":
                counts["errors"] += len(value.get("errors") or [])
                names = {
                    str(c.get("wa_id")): ((c.get("profile") or {}).get("name") or None)
                    for c in value.get("contacts") or [] if isinstance(c, dict)
                }
                for k, msg in enumerate(value.get("messages") or []):
                    seq += 1
                    try:
                        row = _inbound(msg, names, country, line, seq)
                    except ValueError as exc:
                        reject(line, raw, f"message {_label(msg, k)}: {exc}")
                        continue
                    key = ("in", msg["id"])
                    if key in seen:
                        counts["duplicates"] += 1
                        continue
                    seen.add(key)
                    rows.append(row)
                for k, status in enumerate(value.get("statuses") or []):
                    if not isinstance(status, dict) or not status.get("id") or not status.get("status"):
                        reject(line, raw, f"status {k + 1}: no message id or status")
                        continue
                    key = ("status", status["id"], status["status"])
                    if key in seen:
                        counts["duplicates"] += 1
                        continue
                    seen.add(key)
                    counts["statuses"] += 1
                    seq += 1
                    try:
                        seconds = _epoch(status.get("timestamp"))
                    except (TypeError, ValueError) as exc:
                        reject(line, raw, f"status {status['id']}: {exc}")
                        continue
                    state = str(status["status"])
                    if state == "sent":
                        sent.setdefault(status["id"], (seconds, line, seq, status, meta))
                    elif state == "failed":
                        rows.append(_failed(status, seconds, country, line, seq))
                    else:
                        other_status_ids.append(status["id"])
            elif field == "smb_message_echoes":
                for k, echo in enumerate(value.get("message_echoes") or []):
                    seq += 1
                    key = ("out", (echo or {}).get("id"))
                    if key in seen and key[1]:
                        counts["duplicates"] += 1
                        continue
                    try:
                        row = _echo(echo, business(meta), roster, country, line, seq)
                    except ValueError as exc:
                        reject(line, raw, f"echo {_label(echo, k)}: {exc}")
                        continue
                    seen.add(key)
                    echoed.add(echo["id"])
                    rows.append(row)
            else:
                counts["ignored"] += 1

    if options.outgoing_from_statuses:
        for message_id, (seconds, line, row_seq, status, meta) in sent.items():
            if message_id in echoed:
                continue
            rows.append(_from_status(status, seconds, business(meta), roster, country, line, row_seq))
    known = set(sent) | echoed
    unmatched = sum(1 for i in other_status_ids if i not in known)
    return ParsedCloud(
        threads=_threads(rows, config),
        rejected=pd.DataFrame(rejected, columns=["source_line", "raw", "reason"]).astype({"source_line": "int64"}),
        kind=kind, lines_read=lines_read, payloads_read=counts["payloads"], messages_read=len(rows),
        duplicates=counts["duplicates"], statuses_read=counts["statuses"], statuses_unmatched=unmatched,
        ignored_changes=counts["ignored"], webhook_errors=counts["errors"],
    )


def _agent_key(value: str | None, country: str) -> str | None:
    if value is None:
        return None
    phone = normalise_phone(str(value), country)
    return phone or str(value).strip()


def _label(message: Any, index: int) -> str:
    return str(message.get("id")) if isinstance(message, dict) and message.get("id") else str(index + 1)


def _inbound(msg: Any, names: dict[str, str | None], country: str, line: int, seq: int) -> _Row:
    if not isinstance(msg, dict):
        raise ValueError("not a JSON object")
    if not msg.get("id"):
        raise ValueError("no message id")
    wa_id = str(msg.get("from") or "").strip()
    if not wa_id:
        raise ValueError("no sender (from)")
    try:
        seconds = _epoch(msg.get("timestamp"))
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc) if "outside" in str(exc) else f"unusable timestamp {msg.get('timestamp')!r}") from None
    mtype, text, role = content_of(msg)
    phone = _e164(wa_id, country)
    display = phone_display(wa_id, country)
    group = msg.get("group_id")
    thread = f"grup WhatsApp {group}" if group else display
    sender = None if role == "system" else (names.get(wa_id) or display)
    customer = phone or wa_id
    return _Row(seconds, line, seq, thread, customer if not group else f"whatsapp-group:{group}", sender, text, mtype,
                role or "customer")


def _echo(echo: Any, biz: tuple[str | None, str | None], roster: Roster, country: str, line: int, seq: int) -> _Row:
    if not isinstance(echo, dict):
        raise ValueError("not a JSON object")
    if not echo.get("id"):
        raise ValueError("no message id")
    to = re.sub(r"\D", "", str(echo.get("to") or ""))
    if not to:
        raise ValueError("no recipient (to)")
    try:
        seconds = _epoch(echo.get("timestamp"))
    except (TypeError, ValueError):
        raise ValueError(f"unusable timestamp {echo.get('timestamp')!r}") from None
    mtype, text, role = content_of(echo)
    sender, agent = biz
    auto = role is None and roster.auto_reply is not None and roster.auto_reply.search(text) is not None
    return _Row(seconds, line, seq, phone_display(to, country), _e164(to, country) or to,
                None if role == "system" else sender, text, mtype, role or "agent", agent if role is None else None, auto)


def _from_status(status: dict, seconds: int, biz: tuple[str | None, str | None], roster: Roster, country: str,
                 line: int, seq: int) -> _Row:
    to = re.sub(r"\D", "", str(status.get("recipient_id") or ""))
    pricing = status.get("pricing") if isinstance(status.get("pricing"), dict) else {}
    conversation = status.get("conversation") if isinstance(status.get("conversation"), dict) else {}
    origin = conversation.get("origin") if isinstance(conversation.get("origin"), dict) else {}
    category = str(pricing.get("category") or origin.get("type") or "").lower()
    text = f"[pesan keluar: template {category}]" if category in TEMPLATE_CATEGORIES else OUTGOING_TEXT
    sender, agent = biz
    auto = roster.auto_reply is not None and roster.auto_reply.search(text) is not None
    group = status.get("recipient_type") == "group" and status.get("recipient_id")
    thread = f"grup WhatsApp {status.get('recipient_id')}" if group else phone_display(to, country)
    customer = f"whatsapp-group:{status.get('recipient_id')}" if group else _e164(to, country)
    return _Row(seconds, line, seq, thread, customer, sender, text, "text", "agent", agent, auto)


def _failed(status: dict, seconds: int, country: str, line: int, seq: int) -> _Row:
    to = re.sub(r"\D", "", str(status.get("recipient_id") or ""))
    errors = [e for e in status.get("errors") or [] if isinstance(e, dict)]
    detail = "; ".join(f"{e.get('title') or e.get('message') or 'error'} ({e.get('code')})" for e in errors)
    text = f"[pesan gagal terkirim: {detail}]" if detail else "[pesan gagal terkirim]"
    return _Row(seconds, line, seq, phone_display(to, country), _e164(to, country), None, text, "system", "system")


_FIELDS = ("seconds", "line", "seq", "thread", "customer", "sender", "text", "message_type", "role", "agent_id", "auto")


def _threads(rows: list[_Row], config: Config) -> list[ChatThread]:
    """One raw frame per thread, in time order (then file position), threads by name. Built as
    one frame with typed columns, then cut per thread (a frame per thread built from Python
    objects cost most of a 100 k-payload archive's time)."""
    if not rows:
        return []
    tz = zoneinfo.ZoneInfo(config.timezone)
    columns = dict(zip(_FIELDS, zip(*[(r.seconds, r.line, r.seq, r.thread, r.customer, r.sender, r.text,
                                       r.message_type, r.role, r.agent_id, r.auto) for r in rows])))
    frame = pd.DataFrame(
        {
            "thread": pd.array(columns["thread"], dtype="string"),
            "seconds": np.asarray(columns["seconds"], dtype=np.int64),
            "seq": np.asarray(columns["seq"], dtype=np.int64),
            "local_ts": pd.to_datetime(np.asarray(columns["seconds"], dtype=np.int64), unit="s", utc=True)
            .tz_convert(tz).tz_localize(None).astype("datetime64[us]"),
            "sender": pd.array(columns["sender"], dtype="string"),
            "text": pd.array(columns["text"], dtype="string"),
            "message_type": pd.array(columns["message_type"], dtype="string"),
            "source_line": np.asarray(columns["line"], dtype=np.int64),
            "sender_role": pd.array(columns["role"], dtype="string"),
            "is_auto_reply": np.asarray(columns["auto"], dtype=bool),
            "agent_id": pd.array(columns["agent_id"], dtype="string"),
            "customer_id": pd.array(columns["customer"], dtype="string"),
        }
    )
    frame = frame.sort_values(["thread", "seconds", "source_line", "seq"], kind="stable", ignore_index=True)
    names = frame["thread"].to_numpy(dtype=object)
    bounds = np.flatnonzero(np.r_[True, names[1:] != names[:-1], True])
    raw = frame.drop(columns=["thread", "seconds", "seq"])
    return [
        ChatThread(CHANNEL, str(names[lo]), raw.iloc[lo:hi].reset_index(drop=True))
        for lo, hi in zip(bounds[:-1], bounds[1:])
    ]


# The registry reads a .json / .jsonl file with this source when looks_like_cloud_webhook says so.
SOURCE = Source(name="whatsapp_cloud", label="WhatsApp Business Platform webhook archive", suffixes=(".json", ".jsonl"),
                parse=_parse_source)
