"""The generated pages rendered as MkDocs renders a page, by one Markdown converter per build.

MkDocs makes a new ``markdown.Markdown`` for every page it renders: it builds every
extension of the site again (configurations copied, patterns compiled, Pygments settings
looked up) before converting a line. For the thousands of pages of a long history that is a
fifth of the time Markdown takes. A `GeneratedPage` is converted by the one converter of
its build instead, reset between pages (``Markdown.reset``, which Python-Markdown provides
for this: each extension with state of its own — footnotes, tabs, the table of contents —
starts the page afresh), with MkDocs' own processors for the page (links, anchors, title)
made for it as ``Page.render`` makes them. What a page becomes is the same: the tests build
sites both ways and compare them byte for byte.

The user's hand-written pages are left to MkDocs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

# Python-Markdown ships no type information.
import markdown  # type: ignore[import-untyped]
from mkdocs.structure.pages import (
    Page,
    _ExtractAnchorsTreeprocessor,
    _ExtractTitleTreeprocessor,
    _RawHTMLPreprocessor,
    _RelativePathTreeprocessor,
)
from mkdocs.structure.toc import get_toc

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.files import File, Files

#: MkDocs' logger for pages, whose level decides whether links to anchors are kept for
#: validation (as ``Page.render`` does).
_LOG = logging.getLogger("mkdocs.structure.pages")


class SharedMarkdown:
    """The one Markdown converter of a build, made on first use from the site's extensions
    as they are then (after every plugin's ``on_config``)."""

    def __init__(self) -> None:
        self._converter: markdown.Markdown | None = None

    def reset(self, config: MkDocsConfig) -> markdown.Markdown:
        """The converter, reset for a new page."""
        if self._converter is None:
            self._converter = markdown.Markdown(
                extensions=config["markdown_extensions"],
                extension_configs=config["mdx_configs"] or {},
            )
        return self._converter.reset()


class GeneratedPage(Page):
    """A page of the plugin's section, rendered by its build's `SharedMarkdown`."""

    def __init__(self, file: File, config: MkDocsConfig, converter: SharedMarkdown) -> None:
        super().__init__(None, file, config)
        self.converter = converter

    def render(self, config: MkDocsConfig, files: Files) -> None:
        """What ``Page.render`` does, with the shared converter for a new one."""
        if self.markdown is None:
            raise RuntimeError("`markdown` field hasn't been set (via `read_source`)")
        md = self.converter.reset(config)
        raw_html = _RawHTMLPreprocessor()
        raw_html._register(md)
        anchors = _ExtractAnchorsTreeprocessor(self.file, files, config)
        anchors._register(md)
        links = _RelativePathTreeprocessor(self.file, files, config)
        links._register(md)
        title = _ExtractTitleTreeprocessor()
        title._register(md)
        self.content = md.convert(self.markdown)
        self.toc = get_toc(getattr(md, "toc_tokens", []))
        self._title_from_render = title.title
        self.present_anchor_ids = anchors.present_anchor_ids | raw_html.present_anchor_ids
        if _LOG.getEffectiveLevel() > logging.DEBUG:
            self.links_to_anchors = links.links_to_anchors
