"""The state of one build of the site: the checked project and its report, read once for
every page (each migration's findings, replay, live states and proof)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import jinja2

from migdocs.checks.context import StaticContext
from migdocs.project import Entry, Project
from migdocs.report.finding import Finding
from migdocs.report.report import Report
from migdocs.site.fragments import Fragments
from migdocs.site.proof import Proof, proof
from migdocs.site.releases import ReleaseNotes
from migdocs.site.schema import SchemaReference, schema_reference
from migdocs.site.templating import Templates

#: Rows of one list page: longer lists are split (page size stays flat with the history).
PAGE_ROWS = 200


@dataclass
class Site:
    """Everything the pages are made of."""

    project: Project
    #: What the site shows: a report of the static checks or more; None when none ran.
    report: Report | None
    env: jinja2.Environment
    prefix: str
    context: StaticContext | None = None
    #: The parts of the pages rendered to HTML here, for the plugin's Markdown extension.
    fragments: Fragments = field(default_factory=Fragments)
    #: Whether the site's Markdown reads attribute lists (see ``Templates.attr_list``).
    attr_list: bool = True

    def __post_init__(self) -> None:
        self.templates = Templates(self.env, self.fragments, self.attr_list)
        if self.context is None:
            self.context = StaticContext(self.project)
        self.analyses = self.context.analyses
        report = self.report
        self.findings: dict[str | None, list[Finding]] = {}
        for finding in report.findings if report is not None else []:
            self.findings.setdefault(finding.migration, []).append(finding)
        replayed = report.replay if report is not None else None
        self.replay = {item["migration"]: item for item in replayed or []}
        self.entries = self.project.entries
        live: dict[str, list[str]] = {}
        for section in report.live if report is not None else []:
            for item in section.get("migrations", []):
                live.setdefault(item["migration"], []).append(item["state"])
        checked = report is not None  # a report of the static checks (or more)
        #: Each migration's proof, by id.
        self.proofs: dict[str, Proof] = {
            entry.id: proof(
                analysis,
                self.findings.get(entry.id, []),
                self.replay.get(entry.id),
                live.get(entry.id),
                checked,
            )
            for entry, analysis in zip(self.entries, self.analyses, strict=True)
        }

    @property
    def static(self) -> StaticContext:
        """The static analysis of the project (the report's, or made here)."""
        context = self.context
        assert context is not None  # made in __post_init__
        return context

    @property
    def large(self) -> bool:
        """Whether the history is long enough for its lists to be split into pages."""
        return len(self.entries) > PAGE_ROWS

    def months(self) -> dict[tuple[int, int], list[Entry]]:
        """The entries by (year, month), in order."""
        months: dict[tuple[int, int], list[Entry]] = {}
        for entry in self.entries:
            date = entry.migration.date
            months.setdefault((date.year, date.month), []).append(entry)
        return dict(sorted(months.items()))

    def sql_name(self, path: Path) -> str:
        """Where a SQL file is published under ``sql/``: its name, or for a runner its path
        in the runner's folder (every Prisma migration is a ``migration.sql``)."""
        if self.project.layout is None:
            return path.name
        try:
            return path.relative_to(self.project.migrations_dir).as_posix()
        except ValueError:
            return path.name

    @cached_property
    def replayed_on(self) -> str:
        """The scratch server the report's replay ran on (``PostgreSQL 18.6``)."""
        for note in self.report.notes if self.report is not None else []:
            if note.startswith("replayed on "):
                return note.removeprefix("replayed on ")
        return "the scratch server"

    @cached_property
    def schema(self) -> SchemaReference:
        """The schema reference: the tables the migrations build, a page each."""
        return schema_reference(
            self.project, self.prefix, self.templates.table, self.templates.render
        )

    @cached_property
    def releases(self) -> ReleaseNotes:
        """The release pages: an index and a page per release the catalog names."""
        return ReleaseNotes(
            self.entries,
            self.proofs,
            self.static.declared,
            self.schema.uri_of,
            self.templates.table,
            self.templates.render,
        )
