"""Safely take the chat text(s) out of a WhatsApp ``.zip`` export, in memory.

WhatsApp's "export with media" writes a zip holding ``_chat.txt`` (iOS) or
``WhatsApp Chat with X.txt`` (Android) plus the media files. Only the ``.txt`` members are
read; media are never decompressed. Nothing is written to disk.

Safety rules (every violation rejects the whole archive with a reason naming the member):

* a member name that is absolute (``/x``, ``\\x``, ``C:x``) or has a ``..`` component;
* a symbolic-link entry (Unix mode in the external attributes);
* an encrypted entry;
* a text member whose *decompressed* size passes ``max_member_bytes``, or text members that
  together pass ``max_total_bytes``: members are read in 1 MiB chunks and reading stops as
  soon as a limit is passed, so a zip bomb whose header lies about its size is caught too
  (a lying header also fails the CRC check);
* chat texts that would not fit the worker's memory budget (``too_big(bytes, lines)``, see
  :mod:`kpi_transforms.core.memory`): lines are counted while members are decompressed, so a
  ratio bomb of short lines stops after a few MiB instead of reaching the size limits;
* a truncated or corrupt archive (bad zip structure, bad CRC, broken deflate stream);
* no ``.txt`` member at all.

macOS metadata (``__MACOSX/``, ``._name``) is skipped; a nested zip (Pustur's example has one)
is media and ignored.
"""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable

from kpi_transforms.core.errors import RejectedFile

__all__ = ["extract_chat_texts"]

_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe_reason(name: str) -> str | None:
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        return "has an absolute path"
    parts = re.split(r"[\\/]", name)
    if any(part == ".." for part in parts):
        return "has a '..' path component"
    if "\x00" in name:
        return "has a NUL byte in its name"
    return None


def _is_chat_text(name: str) -> bool:
    parts = [p for p in re.split(r"[\\/]", name) if p]
    if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
        return False
    return parts[-1].lower().endswith(".txt")


def extract_chat_texts(
    path_or_bytes: str | os.PathLike | bytes | bytearray | memoryview,
    *,
    max_member_bytes: int = 512 * 2**20,
    max_total_bytes: int = 2 * 2**30,
    too_big: Callable[[int, int], str | None] | None = None,
) -> list[tuple[str, bytes]]:
    """Return ``(member name, content)`` for each chat text member, in archive order."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        source: io.BytesIO | str | os.PathLike = io.BytesIO(bytes(path_or_bytes))
        label = "zip data"
    else:
        source = path_or_bytes
        label = os.fspath(path_or_bytes)
    try:
        archive = zipfile.ZipFile(source)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise RejectedFile(f"{label} is not a readable zip archive: {exc}") from None
    with archive:
        infos = archive.infolist()
        for info in infos:
            reason = _unsafe_reason(info.filename)
            if reason:
                raise RejectedFile(f"zip member {info.filename!r} {reason}")
            mode = info.external_attr >> 16
            if info.create_system == 3 and stat.S_ISLNK(mode):
                raise RejectedFile(f"zip member {info.filename!r} is a symbolic link")
            if info.flag_bits & 0x1:
                raise RejectedFile(f"zip member {info.filename!r} is encrypted")
        members = [i for i in infos if not i.is_dir() and _is_chat_text(i.filename)]
        if not members:
            raise RejectedFile(f"{label} contains no chat text (.txt) member")
        out: list[tuple[str, bytes]] = []
        total = 0
        lines = [0]  # chat lines of the members read so far (for ``too_big``)
        for info in members:
            if info.file_size > max_member_bytes:
                raise RejectedFile(
                    f"zip member {info.filename!r} declares {info.file_size} bytes, more than "
                    f"the limit of {max_member_bytes}"
                )
            content, total = _read_member(archive, info, max_member_bytes, max_total_bytes, total, too_big, lines)
            out.append((info.filename, content))
        return out


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, max_member: int, max_total: int, total: int,
    too_big: Callable[[int, int], str | None] | None = None, lines: list[int] | None = None,
) -> tuple[bytes, int]:
    parts: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                total += len(chunk)
                if size > max_member:
                    raise RejectedFile(
                        f"zip member {info.filename!r} decompresses to more than "
                        f"{max_member} bytes (zip bomb?)"
                    )
                if total > max_total:
                    raise RejectedFile(
                        f"chat texts in the zip decompress to more than {max_total} bytes "
                        f"(stopped in {info.filename!r})"
                    )
                if too_big is not None and lines is not None:
                    lines[0] += chunk.count(b"\n")
                    reason = too_big(total, lines[0])
                    if reason:
                        raise RejectedFile(f"zip member {info.filename!r} (as far as decompressed) {reason}")
                parts.append(chunk)
    except RejectedFile:
        raise
    except zipfile.BadZipFile as exc:
        raise RejectedFile(f"zip member {info.filename!r} is corrupt: {exc}") from None
    except (zlib.error, EOFError, OSError, ValueError) as exc:
        raise RejectedFile(
            f"zip member {info.filename!r} cannot be decompressed (truncated or corrupt "
            f"archive): {exc}"
        ) from None
    except NotImplementedError as exc:
        raise RejectedFile(
            f"zip member {info.filename!r} uses an unsupported method: {exc}"
        ) from None
    except RuntimeError as exc:  # zipfile's "password required" for encrypted members
        raise RejectedFile(f"zip member {info.filename!r} cannot be read: {exc}") from None
    return b"".join(parts), total
