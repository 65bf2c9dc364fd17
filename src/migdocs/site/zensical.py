"""`migdocs build --engine zensical`: the history's section as files, built by Zensical.

Zensical, Material's successor, reads ``mkdocs.yml`` and Python-Markdown extensions but
runs no MkDocs plugin: it drops the ``migdocs`` entry without a word. So this front end
stages the site. It copies the docs folder into a work folder beside ``mkdocs.yml``, with
the section's pages, SQL files and assets written in and the ``<!-- migdocs:… -->`` markers
of hand-written pages expanded. It writes a derived config there that leaves the plugin
out, adds the section to the navigation and the site's stylesheet and Mermaid to its
assets, and names migdocs' Markdown extension. Zensical builds that config in this process
(its ``build`` function), so the extension finds the fragments the pages were made with.
The work folder is removed afterwards, and the built site is swapped in whole by
`site/build.py`, only when the build succeeded.

What MkDocs' navigation objects allow and a config cannot say is not there. A long
history's migration pages are built but are not navigation items: the navigation leads to
their month's page, and on a migration page it does not show the page in its month's place.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from migdocs.errors import MigdocsError
from migdocs.site.extension import MigdocsExtension
from migdocs.site.fragments import Fragments
from migdocs.site.navigation import NavMonth, NavPage, NavSection
from migdocs.site.section import MERMAID_URI, STYLESHEET_URI, HistorySection

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig

    from migdocs.site.plugin import MigdocsPlugin

#: The Markdown extension the derived config names: `makeExtension` below.
EXTENSION = "migdocs.site.zensical:makeExtension"
#: The fragments of the pages being built, for `makeExtension` (Zensical builds in this
#: process and makes an extension for each page).
_building: Fragments | None = None


def makeExtension(**_: Any) -> MigdocsExtension:
    """The Markdown extension of a page Zensical converts: the staged pages' fragments."""
    if _building is None:
        raise MigdocsError("migdocs' Markdown extension runs only within `migdocs build`")
    return MigdocsExtension(_building)


def available() -> bool:
    """Whether Zensical is installed."""
    try:
        import zensical  # noqa: F401
    except ImportError:
        return False
    return True


def build_with_zensical(
    config: MkDocsConfig, plugin: MigdocsPlugin, section: HistorySection, into: Path
) -> None:
    """Build the site of ``config`` with Zensical into the empty folder ``into``.

    Raises:
        MigdocsError: when Zensical is not installed, or its build fails (a strict build
            with a broken link); ``into`` is then left as it was.
    """
    global _building
    try:
        import zensical
    except ImportError:
        raise MigdocsError("--engine zensical needs Zensical: pip install zensical") from None
    config_file = Path(config.config_file_path or "mkdocs.yml").resolve()
    with _work_folder(config_file.parent) as work:
        stage_docs(config, plugin, section, work / "docs")
        derived = work / "mkdocs.yml"
        derived.write_text(derived_config(config_file, config, section), encoding="utf-8")
        derived.chmod(0o600)  # it may hold what !ENV read from the environment
        _building = plugin.fragments
        try:
            zensical.build(str(derived), {"strict": bool(config.strict), "clean": True})
        except (RuntimeError, OSError) as error:
            raise MigdocsError(f"zensical did not build the site: {error}") from None
        finally:
            _building = None
        built = work / "site"
        for item in built.iterdir():
            shutil.move(item, into / item.name)  # a rename where both are on one device


def serve_with_zensical(
    config: MkDocsConfig, plugin: MigdocsPlugin, make: Callable[[], HistorySection], address: str
) -> None:
    """Serve the site of ``config`` with Zensical until interrupted, staged as for a build;
    when the catalog, the SQL or the docs change, the section is made again (``make``) and
    staged anew, and Zensical, which watches the staged docs, rebuilds what changed."""
    global _building
    try:
        import zensical
    except ImportError:
        raise MigdocsError("--engine zensical needs Zensical: pip install zensical") from None
    config_file = Path(config.config_file_path or "mkdocs.yml").resolve()
    watched = [config_file, plugin.catalog_path, Path(config.docs_dir)]
    watched += [folder for folder in _sql_folders(plugin) if folder.is_dir()]
    with _work_folder(config_file.parent) as work:
        section = make()
        stage_docs(config, plugin, section, work / "docs")
        derived = work / "mkdocs.yml"
        derived.write_text(derived_config(config_file, config, section), encoding="utf-8")
        derived.chmod(0o600)
        _building = plugin.fragments
        stop = threading.Event()
        watcher = threading.Thread(
            target=_restage,
            args=(config, plugin, make, work / "docs", watched, stop),
            daemon=True,
        )
        watcher.start()
        options = {"dev_addr": address, "open": False, "strict": False}
        failed: list[BaseException] = []

        def run() -> None:
            try:
                zensical.serve(str(derived), options)
            except Exception as error:  # said below, unless interrupted
                failed.append(error)

        # Zensical serves from its own runtime, which takes Ctrl-C for itself: it runs in a
        # thread, and this one waits with Python's handler put back, so that an interrupt
        # stops the server and removes the work folder (the thread ends with the process).
        server = threading.Thread(target=run, daemon=True)
        server.start()
        try:
            while server.is_alive():
                signal.signal(signal.SIGINT, signal.default_int_handler)
                server.join(0.5)
        finally:
            stop.set()
            _building = None
        if failed:
            raise MigdocsError(f"zensical stopped serving: {failed[0]}")


