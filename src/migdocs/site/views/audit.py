"""The report page (check, verify or audit): findings by migration, replay, live databases."""

from __future__ import annotations

from collections import Counter
from typing import Any

from migdocs.site.escape import url
from migdocs.site.fragments import Link, Text
from migdocs.site.state import Site
from migdocs.site.views.cells import NONE, legend, proof_cell
from migdocs.site.views.findings import finding_rows, findings_table

#: Rows of each of the audit page's tables (findings, each migration's under a heading of
#: its own; replay; each live database): all three together stay under 150 kB.
AUDIT_ROWS = 100

#: A migration's findings on the page: its id (or ``(project)``), its rows and their table.
FindingGroup = tuple[str, list[dict[str, Any]], str]


def audit(site: Site) -> str:
    """The report page, titled for the deepest command the report comes from."""
    summary = {"error": 0, "warning": 0, "info": 0, "replay": "skipped", "live": "skipped"}
    report = site.report
    if report is not None:
        summary.update(report.summary())
    by_rule = Counter(f.code for f in report.findings) if report is not None else Counter()
    groups = _finding_groups(site)
    shown = sum(len(rows) for _, rows, _ in groups)
    hidden = sum(count for _, count in by_rule.items()) - shown
    live = _live(site)
    replay = report.replay if report is not None else None
    replayed = _replayed(site, replay)
    replay_table = _replay_table(site, replayed)
    if live or summary["live"] != "skipped":
        title = "Audit report"
    elif replay is not None:
        title = "Verify report"
    else:
        title = "Check report"
    return site.templates.render(
        "audit.md.j2",
        title=title,
        replay=replay,
        replay_table=replay_table if replayed else "",
        replay_shown=len(replayed),
        legend=legend(site),
        summary=summary,
        by_rule=sorted(by_rule.items()),
        by_migration=groups,
        hidden=hidden,
        live=live,
    )


def _finding_groups(site: Site) -> list[FindingGroup]:
    """The errors and warnings by migration, the project's last, ``AUDIT_ROWS`` in all."""
    groups = []
    shown = 0
    keys: list[str | None] = [entry.id for entry in site.entries if entry.id in site.findings]
    if None in site.findings:
        keys.append(None)
    for key in keys:
        if shown >= AUDIT_ROWS:
            break
        serious = [f for f in site.findings[key] if f.severity.value != "info"]
        if serious:
            rows = finding_rows(serious[: AUDIT_ROWS - shown])
            shown += len(rows)
            groups.append((key or "(project)", rows, findings_table(site, rows, "rules.md")))
    return groups


def _live(site: Site) -> list[dict[str, Any]]:
    """Each live database: its counts by state, and its migrations not applied."""
    live = []
    for section in site.report.live if site.report is not None else []:
        items = section.get("migrations", [])
        counted = Counter(item["state"] for item in items)
        if len(items) > AUDIT_ROWS:  # the rest are applied: the counts say how many
            items = [item for item in items if item["state"] != "applied"][:AUDIT_ROWS]
        live.append(
            {
                "database": section.get("database", ""),
                "server": section.get("server", ""),
                "counts": sorted(counted.items()),
                "migrations": items,
                "table": site.templates.table(
                    ("migration", "state", "proof"),
                    [
                        (
                            Link(
                                Text(item["migration"]), f"migrations/{url(item['migration'])}.md"
                            ),
                            Text(item["state"]),
                            proof_cell(site, item["migration"])
                            if item["migration"] in site.proofs
                            else Text(NONE),
                        )
                        for item in items
                    ],
                ),
            }
        )
    return live


def _replayed(site: Site, replay: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The replayed migrations the page lists: past ``AUDIT_ROWS``, those not proven."""
    if replay is None:
        return []
    replayed = [item for item in replay if item["migration"] in site.proofs]
    if len(replayed) > AUDIT_ROWS:  # the rest passed: the summary says so
        replayed = [
            item
            for item in replayed
            if site.proofs[item["migration"]].level not in ("replayed", "live")
        ][:AUDIT_ROWS]
    return replayed


def _replay_table(site: Site, replayed: list[dict[str, Any]]) -> str:
    return site.templates.table(
        ("migration", "forward", "rollback", "round trip", "ms", "proof"),
        [
            (
                Link(Text(item["migration"]), f"migrations/{url(item['migration'])}.md"),
                *(Text(str(item.get(step, NONE))) for step in ("forward", "rollback")),
                Text(str(item.get("round_trip", NONE))),
                Text(str(item.get("ms", NONE))),
                proof_cell(site, item["migration"]),
            )
            for item in replayed
        ],
    )
