"""The plugin's Markdown extension: puts the pages' pre-rendered fragments in place, and keeps
what a catalog writes from running code in the published site.

Fragments (``fragments.py``) go through Python-Markdown's stash, the way
``pymdownx.superfences`` stores code, so Markdown does not parse them. SQL is highlighted
with the site's own ``pymdownx.highlight`` settings into exactly the markup superfences makes
of a fenced block, but by one Pygments formatter for the whole build where superfences makes
one per block (and each builds a stylesheet). With settings whose markup this module does not
reproduce (line numbers, anchors, titles…) the block is highlighted by superfences' own
method; with no superfences at all, it goes back into the page as a fenced block.

A page that shows catalog text carries ``SAFE_MARKER``; on such a page, links whose target
would run code (``javascript:``, ``vbscript:``, ``data:``, however encoded) are defused (the
target is shown after the link, as text) and event and style attributes are dropped. Raw
HTML and attribute lists in catalog text are escaped before they get here (``escape.md``),
as is every other value a page shows (``escape.py``). Control characters of ``Text`` and
``Literal`` parts are shown by their pictures (``fragments.visible``).
"""

from __future__ import annotations

import html
import posixpath
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import SubElement

# Python-Markdown, Pygments and pymdownx ship no type information.
from markdown.blockprocessors import BlockProcessor  # type: ignore[import-untyped]
from markdown.extensions import Extension  # type: ignore[import-untyped]
from markdown.preprocessors import Preprocessor  # type: ignore[import-untyped]
from markdown.treeprocessors import Treeprocessor  # type: ignore[import-untyped]
from markdown.util import AtomicString, code_escape  # type: ignore[import-untyped]
from mkdocs.utils import get_relative_url
from pygments import highlight  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from pymdownx.highlight import BlockHtmlFormatter  # type: ignore[import-untyped]

from migdocs.site.fragments import (
    MARKER,
    Badge,
    Code,
    Fragments,
    Link,
    Literal,
    Part,
    Table,
    Text,
    html_badge,
    html_code,
    html_table,
    html_text,
    searchable,
    visible,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    from markdown import Markdown  # type: ignore[import-untyped]
    from markdown.blockparser import BlockParser  # type: ignore[import-untyped]
    from mkdocs.structure.files import File, Files

#: The line that marks a page as showing catalog text.
SAFE_MARKER = "<!-- migdocs:catalog-text -->"
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "xlink:href", "poster", "background")
_UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:")
#: The line that stands for a ``Table`` fragment once its marker is read: its key.
_TABLE = "\x02migdocs-table:"
_TABLE_LINE = re.compile(re.escape(_TABLE) + "([^\x03\\s]+)\x03")
#: What browsers drop from a URL before reading its scheme.
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f]+")


class MigdocsExtension(Extension):  # type: ignore[misc]
    """Puts the fragments of ``fragments`` in place of their markers; makes marked pages safe."""

    def __init__(self, fragments: Fragments) -> None:
        super().__init__()
        self.fragments = fragments
        #: A lexer and a Pygments formatter, by the settings they were made for.
        self.highlighters: dict[tuple[Any, ...], tuple[Any, Any]] = {}
        #: Whether to note, for the search index, the HTML of each fragment put in a page.
        self.for_search = False
        #: The fragments put in the page last converted, as (HTML, HTML as search reads it).
        self.placed: list[tuple[str, str]] = []
        #: Whether the page last converted has ``Table`` fragments.
        self.tables = False
        #: The page being converted and the site's files (the plugin sets them), for the
        #: links of tables made as HTML.
        self.page: File | None = None
        self.files: Files | None = None

    def table_html(self, table: Table) -> str | None:
        """``table`` as the HTML Markdown and MkDocs would make of it, when it holds no
        catalog text and each of its links is to a page of the site (resolved here as
        MkDocs resolves them: relative to the page, to the target's URL); else ``None``,
        and the table goes through Markdown's tree, where MkDocs checks every link."""
        if self.page is None or self.files is None:
            return None
        rows: list[list[str]] = []
        for cells in table.rows:
            row: list[str] = []
            for cell in cells:
                made = self._cell_html(cell if isinstance(cell, tuple) else (cell,))
                if made is None:
                    return None
                row.append(made)
            rows.append(row)
        return html_table([html.escape(title, quote=False) for title in table.header], rows)

    def _cell_html(self, parts: tuple[Part, ...]) -> str | None:
        made: list[str] = []
        for part in parts:
            if isinstance(part, Text):
                made.append(html_text(part.value))
            elif isinstance(part, Literal):
                made.append(html_code(part.value))
            elif isinstance(part, Badge):
                made.append(html_badge(part))
            elif isinstance(part, Link):
                href, label = self._resolve(part.target), self._cell_html((part.label,))
                if href is None or label is None:
                    return None
                made.append(f'<a href="{html.escape(href)}">{label}</a>')
            else:
                return None  # catalog Markdown: rendered inline, in the tree
        return "".join(made)

    def _resolve(self, target: str) -> str | None:
        """The URL MkDocs gives a link to ``target`` on the page being converted, if it is a
        page of the site with no anchor or query; else ``None``."""
        assert self.page is not None
        assert self.files is not None
        scheme, netloc, path, query, anchor = urlsplit(target)
        if scheme or netloc or query or anchor or not path or path.startswith(("/", "\\")):
            return None
        uri = posixpath.normpath(
            posixpath.join(posixpath.dirname(self.page.src_uri), unquote(path)).lstrip("/")
        )
        found = self.files.get_file_from_path(uri)
        if found is None or found.inclusion.is_excluded():  # type: ignore[no-untyped-call]
            return None
        return str(get_relative_url(found.url, self.page.url))

    def extendMarkdown(self, md: Markdown) -> None:
        fragments = _FragmentPreprocessor(md, self)
        # After whitespace is normalized (30), before superfences (25) and raw HTML (20).
        md.preprocessors.register(fragments, "migdocs_fragments", 29)
        # Before any other block processor but the one for blank blocks (100).
        md.parser.blockprocessors.register(
            _FragmentBlockProcessor(md.parser, fragments), "migdocs_fragments", 99
        )
        # After inline Markdown (20) and attr_list (8), before MkDocs reads links (0).
        md.treeprocessors.register(_SafeTreeprocessor(md, fragments), "migdocs_safe", 2)


