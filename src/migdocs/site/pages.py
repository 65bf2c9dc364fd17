"""The generated pages: Markdown from Jinja2 templates, fed by the project and a report.

Every value lands escaped for where it lands (``escape.py``: catalog Markdown with raw HTML
and attribute lists escaped, names and messages as plain text, code spans whatever their
backticks, link targets percent-encoded, Mermaid names reduced to what Mermaid reads), and
every page or block carries the mark on which the plugin's Markdown extension defuses links
and attributes that would run code, so neither a catalog, nor a file name, nor a database
can put a script into the published site, and each is shown as written. Everything is
sorted and nothing depends on the clock or the machine, so two builds are identical.
"""

from __future__ import annotations

import calendar
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2

from migdocs.catalog.models import Impact, Migration
from migdocs.checks import all_rules, run_static, settle
from migdocs.checks.context import EntryAnalysis, StaticContext
from migdocs.checks.rollback import minimum_risk
from migdocs.locks import MODES as LOCK_MODES
from migdocs.objects import CATALOG_KEY_OF, ObjectKind, ObjectRef
from migdocs.project import Project
from migdocs.report import Report
from migdocs.site.charts import columns, growth_chart, risk_chart
from migdocs.site.escape import (
    cell,
    code,
    heading,
    inline,
    md,
    message,
    text,
    url,
)
from migdocs.site.extension import SAFE_MARKER
from migdocs.site.fragments import (
    Badge,
    Cell,
    Code,
    Fragments,
    Link,
    Literal,
    Table,
    Text,
    html_badge,
    html_code,
    html_table,
    html_text,
)
from migdocs.site.proof import LEVELS, MEANINGS, NO_ROLLBACK, Proof, badge, label, proof
from migdocs.site.releases import Release, ReleaseNotes
from migdocs.site.schema import SchemaReference, schema_reference
from migdocs.sql.script import Script

#: Lines of SQL shown on a migration page; the whole file is a link away.
SQL_LINES = 300
#: Rows of one list page: longer lists are split (page size stays flat with the history).
PAGE_ROWS = 200
#: Rows of each of the audit page's tables (findings, each migration's under a heading of
#: its own; replay; each live database): all three together stay under 150 kB.
AUDIT_ROWS = 100
_LEVELS = ("critical", "high", "medium", "low")
OK, BAD, NONE = "✔", "✘", "—"
#: Lock modes (as ``pg_locks`` names them) that block a table's writers, and every mode's rank.
_LOCK_RANK = {mode: rank for rank, mode in enumerate(LOCK_MODES)}
_WRITE_BLOCKING = frozenset(LOCK_MODES[LOCK_MODES.index("ShareLock") :])
MARKERS = ("risk-matrix", "timeline", "review-status")
#: The families of rules, by the first digit of their code: a title and what they check.
RULE_FAMILIES = {
    "1": ("Files", "the migration and rollback files against the catalog's entries"),
    "2": ("SQL", "what each script's SQL does, read without a database"),
    "3": ("Rollback", "whether each rollback undoes its migration, and its declared risk"),
    "4": ("Replay", "the migrations and rollbacks run on a scratch PostgreSQL (verify)"),
    "5": ("Live", "the audited databases against the history (audit)"),
    "6": ("Review", "the catalog's review stamps and required texts"),
}


