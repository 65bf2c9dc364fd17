"""The review page's block: the migrations due for review, and every migration's stamp."""

from __future__ import annotations

from migdocs.checks.review import DUE_CODES
from migdocs.site.escape import inline, message
from migdocs.site.fragments import Cell, Link, Text
from migdocs.site.state import PAGE_ROWS, Site
from migdocs.site.views.cells import NONE, migration_uri


def review(site: Site, base: str) -> str:
    """The review block (the review page's, or a ``<!-- migdocs:review-status -->``'s)."""
    due = []
    for entry in site.entries:
        reasons = [
            f"{f.code} {f.message}" for f in site.findings.get(entry.id, []) if f.code in DUE_CODES
        ]
        if reasons:
            due.append({"id": entry.id, "title": entry.migration.title, "why": "; ".join(reasons)})
    stamps = [
        {
            "id": entry.id,
            "title": entry.migration.title,
            "date": entry.migration.reviewed.date.isoformat() if entry.migration.reviewed else NONE,
            "by": entry.migration.reviewed.by if entry.migration.reviewed else NONE,
        }
        for entry in site.entries
    ]
    due_count = len(due)
    due = due[:PAGE_ROWS]
    stamps = [] if site.large else stamps
    due_rows: list[tuple[Cell, ...]] = [
        (Link(inline(item["title"]), migration_uri(base, item["id"])), message(item["why"]))
        for item in due
    ]
    stamp_rows: list[tuple[Cell, ...]] = [
        (
            Link(inline(item["title"]), migration_uri(base, item["id"])),
            Text(item["date"]),
            Text(item["by"]),
        )
        for item in stamps
    ]
    table = site.templates.table
    return site.templates.render(
        "review-block.md.j2",
        every=site.project.catalog.review.every_days,
        due=due,
        due_table=table(("migration", "why"), due_rows) if due else "",
        due_count=due_count,
        total=len(site.entries),
        stamps=stamps,
        stamps_table=table(("migration", "last reviewed", "by"), stamp_rows) if stamps else "",
        base=base,
    )
