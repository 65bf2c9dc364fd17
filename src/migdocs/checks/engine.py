"""Running rules on a project and settling their findings: severities, suppressions, baseline.

The inline suppressions (``-- migdocs: ignore MG205 (why)``) are the engine's: it applies
them when it settles findings, and it reports those that are wrong (MG207), since only the
registry can tell a rule's code from a misspelt one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from migdocs.catalog.models import Severity
from migdocs.checks.context import StaticContext
from migdocs.checks.registry import all_rules, rule_by_code
from migdocs.checks.sql import BadIgnoreComment
from migdocs.errors import CatalogError
from migdocs.project import Project
from migdocs.report.finding import Finding
from migdocs.sql.script import Script


def validate_rule_settings(project: Project) -> None:
    """Refuse settings for rule codes that do not exist.

    Raises:
        CatalogError: naming the line of each unknown code.
    """
    problems = [
        project.loaded.error(("rules", code), f"there is no rule {code} (see `migdocs rules`)")
        for code in project.catalog.rules
        if rule_by_code(code) is None
    ]
    if problems:
        raise CatalogError(problems)


def run_static(project: Project) -> tuple[StaticContext, list[Finding]]:
    """Run every static rule; findings are raw (default severities, nothing filtered)."""
    validate_rule_settings(project)
    context = StaticContext(project)
    findings: list[Finding] = []
    for rule in all_rules():
        if rule.phase == "static":
            findings.extend(rule().check(context))
            if rule is BadIgnoreComment:
                findings.extend(bad_ignore_comments(context))
    return context, findings


def bad_ignore_comments(context: StaticContext) -> Iterator[Finding]:
    """MG207 for each ``-- migdocs: ignore`` comment that names no rule code, names a code
    that is no rule, has no statement after it, or gives no reason."""
    for entry, script in context.scripts():
        for comment in script.ignores:
            if not comment.codes:
                problem = "names no rule code: write `-- migdocs: ignore MG205 (why)`"
            else:
                unknown = [code for code in comment.codes if rule_by_code(code) is None]
                named = ", ".join(comment.codes)
                if unknown:
                    problem = (
                        f"names {', '.join(unknown)}, which is no rule "
                        "(see `migdocs rules`), so it silences nothing"
                    )
                elif not comment.applies:
                    problem = f"for {named} has no statement after it to silence"
                elif comment.reason is None:
                    problem = (
                        f"for {named} gives no reason: say why in parentheses, "
                        f"`-- migdocs: ignore {named} (the table has 40 rows)`"
                    )
                else:
                    continue
            yield BadIgnoreComment.of(
                problem,
                migration=entry.id if entry else None,
                file=script.display,
                line=comment.line,
                column=comment.column,
            )


def settle(
    project: Project, findings: Iterable[Finding], since: str | None = None
) -> list[Finding]:
    """Apply the catalog's severities, inline ``-- migdocs: ignore`` comments and ``--since``.

    Returns:
        The findings to report, in catalog order.
    """
    settings = project.catalog.rules
    order = {entry.id: entry.index for entry in project.entries}
    after = project.index_of(since) if since is not None else None
    scripts: dict[str, Script] | None = None  # only findings with a line need them
    kept: list[Finding] = []
    for finding in findings:
        setting = settings.get(finding.code)
        if setting is not None:
            if setting.severity is Severity.OFF:
                continue
            finding = finding.with_severity(setting.severity)
        if finding.file is not None and finding.line is not None:
            if scripts is None:
                scripts = project.scripts_read()
            script = scripts.get(finding.file)
            statement = script.statement_at(finding.line) if script is not None else None
            if statement is not None and finding.code in statement.suppressed:
                continue
        if (
            after is not None
            and finding.migration is not None
            and order.get(finding.migration, after + 1) <= after
        ):
            continue
        kept.append(finding)
    last = len(order)
    return sorted(
        kept,
        key=lambda f: (
            order.get(f.migration, last) if f.migration is not None else last + 1,
            f.file or "",
            f.line or 0,
            f.code,
        ),
    )