def environment(override: Path | None = None) -> jinja2.Environment:
    """The templates: a project's own folder first, then the package's."""
    loaders: list[jinja2.BaseLoader] = []
    if override is not None:
        loaders.append(jinja2.FileSystemLoader(str(override)))
    loaders.append(jinja2.PackageLoader("migdocs.site", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,  # the output is Markdown: the filters escape what must be
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        md=md,
        inline=inline,
        cell=cell,
        heading=heading,
        title_text=heading,  # its former name, which custom templates may use
        text=text,
        code=code,
        message=message,
        url=url,
    )
    return env


def static_report(project: Project) -> tuple[dict[str, Any], StaticContext]:
    """The report of `migdocs check`, made in-process (no database needed), and the static
    analysis it made (the pages reuse it)."""
    context, findings = run_static(project)
    report = Report(
        catalog=project.catalog_display,
        findings=settle(project, findings),
        migrations=[entry.id for entry in project.entries],
    )
    return report.to_json(), context


@dataclass
class Site:
    """Everything the pages are made of."""

    project: Project
    report: dict[str, Any]
    env: jinja2.Environment
    prefix: str
    context: StaticContext | None = None
    #: The parts of the pages rendered to HTML here, for the plugin's Markdown extension.
    fragments: Fragments = field(default_factory=Fragments)
    #: Whether the site's Markdown reads attribute lists (``attr_list``), through which the
    #: pages mark what Material's search leaves out (``data-search-exclude``): a migration's
    #: SQL, a table's diagram.
    attr_list: bool = True

    def __post_init__(self) -> None:
        # What a heading ends with for search to leave its section out (every template).
        self.env.globals["no_search"] = " { data-search-exclude }" if self.attr_list else ""
        if self.context is None:
            self.context = StaticContext(self.project)
        self.analyses = self.context.analyses
        self.findings: dict[str | None, list[dict[str, Any]]] = {}
        for finding in self.report.get("findings", []):
            self.findings.setdefault(finding.get("migration"), []).append(finding)
        self.replay = {item["migration"]: item for item in self.report.get("replay") or []}
        self.entries = self.project.entries
        self.templates: dict[str, jinja2.Template] = {}
        live: dict[str, list[str]] = {}
        for section in self.report.get("live") or []:
            for item in section.get("migrations", []):
                live.setdefault(item["migration"], []).append(item["state"])
        checked = "summary" in self.report  # a report of the static checks (or more)
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

    # -- pages ------------------------------------------------------------------------------

    def pages(self) -> dict[str, str]:
        """Every generated page, by its path under the docs folder.

        Long lists are split so that no page grows with the history: past ``PAGE_ROWS``
        migrations the timeline gets a page per month, the risk matrix pages of
        ``PAGE_ROWS`` rows, the schema pages of ``SCHEMA_TABLES`` tables.
        """
        base = self.prefix
        pages = {
            f"{base}/index.md": self.overview(),
            f"{base}/timeline.md": self.render("timeline.md.j2", block=self.timeline("")),
            f"{base}/risk-matrix.md": self.render("risk-matrix.md.j2", block=self.risk_matrix("")),
            f"{base}/audit.md": self.audit(),
            f"{base}/rules.md": self.rules(),
            f"{base}/review.md": self.render("review.md.j2", block=self.review("")),
        }
        pages.update(self.schema_pages())
        pages.update({f"{base}/{uri}": text for uri, text in self.releases.pages().items()})
        if self.large:
            for (year, month), entries in self.months().items():
                pages[f"{base}/timeline/{year}-{month:02d}.md"] = (
                    f"# {calendar.month_name[month]} {year}\n\n"
                    + self.render(
                        "timeline-block.md.j2", years=self._years(entries, "../"), base="../"
                    )
                )
            rows = self._risk_rows()
            for number, chunk in enumerate(_chunks(rows, PAGE_ROWS), 1):
                pages[f"{base}/risk-matrix/{number}.md"] = (
                    f"# Rollback risk matrix, part {number}\n\n" + self._risk_table(chunk, "../")
                )
        for position, entry in enumerate(self.entries):
            pages[f"{base}/migrations/{entry.id}.md"] = self.migration(position)
        return {uri: f"{text.rstrip()}\n\n{SAFE_MARKER}\n" for uri, text in pages.items()}

    @property
    def large(self) -> bool:
        """Whether the history is long enough for its lists to be split into pages."""
        return len(self.entries) > PAGE_ROWS

    def months(self) -> dict[tuple[int, int], list[Any]]:
        """The entries by (year, month), in order."""
        months: dict[tuple[int, int], list[Any]] = {}
        for entry in self.entries:
            date = entry.migration.date
            months.setdefault((date.year, date.month), []).append(entry)
        return dict(sorted(months.items()))

    def sql_files(self) -> dict[str, bytes]:
        """The SQL files, published whole beside the pages that show them in part."""
        files: dict[str, bytes] = {}
        for entry in self.entries:
            for path in (entry.forward_path, entry.rollback_path):
                if path is None:
                    continue
                script = self.project.script(path)
                if script is not None and len(script.raw.splitlines()) > SQL_LINES:
                    files[f"{self.prefix}/sql/{self.sql_name(path)}"] = script.raw
        return files

    def sql_name(self, path: Path) -> str:
        """Where a SQL file is published under ``sql/``: its name, or for a runner its path
        in the runner's folder (every Prisma migration is a ``migration.sql``)."""
        if self.project.layout is None:
            return path.name
        try:
            return path.relative_to(self.project.migrations_dir).as_posix()
        except ValueError:
            return path.name

    def block(self, name: str, page_uri: str) -> str:
        """A generated block for a ``<!-- migdocs:NAME -->`` marker on a hand-written page."""
        depth = page_uri.count("/")
        base = "../" * depth + f"{self.prefix}/"
        if name == "risk-matrix":
            block = self.risk_matrix(base)
        elif name == "timeline":
            block = self.timeline(base)
        else:
            block = self.review(base)
        return f"{block.rstrip()}\n\n{SAFE_MARKER}\n"

    def render(self, template: str, **values: Any) -> str:
        loaded = self.templates.get(template)
        if loaded is None:  # once a build: Jinja would look at the file at each get
            loaded = self.templates[template] = self.env.get_template(template)
        return loaded.render(**values)

    # -- the parts --------------------------------------------------------------------------

    def _risk_cell(self, migration_id: str) -> Badge | Text:
        """A migration's rollback risk as a cell: *no rollback* is a state of its own."""
        risk = self.proofs[migration_id].rollback
        return badge(NO_ROLLBACK) if risk == NO_ROLLBACK else Text(risk)

    def _proof_cell(self, migration_id: str) -> Badge:
        return badge(self.proofs[migration_id].level)

    def legend(self) -> str:
        """The proof levels and what each means, as a table."""
        return self.table(
            ("state", "meaning"),
            [(badge(state), Text(MEANINGS[state])) for state in (*LEVELS, NO_ROLLBACK)],
        )

    def overview(self) -> str:
        catalog = self.project.catalog
        attention: list[dict[str, Any]] = []
        for entry in self.entries:
            counted = Counter(f["severity"] for f in self.findings.get(entry.id, []))
            if (counted["error"] or counted["warning"]) and len(attention) < 50:
                attention.append(
                    {
                        "id": entry.id,
                        "title": entry.migration.title,
                        "error": counted["error"],
                        "warning": counted["warning"],
                    }
                )
        risks = Counter(proof.rollback for proof in self.proofs.values())
        levels = Counter(proof.level for proof in self.proofs.values())
        summary = {"error": 0, "warning": 0, "info": 0, "replay": "skipped", "live": "skipped"}
        summary.update(self.report.get("summary", {}))
        # "Nothing needs attention" is a claim: only what replay and live (where there is a
        # live database) proved may make it.
        unproven = []
        if "summary" not in self.report:
            unproven.append("the static checks did not run")
        if summary["replay"] != "passed":
            unproven.append(f"replay {summary['replay']}")
        if summary["live"] not in ("passed", "skipped"):
            unproven.append(f"live {summary['live']}")
        risk_rows: list[tuple[Cell, ...]] = [
            (Text(risk), Text(str(risks[risk]))) for risk in (*_LEVELS, "?") if risks[risk]
        ]
        if risks[NO_ROLLBACK]:
            risk_rows.append((badge(NO_ROLLBACK), Text(str(risks[NO_ROLLBACK]))))
        return self.render(
            "overview.md.j2",
            project=catalog.project,
            entries=self.entries,
            with_rollback=sum(1 for e in self.entries if e.rollback_path is not None),
            catalog=self.project.catalog_display,
            summary=summary,
            attention=attention,
            unproven=unproven,
            proof_table=self.table(
                ("proof", "migrations", "meaning"),
                [
                    (badge(level), Text(str(levels[level])), Text(MEANINGS[level]))
                    for level in LEVELS
                    if levels[level]
                ],
            ),
            risk_table=self.table(("rollback risk", "migrations"), risk_rows),
            locks_count=self.locks_table("")[1],
            **self._charts(),
        )

    def _charts(self) -> dict[str, str]:
        """The overview's pictures (``charts.py``), as the markers of their fragments."""
        made = columns(self.project, self.analyses, self.proofs)
        return {
            "risk_chart": self.fragments.marker(risk_chart(made)),
            "growth_chart": self.fragments.marker(growth_chart(made)),
        }

    def timeline(self, base: str) -> str:
        if self.large:
            lines = ["| month | migrations |", "|---|---|"]
            for (year, month), entries in self.months().items():
                name = f"{calendar.month_name[month]} {year}"
                link = f"{base}timeline/{year}-{month:02d}.md"
                lines.append(f"| [{name}]({link}) | {len(entries)} |")
            return "\n".join(lines) + "\n"
        years = self._years(self.entries, base)
        return self.render("timeline-block.md.j2", years=years, base=base)

    def table(self, header: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> str:
        """The marker of a table built cell by cell (see ``fragments.Table``)."""
        return self.fragments.marker(Table(header, rows))

    def _years(
        self, entries: list[Any], base: str
    ) -> list[tuple[int, list[tuple[str, list[Any], str]]]]:
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
                    (calendar.month_name[month], items, self._timeline_table(items, base))
                    for month, items in sorted(months.items())
                ],
            )
            for year, months in sorted(years.items())
        ]

    def _timeline_table(self, items: list[dict[str, Any]], base: str) -> str:
        rows: list[tuple[Cell, ...]] = [
            (
                Text(item["date"]),
                Link(inline(item["title"]), f"{base}migrations/{url(item['id'])}.md"),
                self._risk_cell(item["id"]),
                self._proof_cell(item["id"]),
            )
            for item in items
        ]
        return self.table(("date", "migration", "rollback risk", "proof"), rows)

    def _risk_rows(self) -> list[dict[str, Any]]:
        rows = []
        for entry, analysis in zip(self.entries, self.analyses, strict=True):
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

    def locks_table(self, base: str) -> tuple[str, int]:
        """The migrations that, on replay, blocked the writers of a table that existed
        before them or rewrote one (the report's ``locks``), at most ``PAGE_ROWS``, and how
        many there are."""
        rows: list[tuple[Cell, ...]] = []
        count = 0
        for entry in self.entries:
            heavy = [
                lock
                for lock in (self.replay.get(entry.id) or {}).get("locks", [])
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
                    Link(inline(entry.migration.title), f"{base}migrations/{url(entry.id)}.md"),
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
        return (self.table(header, rows) if rows else ""), count

    def _no_rollback_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "id": entry.id,
                "title": entry.migration.title,
                "why": " ".join((entry.migration.rollback.none or "").split())
                if entry.migration.rollback is not None
                else "no rollback declared",
            }
            for entry in self.entries
            if self.proofs[entry.id].rollback == NO_ROLLBACK
        ]

    def risk_matrix(self, base: str) -> str:
        """The rollback risk matrix: a grid of risk × declared impact whose counts link to
        the migrations, with a row for the migrations that have no rollback; then the
        rollbacks by risk (past ``PAGE_ROWS`` migrations, in pages of their own)."""
        rows = self._risk_rows()
        missing = self._no_rollback_rows()
        link = self._grid_link(rows, missing, base, by_level=not self.large)
        grid = self._risk_grid(rows, missing, link)
        levels = [
            (level, self._risk_table(chosen, base), chosen)
            for level in (*_LEVELS, "?")
            if (chosen := [row for row in rows if row["risk"] == level])
        ]
        parts = ""
        if self.large:
            parts = ", ".join(
                f"[part {n}]({base}risk-matrix/{n}.md)"
                for n in range(1, len(_chunks(rows, PAGE_ROWS)) + 1)
            )
            understated = [row for row in rows if row["understated"]][:PAGE_ROWS]
            levels = (
                [("understated", self._risk_table(understated, base), understated)]
                if understated
                else []
            )
        no_rollback = self.table(
            ("migration", "why there is none", "proof"),
            [
                (
                    Link(inline(row["title"]), f"{base}migrations/{url(row['id'])}.md"),
                    Text(row["why"]),
                    self._proof_cell(row["id"]),
                )
                for row in missing[:PAGE_ROWS]
            ],
        )
        locks, locks_count = self.locks_table(base)
        return self.render(
            "risk-matrix-block.md.j2",
            locks=locks,
            locks_more=max(0, locks_count - PAGE_ROWS),
            grid=grid,
            levels=levels,
            parts=parts,
            page_rows=PAGE_ROWS,
            no_rollback=no_rollback if missing else "",
            no_rollback_more=max(0, len(missing) - PAGE_ROWS),
            legend=self.legend(),
        )

    def _grid_link(
        self,
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
                links[(risk, impact)] = f"{base}migrations/{url(ids[0])}.md"
            elif risk == NO_ROLLBACK:
                links[(risk, impact)] = "#no-rollback"
            elif by_level:
                links[(risk, impact)] = "#" + (f"{risk}-risk" if risk != "?" else "undeclared-risk")
        return links

    def _risk_grid(
        self,
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

        risks = [risk for risk in (*_LEVELS, "?") if risk != "?" or counted[("?", "all")]]
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
        return self.table(("risk", *columns), grid)

    def _risk_table(self, rows: list[dict[str, Any]], base: str) -> str:
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
                Link(inline(row["title"]), f"{base}migrations/{url(row['id'])}.md"),
                Literal(row["file"]),
                Text(row["declared"]),
                Text(row["computed"]),
                Text(
                    f"{row['minimum']} {BAD} understated" if row["understated"] else row["minimum"]
                ),
                self._proof_cell(row["id"]),
            )
            for row in rows
        ]
        return self.table(header, cells)

    def review(self, base: str) -> str:
        due = []
        for entry in self.entries:
            reasons = [
                f"{f['code']} {f['message']}"
                for f in self.findings.get(entry.id, [])
                if f["code"] in ("MG601", "MG602", "MG603", "MG604")
            ]
            if reasons:
                due.append(
                    {"id": entry.id, "title": entry.migration.title, "why": "; ".join(reasons)}
                )
        stamps = [
            {
                "id": entry.id,
                "title": entry.migration.title,
                "date": entry.migration.reviewed.date.isoformat()
                if entry.migration.reviewed
                else NONE,
                "by": entry.migration.reviewed.by if entry.migration.reviewed else NONE,
            }
            for entry in self.entries
        ]
        due_count = len(due)
        due = due[:PAGE_ROWS]
        stamps = [] if self.large else stamps
        due_rows: list[tuple[Cell, ...]] = [
            (
                Link(inline(item["title"]), f"{base}migrations/{url(item['id'])}.md"),
                message(item["why"]),
            )
            for item in due
        ]
        stamp_rows: list[tuple[Cell, ...]] = [
            (
                Link(inline(item["title"]), f"{base}migrations/{url(item['id'])}.md"),
                Text(item["date"]),
                Text(item["by"]),
            )
            for item in stamps
        ]
        return self.render(
            "review-block.md.j2",
            every=self.project.catalog.review.every_days,
            due=due,
            due_table=self.table(("migration", "why"), due_rows) if due else "",
            due_count=due_count,
            total=len(self.entries),
            stamps=stamps,
            stamps_table=self.table(("migration", "last reviewed", "by"), stamp_rows)
            if stamps
            else "",
            base=base,
        )

    def rules(self) -> str:
        """The rules reference: an index of the families, then each family's rules in a table
        (code, name, default severity, summary) and one section each, whose anchor is its
        code in lower case (``rules.md#mg302``), where the findings tables link."""
        families: dict[str, dict[str, Any]] = {}
        rules = []
        for rule in all_rules():
            docs = rule.docs()
            shown = {
                "code": rule.code,
                "name": rule.name,
                "severity": rule.severity.value,
                "phase": rule.phase,
                "summary": rule.summary,
                "what": docs.what,
                "why": docs.why,
                "example": docs.example,
                "fix": docs.fix,
            }
            rules.append(shown)
            digit = rule.code[2:3]
            title, about = RULE_FAMILIES.get(digit, (f"MG{digit}xx", ""))
            family = families.setdefault(
                digit,
                {"title": title, "codes": f"MG{digit}xx", "about": about, "rules": []},
            )
            family["rules"].append(shown)
        for family in families.values():
            family["anchor"] = f"{family['title']}-{family['codes']}".lower().replace(" ", "-")
            family["table"] = self.table(
                ("code", "name", "default", "summary"),
                [
                    (
                        Link(Text(rule["code"]), f"#{url(rule['code'].lower())}"),
                        Literal(rule["name"]),
                        Text(rule["severity"]),
                        inline(rule["summary"]),
                    )
                    for rule in family["rules"]
                ],
            )
        index = self.table(
            ("family", "codes", "what it checks", "rules"),
            [
                (
                    Link(Text(family["title"]), f"#{family['anchor']}"),
                    Text(family["codes"]),
                    Text(family["about"]),
                    Text(str(len(family["rules"]))),
                )
                for family in families.values()
            ],
        )
        return self.render(
            "rules.md.j2", rules=rules, families=list(families.values()), index=index
        )

    def _finding_rows(self, findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        icons = {"error": BAD, "warning": "⚠", "info": "ℹ"}
        rows = []
        for f in findings:
            where = f.get("file") or ""
            if where and f.get("line"):
                where += f":{f['line']}"
            if f.get("database"):
                where = f"{where} {f['database']}".strip()
            rows.append(
                {
                    "icon": icons.get(f["severity"], ""),
                    "code": f["code"],
                    "where": where,
                    "message": f["message"],
                }
            )
        return rows

    def _findings_table(self, rows: list[dict[str, Any]], rules: str) -> str:
        return self.table(
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

    def audit(self) -> str:
        summary = {"error": 0, "warning": 0, "info": 0, "replay": "skipped", "live": "skipped"}
        summary.update(self.report.get("summary", {}))
        by_rule = Counter(f["code"] for f in self.report.get("findings", []))
        groups = []
        shown = 0
        keys: list[str | None] = [entry.id for entry in self.entries if entry.id in self.findings]
        if None in self.findings:
            keys.append(None)
        for key in keys:
            if shown >= AUDIT_ROWS:
                break
            serious = [f for f in self.findings[key] if f["severity"] != "info"]
            if serious:
                rows = self._finding_rows(serious[: AUDIT_ROWS - shown])
                shown += len(rows)
                groups.append((key or "(project)", rows, self._findings_table(rows, "rules.md")))
        hidden = sum(count for _, count in by_rule.items()) - shown
        live = []
        for section in self.report.get("live") or []:
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
                    "table": self.table(
                        ("migration", "state", "proof"),
                        [
                            (
                                Link(
                                    Text(item["migration"]),
                                    f"migrations/{url(item['migration'])}.md",
                                ),
                                Text(item["state"]),
                                self._proof_cell(item["migration"])
                                if item["migration"] in self.proofs
                                else Text(NONE),
                            )
                            for item in items
                        ],
                    ),
                }
            )
        replay = self.report.get("replay")
        replayed = []
        if replay is not None:
            replayed = [item for item in replay if item["migration"] in self.proofs]
            if len(replayed) > AUDIT_ROWS:  # the rest passed: the summary says so
                replayed = [
                    item
                    for item in replayed
                    if self.proofs[item["migration"]].level not in ("replayed", "live")
                ][:AUDIT_ROWS]
        replay_table = self.table(
            ("migration", "forward", "rollback", "round trip", "ms", "proof"),
            [
                (
                    Link(Text(item["migration"]), f"migrations/{url(item['migration'])}.md"),
                    *(Text(str(item.get(step, NONE))) for step in ("forward", "rollback")),
                    Text(str(item.get("round_trip", NONE))),
                    Text(str(item.get("ms", NONE))),
                    self._proof_cell(item["migration"]),
                )
                for item in replayed
            ],
        )
        if live or summary["live"] != "skipped":
            title = "Audit report"
        elif replay is not None:
            title = "Verify report"
        else:
            title = "Check report"
        return self.render(
            "audit.md.j2",
            title=title,
            replay=replay,
            replay_table=replay_table if replayed else "",
            replay_shown=len(replayed),
            legend=self.legend(),
            summary=summary,
            by_rule=sorted(by_rule.items()),
            by_migration=groups,
            hidden=hidden,
            live=live,
        )

    def migration(self, position: int) -> str:
        entry = self.entries[position]
        analysis = self.analyses[position]
        migration = entry.migration
        replay = self.replay.get(entry.id)
        forward = self.project.forward(entry)
        rollback_script = self.project.rollback(entry)
        forward_sql, forward_more = _excerpt(_shown(forward, entry.forward_part))
        rollback_sql, rollback_more = (
            _excerpt(_shown(rollback_script, entry.rollback_part))
            if rollback_script is not None
            else (None, 0)
        )
        rollback = None
        if migration.rollback is not None:
            r = migration.rollback
            rollback = {
                "none": r.none,
                "file": r.file,
                "risk": r.risk.value if r.risk else "?",
                "impact": [i.value for i in r.impact or []],
                "summary": r.summary or "",
            }
        computed = sorted(reason.impact.value for reason in analysis.impacts)
        evidence = self.proofs[entry.id]
        state = label(evidence.level)
        forward_file = self.project.display(entry.forward_path)
        context = self.context
        assert context is not None  # made in __post_init__
        objects = _objects(
            context.declared(entry, "creates"), context.declared(entry, "drops"), analysis, replay
        )
        declared = context.declared(entry, "creates") + context.declared(entry, "drops")
        for row, ref in zip(objects, declared, strict=True):  # each links to its table's page
            row["page"] = self.schema.uri_of(ref) or ""
        forward_text = forward_sql if forward_sql is not None else "-- the file is missing"
        parts = self._migration_parts(
            migration, evidence, forward_file, objects, replay, forward_text, rollback_sql
        )
        findings = self._finding_rows(self.findings.get(entry.id, []))
        return self.render(
            "migration.md.j2",
            m=_migration_view(migration),
            html=parts,
            state=state,
            proof=evidence,
            forward_file=forward_file,
            objects=objects,
            rollback=rollback,
            computed=sorted(set(computed)),
            forward_sql=forward_text,
            forward_more=forward_more,
            forward_link=f"../sql/{url(self.sql_name(entry.forward_path))}",
            rollback_sql=rollback_sql,
            rollback_more=rollback_more,
            rollback_link=(
                f"../sql/{url(self.sql_name(entry.rollback_path))}" if entry.rollback_path else ""
            ),
            replay=replay,
            replay_changes=[
                ("Added", (replay or {}).get("changes", {}).get("added", [])),
                ("Removed", (replay or {}).get("changes", {}).get("removed", [])),
                ("Changed", (replay or {}).get("changes", {}).get("changed", [])),
                ("Round-trip differences", (replay or {}).get("differences", [])),
            ],
            findings=findings,
            findings_table=self._findings_table(findings, "../rules.md") if findings else "",
            rules_link="../rules.md",
            replayed_on=self.replayed_on,
            rewrote=any(lock.get("rewrite") for lock in (replay or {}).get("locks", [])),
            risk_low=rollback is not None and rollback["risk"] in ("low", "none"),
            release=(
                {"name": migration.release, "uri": f"../{url(Release(migration.release, ()).uri)}"}
                if migration.release is not None
                else None
            ),
            previous=_link(self.entries[position - 1]) if position > 0 else None,
            next=_link(self.entries[position + 1]) if position + 1 < len(self.entries) else None,
        )

    def _migration_parts(
        self,
        migration: Migration,
        evidence: Proof,
        forward_file: str,
        objects: list[dict[str, str]],
        replay: dict[str, Any] | None,
        forward_sql: str,
        rollback_sql: str | None,
    ) -> dict[str, str]:
        """The markers of a migration page's plain parts: its header (rollback risk and
        impact, proof, transaction), its facts, objects and replay steps as HTML, its SQL to
        highlight."""
        code, text, table, marker = html_code, html_text, html_table, self.fragments.marker
        proof_badge = html_badge(badge(evidence.level))
        if evidence.rollback == NO_ROLLBACK:
            header = [html_badge(badge(NO_ROLLBACK))]
        else:
            assert migration.rollback is not None  # a risk is a rollback's
            impacts = ", ".join(i.value for i in migration.rollback.impact or []) or "none"
            header = [
                f"<span>rollback risk: <strong>{text(evidence.rollback)}</strong></span>",
                f"<span>impact: <strong>{text(impacts)}</strong></span>",
            ]
        header.append(f"<span>proof: {proof_badge}</span>")
        if evidence.outside_transaction:
            header.append("<span>runs outside a transaction</span>")
        lines = "\n".join(header)
        reviewed = migration.reviewed
        if reviewed is None:
            stamp = text("never")
        else:
            stamp = text(f"{reviewed.date.isoformat()} by {' '.join(reviewed.by.split())}")
            if reviewed.sha256:
                stamp += f" (files {code(reviewed.sha256[:12])})"
        steps = [
            ("forward", (replay or {}).get("forward")),
            ("rollback", (replay or {}).get("rollback")),
            ("round trip", (replay or {}).get("round_trip")),
        ]
        replayed = ", ".join(f"{step} {result}" for step, result in steps)
        facts = [
            ["id", code(migration.id)],
            ["date", text(migration.date.isoformat())],
            ["file", code(forward_file)],
            ["proof", proof_badge],
            ["reviewed", stamp],
            ["replayed", text(replayed if replay else "not in this site's report")],
        ]
        parts = {
            # Raw HTML in the page: every value in it is escaped above.
            "header": f'<div class="migdocs-header">\n{lines}\n</div>',
            "facts": marker(table(["", ""], facts)),
            "forward_sql": marker(Code("sql", forward_sql)),
        }
        if objects:
            # A table fragment, so that MkDocs resolves the links to the schema reference.
            cells: list[tuple[Cell, ...]] = [
                (
                    Text(o["verb"]),
                    (
                        Text(f"{o['kind']} "),
                        Link(Literal(o["name"]), f"../{o['page']}")
                        if o.get("page")
                        else Literal(o["name"]),
                    ),
                    Text(o["sql"]),
                    Text(o["replay"]),
                )
                for o in objects
            ]
            parts["objects"] = self.table(("", "object", "in the SQL", "on replay"), cells)
        if rollback_sql is not None:
            parts["rollback_sql"] = marker(Code("sql", rollback_sql))
        if replay:
            steps.append(("time", f"{replay.get('ms')} ms"))
            rows = [[text(step), text(result)] for step, result in steps]
            parts["replay"] = marker(table(["step", "result"], rows))
        if replay and replay.get("locks"):
            locks = [
                [
                    text(f"line {lock.get('line')}"),
                    code(str(lock.get("relation", "")).partition(":")[2]),
                    text(lock.get("mode", "")),
                    text("rewritten" if lock.get("rewrite") else ""),
                    text(lock.get("source", "")),
                ]
                for lock in replay["locks"]
            ]
            parts["locks"] = marker(
                table(["statement", "relation", "lock", "rewrite", "measured or documented"], locks)
            )
        return parts

    @cached_property
    def replayed_on(self) -> str:
        """The scratch server the report's replay ran on (``PostgreSQL 18.6``)."""
        for note in self.report.get("notes") or []:
            if isinstance(note, str) and note.startswith("replayed on "):
                return note.removeprefix("replayed on ")
        return "the scratch server"

    @cached_property
    def schema(self) -> SchemaReference:
        """The schema reference: the tables the migrations build, a page each."""
        return schema_reference(self.project, self.prefix, self.table, self.render)

    @cached_property
    def releases(self) -> ReleaseNotes:
        """The release pages: an index and a page per release the catalog names."""
        context = self.context
        assert context is not None  # made in __post_init__
        return ReleaseNotes(
            self.entries, self.proofs, context.declared, self.schema.uri_of, self.table, self.render
        )

    def schema_pages(self) -> dict[str, str]:
        """The schema reference's pages: its index and a page per table (``schema.py``)."""
        return self.schema.pages()


