"""The timeline: the migrations by year and month, and past ``PAGE_ROWS`` a page per month."""

from __future__ import annotations

import calendar
from typing import Any

from migdocs.project import Entry
from migdocs.site.escape import inline
from migdocs.site.fragments import Cell, Link, Text
from migdocs.site.state import Site
from migdocs.site.views.cells import migration_uri, proof_cell, risk_cell

#: A month's migrations: its name, its items and their table.
Month = tuple[str, list[dict[str, Any]], str]


def timeline(site: Site, base: str) -> str:
    """The timeline's block: the months' tables, or for a long history a list of months."""
    if site.large:
        lines = ["| month | migrations |", "|---|---|"]
        for (year, month), entries in site.months().items():
            name = f"{calendar.month_name[month]} {year}"
            link = f"{base}timeline/{year}-{month:02d}.md"
            lines.append(f"| [{name}]({link}) | {len(entries)} |")
        return "\n".join(lines) + "\n"
    years = _years(site, site.entries, base)
    return site.templates.render("timeline-block.md.j2", years=years, base=base)


def month_pages(site: Site) -> dict[tuple[int, int], str]:
    """A long history's page of each month, by (year, month)."""
    return {
        (year, month): (
            f"# {calendar.month_name[month]} {year}\n\n"
            + site.templates.render(
                "timeline-block.md.j2", years=_years(site, entries, "../"), base="../"
            )
        )
        for (year, month), entries in site.months().items()
    }


def _years(site: Site, entries: list[Entry], base: str) -> list[tuple[int, list[Month]]]:
    """The entries by year and month, each month with its items and its table."""
    years: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for entry in entries:
        migration = entry.migration
        years.setdefault(migration.date.year, {}).setdefault(migration.date.month, []).append(
            {
                "id": entry.id,
                "date": migration.date.isoformat(),
                "title": migration.title,
            }
        )
    return [
        (
            year,
            [
                (calendar.month_name[month], items, _table(site, items, base))
                for month, items in sorted(months.items())
            ],
        )
        for year, months in sorted(years.items())
    ]


def _table(site: Site, items: list[dict[str, Any]], base: str) -> str:
    rows: list[tuple[Cell, ...]] = [
        (
            Text(item["date"]),
            Link(inline(item["title"]), migration_uri(base, item["id"])),
            risk_cell(site, item["id"]),
            proof_cell(site, item["id"]),
        )
        for item in items
    ]
    return site.templates.table(("date", "migration", "rollback risk", "proof"), rows)
