"""The rollback risk matrix: risk × declared impact, the rollbacks by risk, the migrations
without one, and the migrations whose replay blocked writers or rewrote a table."""

from __future__ import annotations

from collections import Counter
from typing import Any

from migdocs.catalog.models import Impact
from migdocs.declarations import minimum_risk
from migdocs.locks import MODES as LOCK_MODES
from migdocs.site.escape import inline
from migdocs.site.fragments import Badge, Cell, Link, Literal, Text
from migdocs.site.proof import NO_ROLLBACK, badge
from migdocs.site.state import PAGE_ROWS, Site
from migdocs.site.views.cells import BAD, NONE, RISKS, legend, migration_uri, proof_cell

#: Lock modes (as ``pg_locks`` names them) that block a table's writers, and every mode's rank.
_LOCK_RANK = {mode: rank for rank, mode in enumerate(LOCK_MODES)}
_WRITE_BLOCKING = frozenset(LOCK_MODES[LOCK_MODES.index("ShareLock") :])


def risk_matrix(site: Site, base: str) -> str:
    """The rollback risk matrix: a grid of risk × declared impact whose counts link to
    the migrations, with a row for the migrations that have no rollback; then the
    rollbacks by risk (past ``PAGE_ROWS`` migrations, in pages of their own)."""
    rows = _risk_rows(site)
    missing = _no_rollback_rows(site)
    link = _grid_link(rows, missing, base, by_level=not site.large)
    grid = _risk_grid(site, rows, missing, link)
    levels = [
        (level, _risk_table(site, chosen, base), chosen)
        for level in (*RISKS, "?")
        if (chosen := [row for row in rows if row["risk"] == level])
    ]
    parts = ""
    if site.large:
        parts = ", ".join(
            f"[part {n}]({base}risk-matrix/{n}.md)"
            for n in range(1, len(_chunks(rows, PAGE_ROWS)) + 1)
        )
        understated = [row for row in rows if row["understated"]][:PAGE_ROWS]
        levels = (
            [("understated", _risk_table(site, understated, base), understated)]
            if understated
            else []
        )
    no_rollback = site.templates.table(
        ("migration", "why there is none", "proof"),
        [
            (
                Link(inline(row["title"]), migration_uri(base, row["id"])),
                Text(row["why"]),
                proof_cell(site, row["id"]),
            )
            for row in missing[:PAGE_ROWS]
        ],
    )
    locks, locks_count = locks_table(site, base)
    return site.templates.render(
        "risk-matrix-block.md.j2",
        locks=locks,
        locks_more=max(0, locks_count - PAGE_ROWS),
        grid=grid,
        levels=levels,
        parts=parts,
        page_rows=PAGE_ROWS,
        no_rollback=no_rollback if missing else "",
        no_rollback_more=max(0, len(missing) - PAGE_ROWS),
        legend=legend(site),
    )


def risk_parts(site: Site) -> dict[int, str]:
    """A long history's rollbacks in pages of ``PAGE_ROWS``, by number from 1."""
    return {
        number: f"# Rollback risk matrix, part {number}\n\n" + _risk_table(site, chunk, "../")
        for number, chunk in enumerate(_chunks(_risk_rows(site), PAGE_ROWS), 1)
    }


def locks_table(site: Site, base: str) -> tuple[str, int]:
    """The migrations that, on replay, blocked the writers of a table that existed
    before them or rewrote one (the report's ``locks``), at most ``PAGE_ROWS``, and how
    many there are."""
    rows: list[tuple[Cell, ...]] = []
    count = 0
    for entry in site.entries:
        heavy = [
            lock
            for lock in (site.replay.get(entry.id) or {}).get("locks", [])
            if lock.get("rewrite") or lock.get("mode") in _WRITE_BLOCKING
        ]
        if not heavy:
            continue
        count += 1
        if len(rows) >= PAGE_ROWS:
            continue
        tables = sorted({str(lock.get("relation", "")).partition(":")[2] for lock in heavy})
        strongest = max(
            (str(lock.get("mode")) for lock in heavy), key=lambda m: _LOCK_RANK.get(m, -1)
        )
        rows.append(
            (
                Link(inline(entry.migration.title), migration_uri(base, entry.id)),
                Text(", ".join(tables)),
                Text(strongest),
                Text("rewritten" if any(lock.get("rewrite") for lock in heavy) else ""),
                Text(
                    "measured"
                    if any(lock.get("source") == "measured" for lock in heavy)
                    else "documented"
                ),
            )
        )
    header = ("migration", "existing tables", "strongest lock", "rewrite", "source")
    return (site.templates.table(header, rows) if rows else ""), count


