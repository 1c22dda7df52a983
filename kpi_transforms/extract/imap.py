"""IMAP extraction into the landing folder, incremental by (folder, UIDVALIDITY, last UID).

Built on imap-tools (a maintained wrapper of :mod:`imaplib`). What it guarantees:

* **Read-only by default.** Folders are opened with EXAMINE and bodies fetched with
  ``BODY.PEEK[]``, so no flag changes. ``mark_seen`` (off by default) is the only write it can
  be configured to make; it never deletes, moves or expunges.
* **TLS.** ``security: ssl`` (IMAPS, port 993) or ``starttls`` (port 143) with certificate and
  host-name verification (``ca_file`` for a private CA). ``plain`` is refused unless
  ``allow_plain`` is set *and* the host is a loopback address (tests).
* **Credentials** come from the caller (an Airflow connection in the DAG) or from the
  environment variables the source names; never from the config file, and they never appear
  in logs or error messages (every error text is redacted).
* **Files.** Each message's raw RFC 822 bytes, unchanged, become
  ``<landing>/imap/<source>/<folder>/<sha256[:24]>.eml`` (content-addressed: the landing
  manifest dedupes by the sha256 of the file). A mail whose subject is a WhatsApp export
  ("WhatsApp Chat with X", "Chat WhatsApp dengan X", and the other localised forms of
  :func:`kpi_transforms.sources.whatsapp.parser.chat_name_from_filename`) with ``.txt`` / ``.zip``
  attachments yields the attachments instead, as
  ``<landing>/imap/<source>/whatsapp/<sha256[:24]>/<name>``: the attachment's own name when it
  carries the chat name, else ``<subject>.txt|.zip``, so the export's chat-name rule applies.
  Writes are atomic (hidden temporary file + rename).
* **Checkpoints.** UIDs above the stored ``last_uid`` are fetched while UIDVALIDITY is
  unchanged; a different UIDVALIDITY reads the whole folder again, and content already in the
  landing folder (or in ``known_sha256``) is not written twice. The function returns the
  proposed checkpoints and never stores them; a journal in ``<landing>/.chatkpi-extract/`` lets
  an interrupted run resume without fetching again what it already landed.
"""

from __future__ import annotations

import dataclasses
import email.parser
import email.policy
import ipaddress
import logging
import os
import re
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.message import MailMessage

from kpi_transforms.extract.common import (
    Checkpoint,
    ExtractError,
    ExtractResult,
    Journal,
    atomic_write,
    flush_to_disk,
    redact,
    remove_stale_temporaries,
    safe_component,
    sha256,
)
from kpi_transforms.sources.whatsapp.parser import chat_name_from_filename

log = logging.getLogger(__name__)

