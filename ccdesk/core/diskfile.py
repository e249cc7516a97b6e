"""A file's bytes as they stood at one moment: how the importer reads a file from disk.

Only a regular file is read. A folder, a device (``/dev/zero`` never ends) or a pipe (a read
would wait for ever) is told apart by its type before anything opens it for reading; the file
is then opened without waiting and its type checked again, in case one was put in its place
meanwhile. And a file that changes while it is read (still being saved or downloaded) is
noticed: its identity, size and modification time are compared before, during and after the
read, and the bytes read with its size.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("ccdesk.core.diskfile")

__all__ = ["NotARegularFile", "Snapshot", "read_snapshot"]


class NotARegularFile(OSError):
    """The path names a folder, a device, a pipe or a socket."""

    def __init__(self, path: Path, folder: bool) -> None:
        super().__init__(f"not a regular file: {path}")
        self.folder = folder


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one read of a file gave."""

    data: bytes
    #: The file's size when it was opened (the data is not read if that is over the limit).
    size: int
    #: Whether ``data`` is the whole file, unchanged from before the read to after it.
    unchanged: bool


def read_snapshot(path: Path, limit: int) -> Snapshot:
    """Read ``path`` whole, unless its size is over ``limit`` bytes (then nothing is read)."""
    before = path.stat()
    _check_regular(path, before)
    if before.st_size > limit:
        return Snapshot(b"", before.st_size, True)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        opened = os.fstat(fd)
        _check_regular(path, opened)
        data = read_fd(fd, limit + 1)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    unchanged = len(data) == opened.st_size and _stamp(before) == _stamp(opened) == _stamp(after)
    if not unchanged:
        log.info("%s changed while it was read (%d bytes of %d)", path, len(data), opened.st_size)
    return Snapshot(data, max(opened.st_size, len(data)), unchanged)


def read_fd(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``fd``, until the end of the file."""
    chunks, size = [], 0
    while size < limit and (chunk := os.read(fd, min(limit - size, 16 * 1024 * 1024))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _check_regular(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise NotARegularFile(path, folder=stat.S_ISDIR(st.st_mode))


def _stamp(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns
