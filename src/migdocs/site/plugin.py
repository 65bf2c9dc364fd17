"""The ``migdocs`` MkDocs plugin: the migration history as pages, made in memory at build time.

```yaml
plugins:
  - search
  - migdocs:
      catalog: catalog.yaml        # relative to mkdocs.yml
      prefix: history              # the URL section of the generated pages
      report: report.json          # from `migdocs audit --format json --output report.json`
      check: true                  # without a report, run `migdocs check` in-process
      templates: overrides/migdocs # a folder of templates that replace the package's
      fail_on: error               # strict mode: a finding this severe or worse stops the build
                                   # (never: only MkDocs' warnings do)
      jobs: auto                   # processes building the pages (1: the build's own only)
```

In strict mode (``mkdocs build --strict``, or ``strict: true`` in mkdocs.yml), a report with a
finding at or above ``fail_on`` stops the build with a ``PluginError`` before MkDocs empties
the site folder, so that the previous site stays whole and ``mkdocs build`` exits 1.

The plugin owns the navigation of its section — overview, timeline, risk matrix, schema,
audit, review, rules, the releases newest first (when the catalog names any), then the
migrations by year and month — and leaves the user's pages where the user put them. Once
the history is long enough for the timeline to have a page per month, the months' pages are
the navigation's leaves: a migration page shows its year and month, and itself in the
month's place, so the navigation of every page stays as short as a year's months, whatever
the history's length. A marker such as
``<!-- migdocs:risk-matrix -->`` in a hand-written page becomes the generated block.

The plain parts of the pages (tables of facts, highlighted SQL, long tables) are made by
the plugin and put in place by its Markdown extension (``extension.py``), which it adds to
the site's; catalog text stays Markdown, rendered by the site's Markdown on its page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as options
from mkdocs.config.base import BaseConfigOption, Config, ValidationError
from mkdocs.config.config_options import ExtraScriptValue
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, event_priority
from mkdocs.structure import StructureItem
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.nav import Navigation, Section, _add_parent_links, _get_by_type
from mkdocs.structure.pages import Page

from migdocs import runs
from migdocs.catalog.models import Severity
from migdocs.errors import MigdocsError
from migdocs.project import Project
from migdocs.report.escaping import shown
from migdocs.report.report import Report
from migdocs.site.collector import Collector
from migdocs.site.docs_guard import check_docs
from migdocs.site.extension import MigdocsExtension
from migdocs.site.fragments import TABLE, Fragments, searchable
from migdocs.site.navigation import NavMonth, NavPage, NavSection
from migdocs.site.pages import MARKERS, render_block
from migdocs.site.rendering import GeneratedPage, SharedMarkdown
from migdocs.site.section import (
    MERMAID_URI,
    STYLESHEET_URI,
    HistorySection,
    history_section,
)
from migdocs.site.state import Site
from migdocs.site.templating import environment
from migdocs.site.theming import ThemedPages

_MARKER = re.compile(r"<!--\s*migdocs:(" + "|".join(MARKERS) + r")\s*-->")


class Jobs(BaseConfigOption[int | None]):
    """``auto`` (``None``: as many as the machine gives the build) or a number of processes,
    one or more."""

    def __init__(self) -> None:
        super().__init__()
        self.default = "auto"

    def run_validation(self, value: object, /) -> int | None:
        if value == "auto":
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(
                f"expected 'auto' or a number of processes (1 or more), not {value!r}"
            )
        return value


class MigdocsConfig(Config):  # type: ignore[no-untyped-call]
    """The plugin's options."""

    catalog = options.Type(str, default="catalog.yaml")
    prefix = options.Type(str, default="history")
    report = options.Optional(options.Type(str))
    check = options.Type(bool, default=True)
    templates = options.Optional(options.Type(str))
    engine = options.Choice(("mkdocs", "zensical"), default="mkdocs")
    """What `migdocs build` and `migdocs serve` build the site with: MkDocs (this plugin), or
    Zensical (the section staged as files, see ``site/zensical.py``); ``--engine`` overrides
    it. `mkdocs build` itself always builds with MkDocs."""
    fail_on = options.Choice(("error", "warning", "info", "never"), default="error")
    """In strict mode, the lowest severity of a finding in the report the site shows that
    stops the build (as ``--fail-on`` makes ``migdocs check`` exit 1); ``never``: only
    MkDocs' warnings stop it, for a site that publishes a failing audit."""
    jobs = Jobs()
    """How many processes convert the generated pages' Markdown, then put them through the
    theme, the build's own included (see ``site/rendering.py`` and ``site/theming.py``);
    ``auto``: as many as the machine gives the build, from `AHEAD_FROM` pages on. The MkDocs
    engine only."""