class _FragmentPreprocessor(Preprocessor):  # type: ignore[misc]
    def __init__(self, md: Markdown, extension: MigdocsExtension) -> None:
        super().__init__(md)
        self.extension = extension
        #: Whether the page being converted shows catalog text.
        self.catalog_text = False
        #: The stash placeholders of the page's fragments.
        self.placeholders: set[str] = set()

    def run(self, lines: list[str]) -> list[str]:
        self.catalog_text = False
        self.placeholders.clear()
        self.extension.placed = placed = []
        self.extension.tables = False
        parts = self.extension.fragments.parts
        out: list[str] = []
        for line in lines:
            if line == SAFE_MARKER:
                self.catalog_text = True
                continue
            match = MARKER.match(line) if "<!-- migdocs:html " in line else None
            fragment = parts.get(match.group(2)) if match else None
            if match is None or fragment is None:
                out.append(line)
                continue
            indent = match.group(1)
            if isinstance(fragment, Table):
                self.extension.tables = True
                made = self.extension.table_html(fragment)
                if made is None:
                    # Built into the tree by the block processor, with its catalog text
                    # still to render inline (or links for MkDocs to resolve and check);
                    # a line of its own that no other processor reads.
                    out.append(f"{indent}{_TABLE}{match.group(2)}\x03")
                else:
                    placeholder = self.md.htmlStash.store(made)
                    self.placeholders.add(placeholder)
                    out.append(indent + placeholder)
                continue
            rendered = self.highlight(fragment, indent) if isinstance(fragment, Code) else fragment
            if isinstance(rendered, list):
                out += rendered
            else:
                if self.extension.for_search and not isinstance(rendered, _Superfenced):
                    placed.append((rendered, searchable(rendered)))
                placeholder = self.md.htmlStash.store(rendered)
                self.placeholders.add(placeholder)
                out.append(indent + placeholder)
        return out

    def highlight(self, block: Code, indent: str) -> str | list[str]:
        """``block`` as ``pymdownx.superfences`` makes a fenced block of it at ``indent``, or
        the fenced block's lines where superfences is not there to do it."""
        source = _normalized(block.source, indent, self.md.tab_length)
        preprocessors = self.md.preprocessors  # a Registry: no get()
        fences = None
        if "fenced_code_block" in preprocessors:
            fences = preprocessors["fenced_code_block"]
        if fences is None or not hasattr(fences, "get_hl_settings"):
            return [
                f"{indent}```{block.language}",
                *(f"{indent}{line}" if line else "" for line in source.split("\n")),
                f"{indent}```",
            ]
        fences.get_hl_settings()
        made = self._highlighter(fences, block.language)
        if made is None:
            return _Superfenced(
                fences.highlight(
                    src=source,
                    language=block.language,
                    options={},
                    md=self.md,
                    classes=[],
                    id_value="",
                    attrs={},
                )
            )
        lexer, formatter = made
        return str(highlight(source, lexer, formatter)).strip()

    def _highlighter(self, fences: Any, language: str) -> tuple[Any, Any] | None:
        """A lexer and a formatter for superfences' settings, when they are the plain ones
        (no line numbers, line anchors or spans, titles, language classes); ``None`` for the
        others, whose markup depends on more than the code."""
        remapped = {str(name).lower() for name in fences.extend_pygments_lang or ()}
        if not (
            fences.use_pygments
            and not fences.linenums
            and not fences.line_spans
            and not fences.line_anchors
            and not fences.anchor_linenums
            and not fences.auto_title
            and not fences.pygments_lang_class
            and not fences.config.get("preserve_tabs", False)
            and language.lower() not in remapped
        ):
            return None
        key = (language, fences.css_class, fences.pygments_style, fences.noclasses, fences.stripnl)
        made = self.extension.highlighters.get(key)
        if made is None:
            # The arguments pymdownx.highlight gives its formatter for a plain fenced block.
            formatter = BlockHtmlFormatter(
                cssclass=fences.css_class,
                linenos=False,
                linenostart=1,
                linenostep=1,
                linenospecial=0,
                style=fences.pygments_style,
                noclasses=fences.noclasses,
                hl_lines=[],
                wrapcode=True,
                filename="",
                linespans="",
                lineanchors="",
                anchorlinenos=False,
            )
            lexer = get_lexer_by_name(language, stripnl=fences.stripnl)
            made = self.extension.highlighters[key] = (lexer, formatter)
        return made


