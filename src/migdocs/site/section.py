"""The history's section of a site, for any front end (MkDocs' plugin, or another): its pages'
Markdown, its SQL files and assets by path, and its navigation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from migdocs.site.navigation import NavSection, navigation
from migdocs.site.pages import render_pages, sql_files
from migdocs.site.state import Site

#: Mermaid, vendored (``assets/mermaid/README.md``): Material loads it from unpkg.com unless
#: the page already has it, so the site lists this copy and draws its diagrams offline.
MERMAID = Path(__file__).parent / "assets" / "mermaid"
MERMAID_URI = "assets/migdocs/mermaid/"
#: The site's own styles: the proof levels' colours.
STYLESHEET = Path(__file__).parent / "assets" / "migdocs.css"
STYLESHEET_URI = "assets/migdocs/migdocs.css"


@dataclass(frozen=True)
class HistorySection:
    """What a front end publishes of the history."""

    #: The generated pages' Markdown, by path under the docs folder.
    pages: dict[str, str]
    #: The SQL files published whole, by path.
    files: dict[str, bytes]
    #: The files of the package the pages need (Mermaid, the stylesheet), by path; a site
    #: that has a file at one of these paths keeps its own.
    assets: dict[str, Path]
    #: The section of the navigation the pages make.
    navigation: NavSection


def history_section(site: Site) -> HistorySection:
    """The section that ``site`` (a checked project and its report) makes."""
    assets = {MERMAID_URI + name: MERMAID / name for name in ("mermaid.min.js", "LICENSE")}
    assets[STYLESHEET_URI] = STYLESHEET
    return HistorySection(render_pages(site), sql_files(site), assets, navigation(site))
