"""Parts of the generated pages that the plugin renders to HTML itself, so that Markdown
does not parse them again: the plain tables of a migration page (facts, objects, replay),
made only of values escaped here, and SQL to highlight.

A page holds a marker line, ``<!-- migdocs:html KEY -->``, where such a part goes; the
plugin's Markdown extension (``extension.py``) puts the part in its place. Catalog text
(purpose, changes, titles, notes…) never goes this way: it stays Markdown.
"""

from __future__ import annotations

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


#: A part of a page: HTML as it is, or code to highlight.
Fragment = str | Code


class Fragments:
    """The parts of the pages, by key, for the plugin's Markdown extension to put in place."""

    def __init__(self) -> None:
        self.parts: dict[str, Fragment] = {}

    def marker(self, key: str, fragment: Fragment) -> str:
        """Keeps ``fragment`` under ``key``; returns the line that stands for it in a page."""
        if " " in key:
            raise ValueError(f"a fragment key has no spaces: {key!r}")
        self.parts[key] = fragment
        return f"<!-- migdocs:html {key} -->"

    def clear(self) -> None:
        self.parts.clear()


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
    return html.escape(str(value), quote=False)


def html_code(value: object) -> str:
    """A code span as Markdown renders it."""
    return f"<code>{html.escape(str(value).strip(), quote=False)}</code>"
