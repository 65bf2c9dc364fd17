"""Parts of the generated pages that the plugin makes itself, so that Markdown does not
parse them: HTML (the plain tables of a migration page, made only of values escaped here),
SQL to highlight, and tables of many rows (the timeline, the risk matrix, the schema), built
as Markdown's tables extension builds them but cell by cell, with only the catalog's text
left for Markdown to render inline.

A page holds a marker line, ``<!-- migdocs:html KEY -->``, where such a part goes; the
plugin's Markdown extension (``extension.py``) puts the part in its place. Catalog text
(purpose, changes, titles, notes…) is never made into HTML here: it stays Markdown, on its
page, escaped by ``pages.md``.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

#: The line that stands for a fragment: its indentation, and its key.
MARKER = re.compile(r"^( *)<!-- migdocs:html ([^ ]+) -->$")


@dataclass(frozen=True)
class Code:
    """A block of source to highlight as a fenced block of ``language`` would be."""

    language: str
    source: str


@dataclass(frozen=True)
class Text:
    """Text shown as it is (no Markdown in it)."""

    value: str


@dataclass(frozen=True)
class Literal:
    """A code span."""

    value: str


@dataclass(frozen=True)
class Link:
    """A link to a page of the site, by its path relative to the page that shows it (MkDocs
    resolves and checks it, as it does a Markdown link)."""

    label: Part
    target: str


@dataclass(frozen=True)
class Badge:
    """A word marked for its colour (a proof level): a ``span`` of the site's stylesheet
    class ``css_class`` holding ``label`` as text."""

    css_class: str
    label: str


#: Part of a table cell: ``Text``, ``Literal``, ``Link``, ``Badge``, or a ``str`` of
#: Markdown (catalog text, escaped by ``pages.md``) that Markdown renders inline.
Part = str | Text | Literal | Link | Badge
#: A table cell: one part, or several in a row.
Cell = Part | tuple[Part, ...]


@dataclass(frozen=True)
class Table:
    """A table in the markup of Python-Markdown's ``tables``."""

    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


#: A part of a page: HTML as it is, code to highlight, or a table.
Fragment = str | Code | Table


class Fragments:
    """The parts of the pages, by key, for the plugin's Markdown extension to put in place."""

    def __init__(self) -> None:
        self.parts: dict[str, Fragment] = {}

    def marker(self, fragment: Fragment) -> str:
        """Keeps ``fragment``; returns the line that stands for it in a page (on a line of
        its own, between blank lines).

        The key is the fragment's digest, so that a page's Markdown changes when one of its
        fragments does: an engine that caches pages by their Markdown (Zensical's serve)
        renders it again."""
        fingerprint = _fingerprint(fragment).encode("utf-8", "surrogatepass")
        key = "f" + hashlib.blake2b(fingerprint, digest_size=10).hexdigest()
        self.parts[key] = fragment
        return f"<!-- migdocs:html {key} -->"

    def clear(self) -> None:
        self.parts.clear()


def _fingerprint(fragment: Fragment) -> str:
    """What tells ``fragment`` apart from any other fragment: each text with its length
    before it, so that where one ends is never in doubt (the ``repr`` of a table of
    dataclasses would do, at twice the cost)."""
    if isinstance(fragment, str):
        return "h" + fragment
    if isinstance(fragment, Code):
        return f"c{len(fragment.language)}:{fragment.language}{fragment.source}"
    out = [f"t{len(fragment.header)};"]
    out += [f"{len(name)}:{name}" for name in fragment.header]
    out.append(f"{len(fragment.rows)};")
    for row in fragment.rows:
        out.append(f"r{len(row)};")
        for cell in row:
            _cell(cell, out)
    return "".join(out)


def _cell(cell: Cell, out: list[str]) -> None:
    if isinstance(cell, str):
        out.append(f"m{len(cell)}:{cell}")
    elif isinstance(cell, Text):
        out.append(f"x{len(cell.value)}:{cell.value}")
    elif isinstance(cell, Literal):
        out.append(f"l{len(cell.value)}:{cell.value}")
    elif isinstance(cell, tuple):
        out.append(f"({len(cell)};")
        for part in cell:
            _cell(part, out)
    elif isinstance(cell, Badge):
        out.append(f"b{len(cell.css_class)}:{cell.css_class}{len(cell.label)}:{cell.label}")
    else:
        out.append(f"a{len(cell.target)}:{cell.target}")
        _cell(cell.label, out)


def html_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A table in the markup of Python-Markdown's ``tables``; cells are HTML already."""
    lines = ["<table>", "<thead>", "<tr>"]
    lines += [f"<th>{cell}</th>" for cell in header]
    lines += ["</tr>", "</thead>", "<tbody>"]
    for row in rows:
        lines.append("<tr>")
        lines += [f"<td>{cell}</td>" for cell in row]
        lines.append("</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def html_text(value: object) -> str:
    """Plain text as HTML (what Markdown makes of text with no Markdown in it)."""
    return html.escape(visible(str(value)), quote=False)


def html_badge(badge: Badge) -> str:
    """A badge as HTML."""
    return f'<span class="{html.escape(badge.css_class)}">{html_text(badge.label)}</span>'


def html_code(value: object) -> str:
    """A code span as Markdown renders it."""
    return f"<code>{html.escape(visible(str(value)).strip(), quote=False)}</code>"


#: Control characters: C0 (but whitespace), DEL and C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def visible(value: str) -> str:
    """``value`` with each control character (an ESC, a NUL, Python-Markdown's own
    placeholder marks ``\\x02`` and ``\\x03``…) shown by its Unicode picture (``␛``), so
    that none reaches a page, forges a placeholder or hides text; whitespace stays."""
    if not _CONTROL.search(value):
        return value
    return _CONTROL.sub(lambda match: _picture(ord(match.group(0))), value)


def _picture(code: int) -> str:
    if code < 0x20:
        return chr(0x2400 + code)
    return "\u2421" if code == 0x7F else "\ufffd"


_SPANS_AND_LINKS = re.compile(r"</?(?:span|a)\b[^>]*>")
_TABLE_TAGS = re.compile(r"(?:\s*</?(?:table|thead|tbody|tr|th|td)>\s*)+")
#: A table as Markdown writes it (no attributes, so none that search would read).
TABLE = re.compile(r"<table>\n.*?</table>", re.DOTALL)


def searchable(html: str) -> str:
    """``html`` (a table, or highlighted code) as the search index reads it: without the
    tags that search leaves out of its text (spans, links, a table's structure), with the
    same text between the tags it keeps.

    Search makes a space of the whitespace between two cells, and of the whitespace after a
    table unless the text before ends in one: a table becomes its cells' texts, one space
    apart, between two void tags.
    """
    html = _SPANS_AND_LINKS.sub("", html)
    if not html.startswith("<table>"):
        return html
    return f"<br>{_TABLE_TAGS.sub(' ', html).strip()}<br>"