class _Superfenced(str):
    """Code highlighted by superfences' own method: markup this module does not know."""

    __slots__ = ()


class _FragmentBlockProcessor(BlockProcessor):  # type: ignore[misc]
    """Builds the tables of ``Table`` fragments, and the paragraphs that hold the stash
    placeholders of the others marked as needing no inline Markdown (the stash puts the
    fragment in its place at the end)."""

    def __init__(self, parser: BlockParser, page: _FragmentPreprocessor) -> None:
        super().__init__(parser)
        self.page = page

    def test(self, parent: Element, block: str) -> bool:
        if block.startswith(_TABLE):
            return _TABLE_LINE.fullmatch(block) is not None
        return block in self.page.placeholders and not self.parser.state.isstate("list")

    def run(self, parent: Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = _TABLE_LINE.fullmatch(block)
        if match is None:
            SubElement(parent, "p").text = AtomicString(block)
            return
        fragment = self.page.extension.fragments.parts[match.group(1)]
        assert isinstance(fragment, Table)
        table = SubElement(parent, "table")
        row = SubElement(SubElement(table, "thead"), "tr")
        for title in fragment.header:
            SubElement(row, "th").text = AtomicString(title)
        body = SubElement(table, "tbody")
        for cells in fragment.rows:
            row = SubElement(body, "tr")
            for cell in cells:
                _fill(SubElement(row, "td"), cell if isinstance(cell, tuple) else (cell,))


def _fill(element: Element, parts: tuple[Part, ...]) -> None:
    """Puts ``parts`` in ``element``: Markdown as text for the inline processor to render,
    the rest as elements and text it leaves alone."""
    last: Element | None = None
    for part in parts:
        if isinstance(part, Literal):
            last = SubElement(element, "code")
            last.text = AtomicString(code_escape(visible(part.value).strip()))
        elif isinstance(part, Link):
            last = SubElement(element, "a", href=part.target)
            _fill(last, (part.label,))
        elif isinstance(part, Badge):
            last = SubElement(element, "span", {"class": part.css_class})
            last.text = AtomicString(visible(part.label))
        else:
            text = AtomicString(visible(part.value)) if isinstance(part, Text) else part
            if last is None:
                element.text = text
            else:
                last.tail = text


def _normalized(source: str, indent: str, tab_length: int) -> str:
    """The source as superfences gets it from a fenced block at ``indent``, once
    Python-Markdown has normalized the page's whitespace."""
    source = source.replace("\x02", "").replace("\x03", "")
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in source.split("\n"):
        expanded = (indent + line).expandtabs(tab_length)
        lines.append(expanded[len(indent) :] if expanded.strip(" ") else "")
    return "\n".join(lines)


class _SafeTreeprocessor(Treeprocessor):  # type: ignore[misc]
    def __init__(self, md: Markdown, page: _FragmentPreprocessor) -> None:
        super().__init__(md)
        self.page = page

    def run(self, root: Element) -> None:
        if not self.page.catalog_text:
            return
        for element in root.iter():
            for name in list(element.attrib):
                lowered = name.lower()
                if lowered.startswith("on") or lowered in ("style", "srcdoc"):
                    del element.attrib[name]
                elif lowered in _URL_ATTRIBUTES and unsafe_url(element.attrib[name]):
                    # Defused, and still shown: the history says what the catalog wrote.
                    shown = f" ({element.attrib[name]})"
                    element.tail = AtomicString(shown + (element.tail or ""))
                    element.attrib[name] = "#unsafe"


def unsafe_url(url: str) -> bool:
    """Whether following ``url`` would run code, as a browser reads it (entities decoded,
    whitespace and control characters dropped, any case)."""
    compact = _IGNORED_IN_URL.sub("", html.unescape(url)).lower()
    return compact.startswith(_UNSAFE_SCHEMES)