def _chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)] or [[]]


def _risk_rows(site: Site) -> list[dict[str, Any]]:
    rows = []
    for entry, analysis in zip(site.entries, site.analyses, strict=True):
        rollback = entry.migration.rollback
        if rollback is None or rollback.file is None:
            continue
        computed = analysis.computed_impacts
        declared = {impact.value for impact in rollback.impact or []}
        least = minimum_risk(computed)
        risk = rollback.risk
        understated = bool({i.value for i in computed} - declared) or (
            risk is not None and risk.rank < least.rank
        )
        rows.append(
            {
                "id": entry.id,
                "title": entry.migration.title,
                "file": rollback.file,
                "risk": risk.value if risk is not None else "?",
                "impacts": sorted(declared),
                "declared": ", ".join(sorted(declared)) or "none",
                "computed": ", ".join(sorted(i.value for i in computed)) or "none",
                "minimum": least.value,
                "understated": understated,
                "summary": " ".join((rollback.summary or "").split()),
            }
        )
    return rows


def _no_rollback_rows(site: Site) -> list[dict[str, Any]]:
    return [
        {
            "id": entry.id,
            "title": entry.migration.title,
            "why": " ".join((entry.migration.rollback.none or "").split())
            if entry.migration.rollback is not None
            else "no rollback declared",
        }
        for entry in site.entries
        if site.proofs[entry.id].rollback == NO_ROLLBACK
    ]


def _grid_link(
    rows: list[dict[str, Any]],
    missing: list[dict[str, Any]],
    base: str,
    by_level: bool,
) -> dict[tuple[str, str], str]:
    """Where each count of the grid leads, by (risk, impact): the migration itself when
    it is one, else the list of its risk below the grid (when there is one)."""
    cells: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        for impact in (*(row["impacts"] or ["none"]), "all"):
            cells.setdefault((row["risk"], impact), []).append(row["id"])
    cells[(NO_ROLLBACK, "all")] = [row["id"] for row in missing]
    links = {}
    for (risk, impact), ids in cells.items():
        if len(ids) == 1:
            links[(risk, impact)] = migration_uri(base, ids[0])
        elif risk == NO_ROLLBACK:
            links[(risk, impact)] = "#no-rollback"
        elif by_level:
            links[(risk, impact)] = "#" + (f"{risk}-risk" if risk != "?" else "undeclared-risk")
    return links


def _risk_grid(
    site: Site,
    rows: list[dict[str, Any]],
    missing: list[dict[str, Any]],
    links: dict[tuple[str, str], str],
) -> str:
    counted: Counter[tuple[str, str]] = Counter()
    for row in rows:
        for impact in (*(row["impacts"] or ["none"]), "all"):
            counted[(row["risk"], impact)] += 1
    counted[(NO_ROLLBACK, "all")] = len(missing)
    impacts = [impact.value for impact in Impact]
    columns = (*impacts, "none", "all")

    def count(risk: str, impact: str) -> Cell:
        number = counted[(risk, impact)]
        if not number:
            return Text(NONE)
        target = links.get((risk, impact))
        return Link(Text(str(number)), target) if target else Text(str(number))

    risks = [risk for risk in (*RISKS, "?") if risk != "?" or counted[("?", "all")]]
    # The risk's class marks the table for the stylesheet's tighter grid.
    grid: list[tuple[Cell, ...]] = [
        (Badge("migdocs-grid-risk", risk), *(count(risk, impact) for impact in columns))
        for risk in risks
    ]
    grid.append(
        (
            badge(NO_ROLLBACK),
            *(Text(NONE) for _ in columns[:-1]),
            count(NO_ROLLBACK, "all"),
        )
    )
    return site.templates.table(("risk", *columns), grid)


def _risk_table(site: Site, rows: list[dict[str, Any]], base: str) -> str:
    """The rollbacks of ``rows``, one a row, with their declared and computed impact."""
    header = (
        "migration",
        "rollback",
        "declared impact",
        "computed impact",
        "least honest risk",
        "proof",
    )
    cells: list[tuple[Cell, ...]] = [
        (
            Link(inline(row["title"]), migration_uri(base, row["id"])),
            Literal(row["file"]),
            Text(row["declared"]),
            Text(row["computed"]),
            Text(f"{row['minimum']} {BAD} understated" if row["understated"] else row["minimum"]),
            proof_cell(site, row["id"]),
        )
        for row in rows
    ]
    return site.templates.table(header, cells)
