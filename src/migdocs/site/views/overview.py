"""The overview: the history's counts, its proof and rollback risk, what needs attention,
and its charts."""

from __future__ import annotations

from collections import Counter
from typing import Any

from migdocs.site.charts import columns, growth_chart, risk_chart
from migdocs.site.fragments import Cell, Text
from migdocs.site.proof import LEVELS, MEANINGS, NO_ROLLBACK, badge
from migdocs.site.state import Site
from migdocs.site.views.cells import RISKS
from migdocs.site.views.risk_matrix import locks_table


def overview(site: Site) -> str:
    """The section's index page."""
    levels = Counter(proof.level for proof in site.proofs.values())
    summary = {"error": 0, "warning": 0, "info": 0, "replay": "skipped", "live": "skipped"}
    if site.report is not None:
        summary.update(site.report.summary())
    table = site.templates.table
    return site.templates.render(
        "overview.md.j2",
        project=site.project.catalog.project,
        entries=site.entries,
        with_rollback=sum(1 for e in site.entries if e.rollback_path is not None),
        catalog=site.project.catalog_display,
        summary=summary,
        attention=_attention(site),
        unproven=_unproven(site, summary),
        proof_table=table(
            ("proof", "migrations", "meaning"),
            [
                (badge(level), Text(str(levels[level])), Text(MEANINGS[level]))
                for level in LEVELS
                if levels[level]
            ],
        ),
        risk_table=table(("rollback risk", "migrations"), _risk_rows(site)),
        locks_count=locks_table(site, "")[1],
        **_charts(site),
    )


def _attention(site: Site) -> list[dict[str, Any]]:
    """The first 50 migrations with errors or warnings, and how many of each."""
    attention: list[dict[str, Any]] = []
    for entry in site.entries:
        counted = Counter(f.severity.value for f in site.findings.get(entry.id, []))
        if (counted["error"] or counted["warning"]) and len(attention) < 50:
            attention.append(
                {
                    "id": entry.id,
                    "title": entry.migration.title,
                    "error": counted["error"],
                    "warning": counted["warning"],
                }
            )
    return attention


def _unproven(site: Site, summary: dict[str, Any]) -> list[str]:
    """Why the page may not say that nothing needs attention: only what replay and live
    (where there is a live database) proved may make that claim."""
    unproven = []
    if site.report is None:
        unproven.append("the static checks did not run")
    if summary["replay"] != "passed":
        unproven.append(f"replay {summary['replay']}")
    if summary["live"] not in ("passed", "skipped"):
        unproven.append(f"live {summary['live']}")
    return unproven


def _risk_rows(site: Site) -> list[tuple[Cell, ...]]:
    """The migrations by rollback risk, those without a rollback last."""
    risks = Counter(proof.rollback for proof in site.proofs.values())
    rows: list[tuple[Cell, ...]] = [
        (Text(risk), Text(str(risks[risk]))) for risk in (*RISKS, "?") if risks[risk]
    ]
    if risks[NO_ROLLBACK]:
        rows.append((badge(NO_ROLLBACK), Text(str(risks[NO_ROLLBACK]))))
    return rows


def _charts(site: Site) -> dict[str, str]:
    """The overview's pictures (``charts.py``), as the markers of their fragments."""
    made = columns(site.project, site.analyses, site.proofs)
    return {
        "risk_chart": site.fragments.marker(risk_chart(made)),
        "growth_chart": site.fragments.marker(growth_chart(made)),
    }
