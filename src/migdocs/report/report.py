"""The report of one run: findings, replay and live results, and the exit code they give."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import migdocs
from migdocs.report.finding import Finding

if TYPE_CHECKING:
    from migdocs.catalog.models import Severity

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_CANNOT_RUN = 2
EXIT_INTERRUPTED = 130


@dataclass
class Report:
    """Everything a run found.

    Attributes:
        catalog: The catalog file, as the user named it.
        findings: Every finding, in catalog order.
        migrations: Every migration id in catalog order (for grouping).
        replay: Per-migration replay results (``verify``/``audit``), else ``None``.
        replay_status: ``passed``, ``failed`` or ``skipped``.
        live: One section per audited database.
        live_status: ``passed``, ``failed`` or ``skipped``.
        notes: Things the reader should know about the run (e.g. why live was skipped).
        entry_lines: The line of each migration's entry in the catalog, by id: where the
            formats that must point at a file (SARIF, GitHub) place a finding of a migration
            that has no file of its own (a live finding).
    """

    catalog: str
    findings: list[Finding] = field(default_factory=list)
    migrations: list[str] = field(default_factory=list)
    replay: list[dict[str, Any]] | None = None
    replay_status: str = "skipped"
    live: list[dict[str, Any]] = field(default_factory=list)
    live_status: str = "skipped"
    notes: list[str] = field(default_factory=list)
    entry_lines: dict[str, int | None] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """How many findings of each severity."""
        counts = {"error": 0, "warning": 0, "info": 0}
        for finding in self.findings:
            counts[finding.severity.value] += 1
        return counts

    def summary(self) -> dict[str, Any]:
        """The JSON report's ``summary``."""
        return {**self.counts(), "live": self.live_status, "replay": self.replay_status}

    def exit_code(self, fail_on: Severity) -> int:
        """0 when no finding is at or above ``fail_on``, else 1."""
        worst = max((f.severity.rank for f in self.findings), default=0)
        return EXIT_FINDINGS if worst >= fail_on.rank else EXIT_CLEAN

    def to_json(self) -> dict[str, Any]:
        """The JSON report (DESIGN.md's contract)."""
        data: dict[str, Any] = {
            "migdocs": migdocs.__version__,
            "catalog": self.catalog,
            "summary": self.summary(),
            "findings": [finding.to_json() for finding in self.findings],
        }
        if self.replay is not None:
            data["replay"] = self.replay
            data["live"] = self.live
        if self.notes:
            data["notes"] = self.notes
        return data

    @classmethod
    def from_json(cls, data: object) -> Report:
        """The report that [to_json][migdocs.report.Report.to_json] wrote (a JSON report read
        back, as the site reads `migdocs audit --format json`).

        Raises:
            ValueError: when ``data`` is not a migdocs JSON report.
        """
        from migdocs.catalog.models import Severity

        if not isinstance(data, dict) or not isinstance(data.get("findings", []), list):
            raise ValueError("not a migdocs JSON report (no findings list)")
        given = data.get("summary")
        summary: dict[str, Any] = given if isinstance(given, dict) else {}
        findings = []
        for item in data.get("findings", []):
            if not isinstance(item, dict) or not isinstance(item.get("code"), str):
                raise ValueError("a finding without a code")
            try:
                severity = Severity(str(item.get("severity")))
            except ValueError:
                raise ValueError(f"{item['code']}: no severity {item.get('severity')!r}") from None
            findings.append(
                Finding(
                    item["code"],
                    severity,
                    str(item.get("message", "")),
                    migration=item.get("migration"),
                    file=item.get("file"),
                    line=item.get("line"),
                    column=item.get("column"),
                    database=item.get("database"),
                )
            )
        replay, live = data.get("replay"), data.get("live")
        return cls(
            catalog=str(data.get("catalog", "")),
            findings=findings,
            replay=replay if isinstance(replay, list) else None,
            replay_status=str(summary.get("replay", "skipped")),
            live=live if isinstance(live, list) else [],
            live_status=str(summary.get("live", "skipped")),
            notes=[str(note) for note in data.get("notes", []) if isinstance(note, str)],
        )

    def place(self, finding: Finding) -> tuple[str, int | None, int | None]:
        """Where a finding is, for formats whose every result needs a file: its own file and
        line, else its migration's catalog entry, else the catalog.

        Returns:
            The file, its line and its column (each line or column where known).
        """
        if finding.file is not None:
            return finding.file, finding.line, finding.column
        if finding.migration is not None:
            return self.catalog, self.entry_lines.get(finding.migration), None
        return self.catalog, None, None

    def by_migration(self) -> list[tuple[str | None, list[Finding]]]:
        """Findings grouped by migration in catalog order; those of no migration last."""
        groups: dict[str | None, list[Finding]] = {}
        for finding in self.findings:
            groups.setdefault(finding.migration, []).append(finding)
        order = list(dict.fromkeys(m for m in self.migrations if m in groups))
        known = set(self.migrations)
        order += [m for m in groups if m is not None and m not in known]
        result: list[tuple[str | None, list[Finding]]] = [(m, groups[m]) for m in order]
        if None in groups:
            result.append((None, groups[None]))
        return result