def _restage(
    config: MkDocsConfig,
    plugin: MigdocsPlugin,
    make: Callable[[], HistorySection],
    docs: Path,
    watched: list[Path],
    stop: threading.Event,
) -> None:
    """Stage the section again each time a watched file changes, until ``stop``."""
    global _building
    seen = _stamps(watched)
    while not stop.wait(1.0):
        now = _stamps(watched)
        if now == seen:
            continue
        seen = now
        try:
            section = make()
        except MigdocsError as error:  # a catalog being edited: say so, keep the last site
            print(f"migdocs: {error}", file=sys.stderr)
            continue
        _building = plugin.fragments
        staged = docs.with_name("docs.next")
        shutil.rmtree(staged, ignore_errors=True)
        stage_docs(config, plugin, section, staged)
        _sync(staged, docs)
        shutil.rmtree(staged, ignore_errors=True)


def _stamps(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """Each file under ``paths``, with its modification time and size."""
    stamps = {}
    for path in paths:
        for file in [path] if path.is_file() else path.rglob("*"):
            with contextlib.suppress(OSError):
                status = file.stat()
                stamps[str(file)] = (status.st_mtime_ns, status.st_size)
    return stamps


def _sync(source: Path, target: Path) -> None:
    """Make ``target`` hold what ``source`` holds, writing only the files that differ (a
    file Zensical sees change is a page it builds again)."""
    wanted = {path.relative_to(source) for path in source.rglob("*") if path.is_file()}
    for path in [p for p in target.rglob("*") if p.is_file()]:
        if path.relative_to(target) not in wanted:
            path.unlink()
    for relative in sorted(wanted):
        new = (source / relative).read_bytes()
        old = target / relative
        if not old.is_file() or old.read_bytes() != new:
            _write(old, new)


def _sql_folders(plugin: MigdocsPlugin) -> list[Path]:
    site = plugin.site
    if site is None:
        return []
    return [site.project.migrations_dir, site.project.rollbacks_dir]


@contextmanager
def _work_folder(root: Path) -> Iterator[Path]:
    """A folder in the project, where Zensical wants a config's folders; removed after."""
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=".migdocs-zensical-", dir=root))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def stage_docs(
    config: MkDocsConfig, plugin: MigdocsPlugin, section: HistorySection, docs: Path
) -> None:
    """The docs folder as Zensical builds it: the user's pages with their markers
    expanded, and the section's pages, SQL files and assets."""
    shutil.copytree(config.docs_dir, docs, symlinks=False)
    for page in docs.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        expanded = plugin.expand_markers(text, page.relative_to(docs).as_posix())
        if expanded != text:
            page.write_text(expanded, encoding="utf-8")
    for uri, markdown in section.pages.items():
        _write(docs / uri, markdown.encode("utf-8"))
    for uri, data in section.files.items():
        _write(docs / uri, data)
    for uri, source in section.assets.items():
        if not (docs / uri).exists():  # a site that has its own keeps it
            _write(docs / uri, source.read_bytes())


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def derived_config(config_file: Path, config: MkDocsConfig, section: HistorySection) -> str:
    """The user's config as Zensical builds the staged docs: without the plugin, with the
    section in the navigation, the site's assets, and migdocs' Markdown extension."""
    from mkdocs.utils.yaml import yaml_load

    with config_file.open(encoding="utf-8") as stream:
        raw: dict[str, Any] = yaml_load(stream) or {}
    raw.pop("INHERIT", None)
    raw["docs_dir"] = "docs"
    raw["site_dir"] = "site"
    raw["plugins"] = _without_migdocs(raw.get("plugins"))
    raw["nav"] = [*_user_nav(config), _nav(section.navigation)]
    css = list(raw.get("extra_css") or [])
    if STYLESHEET_URI not in css:
        css.append(STYLESHEET_URI)
    raw["extra_css"] = css
    scripts = list(raw.get("extra_javascript") or [])
    paths = [script.get("path", "") if isinstance(script, dict) else script for script in scripts]
    if not any("mermaid" in str(path).lower() for path in paths):
        scripts.append({"path": MERMAID_URI + "mermaid.min.js", "defer": True})
    raw["extra_javascript"] = scripts
    extensions = list(raw.get("markdown_extensions") or [])
    extensions.append({EXTENSION: {}})
    raw["markdown_extensions"] = extensions
    custom_dir = (
        (raw.get("theme") or {}).get("custom_dir") if isinstance(raw.get("theme"), dict) else None
    )
    if custom_dir:
        raw["theme"]["custom_dir"] = str((config_file.parent / custom_dir).resolve())
    return yaml.dump(raw, Dumper=yaml.Dumper, sort_keys=False, allow_unicode=True)


def _without_migdocs(plugins: Any) -> Any:
    """The config's plugins without migdocs (a list of names and mappings, or a mapping)."""
    if isinstance(plugins, dict):
        return {name: value for name, value in plugins.items() if name != "migdocs"}
    kept = []
    for plugin in plugins or []:
        name = next(iter(plugin)) if isinstance(plugin, dict) else plugin
        if name != "migdocs":
            kept.append(plugin)
    return kept


def _user_nav(config: MkDocsConfig) -> list[Any]:
    """The user's navigation as written, or, without one, MkDocs' own of the user's pages."""
    if config.nav is not None:
        return list(config.nav)
    from mkdocs.structure.files import get_files
    from mkdocs.structure.nav import Section, get_navigation
    from mkdocs.structure.pages import Page

    def item(node: Any) -> Any:
        if isinstance(node, Section):
            return {node.title: [item(child) for child in node.children]}
        if isinstance(node, Page):
            return node.file.src_uri
        return {node.title: node.url}

    files = get_files(config)
    return [item(node) for node in get_navigation(files, config).items]


def _nav(node: NavPage | NavMonth | NavSection) -> Any:
    """The section's navigation as ``nav:`` writes it."""
    if isinstance(node, NavPage):
        return node.uri
    if isinstance(node, NavMonth):
        return {node.title: node.page}
    return {node.title: [_nav(child) for child in node.children]}
