"""The project folder: the catalog's file names resolved inside it, and paths as reports show
them."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from migdocs.catalog import LoadedCatalog


def _folder_shown(catalog: str) -> str:
    """The folder of a catalog named ``catalog`` (as the user named it), as reports show it:
    ``""`` for the working directory."""
    folder = os.path.dirname(catalog)
    shown = Path(folder).as_posix() if folder else ""
    return "" if shown == "." else shown


class ProjectFolder:
    """The folder a catalog is in: every path of the project lies inside it.

    Args:
        loaded: The catalog, whose lines name a path that cannot be used.
        relative_to_catalog: Whether reports name files from where ``loaded.display`` names
            the catalog; else from the project folder.
    """

    def __init__(self, loaded: LoadedCatalog, *, relative_to_catalog: bool = True) -> None:
        self.loaded = loaded
        self.root = loaded.path.parent.resolve()
        self._bases: dict[Path, bool] = {}
        self._listings: dict[Path, dict[str, os.DirEntry[str]]] = {}
        self._children: dict[Path, dict[str, Path]] = {}
        self._shown_folders: dict[str, str] = {}
        self._shown_root = _folder_shown(loaded.display) if relative_to_catalog else ""

    # -- names from the catalog -----------------------------------------------------------------

    def folder(self, where: tuple[str, str], value: str, problems: list[str]) -> Path:
        """The folder the catalog names at ``where`` (a stand-in when it is refused)."""
        path = self.inside(self.root, value, where, problems)
        return path if path is not None else self.root / "__invalid__"

    def inside(
        self, base: Path, name: str, where: tuple[str | int, ...], problems: list[str]
    ) -> Path | None:
        """``base / name``, refused when it leads outside the project (``..``, absolute, links)
        or cannot name a file (a NUL byte): then ``None``, and why in ``problems``, naming the
        catalog's line ``where``."""
        if "\0" in name:
            problems.append(self.loaded.error(where, f"{name!r} holds a NUL byte: not a file name"))
            return None
        simple = "/" not in name and "\\" not in name and name not in (".", "..", "")
        if simple and self._base_inside(base):
            # One plain name in a folder already known to be inside: only a link can lead out.
            # The folder's listing says which names are links without a system call per file.
            listed = self.entries(base).get(name)
            if listed is not None and not listed.is_symlink():
                return self.child(base, name)
            try:
                link = listed is None and (base / name).is_symlink()
            except OSError as error:  # a name too long for the file system
                problems.append(self.loaded.error(where, f"{name!r}: {error.strerror}"))
                return None
            if listed is None and not link:
                return base / name  # missing (MG102), or spelled in another case than on disk
        relative = Path(name)
        if relative.is_absolute() or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            problems.append(
                self.loaded.error(where, f"{name!r} is absolute; give a path inside the project")
            )
            return None
        candidate = base / relative
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            problems.append(self.loaded.error(where, f"{name!r} cannot be resolved"))
            return None
        if not resolved.is_relative_to(self.root):
            problems.append(
                self.loaded.error(where, f"{name!r} leads outside the project folder ({self.root})")
            )
            return None
        return candidate

    def _base_inside(self, base: Path) -> bool:
        inside = self._bases.get(base)
        if inside is None:
            try:
                inside = base.resolve().is_relative_to(self.root)
            except (OSError, RuntimeError):
                inside = False
            self._bases[base] = inside
        return inside

    # -- what is on disk ------------------------------------------------------------------------

    def child(self, folder: Path, name: str) -> Path:
        """``folder / name``, one object however often it is asked for (paths are costly)."""
        made = self._children.setdefault(folder, {})
        path = made.get(name)
        if path is None:
            path = made[name] = folder / name
        return path

    def entries(self, folder: Path) -> dict[str, os.DirEntry[str]]:
        """The entries of ``folder`` by name, read once (empty when it cannot be read)."""
        listing = self._listings.get(folder)
        if listing is None:
            try:
                with os.scandir(folder) as entries:
                    listing = {entry.name: entry for entry in entries}
            except OSError:
                listing = {}
            self._listings[folder] = listing
        return listing

    def sql_files(self, folder: Path, keep: Callable[[str], bool]) -> list[Path]:
        """The files ``*.sql`` of ``folder`` (links to files included) that ``keep``, sorted as
        paths sort."""
        names = []
        for name, entry in self.entries(folder).items():
            if not os.path.normcase(name).endswith(".sql") or not keep(name):
                continue
            try:
                is_file = entry.is_file()
            except OSError:
                is_file = False
            if is_file:
                names.append(name)
        names.sort(key=os.path.normcase)
        return [self.child(folder, name) for name in names]

    # -- paths as reports show them -------------------------------------------------------------

    def display(self, path: Path) -> str:
        """A path as reports show it, with ``/``: from the catalog's folder as the user named
        it, so that every path of a report starts where the catalog's does (the working
        directory, or the root when the catalog was named by an absolute path)."""
        # Most paths are a file name in one of a few folders: each folder is worked out once.
        folder, name = os.path.split(path)
        shown = self._shown_folders.get(folder)
        if shown is not None and name:
            return f"{shown}/{name}" if shown else name
        try:
            relative = Path(folder).relative_to(self.root).as_posix()
        except ValueError:
            pass
        else:
            self._shown_folders[folder] = self._from_root(relative)
        return self._display(path)

    def _display(self, path: Path) -> str:
        try:
            return self._from_root(path.relative_to(self.root).as_posix())
        except ValueError:
            try:
                return self._from_root(path.resolve().relative_to(self.root).as_posix())
            except ValueError:
                return path.as_posix()

    def _from_root(self, relative: str) -> str:
        """A path relative to the project folder, as reports show it."""
        if relative == ".":
            return self._shown_root
        return f"{self._shown_root}/{relative}" if self._shown_root else relative
