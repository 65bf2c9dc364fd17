"""How a value lands in a generated page: one function per place it can land, so that
nothing a catalog, a file name or a database holds becomes markup there, and everything it
holds is still shown to the reader as written.

- ``md``, ``inline``, ``cell``, ``heading``: catalog Markdown (purpose, titles, notes…),
  rendered as Markdown, but with raw HTML and attribute lists escaped.
- ``text``: a plain value (a name, a file, a message, a URL) as Markdown that renders as
  exactly that text, in a paragraph, a heading, a table cell or an admonition's title.
- ``code``: a plain value as a code span, whatever backticks it holds.
- ``message``: a finding's message: its own code spans stay code, the rest is text.
- ``url``: a path of the site in a link's target.
- ``mermaid_name``: a name as Mermaid's ``erDiagram`` reads an entity or an attribute.

HTML made directly (the plain tables of a migration page) is escaped by
``fragments.html_text`` and ``fragments.html_code``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from migdocs.site.fragments import visible

__all__ = [
    "cell",
    "code",
    "heading",
    "inline",
    "md",
    "mermaid_name",
    "message",
    "text",
    "url",
]


def md(value: object) -> str:
    """Catalog Markdown with raw HTML and attribute lists escaped: ``<``, ``>`` and ``{``
    become entities, except in code spans, whose content Markdown escapes itself.

    ``{`` is escaped so that ``attr_list`` cannot give an element attributes (an id that
    hijacks an anchor, an event handler) and a template engine run on the page by another
    plugin finds no ``{{``; the text reads the same.

    A code span is left alone only where Markdown cannot read the backticks otherwise: when
    every run of backticks in the text opens a span that a run of the same length closes on
    the same line, none escaped. Otherwise nothing is taken for code (a ``<`` in what
    Markdown then shows as code reads ``&lt;``: a wart, never a hole).
    """
    content = visible("" if value is None else str(value))
    if "`" not in content:
        return _escape_html(content)
    return _outside_code(content, _escape_html)


def inline(value: object) -> str:
    """Catalog Markdown on one line (a link's label, a list item): escaped as ``md``."""
    return md(" ".join(str(value or "").split()))


def cell(value: object) -> str:
    """Catalog Markdown in a cell of a Markdown table: on one line, pipes escaped."""
    return inline(value).replace("|", "\\|")


def heading(value: object) -> str:
    """Catalog Markdown as a heading's text: on one line, a closing ``#`` kept as text.

    The page's title, in the navigation and in ``<title>``, is this heading's text: the
    plugin hands it to the theme as it is escaped in the page (``plugin.on_page_content``).
    """
    made = inline(value)
    return made[:-1] + "&#35;" if made.endswith("#") else made


#: ASCII punctuation that some Markdown extension reads: all of it but ``,;?/.-``.
_PUNCTUATION = re.compile(r"[!-+:-@\[-`{-~]")


def text(value: object) -> str:
    """A plain value as Markdown that renders as exactly that text, on one line.

    Every ASCII punctuation character that Markdown or a common extension reads (``<``,
    backticks, ``*``, ``[``, ``|``, ``{``, ``#``, ``:``, ``~``…) becomes a character
    reference, which Markdown leaves alone and the browser shows as the character. Control
    characters are shown by their Unicode pictures (``␛``).
    """
    one_line = " ".join(visible("" if value is None else str(value)).split())
    return _PUNCTUATION.sub(lambda match: f"&#{ord(match.group(0))};", one_line)


#: What ``pymdownx.inlinehilite`` reads at the start of a code span as its language.
_HILITE = re.compile(r"\s*(?:#!|:::)")


def code(value: object) -> str:
    """A plain value as a code span that shows exactly it, on one line.

    The span's fence is one backtick longer than the longest run of backticks in the value
    (CommonMark's way, which Python-Markdown follows), padded with spaces that Markdown
    drops. A value that ``pymdownx.inlinehilite`` would read as a language is written as a
    ``<code>`` element holding ``text(value)``.
    """
    one_line = " ".join(visible("" if value is None else str(value)).split())
    if not one_line:
        return ""
    if _HILITE.match(one_line):
        return f"<code>{text(one_line)}</code>"
    longest = max((len(run) for run in _BACKTICKS.findall(one_line)), default=0)
    if longest == 0:
        return f"`{one_line}`"
    fence = "`" * (longest + 1)
    return f"{fence} {one_line} {fence}"


def message(value: object) -> str:
    """A finding's message: the code spans migdocs wrote in it stay code, the rest (names,
    a server's words) is text. A message whose backticks do not pair is all text."""
    one_line = " ".join(visible("" if value is None else str(value)).split())
    return _outside_code(one_line, text)


def _outside_code(content: str, escape: Callable[[str], str]) -> str:
    """``content`` with ``escape`` applied to everything but its code spans."""
    parts = []
    last = 0
    for start, end in code_spans(content):
        parts.append(escape(content[last:start]))
        parts.append(content[start:end])
        last = end
    parts.append(escape(content[last:]))
    return "".join(parts)


def url(path: object) -> str:
    """A path of the site, percent-encoded for a link's target (MkDocs decodes it to find
    the page): a ``)``, ``#``, ``?``, space or ``<`` in a name stays part of the path."""
    return quote(str(path), safe="/")


def mermaid_name(name: object) -> str:
    """A name Mermaid's ``erDiagram`` reads as one entity or attribute name: letters,
    digits and ``_``, not starting with a digit. Nothing else (``%%``, ``}``, quotes, a
    newline) can reach the diagram; the tables under it show the names as written."""
    made = re.sub(r"[^A-Za-z0-9_]", "_", str(name))
    return made if made and not made[0].isdigit() else f"_{made}"


_BACKTICKS = re.compile(r"`+")


def code_spans(content: str) -> list[tuple[int, int]]:
    """Where the code spans of ``content`` are, when Markdown can only read them so; else
    none."""
    spans = []
    runs = list(_BACKTICKS.finditer(content))
    index = 0
    while index < len(runs):
        opening = runs[index]
        if content[opening.start() - 1 : opening.start()] == "\\":
            return []
        width = len(opening.group(0))
        closing = next(
            (i for i in range(index + 1, len(runs)) if len(runs[i].group(0)) == width), None
        )
        if closing is None or "\n" in content[opening.end() : runs[closing].start()]:
            return []
        spans.append((opening.start(), runs[closing].end()))
        index = closing + 1
    return spans


def _escape_html(content: str) -> str:
    return content.replace("<", "&lt;").replace(">", "&gt;").replace("{", "&#123;")
