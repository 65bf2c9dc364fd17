"""How much of what a project holds migdocs agrees to read: files are refused past a size no
real history reaches, so a hostile pull request cannot exhaust the machine that checks it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: The largest SQL file (migration, rollback, ``replay.setup``) migdocs reads. The largest
#: migrations of public histories are initial schemas and data dumps of a few megabytes.
SQL_MAX_BYTES = 64 << 20
#: The largest catalog migdocs reads: 10,000 entries take about 4 MiB.
CATALOG_MAX_BYTES = 16 << 20
#: The largest history document (``init --from-markdown``) migdocs reads.
HISTORY_MAX_BYTES = 16 << 20

#: What the first read asks for: a migration file is almost always smaller.
_FIRST_READ = 1 << 16


class FileTooLarge(OSError):
    """A file larger than migdocs reads; ``strerror`` says how large, and the limit."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        message = f"is larger than the {_size(limit)} migdocs reads ({_size(size)})"
        super().__init__(errno.EFBIG, message, str(path))
        self.size = size
        self.limit = limit


def _size(count: int) -> str:
    if count >= 1 << 20:
        return f"{count / (1 << 20):,.{0 if count % (1 << 20) == 0 else 1}f} MiB"
    return f"{count:,} bytes"


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of the file at ``path``, read with as few system calls as can be.

    `Path.read_bytes` makes about ten per file, and a history has tens of thousands of files:
    on machines where system calls are slow (virtual machines, containers) that was a large
    part of `migdocs check`. Here a file of up to 64 kB takes three: open, read, close.

    Raises:
        FileTooLarge: when the file holds more than ``limit`` bytes; no more than ``limit``
            and one read are read (a file that grows while read is stopped there too).
        OSError: as `open` would (`IsADirectoryError` for a folder, from `read`).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        data = os.read(fd, min(_FIRST_READ, limit + 1))
        if len(data) < _FIRST_READ and len(data) <= limit:
            return data  # a read of a regular file comes back short only at its end
        size = os.fstat(fd).st_size
        if size > limit or len(data) > limit:
            raise FileTooLarge(path, max(size, len(data)), limit)
        chunks = [data]
        total = len(data)
        rest = size - total
        while chunk := os.read(fd, min(max(rest, 0) + _FIRST_READ, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            rest -= len(chunk)
            if total > limit:
                raise FileTooLarge(path, total, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)
