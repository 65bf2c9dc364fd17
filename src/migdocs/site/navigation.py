"""The navigation of the history's section, as paths of generated pages, for any front end.

Overview, timeline, risk matrix, schema, audit, review, rules, the releases newest first
(when the catalog names any), then the migrations by year and month. Once the history is
long enough for the timeline to have a page per month, the months' pages are the
navigation's leaves, each standing for its migrations, so that the navigation of every page
stays as short as a year's months, whatever the history's length.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from html import escape

from migdocs.site.fragments import visible
from migdocs.site.state import Site

#: Pages in one navigation section: a busier month is split into parts, so that the pruned
#: navigation of any page stays short whatever the history's length.
NAV_PAGES = 31
#: The section's pages before its releases and migrations, by name.
_FIXED = ("index", "timeline", "risk-matrix", "schema", "audit", "review", "rules")


@dataclass(frozen=True)
class NavPage:
    """A generated page, by its path under the docs folder."""

    uri: str


@dataclass(frozen=True)
class NavMonth:
    """A month of a long history: its timeline page, standing for its migrations' pages."""

    title: str
    page: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class NavSection:
    """A titled group of the navigation."""

    title: str
    children: tuple[NavPage | NavMonth | NavSection, ...]


def navigation(site: Site) -> NavSection:
    """The section of the navigation that the history's pages make."""
    prefix = site.prefix + "/"
    months: dict[int, dict[int, list[str]]] = {}
    for entry in site.entries:
        date = entry.migration.date
        uri = f"{prefix}migrations/{entry.id}.md"
        months.setdefault(date.year, {}).setdefault(date.month, []).append(uri)
    years: list[NavSection] = []
    for year, by_month in sorted(months.items()):
        sections: list[NavPage | NavMonth | NavSection] = []
        for month, uris in sorted(by_month.items()):
            name = calendar.month_name[month]
            if site.large:
                leaf = f"{prefix}timeline/{year}-{month:02d}.md"
                sections.append(NavMonth(name, leaf, tuple(uris)))
            else:
                sections.append(_month(name, uris))
        years.append(NavSection(str(year), tuple(sections)))
    fixed: list[NavPage | NavMonth | NavSection] = [
        NavPage(f"{prefix}{name}.md") for name in _FIXED
    ]
    released = site.releases.items
    if released:  # newest first; the index lists those past the navigation's share
        shown = [NavPage(f"{prefix}{release.uri}") for release in released[:NAV_PAGES]]
        fixed.append(NavSection("Releases", (NavPage(f"{prefix}releases.md"), *shown)))
    title = f"{_title(site.project.catalog.project.name)} history"
    return NavSection(title, (*fixed, NavSection("Migrations", tuple(years))))


def _month(name: str, uris: list[str]) -> NavSection:
    """A month's migrations, in parts of ``NAV_PAGES`` named by their days when many."""
    if len(uris) <= NAV_PAGES:
        return NavSection(name, tuple(NavPage(uri) for uri in uris))
    parts: list[NavPage | NavMonth | NavSection] = []
    for start in range(0, len(uris), NAV_PAGES):
        chunk = uris[start : start + NAV_PAGES]
        first, last = (_day(uri) for uri in (chunk[0], chunk[-1]))
        label = f"{name} {first}" if first == last else f"{name} {first}–{last}"
        parts.append(NavSection(label, tuple(NavPage(uri) for uri in chunk)))
    return NavSection(name, tuple(parts))


def _day(uri: str) -> str:
    match = re.search(r"/\d{4}-\d{2}-(\d{2})", uri)
    return str(int(match.group(1))) if match else "?"


def _title(text: str) -> str:
    """A name as the theme's navigation prints it (as HTML): escaped, on one line."""
    return escape(" ".join(visible(text).split()), quote=False)
