"""The theme's part of the generated pages, on a machine with cores to spare partly in other
processes while MkDocs does the rest.

Once every page is converted, MkDocs puts them through the theme one after the other, on one
core: each page's context, every plugin's ``on_page_context`` (the search index reads the
page there), the theme's template (Material's, with the page's navigation), then
``on_post_page`` and the write. At 500 migrations that is half of the build. With ``jobs``
above one, the build's first page to reach ``on_page_context`` starts `Ahead` workers,
forked from the build as it then is, that render the generated pages' templates from the
last one backwards while MkDocs renders them from the first one forwards, as pages are
converted (``site/rendering.py``).

A worker does for a page what MkDocs would, up to its HTML: the page's context, every
plugin's ``on_page_context``, the template. MkDocs, reaching the page, still does all of
it but the template: the page's template is, for this build, one that gives the worker's
HTML when what the page would be rendered from is what the worker rendered it from (its
HTML, title, table of contents, metadata, neighbours, and the context's plain values),
and renders the theme's template itself otherwise. ``on_post_page`` and the write stay
with MkDocs, as everything a plugin does after the template. The search plugins (MkDocs' and
Material's) read each page's HTML into their index in ``on_page_context``, a fifth of the
theme's time: a worker keeps the entries its copy of the index made of the page, and the
build's index takes them when the page it reads is the page the worker read.

Workers start only where every plugin's ``on_page_context`` is one known to depend on
nothing but the page (`PURE`): a hook of another plugin may count pages, or read
what the pages before did, which a worker would not see.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup
from mkdocs.commands.build import get_context

from migdocs.site.rendering import AHEAD_FROM, Ahead, GeneratedPage, jobs_for

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import File
    from mkdocs.structure.nav import Navigation
    from mkdocs.structure.pages import Page
    from mkdocs.structure.toc import AnchorLink, TableOfContents

_LOG = logging.getLogger("mkdocs.plugins.migdocs")

#: The ``on_page_context`` hooks (module, qualified name) known to read the page alone, so
#: that a worker running them for a page makes of it what the build would: the search
#: plugins' (they add the page to their index, the build's own index is made by the
#: build), Material's tags and blog (context of their own pages only), and migdocs' own.
PURE = frozenset(
    {
        ("mkdocs.contrib.search", "SearchPlugin.on_page_context"),
        ("material.plugins.search.plugin", "SearchPlugin.on_page_context"),
        ("material.plugins.tags.plugin", "TagsPlugin.on_page_context"),
        ("material.plugins.blog.plugin", "BlogPlugin.on_page_context"),
        ("migdocs.site.plugin", "MigdocsPlugin.on_page_context"),
    }
)

#: The search indexes whose entries a worker makes (module, qualified name of the class),
#: with the list of entries each adds a page's to.
INDEXES = {
    ("mkdocs.contrib.search.search_index", "SearchIndex"): "_entries",
    ("material.plugins.search.plugin", "SearchIndex"): "entries",
}

#: The template every page the workers may render is given for the build: it calls
#: `ThemedPages.html`.
_TEMPLATE = "{{ migdocs_themed_page() }}"


@dataclass
class Themed:
    """What a worker made of a page: what it rendered the page from (see `fingerprint`), and
    the theme's HTML; what each search index read of it, and the entries it made."""

    fingerprint: bytes
    html: str
    #: By search index: what it read of the page (see `fingerprint`), and its entries.
    entries: dict[int, tuple[bytes, list[Any]]] = field(default_factory=dict)


