"""`migdocs build`: MkDocs' build into a temporary folder, then a swap, so that a build that
fails leaves the previous site whole.

The swap replaces the whole site folder, so the folder must be one migdocs may replace: not
the project, the docs, the catalog's folder, the migrations or the rollbacks (nor a folder
that holds one of them), and, when it has anything in it, a site that migdocs built before:
each site carries a marker file, `MARKER`, at its root.

Modes are those of ``mkdocs build``: a new site folder and every file in it get what the
umask leaves (``tempfile.mkdtemp`` alone would make the folder 0700), and a site folder
that is rebuilt keeps its mode, and its owner where the process may give it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdocs.atomic import current_umask
from migdocs.errors import MigdocsError

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

    from migdocs.report.report import Report

#: The file at the root of every site migdocs builds: a folder with it may be replaced.
MARKER = ".migdocs-site"
_MARKER_TEXT = "A site built by migdocs: `migdocs build` replaces this folder whole.\n"


class FindingsStoppedBuild(Exception):
    """A strict build that the report's findings at or above ``fail_on`` stopped (exit 1, as
    findings make `migdocs check` exit 1); the previous site is untouched."""


def build_site(
    config_file: Path,
    site_dir: str | None,
    *,
    strict: bool = False,
    fail_on: str | None = None,
    report: Report | None = None,
    catalog: Path | None = None,
    engine: str | None = None,
) -> Path:
    """Build the site of ``config_file`` into ``site_dir`` (default: the config's).

    Args:
        fail_on: In strict mode, the lowest severity of a finding in the report that stops
            the build, instead of the plugin's ``fail_on``.
        report: The report the site shows (`migdocs build --audit`), instead of the one the
            plugin reads or makes.
        catalog: A catalog besides the plugin's whose folder the site must not replace
            (``migdocs --catalog``).
        engine: ``mkdocs`` or ``zensical`` (`site/zensical.py`); default: the plugin's
            ``engine``, else MkDocs.

    Raises:
        FindingsStoppedBuild: when the build is strict and the report it would show has a
            finding at or above ``fail_on``; the previous site is then untouched.
        MigdocsError: when the config cannot be loaded, the site folder is one that must
            not be replaced (see `check_site_dir`), or the build fails; the previous site is
            then untouched.
    """
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, MkDocsException

    if not config_file.is_file():
        raise MigdocsError(f"{config_file}: no MkDocs config (see `migdocs init`)")
    logging.getLogger("mkdocs").setLevel(logging.WARNING)
    try:
        config = load_config(str(config_file), strict=strict or None)
    except (MkDocsException, Abort) as error:
        raise MigdocsError(f"{config_file}: {error}") from None
    target = Path(site_dir) if site_dir else Path(config.site_dir)
    target = target.resolve()
    named = "--site-dir" if site_dir else f"{config_file}: site_dir"
    plugin = config.plugins.get("migdocs")
    if (report is not None or fail_on is not None) and plugin is None:
        raise MigdocsError(f"{config_file}: the migdocs plugin is not in `plugins`")
    root = Path(config.config_file_path or config_file).resolve().parent
    keep = [(root, "the project folder"), (Path(config.docs_dir).resolve(), "the docs folder")]
    if plugin is not None:  # its catalog is relative to mkdocs.yml
        keep.append(((root / plugin.config.catalog).resolve().parent, "the catalog's folder"))
    if catalog is not None and catalog.is_file():
        keep.append((catalog.resolve().parent, "the catalog's folder"))
    check_site_dir(target, keep, named)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    # mkdtemp makes it 0700: a site is for a web server and teammates to read.
    staging.chmod(0o777 & ~current_umask())
    config.site_dir = str(staging)
    if report is not None and plugin is not None:
        plugin.given_report = report
    if fail_on is not None and plugin is not None:
        plugin.config.fail_on = fail_on
    collected = _Collector()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(collected)
    if engine is None:
        engine = plugin.config.engine if plugin is not None else "mkdocs"
    try:
        if engine == "zensical":
            _build_with_zensical(config, plugin, staging)
        else:
            build(config)
    except (MkDocsException, Abort, OSError, MigdocsError) as error:
        shutil.rmtree(staging, ignore_errors=True)
        stopped = getattr(plugin, "stopped", None)
        if stopped is not None:
            raise FindingsStoppedBuild(f"{stopped}\n{target} is unchanged") from None
        reasons = "\n".join(collected.messages) or str(error)
        raise MigdocsError(f"the site did not build, {target} is unchanged:\n{reasons}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        logger.removeHandler(collected)
    try:
        # Where the SQL is, the plugin knows once it has loaded the catalog: a folder of
        # SQL is not empty, so only a marker planted in it gets this far.
        check_site_dir(target, _sql_folders(plugin), named, replaceable=False)
    except MigdocsError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(staging, target)
    return target


def _swap_in(staging: Path, target: Path) -> None:
    """Put the built site in ``target``'s place at once, marked as migdocs' own, with the
    previous site folder's mode and owner."""
    (staging / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    _keep_folder(staging, target)
    previous = None
    if target.exists():
        previous = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, previous)
    os.replace(staging, target)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


def _build_with_zensical(config: MkDocsConfig, plugin: Any, into: Path) -> None:
    """What MkDocs' build does with the plugin, done by Zensical: the section made once,
    staged as files, and built into ``into``."""
    from migdocs.site.section import history_section
    from migdocs.site.zensical import build_with_zensical

    if plugin is None:
        raise MigdocsError(
            f"{config.config_file_path}: the migdocs plugin is not in `plugins`: "
            "Zensical would build the site without the history"
        )
    plugin.on_config(config)
    collector = plugin.collector  # as in MkDocs' build (``collector.py``)
    collector.pause()
    try:
        plugin.site = site = plugin.checked_site(strict=bool(config.strict))
        section = history_section(site)
        collector.freeze()
        build_with_zensical(config, plugin, section, into)
    finally:
        collector.resume()
        plugin.forget()  # as after MkDocs' build


def serve_with_engine(config_file: Path, address: str, engine: str | None) -> bool:
    """Serve the site with Zensical when ``engine`` (else the plugin's ``engine``) says so;
    False when the site is MkDocs' to serve.

    Raises:
        MigdocsError: when the config cannot be loaded, or Zensical is missing.
    """
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, MkDocsException

    from migdocs.site.fragments import Fragments
    from migdocs.site.section import HistorySection, history_section
    from migdocs.site.zensical import serve_with_zensical

    try:
        config = load_config(str(config_file))
    except (MkDocsException, Abort) as error:
        raise MigdocsError(f"{config_file}: {error}") from None
    plugin = config.plugins.get("migdocs")
    if engine is None:
        engine = plugin.config.engine if plugin is not None else "mkdocs"
    if engine != "zensical":
        return False
    if plugin is None:
        raise MigdocsError(f"{config_file}: the migdocs plugin is not in `plugins`")
    plugin.on_config(config)

    def make() -> HistorySection:
        plugin.fragments = Fragments()  # the pages being served keep theirs
        try:
            plugin.site = site = plugin.checked_site(strict=False)
        except MkDocsException as error:
            raise MigdocsError(str(error)) from None
        return history_section(site)

    serve_with_zensical(config, plugin, make, address)
    return True


def _keep_folder(staging: Path, target: Path) -> None:
    """Give the built folder the previous site folder's mode and, where the process may,
    its owner and group: ``mkdocs build`` empties an existing site folder and keeps it, so
    a folder made readable for a web server (or given its group) stays so. The files in it
    are new, with the umask's mode, as MkDocs writes them."""
    try:
        status = target.stat()
    except OSError:
        return  # a new site folder: the umask's mode, given when it was made
    if not stat.S_ISDIR(status.st_mode):
        return
    if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
        with contextlib.suppress(PermissionError):
            os.chown(staging, status.st_uid, status.st_gid)
    staging.chmod(stat.S_IMODE(status.st_mode))  # after chown, which may clear set-id bits


def check_site_dir(
    target: Path, keep: list[tuple[Path, str]], named: str, *, replaceable: bool = True
) -> None:
    """Refuse a site folder whose replacement would destroy what is not a site.

    Args:
        target: The site folder, resolved.
        keep: Folders (resolved) that neither the site nor a folder holding the site may be,
            each with what it is, for the message.
        named: How the user named the folder (``--site-dir``, ``mkdocs.yml: site_dir``).
        replaceable: Also refuse what is not a folder, and a folder with anything in it that
            is not a site migdocs (or, before the marker, MkDocs) built.

    Raises:
        MigdocsError: naming the folder and why it is refused.
    """
    where = f"{named} {target}"
    for folder, what in keep:
        if target == folder:
            raise MigdocsError(f"{where}: is {what}; choose a folder of its own, such as site/")
        if folder.is_relative_to(target):
            raise MigdocsError(f"{where}: holds {what} ({folder}); choose a folder of its own")
        if what == "the docs folder" and target.is_relative_to(folder):
            raise MigdocsError(f"{where}: is inside {what} ({folder})")
    if not replaceable or not os.path.lexists(target):
        return
    if not target.is_dir():
        raise MigdocsError(f"{where}: not a folder; the site is a folder migdocs replaces whole")
    if any(target.iterdir()) and not is_site(target):
        raise MigdocsError(
            f"{where}: not empty, and not a site built by migdocs (it has no {MARKER}); "
            "migdocs replaces the site folder whole: empty it or choose another"
        )


def is_site(folder: Path) -> bool:
    """Whether ``folder`` is a site migdocs may replace: one it marked, or one that MkDocs
    built (its home page and its sitemap or search index) before migdocs marked its sites."""
    if (folder / MARKER).is_file():
        return True
    index = (folder / "search" / "search_index.json").is_file()
    return (folder / "index.html").is_file() and ((folder / "sitemap.xml").is_file() or index)


def _sql_folders(plugin: object) -> list[tuple[Path, str]]:
    """The migrations and rollbacks folders of the catalog the plugin built the site of."""
    from migdocs.site.plugin import MigdocsPlugin

    if not isinstance(plugin, MigdocsPlugin) or plugin.folders is None:
        return []
    folders = plugin.folders
    return [
        (folders.migrations.resolve(), f"the migrations folder of {folders.catalog}"),
        (folders.rollbacks.resolve(), f"the rollbacks folder of {folders.catalog}"),
    ]


class _Collector(logging.Handler):
    """Keeps MkDocs' warnings and errors, to say why a build failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