class FindingsStopBuild(PluginError):
    """A strict build stopped by the report's findings at or above ``fail_on``, before MkDocs
    touched the site folder."""

    def __init__(self, message: str, held: int) -> None:
        super().__init__(message)
        #: How many findings are at or above ``fail_on``.
        self.held = held


@dataclass(frozen=True)
class SqlFolders:
    """The migrations and rollbacks folders of a catalog, and the catalog as messages name it."""

    migrations: Path
    rollbacks: Path
    catalog: str


class MigdocsPlugin(BasePlugin[MigdocsConfig]):  # type: ignore[no-untyped-call]
    """Generates the history's pages and owns their navigation."""

    def __init__(self) -> None:
        self.site: Site | None = None
        #: The section ``on_files`` generated, whose navigation ``on_nav`` places.
        self.section: HistorySection | None = None
        self.root = Path(".")
        self.catalog_path = Path("catalog.yaml")
        self.fragments = Fragments()
        self.extension = MigdocsExtension(self.fragments)
        #: By page: its HTML as the search index gets it, its HTML, and the parts swapped.
        self.searched: dict[str, tuple[str, str, list[tuple[str, str]]]] = {}
        #: What ``on_pre_build`` loaded, for ``on_files`` of the same build.
        self.loaded: Site | None = None
        #: Whether the site's Markdown reads attribute lists (the pages then mark their SQL
        #: and diagrams as left out of search).
        self.attr_list = True
        #: Why the last build stopped in strict mode, when its findings stopped it.
        self.stopped: FindingsStopBuild | None = None
        #: The report to show, handed over by `migdocs build --audit` (instead of the
        #: config's ``report`` file or ``check``).
        self.given_report: Report | None = None
        #: Where the SQL of the catalog last loaded is: kept once the build lets go of the
        #: rest, for ``serve`` to watch and `migdocs build` to keep the site out of.
        self.folders: SqlFolders | None = None
        #: The garbage collector, paused while the history is loaded and its pages made.
        self.collector = Collector()
        #: The converter of the build's generated pages (and its workers).
        self.converter: SharedMarkdown | None = None
        #: The theme's templates of the build's generated pages (and their workers).
        self.themed: ThemedPages | None = None

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        self.root = Path(config.config_file_path or ".").resolve().parent
        self.catalog_path = self.root / self.config.catalog
        check_docs(Path(config.docs_dir), self.root)  # before MkDocs walks it
        extensions = config.markdown_extensions
        for extension in extensions:
            if isinstance(extension, MigdocsExtension):
                self.extension = extension
                break
        else:
            extensions.append(self.extension)
        self.extension.fragments = self.fragments
        self.extension.for_search = any(name.endswith("search") for name in config.plugins)
        self.attr_list = any(
            str(extension).rsplit(".", 1)[-1] == "attr_list" for extension in extensions
        )
        scripts = config.extra_javascript
        # A site that lists a Mermaid of its own keeps it.
        paths = [getattr(script, "path", script) for script in scripts]  # str or a mapping
        if not any("mermaid" in str(path).lower() for path in paths):
            script = ExtraScriptValue(MERMAID_URI + "mermaid.min.js")
            script.defer = True  # run before DOMContentLoaded, when Material draws diagrams
            scripts.append(script)
        if STYLESHEET_URI not in config.extra_css:
            config.extra_css.append(STYLESHEET_URI)
        return config

    def _load(self) -> Site:
        prefix = self.config.prefix.strip("/") or "history"
        try:
            project = Project.load(self.catalog_path, self.config.catalog)
        except MigdocsError as error:
            raise PluginError(f"migdocs: {error}") from None
        report: Report | None = None
        context = None
        if self.given_report is not None:
            report = self.given_report
        elif self.config.report:
            path = self.root / self.config.report
            try:
                report = Report.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError) as error:
                raise PluginError(f"migdocs: {path}: not a migdocs JSON report: {error}") from None
        elif self.config.check:
            try:
                report, context = runs.checked(project)
            except MigdocsError as error:  # a catalog error only the checks reach
                raise PluginError(f"migdocs: {error}") from None
        override = self.root / self.config.templates if self.config.templates else None
        self.fragments.clear()
        self.searched.clear()
        return Site(
            project,
            report,
            environment(override),
            prefix,
            context,
            self.fragments,
            attr_list=self.attr_list,
        )

    def on_pre_build(self, *, config: MkDocsConfig) -> None:
        """Loads the catalog and the report, and in strict mode stops the build when the
        report has findings at or above ``fail_on``: before MkDocs empties the site folder."""
        self.collector.pause()
        self.loaded = self.checked_site(strict=bool(config.strict))

    def checked_site(self, *, strict: bool) -> Site:
        """The site of the catalog and its report; in strict mode, a `FindingsStopBuild`
        when the report has findings at or above ``fail_on``."""
        self.stopped = None
        site = self._load()
        project = site.project
        self.folders = SqlFolders(
            project.migrations_dir, project.rollbacks_dir, project.catalog_display
        )
        if strict and self.config.fail_on != "never" and site.report is not None:
            stop = findings_stop(site.report, Severity(self.config.fail_on))
            if stop is not None:
                self.stopped = stop
                raise stop
        return site

    def on_files(self, files: Files, *, config: MkDocsConfig) -> Files:
        self.site = site = self.loaded or self._load()
        self.loaded = None
        self.section = section = history_section(site)
        self.converter = converter = SharedMarkdown(self.extension, self.config.jobs)
        self.themed = ThemedPages(self.config.jobs)
        for uri, text in sorted(section.pages.items()):
            file = File.generated(config, uri, content=text, inclusion=InclusionLevel.NOT_IN_NAV)
            files.append(file)
            GeneratedPage(file, config, converter)  # the file's page, from now on
        for uri, data in sorted(section.files.items()):
            files.append(File.generated(config, uri, content=data))
        for uri, path in section.assets.items():  # copied once, as the site's other assets
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, abs_src_path=str(path)))
        self.collector.freeze()
        return files

    @event_priority(-100)  # the templates as every other plugin leaves them
    def on_env(self, env: Any, *, config: MkDocsConfig, files: Files) -> Any:
        """Every page is converted: the workers converting them, if any, are stopped."""
        if self.converter is not None:
            self.converter.stop()
        if self.themed is not None:
            self.themed.env = env  # as every other plugin left it
        return env

    def on_post_build(self, *, config: MkDocsConfig) -> None:
        self.collector.resume()
        self.forget()

    def on_build_error(self, *, error: Exception) -> None:
        self.collector.resume()
        self.forget()

    def forget(self) -> None:
        """Lets go of the build's history, pages and MkDocs' files once the build ends.
        MkDocs keeps a config's plugins for as long as the process lives (for ``serve``), so
        what they hold would otherwise be freed only as the interpreter exits, slowly: 6 s
        after a 10,000-migration build, against 0.1 s here."""
        self.site = self.loaded = None
        self.section = None
        if self.converter is not None:
            self.converter.close()
            self.converter = None
        if self.themed is not None:
            self.themed.stop()
            self.themed = None
        self.fragments.clear()
        self.searched.clear()
        self.extension.page = self.extension.files = None
        self.extension.placed = []

    def on_nav(self, nav: Navigation, *, config: MkDocsConfig, files: Files) -> Navigation:
        site, generated = self.site, self.section
        if site is None or generated is None:
            return nav
        prefix = site.prefix + "/"

        def page(uri: str) -> Page:
            file = files.get_file_from_path(uri)
            if file is None or file.page is None:
                raise PluginError(f"migdocs: {uri} was not generated")
            return file.page

        items = _without(nav.items, prefix)
        section = _placed(generated.navigation, page)
        items.append(section)
        _add_parent_links(items)
        for item in items:
            if item is section:
                item.parent = None
        pages = _get_by_type(items, Page)
        _chain(pages)
        if site.large:
            # Out of the navigation, but in their month's place in it, and in their own order.
            _chain([page(f"{prefix}migrations/{entry.id}.md") for entry in site.entries])
        return Navigation(items, pages)

    def on_page_markdown(
        self, markdown: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        # Where the page's tables of links are made as HTML, their links resolve from here.
        self.extension.page, self.extension.files = page.file, files
        return self.expand_markers(markdown, page.file.src_uri)

    def expand_markers(self, markdown: str, uri: str) -> str:
        """A hand-written page (at ``uri`` under the docs folder) with each of its
        ``<!-- migdocs:NAME -->`` markers replaced by the generated block."""
        site = self.site
        if site is None or not _MARKER.search(markdown):
            return markdown
        return _MARKER.sub(lambda match: render_block(site, match.group(1), uri), markdown)

    @event_priority(-100)  # after every other plugin has seen the page's HTML
    def on_page_content(
        self, html: str, *, page: Page, config: MkDocsConfig, files: Files
    ) -> str | None:
        """Gives the search index the page's fragments and tables as it reads them, without
        the markup it leaves out (the spans of highlighted code, links, the structure of
        tables), which it would otherwise parse tag by tag for nothing; ``on_page_context``
        puts the markup back once the index has the page."""
        if self.site is not None and page.file.src_uri.startswith(self.site.prefix + "/"):
            # The title as the page's heading holds it, HTML-escaped. Material prints a meta
            # title as it is; the page's title it runs through `striptags` for <title>,
            # which decodes it: an escaped `</title><script>` would become markup there.
            page.meta["title"] = page.title
        extension = self.extension
        placed, tables = extension.placed, extension.tables
        extension.placed, extension.tables = [], False
        light = html
        swapped = []
        for full, searched in placed:
            if full != searched and full in light:
                light = light.replace(full, searched, 1)
                swapped.append((searched, full))
        if tables and extension.for_search:

            def lighten(match: re.Match[str]) -> str:
                searched = searchable(match.group(0))
                swapped.append((searched, match.group(0)))
                return searched

            light = TABLE.sub(lighten, light)
        if swapped:
            self.searched[page.file.src_uri] = (light, html, swapped)
        return light

    @event_priority(-100)  # after the search plugin has indexed the page
    def on_page_context(
        self, context: Any, *, page: Page, config: MkDocsConfig, nav: Navigation
    ) -> Any:
        if self.themed is not None:
            self.themed.start(page, config, nav, context["pages"])
        searched = self.searched.pop(page.file.src_uri, None)
        if searched is not None and page.content is not None:
            light, full, swapped = searched
            if page.content == light:  # as it should be: nobody changed it in between
                page.content = full
            else:
                content = page.content
                for part, whole in swapped:
                    content = content.replace(part, whole, 1)
                page.content = content
        return context

    def on_serve(self, server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
        server.watch(str(self.catalog_path))
        if self.folders is not None:
            for folder in {self.folders.migrations, self.folders.rollbacks}:
                if folder.is_dir():
                    server.watch(str(folder))
        if self.config.templates:
            server.watch(str(self.root / self.config.templates))
        return server


#: The findings a message that stops a build lists; the audit page has them all.
SHOWN_FINDINGS = 20


def findings_stop(report: Report, fail_on: Severity) -> FindingsStopBuild | None:
    """The error that stops a strict build of the site showing ``report``, when it has
    findings at or above ``fail_on``; None when it has none."""
    held = [finding for finding in report.findings if finding.severity.rank >= fail_on.rank]
    if not held:
        return None
    counts = [
        f"{n} {severity.value}{'s' if n > 1 else ''}"
        for severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        if (n := sum(f.severity is severity for f in held))
    ]
    lines = [
        f"migdocs: the report has {', '.join(counts)}, and a strict build fails on a finding "
        f"of severity {fail_on.value} or higher: the site folder is left as it was"
    ]
    for finding in held[:SHOWN_FINDINGS]:
        place = finding.file or finding.migration or report.catalog or ""
        if finding.file and finding.line:
            place = f"{place}:{finding.line}"
        text = f"{place}: {finding.severity.value} {finding.code} {finding.message}"
        lines.append("  " + shown(str(text)))
    if len(held) > SHOWN_FINDINGS:
        lines.append(f"  … and {len(held) - SHOWN_FINDINGS} more")
    return FindingsStopBuild("\n".join(lines), len(held))


def _chain(pages: list[Page]) -> None:
    """Links each page to the one before and after it (the theme's footer)."""
    for previous, current in zip([None, *pages[:-1]], pages, strict=True):
        current.previous_page = previous
        if previous is not None:
            previous.next_page = current
    if pages:
        pages[-1].next_page = None


class _Members:
    """The migration pages that a month's page stands for in the navigation.

    Material's navigation shows the page being built in place of an item whose ``pages``
    hold it (its blog plugin does so for the pages of a paginated view): on a migration
    page, the month's item becomes the page itself, active, with its table of contents.
    Pages are not hashable, so they are told apart by identity.
    """

    def __init__(self, pages: list[Page]) -> None:
        self._pages = pages
        self._ids = {id(page) for page in pages}

    def __contains__(self, item: object) -> bool:
        return id(item) in self._ids

    def __iter__(self) -> Iterator[Page]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)


def _month_leaf(name: str, leaf: Page, pages: list[Page]) -> Section:
    """A month of a long history: its timeline page, standing for its migrations."""
    month = Section(name, [leaf])
    leaf.pages = _Members(pages)  # type: ignore[attr-defined]
    for migration in pages:
        migration.parent = month
    return month


def _placed(item: NavSection, page: Callable[[str], Page]) -> Section:
    """The navigation's section as MkDocs' structure, its pages those ``page`` finds."""
    children: list[StructureItem] = []
    for child in item.children:
        if isinstance(child, NavPage):
            children.append(page(child.uri))
        elif isinstance(child, NavMonth):
            members = [page(uri) for uri in child.members]
            children.append(_month_leaf(child.title, page(child.page), members))
        else:
            children.append(_placed(child, page))
    return Section(item.title, children)


def _without(items: list[Any], prefix: str) -> list[Any]:
    """The navigation without the generated pages (mkdocs' own placement of them)."""
    kept = []
    for item in items:
        if isinstance(item, Section):
            item.children = _without(item.children, prefix)
            if item.children:
                kept.append(item)
        elif isinstance(item, Page) and item.file.src_uri.startswith(prefix):
            continue
        else:
            kept.append(item)
    return kept
