"""Replacing a file the user named, atomically and never destructively.

Every file migdocs writes over (a report of ``--output``, the catalog that ``review --mark``
stamps, a new catalog of ``init``) goes through `replace_file`: the text is written to a
temporary file in the same folder as the real file and renamed over it, so a reader sees
the old file or the new one, never half of one. What is at the path decides whether it may
be replaced at all: a device, a FIFO or a socket is not a file to write a report into (as
root, renaming over ``/dev/null`` turns it into a regular file for the whole machine), and a
symlink is followed to its target, which is replaced in its own folder, so the link stays —
but only to a file in the link's own folder or below, outside ``.git``: a link planted in a
checkout (``migdocs.sarif -> ~/.bashrc``) must not choose what a report overwrites.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from migdocs.errors import MigdocsError

_KINDS = {
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a folder",
}


def writable_target(path: Path) -> tuple[Path, os.stat_result | None]:
    """The regular file that writing to ``path`` replaces, and its status (``None`` when it
    does not exist yet, which is fine).

    Raises:
        MigdocsError: naming ``path`` when it is not a regular file (a device, a FIFO, a
            socket, a folder), a symlink to something that does not exist, or read-only.
    """
    target = path
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        home = Path(os.path.realpath(path.parent))
        # A link in a checkout is whoever committed it's choice: followed only to a file in
        # its own folder or below, and never into git's (hooks run what they hold).
        if not target.is_relative_to(home) or ".git" in target.relative_to(home).parts:
            raise MigdocsError(
                f"{path}: a link to {target}, outside the link's own folder; not written"
            )
    try:
        status = target.lstat()
    except FileNotFoundError:
        if target is not path:
            # Creating the target of a dangling link writes wherever the link says, which
            # whoever committed the link chose, not the user who named ``path``.
            raise MigdocsError(
                f"{path}: a link to {target}, which does not exist; not written"
            ) from None
        return path, None
    except OSError as error:
        raise MigdocsError(f"{path}: cannot write: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        kind = _KINDS.get(stat.S_IFMT(status.st_mode), "not a file")
        raise MigdocsError(f"{path}: not a regular file ({kind}); not written")
    # Root may write anything, so os.access would say yes: a file whose mode allows no one to
    # write it was made read-only on purpose, and stays as it is.
    if not status.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise MigdocsError(f"{path}: read-only; not written")
    return target, status


def replace_file(
    path: Path,
    text: str,
    *,
    newline: str | None = None,
    validate: Callable[[Path], None] | None = None,
) -> None:
    """Replace the file at ``path`` (or at the end of its symlink) with ``text``, atomically.

    An existing file keeps its mode and, when the process may give it, its owner; a new file
    gets the mode the umask leaves of ``0o666``. ``validate`` is called with the written
    temporary file before it replaces anything, and may raise to keep the old file.

    Raises:
        MigdocsError: when the path may not be written (see `writable_target`), or the
            folder does not exist or cannot be written; nothing is then changed.
    """
    target, status = writable_target(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise MigdocsError(f"{path}: folder {folder} does not exist")
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8", newline=newline) as stream:
            stream.write(text)
            if status is None:
                os.fchmod(stream.fileno(), 0o666 & ~current_umask())
            else:
                os.fchmod(stream.fileno(), stat.S_IMODE(status.st_mode))
                if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
                    _keep_owner(path, stream.fileno(), status)
        if validate is not None:
            validate(Path(temporary))
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise MigdocsError(f"{path}: cannot write: {error.strerror}") from None
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def _keep_owner(path: Path, handle: int, status: os.stat_result) -> None:
    """Give the new file the old one's owner and group, or refuse to replace it."""
    try:
        os.fchown(handle, status.st_uid, status.st_gid)
    except PermissionError:
        raise MigdocsError(
            f"{path}: owned by uid {status.st_uid} (gid {status.st_gid}), which a replaced "
            "file could not keep; not written"
        ) from None


def current_umask() -> int:
    """The process's umask (reading it means setting it; migdocs writes from one thread)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