SECURITY = ("ssl", "starttls", "plain")
EXPORT_SUFFIXES = (".txt", ".zip")
_SUBJECT = re.compile(rb"^subject:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.IGNORECASE | re.MULTILINE)
_FWD = re.compile(r"^\s*(?:(?:fwd?|fw|tr|wg|rv|i|tr|doorst|vs|enc|pd|terusan)\s*:\s*)+", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class ImapSource:
    """One mailbox to extract. Holds no secret: the credentials come from the environment
    variables named here, or from the caller."""

    name: str
    host: str
    port: int | None = None
    security: str = "ssl"
    folders: tuple[str, ...] = ("INBOX", "Sent")
    readonly: bool = True
    mark_seen: bool = False
    ca_file: str | None = None
    allow_plain: bool = False
    username_env: str = "CHATKPI_IMAP_USERNAME"
    password_env: str = "CHATKPI_IMAP_PASSWORD"
    batch_size: int = 500
    timeout: float = 60.0
    conn_id: str | None = None  # Airflow connection with login / password (default: chatkpi_imap_<name>, if defined)

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ValueError(f"imap source {self.name!r}: security {self.security!r} is not one of {SECURITY}")
        if self.mark_seen and self.readonly:
            raise ValueError(f"imap source {self.name!r}: mark_seen needs readonly: false")
        if self.batch_size < 2:
            raise ValueError(f"imap source {self.name!r}: batch_size must be at least 2")


@dataclasses.dataclass(frozen=True)
class ImapCredentials:
    username: str
    password: str = dataclasses.field(repr=False)

    @classmethod
    def from_env(cls, source: ImapSource, environ: Mapping[str, str] | None = None) -> "ImapCredentials":
        env = os.environ if environ is None else environ
        missing = [v for v in (source.username_env, source.password_env) if not env.get(v)]
        if missing:
            raise ExtractError(f"imap source {source.name!r}: set the environment variable(s) {', '.join(missing)}")
        return cls(env[source.username_env], env[source.password_env])


class _RawMessage(MailMessage):
    """A fetched message kept as its raw bytes (imap-tools would parse every message)."""

    def __init__(self, fetch_data: list) -> None:  # noqa: D401 - same signature as MailMessage
        raw, self._raw_uid_data, self._raw_flag_data = self._get_message_data_parts(fetch_data)
        self.raw = bytes(raw)


class _MailBox(MailBox):
    email_message_class = _RawMessage


class _MailBoxStartTls(MailBoxStartTls):
    email_message_class = _RawMessage


class _MailBoxUnencrypted(MailBoxUnencrypted):
    email_message_class = _RawMessage


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(source: ImapSource, credentials: ImapCredentials):
    """A logged-in imap-tools mailbox (no folder selected); ExtractError on failure, redacted."""
    secrets = (credentials.password, credentials.username)
    where = f"imap source {source.name!r} ({source.host}:{source.port or ('993' if source.security == 'ssl' else '143')})"
    try:
        if source.security == "plain":
            if not (source.allow_plain and _is_loopback(source.host)):
                raise ExtractError(f"{where}: plain IMAP is allowed only with allow_plain on a loopback host; use ssl or starttls")
            box = _MailBoxUnencrypted(source.host, source.port or 143, timeout=source.timeout)
        else:
            context = ssl.create_default_context(cafile=source.ca_file)
            if source.security == "ssl":
                box = _MailBox(source.host, source.port or 993, timeout=source.timeout, ssl_context=context)
            else:
                box = _MailBoxStartTls(source.host, source.port or 143, timeout=source.timeout, ssl_context=context)
    except ExtractError:
        raise
    except Exception as exc:  # noqa: BLE001 - any connect/TLS failure is reported the same way
        raise ExtractError(redact(f"{where}: cannot connect: {type(exc).__name__}: {exc}", secrets)) from None
    try:
        box.login(credentials.username, credentials.password, initial_folder=None)
    except Exception as exc:  # noqa: BLE001
        try:
            box.client.shutdown()
        except Exception:  # noqa: BLE001
            pass
        raise ExtractError(redact(f"{where}: login failed: {type(exc).__name__}: {exc}", secrets)) from None
    return box


def whatsapp_chat_from_subject(subject: str | None) -> str | None:
    """The chat name of an export mail's subject ("Fwd: Chat WhatsApp dengan Budi" -> "Budi")."""
    if not subject:
        return None
    text = _FWD.sub("", " ".join(str(subject).split()))
    if text.lower().endswith((".txt", ".zip")):
        return None
    return chat_name_from_filename(text)


def _export_attachments(raw: bytes) -> tuple[str, list[tuple[str, bytes]]] | None:
    """(chat name, [(file name, bytes)]) when ``raw`` is a WhatsApp export mail with chat
    attachments, else None."""
    head = raw[: raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.find(b"\n\n")]
    subject_line = _SUBJECT.search(head)
    if subject_line is None or not (b"whatsapp" in subject_line.group(0).lower() or b"=?" in subject_line.group(0)):
        return None  # fast path: every localised export subject names WhatsApp (or is RFC 2047-encoded)
    headers = email.parser.BytesHeaderParser(policy=email.policy.default).parsebytes(raw)
    try:
        subject = str(headers.get("subject") or "")
    except Exception:  # noqa: BLE001 - a broken header is just not an export subject
        return None
    chat = whatsapp_chat_from_subject(subject)
    if chat is None:
        return None
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    out = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = part.get_filename()
        if not filename or not filename.lower().endswith(EXPORT_SUFFIXES):
            continue
        data = part.get_payload(decode=True)
        if data is None:
            continue
        suffix = filename[-4:].lower()
        own = chat_name_from_filename(filename)
        name = safe_component(filename) if own else safe_component(_FWD.sub("", " ".join(subject.split())) + suffix)
        out.append((name, data))
    return (chat, out) if out else None


def _folder_dir(folder: str) -> str:
    return safe_component(folder.replace("/", "_").replace(".", "_"), "folder")


def extract_imap(
    source: ImapSource,
    landing: str | Path,
    checkpoints: Mapping[tuple[str, str], Checkpoint] | Iterable[Checkpoint] | None = None,
    *,
    credentials: ImapCredentials | None = None,
    known_sha256: Iterable[str] = (),
    on_batch: Callable[[str, int, list[Path]], None] | None = None,
) -> ExtractResult:
    """Fetch the configured folders' new messages into ``landing`` and return the files written
    plus the proposed checkpoints (one per folder). ``checkpoints`` are the committed ones
    (:func:`kpi_transforms.extract.checkpoints.read_checkpoints`); ``on_batch(folder, last_uid,
    files)`` is called after each fetched batch has landed."""
    landing = Path(landing)
    credentials = credentials or ImapCredentials.from_env(source)
    secrets = (credentials.password, credentials.username)
    by_folder = _by_folder(checkpoints)
    known = set(known_sha256)
    result = ExtractResult("imap", source.name)
    base = landing / "imap" / safe_component(source.name)
    remove_stale_temporaries(base)
    started = time.perf_counter()
    box = connect(source, credentials)
    try:
        for folder in source.folders:
            try:
                _extract_folder(box, source, folder, base, landing, by_folder.get(folder), known, result, on_batch)
            except ExtractError:
                raise
            except Exception as exc:  # noqa: BLE001 - name the folder, hide the secrets
                raise ExtractError(
                    redact(f"imap source {source.name!r}, folder {folder!r}: {type(exc).__name__}: {exc}", secrets)
                ) from None
    finally:
        try:
            box.logout()
        except Exception:  # noqa: BLE001 - the connection may already be gone
            pass
    log.info(
        "imap source %s: %d message(s) fetched, %d file(s) written, %d already landed, %d duplicate(s) in %.1f s",
        source.name, result.fetched, len(result.files), len(result.landed), result.duplicates,
        time.perf_counter() - started,
    )
    return result


def _by_folder(checkpoints) -> dict[str, Checkpoint]:
    if checkpoints is None:
        return {}
    values = checkpoints.values() if isinstance(checkpoints, Mapping) else checkpoints
    return {cp.folder: cp for cp in values if cp.source_kind == "imap"}


def _extract_folder(box, source, folder, base, landing, stored, known, result, on_batch) -> None:
    box.folder.set(folder, readonly=source.readonly)
    _typ, data = box.client.response("UIDVALIDITY")
    values = [d for d in data or [] if d is not None]
    if not values:
        raise ExtractError(f"imap source {source.name!r}, folder {folder!r}: the server sent no UIDVALIDITY")
    uidvalidity = int(values[-1])
    same = stored is not None and stored.uidvalidity == uidvalidity
    start = (stored.last_uid or 0) if same else 0
    if stored is not None and not same:
        log.warning("imap source %s, folder %s: UIDVALIDITY changed (%s -> %s), reading the folder again",
                    source.name, folder, stored.uidvalidity, uidvalidity)

    # Files an interrupted run already landed above the checkpoint: not fetched again.
    journal = Journal(landing, f"imap-{source.name}-{sha256(folder.encode())[:12]}")
    state = journal.read()
    landed_upto, journal_files = start, []
    if state.get("uidvalidity") == uidvalidity and int(state.get("last_uid", 0)) > start:
        present = journal.files_present(state.get("files", []))
        if present is not None:
            landed_upto = int(state["last_uid"])
            journal_files = [str(p.relative_to(landing)) for p in present]
            result.landed.extend(present)

    uids = [int(u) for u in box.uids(f"UID {landed_upto + 1}:*", charset=None)]
    uids = sorted(u for u in uids if u > landed_upto)
    last = landed_upto
    folder_dir = base / _folder_dir(folder)
    for i in range(0, len(uids), source.batch_size):
        chunk = [str(u) for u in uids[i: i + source.batch_size]]
        written: list[Path] = []
        for message in box.fetch(uid_list=chunk, mark_seen=False, bulk=True):
            uid = int(message.uid)
            result.fetched += 1
            for path, data in _files_for(message.raw, folder_dir, base):
                digest = sha256(data)
                if digest in known:
                    result.duplicates += 1
                    continue
                if atomic_write(path, data, fsync=False):
                    written.append(path)
                else:
                    result.duplicates += 1
                journal_files.append(str(path.relative_to(landing)))
            last = max(last, uid)
        last = max(last, int(chunk[-1]))
        if source.mark_seen:
            box.flag(chunk, "\\Seen", True)
        result.files.extend(written)
        flush_to_disk()  # the batch's files are durable before the journal names them
        journal.write({"uidvalidity": uidvalidity, "last_uid": last, "files": journal_files})
        if on_batch is not None:
            on_batch(folder, last, written)
    result.checkpoints.append(
        Checkpoint("imap", source.name, folder, "", uidvalidity=uidvalidity, last_uid=max(last, start))
    )


def _files_for(raw: bytes, folder_dir: Path, base: Path) -> list[tuple[Path, bytes]]:
    """Where one fetched message lands: its export attachments, else itself as ``.eml`` (also
    when its MIME structure cannot be read: the e-mail parser then quarantines it with a reason)."""
    try:
        export = _export_attachments(raw)
    except Exception as exc:  # noqa: BLE001 - a malformed mail must not stop the folder
        log.warning("a mail with a WhatsApp-export subject could not be read (%s: %s); landed as .eml", type(exc).__name__, exc)
        export = None
    if export is not None:
        _chat, attachments = export
        return [(base / "whatsapp" / sha256(data)[:24] / name, data) for name, data in attachments]
    return [(folder_dir / f"{sha256(raw)[:24]}.eml", raw)]
