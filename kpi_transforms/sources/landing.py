"""What may be read from a landing folder (issue 15, item 3).

A symbolic link is followed only when its target stays inside the landing folder it was found
in (``/proc/self/environ`` or an export elsewhere on the host is never read); a FIFO, socket or
device is never opened (a FIFO would block the worker). Either is reported as a rejected file
with its reason, and the rest of the batch proceeds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kpi_transforms.core.errors import RejectedFile

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder"}


def _inside(target: Path, root: Path) -> bool:
    return target == root or root in target.parents


def unsafe_reason(path: Path, root: Path | None = None) -> str | None:
    """Why ``path`` must not be read, or None. ``root`` is the landing folder the path was
    found in (default: the path's own folder)."""
    root = Path(os.path.realpath(root if root is not None else path.parent))
    try:
        link = path.is_symlink()
        target = Path(os.path.realpath(path))
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    if not _inside(target, root):
        return "symbolic link to a file outside the landing folder: not followed"
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "symbolic link to a missing file" if link else "file disappeared before it was read"
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    if not stat.S_ISREG(mode):
        return f"not a regular file: {_KINDS.get(stat.S_IFMT(mode), 'a special file')}"
    return None


def read_regular(path: Path, root: Path | None = None, max_bytes: int | None = None) -> bytes:
    """The bytes of a regular file inside the landing folder; :class:`RejectedFile` otherwise.
    The file is opened without blocking and checked again on the open descriptor, so a swap
    for a FIFO or device between the check and the read is caught too."""
    reason = unsafe_reason(path, root)
    if reason:
        raise RejectedFile(reason)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RejectedFile(f"not a regular file: {_KINDS.get(stat.S_IFMT(info.st_mode), 'a special file')}")
        real = Path(os.path.realpath(f"/proc/self/fd/{fd}")) if os.path.exists(f"/proc/self/fd/{fd}") else None
        if real is not None and not _inside(real, Path(os.path.realpath(root if root is not None else path.parent))):
            raise RejectedFile("symbolic link to a file outside the landing folder: not followed")
        if max_bytes is not None and info.st_size > max_bytes:
            raise RejectedFile(f"file is {info.st_size} bytes, larger than the {max_bytes}-byte limit")
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            return handle.read()
    finally:
        if fd >= 0:
            os.close(fd)


def sha256_regular(path: Path) -> str | None:
    """The sha256 of a regular file read in 1 MiB chunks (a rejected file of any size is keyed
    by its content without holding it), or None when it is not a regular file."""
    import hashlib

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb", closefd=True) as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        digest = hashlib.sha256()
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        return digest.hexdigest()