def _chunks(rows: list[Any], size: int) -> list[list[Any]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)] or [[]]


def _shown(script: Script | None, part: str | None) -> str | None:
    """A script's text as its page shows it: a section of a file (dbmate, goose) without the
    other section's emptied lines before it."""
    if script is None or script.text is None:
        return None
    return script.text.lstrip("\r\n") if part is not None else script.text


def _excerpt(text: str | None) -> tuple[str | None, int]:
    if text is None:
        return None, 0
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    if len(lines) <= SQL_LINES:
        return "\n".join(lines), 0
    return "\n".join(lines[:SQL_LINES]), len(lines) - SQL_LINES


def _link(entry: Any) -> dict[str, str]:
    return {"id": entry.id, "title": entry.migration.title}


def _migration_view(migration: Migration) -> dict[str, Any]:
    return {
        "id": migration.id,
        "title": migration.title,
        "date": migration.date.isoformat(),
        "purpose": migration.purpose,
        "changes": migration.changes or [],
        "features": migration.features or [],
        "reviewed": (
            {
                "date": migration.reviewed.date.isoformat(),
                "by": migration.reviewed.by,
                "sha256": migration.reviewed.sha256 or "",
            }
            if migration.reviewed
            else None
        ),
        "notes": migration.notes or "",
    }


