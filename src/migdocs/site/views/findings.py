"""Findings as the audit and migration pages list them: an icon, a rule, a place, a message."""

from __future__ import annotations

from typing import Any

from migdocs.report.finding import Finding
from migdocs.site.escape import message, url
from migdocs.site.fragments import Link, Text
from migdocs.site.state import Site
from migdocs.site.views.cells import BAD

_ICONS = {"error": BAD, "warning": "⚠", "info": "ℹ"}


def finding_rows(findings: list[Finding]) -> list[dict[str, Any]]:
    """The report's findings as rows: icon, code, where (file:line and database), message."""
    rows = []
    for f in findings:
        where = f.file or ""
        if where and f.line:
            where += f":{f.line}"
        if f.database:
            where = f"{where} {f.database}".strip()
        rows.append(
            {
                "icon": _ICONS.get(f.severity.value, ""),
                "code": f.code,
                "where": where,
                "message": f.message,
            }
        )
    return rows


def findings_table(site: Site, rows: list[dict[str, Any]], rules: str) -> str:
    """The table of ``rows``, each rule linked to its section of the rules page ``rules``."""
    return site.templates.table(
        ("", "rule", "where", "message"),
        [
            (
                Text(row["icon"]),
                Link(Text(row["code"]), f"{rules}#{url(row['code'].lower())}"),
                Text(row["where"]),
                message(row["message"]),
            )
            for row in rows
        ],
    )