class ThemedPages:
    """The theme's templates for a build's generated pages, and the workers rendering them
    ahead of MkDocs, when there are any."""

    def __init__(self, jobs: int | None = None) -> None:
        #: How many processes may render pages, the build's own included; ``None``: as many
        #: as the machine gives the build.
        self.jobs = jobs
        #: The build's templates, as the plugins' ``on_env`` left them.
        self.env: jinja2.Environment | None = None
        self.ahead: Ahead | None = None
        self._started = False
        #: The template each page the workers may render had, by ``src_uri`` (``None``: the
        #: theme's ``main.html``), until MkDocs renders it.
        self.templates: dict[str, Any] = {}
        #: In a worker: what it made of the page it renders.
        self._made: Themed | None = None
        self._in_worker = False
        #: The search indexes whose entries workers make: each with its list of entries.
        self.indexes: list[tuple[Any, list[Any]]] = []
        #: How many pages' entries the search indexes took from the workers.
        self.indexed = 0
        #: In the build: the page last taken from the workers, and what they made of it.
        self._taken: tuple[Page, tuple[Themed, list[logging.LogRecord]] | None] | None = None

    def start(
        self,
        page: Page,
        config: MkDocsConfig,
        nav: Navigation,
        pages: Sequence[File],
    ) -> None:
        """On the build's first ``on_page_context`` (of ``page``, the site's pages being
        ``pages``): starts the workers, where the machine and the plugins allow them, for the
        generated pages after ``page``."""
        if self._started or self.env is None:
            return
        self._started = True
        env = self.env
        jobs = jobs_for(self.jobs)
        if jobs < 2:
            return
        generated = [file.page for file in pages if isinstance(file.page, GeneratedPage)]
        if isinstance(page, GeneratedPage) and page in generated:
            generated = generated[generated.index(page) + 1 :]
        if self.jobs is None and len(generated) < AHEAD_FROM:
            return
        hooks = [
            (getattr(hook, "__module__", ""), getattr(hook, "__qualname__", repr(hook)))
            for hook in config.plugins.events["page_context"]
        ]
        foreign = [f"{module}.{name}" for module, name in hooks if (module, name) not in PURE]
        if foreign:
            _LOG.debug(
                f"migdocs: the theme renders the pages in one process ({', '.join(foreign)} "
                "may depend on the pages before)"
            )
            return
        template = env.from_string(_TEMPLATE, globals={"migdocs_themed_page": self.html})
        for generated_page in generated:
            self.templates[generated_page.file.src_uri] = generated_page.meta.get("template")
            generated_page.meta["template"] = template
        make = functools.partial(self._render_ahead, config=config, nav=nav, pages=pages, at=page)
        try:
            self.ahead = Ahead.start(generated, make, jobs - 1, done="put through the theme")
        except OSError as error:  # no process or temporary folder to be had
            _LOG.debug(f"migdocs: the theme renders the pages in one process ({error})")
            for generated_page in generated:
                self._restore(generated_page)
            return
        self._index_ahead(config)

    def _index_ahead(self, config: MkDocsConfig) -> None:
        """The known search plugins' indexes, made to take a worker's entries for a page.
        (They are forked without it: in a worker, `_render_ahead` does the same.)"""
        for plugin in config.plugins.values():
            index: Any = getattr(plugin, "search_index", None)
            kind = type(index)
            entries = getattr(index, INDEXES.get((kind.__module__, kind.__qualname__), ""), None)
            if isinstance(entries, list):
                place = len(self.indexes)
                read = index.add_entry_from_context
                index.add_entry_from_context = functools.partial(self._add_entry, place, read)
                self.indexes.append((index, entries))

    def _add_entry(self, place: int, read: Callable[[Page], None], page: Page) -> None:
        """A search index's ``add_entry_from_context``: in a worker, the index reads the
        page, and the worker keeps the entries it made; in the build, the index takes the
        worker's entries when it would read what the worker read, and reads the page
        otherwise."""
        entries = self.indexes[place][1]
        if self._in_worker:
            before = len(entries)
            read(page)
            if self._made is not None:
                self._made.entries[place] = (fingerprint({}, page), entries[before:])
            return
        taken = self._take(page)
        if taken is not None:
            read_ahead, made = taken[0].entries.get(place, (None, []))
            if read_ahead == fingerprint({}, page):
                entries.extend(made)
                self.indexed += 1
                return
        read(page)

    def _take(self, page: Page) -> tuple[Themed, list[logging.LogRecord]] | None:
        """In the build: what a worker made of ``page``, taken from the workers once."""
        if self._taken is None or self._taken[0] is not page:
            taken = None
            if self.ahead is not None and page.file.src_uri in self.templates:
                taken = self.ahead.take(page)
            self._taken = (page, taken)
        return self._taken[1]

    def _restore(self, page: Page) -> Any:
        """The template ``page`` had, given back to it."""
        original = self.templates.pop(page.file.src_uri, None)
        if original is None:
            page.meta.pop("template", None)
        else:
            page.meta["template"] = original
        return original

    @jinja2.pass_context
    def html(self, context: jinja2.runtime.Context) -> Markup:
        """The page's template: in a worker, the theme's rendering of the page; in the build,
        the worker's rendering when what the page is rendered from is what the worker
        rendered it from, and the theme's otherwise."""
        page = context["page"]
        values = context.get_all()
        if self._in_worker:
            assert self._made is not None
            html = self._render(values, self.templates.get(page.file.src_uri))
            self._made.fingerprint, self._made.html = fingerprint(values, page), html
            return Markup(html)
        taken = self._take(page)
        self._taken = None
        template = self._restore(page)
        if taken is not None and self.ahead is not None:
            themed, records = taken
            if themed.fingerprint == fingerprint(values, page):
                for record in records:
                    logging.getLogger(record.name).handle(record)
                self.ahead.taken += 1
                return Markup(themed.html)
        return Markup(self._render(values, template))

    def _render(self, values: Mapping[str, Any], template: Any) -> str:
        """The theme's rendering of a page with ``values`` (its template's context), by
        ``template``, the page's own (``None``: the theme's ``main.html``)."""
        assert self.env is not None
        return self.env.get_template(template or "main.html").render(values)

    def _render_ahead(
        self,
        page: Page,
        *,
        config: MkDocsConfig,
        nav: Navigation,
        pages: Sequence[File],
        at: Page,
    ) -> Themed:
        """In a worker: what MkDocs makes of ``page`` up to its HTML (its context, every
        plugin's ``on_page_context``, its template)."""
        assert self.env is not None
        if not self._in_worker:  # forked while the build was rendering `at`
            self._in_worker = True
            at.active = False
            self._index_ahead(config)
        config._current_page = page
        page.active = True
        self._made = made = Themed(b"", "")
        try:
            context = get_context(nav, pages, config, page)
            template = self.env.get_template(page.meta.get("template", "main.html"))
            context = config.plugins.on_page_context(context, page=page, config=config, nav=nav)
            template.render(context)
            assert made.fingerprint, "the page's template did not call migdocs"
            return made
        finally:
            page.active = False
            config._current_page = None

    def stop(self) -> None:
        """Stops the workers, if any, and gives the search indexes back their own reading;
        the next build starts afresh."""
        if self.ahead is not None:
            self.ahead.stop()
            if self.indexes:
                _LOG.debug(f"migdocs: the search index took {self.indexed} pages from the workers")
        self.ahead = None
        self.indexed = 0
        for index, _ in self.indexes:
            del index.add_entry_from_context
        self.indexes = []
        self.templates.clear()
        self._taken = None
        self._started = False


def fingerprint(values: Mapping[str, Any], page: Page) -> bytes:
    """A digest of what ``page`` is rendered from with ``values`` (a template's context):
    the page's HTML, title, URL, table of contents, metadata (but its template) and
    neighbours' titles, the site's ``extra``, and the context's plain values (for the rest,
    their names and types)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update((page.content or "").encode("utf-8", "surrogatepass"))
    plain = [
        (key, value if value is None or isinstance(value, str | int | float) else type(value))
        for key, value in values.items()
    ]
    config = values.get("config")
    extra = config.get("extra") if isinstance(config, Mapping) else None
    meta = [(key, value) for key, value in page.meta.items() if key != "template"]
    neighbours = [
        None if other is None else other.title for other in (page.previous_page, page.next_page)
    ]
    shown = (page.title, page.url, _toc(page.toc), meta, neighbours, extra, plain)
    digest.update(repr(shown).encode("utf-8", "surrogatepass"))
    return digest.digest()


def _toc(toc: TableOfContents | list[AnchorLink]) -> list[Any]:
    return [(item.title, item.id, item.level, _toc(item.children)) for item in toc]