_CHILDREN = (ObjectKind.COLUMN, ObjectKind.CONSTRAINT, ObjectKind.TRIGGER)


def _found(ref: ObjectRef, among: list[ObjectRef]) -> bool:
    key = CATALOG_KEY_OF.get(ref.kind)
    return any(
        CATALOG_KEY_OF.get(o.kind) == key
        and o.schema == ref.schema
        and o.name == ref.name
        and (
            o.table == ref.table
            or ref.kind not in (ObjectKind.COLUMN, ObjectKind.CONSTRAINT, ObjectKind.TRIGGER)
        )
        for o in among
    )


def _objects(
    creates: list[ObjectRef],
    drops: list[ObjectRef],
    analysis: EntryAnalysis,
    replay: dict[str, Any] | None,
) -> list[dict[str, str]]:
    """The declared objects (``creates``, ``drops``) with where each was seen."""
    rows = []
    for verb, declared, seen_sql, seen_key in (
        (
            "creates",
            creates,
            [
                *analysis.mentioned_creates,
                *(analysis.forward_effect.created if analysis.forward_effect else []),
            ],
            "added",
        ),
        (
            "drops",
            drops,
            [
                *analysis.mentioned_drops,
                *(analysis.forward_effect.dropped if analysis.forward_effect else []),
            ],
            "removed",
        ),
    ):
        keys = set((replay or {}).get("changes", {}).get(seen_key, []))
        for ref in declared:
            in_sql = _found(ref, seen_sql)
            sql_mark = (
                f"{OK} seen" if in_sql else ("? opaque" if analysis.opaque else f"{BAD} not found")
            )
            if replay is None or replay.get("forward") != "ok":
                replay_mark = NONE
            else:
                parent = ref.parent.key if ref.parent is not None else None
                seen = ref.key in keys or (parent is not None and parent in keys)
                replay_mark = f"{OK} seen" if seen else f"{BAD} not found"
            rows.append(
                {
                    "verb": verb,
                    "kind": ref.kind.value,
                    "name": ref.declared,
                    "sql": sql_mark,
                    "replay": replay_mark,
                }
            )
    return rows
