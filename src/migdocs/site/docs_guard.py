"""The docs folder's symlinks, checked before MkDocs walks it.

MkDocs copies every file under ``docs_dir`` into the site, and walks it following symlinks
(``os.walk(followlinks=True)``). A pull request can therefore publish any file the build can
read (``docs/env.txt -> /proc/self/environ`` puts the build's environment, credentials
included, on the site) or make the walk endless (``docs/loop -> ..``). `check_docs` walks the
folder as MkDocs will, but never through a link it has not checked first: every link must
stay inside the project (the folder of mkdocs.yml) and out of its hidden files and folders
(``docs/x -> ../.env``), and a folder link must lead somewhere the walk has not been, which
also bounds it to the project's size.
"""

from __future__ import annotations

import os
from pathlib import Path

from mkdocs.exceptions import PluginError


def check_docs(docs_dir: Path, root: Path) -> None:
    """Refuse a docs folder outside ``root``, and links in it that lead outside ``root`` or
    to a folder the walk already reaches (a loop, or the same folder twice).

    Raises:
        PluginError: naming the link (as the path MkDocs would read it by, from ``root``)
            and its target as written.
    """
    root = root.resolve()
    docs = docs_dir.resolve()
    if not docs.is_relative_to(root):
        raise PluginError(
            f"migdocs: docs_dir {docs_dir} is outside the project ({root}); the site would "
            "publish what is there"
        )
    reached = {docs}
    # (the folder as MkDocs names it, where it really is)
    folders = [(Path(os.path.relpath(docs_dir, root)), docs)]
    while folders:
        shown, real = folders.pop()
        try:
            entries = list(os.scandir(real))
        except OSError as error:
            raise PluginError(f"migdocs: {shown}: cannot read: {error.strerror}") from None
        for entry in entries:
            name = shown / entry.name
            if not entry.is_symlink():
                if entry.is_dir(follow_symlinks=False):
                    reached.add(Path(entry.path))
                    folders.append((name, Path(entry.path)))
                continue
            written = os.readlink(entry.path)
            target = Path(os.path.realpath(entry.path))
            if not target.is_relative_to(root):
                raise PluginError(
                    f"migdocs: {name} -> {written}: outside the project ({root}); "
                    "a link in the docs may only lead to a file of the project"
                )
            hidden = [part for part in target.relative_to(root).parts if part.startswith(".")]
            if hidden:
                # What CI drops into a checkout (.env, .git/config, .npmrc) is hidden, and
                # MkDocs itself publishes no hidden file of the docs.
                raise PluginError(
                    f"migdocs: {name} -> {written}: a hidden file or folder ({hidden[0]}), "
                    "which the site never publishes"
                )
            if not target.is_dir():
                continue
            if real.is_relative_to(target):
                raise PluginError(f"migdocs: {name} -> {written}: a folder that holds it (a loop)")
            if target in reached:
                raise PluginError(
                    f"migdocs: {name} -> {written}: a folder the docs already reach "
                    "(a loop, or the same folder twice)"
                )
            reached.add(target)
            folders.append((name, target))
