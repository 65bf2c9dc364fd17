"""The application layer: what `check`, `verify` and `audit` do, each a function that
returns a [Report][migdocs.report.Report].

The CLI parses options, calls one of these and prints the report; `migdocs build --audit`
calls `audit` and hands the report to the site. Here is the policy of a run — which static
findings say why a migration was not replayed, when replay and live count as failed, the
notes a report carries — and the engines (`checks`, `replay`, `audit`) stay unaware of
each other's results.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdocs.catalog.models import Severity
from migdocs.checks.files import MissingMigrationFile, MissingRollbackFile
from migdocs.checks.registry import rule_by_code
from migdocs.checks.sql import MetaCommand, SqlDoesNotParse
from migdocs.errors import MigdocsError
from migdocs.report.finding import Finding
from migdocs.report.report import Report

if TYPE_CHECKING:
    from migdocs.checks.context import StaticContext
    from migdocs.drift import LiveSection
    from migdocs.project import Project
    from migdocs.replay import ReplayResult

#: Told each migration's place as replay goes: (done, total, migration id).
Advance = Callable[[int, int, str], None]
#: Given the number of migrations, a context that yields an `Advance` (or None: no progress).
Progress = Callable[[int], AbstractContextManager[Advance | None]]


@dataclass(frozen=True)
class Scratch:
    """Where and how to replay: the scratch server options of a run.

    Attributes:
        url: A server to replay on (in a throwaway database); None: an embedded one.
        superuser: Whether a ``url`` whose role is a superuser is allowed.
        statement_timeout: The longest a statement may run (``60s``); None: the catalog's.
    """

    url: str | None = None
    superuser: bool = False
    statement_timeout: str | None = None


def warn_on_stderr(text: str) -> None:
    """The default way a run warns: a line on standard error."""
    print(f"migdocs: warning: {text}", file=sys.stderr)


def _no_progress(total: int) -> AbstractContextManager[Advance | None]:
    return nullcontext(None)


def project_report(project: Project, **fields: Any) -> Report:
    """A report on ``project``: its catalog, its migrations and where their entries are."""
    lines: dict[str, int | None] = {}
    for entry in project.entries:
        lines.setdefault(entry.id, project.loaded.line_of("migrations", entry.index))
    return Report(
        catalog=project.catalog_display,
        migrations=[entry.id for entry in project.entries],
        entry_lines=lines,
        **fields,
    )


def check(project: Project, *, since: str | None = None) -> Report:
    """`migdocs check`: the static rules, their findings settled (severities, ignores,
    ``since``)."""
    return checked(project, since=since)[0]


def checked(project: Project, *, since: str | None = None) -> tuple[Report, StaticContext]:
    """`check`'s report, with the static reading of the project it was made from (the site
    shows both)."""
    from migdocs.checks import run_static, settle

    context, findings = run_static(project)
    return project_report(project, findings=settle(project, findings, since)), context


def verify(
    project: Project,
    scratch: Scratch,
    *,
    since: str | None = None,
    progress: Progress = _no_progress,
    warn: Callable[[str], None] = warn_on_stderr,
) -> Report:
    """`migdocs verify`: replay each migration, its rollback and the migration again.

    What kept a migration from being replayed (a missing file, SQL that does not parse) is
    part of the report (`audit` has all of check's findings already): a round trip nobody
    could run is not a pass.
    """
    from migdocs.checks import run_static, settle

    context, static_findings = run_static(project)
    result = replay(project, context, scratch, progress=progress, warn=warn)
    skipped = why_not_replayed(project, result, static_findings)
    findings = settle(project, [*skipped, *result.findings], since)
    return project_report(
        project,
        findings=findings,
        replay=result.to_json(),
        replay_status=replay_status(result, findings),
        notes=replay_notes(result),
    )


def audit(
    project: Project,
    scratch: Scratch,
    urls: list[str],
    *,
    connect_timeout: int = 10,
    since: str | None = None,
    progress: Progress = _no_progress,
    warn: Callable[[str], None] = warn_on_stderr,
) -> Report:
    """`migdocs audit`: check, replay, and compare each live database of ``urls`` with the
    replay, read-only.

    The databases are connected to first, all at once, so that an unreachable host stops
    the run before any replay.
    """
    from migdocs.audit import audit_fleet, open_fleet
    from migdocs.checks import run_static, settle
    from migdocs.locks import without_guesses

    with open_fleet(urls, connect_timeout=connect_timeout) as databases:
        context, static_findings = run_static(project)
        result = replay(
            project,
            context,
            scratch,
            with_credentials=bool(databases),
            progress=progress,
            warn=warn,
        )
        sections = audit_fleet(project, result, databases) if databases else []
    live_findings = [finding for section in sections for finding in section.findings]
    # Where replay measured a statement's locks, MG406 or nothing replaces MG205's guess.
    locks = [lock for migration in result.migrations for lock in migration.locks]
    static_findings = without_guesses(static_findings, result.measured, locks)
    findings = settle(project, [*static_findings, *result.findings, *live_findings], since)
    return project_report(
        project,
        findings=findings,
        replay=result.to_json(),
        replay_status=replay_status(result, findings),
        live=[section.to_json() for section in sections],
        live_status=live_status(findings) if sections else "skipped",
        notes=replay_notes(result) + live_notes(sections),
    )


def replay(
    project: Project,
    context: StaticContext,
    scratch: Scratch,
    *,
    with_credentials: bool = False,
    progress: Progress = _no_progress,
    warn: Callable[[str], None] = warn_on_stderr,
) -> ReplayResult:
    """Replay the project on the embedded server or ``scratch.url``, stopped after.

    Args:
        with_credentials: Whether this process holds a live database's credentials: a
            superuser replay on the embedded server, which runs on this machine, is then
            refused.

    Raises:
        MigdocsError: a statement timeout that is no duration, or a superuser replay on this
            machine with credentials at hand.
    """
    from migdocs.pg import ScratchServer
    from migdocs.replay import replay_project, statement_timeout_setting

    if scratch.statement_timeout is not None:
        statement_timeout_setting(scratch.statement_timeout)  # bad: exit 2 before starting
    if project.catalog.replay.superuser:
        if with_credentials and not scratch.url:
            line = project.loaded.line_of("replay", "superuser")
            where = f"{project.loaded.display}:{line}" if line else project.loaded.display
            raise MigdocsError(
                f"{where}: replay.superuser is true, and this run holds a live "
                "database's credentials: replayed SQL running as a superuser on this machine "
                "could read them. Replay on a server of its own (--scratch-url), or run "
                "`migdocs verify` in a job without the credentials"
            )
        warn(
            "replay.superuser is true: the replayed SQL runs as a superuser "
            "and can run programs and read files as the scratch server's system user"
        )
    server = (
        ScratchServer.from_url(scratch.url, allow_superuser=scratch.superuser)
        if scratch.url
        else ScratchServer.embedded()
    )
    with server, progress(len(project.entries)) as advance:
        return replay_project(
            project,
            context,
            server,
            statement_timeout=scratch.statement_timeout,
            progress=advance,
        )


def replay_status(replay: ReplayResult, findings: list[Finding]) -> str:
    """The summary's ``replay``, as the exit code sees it: ``failed`` when an error among
    the settled findings is replay's (MG4xx) or belongs to a migration that did not replay
    cleanly; else ``passed`` (a rule a catalog turned down to a warning does not fail it)."""
    unclean = {m.migration for m in replay.migrations if not m.passed}
    failed = any(
        f.severity is Severity.ERROR and (_phase(f) == "replay" or f.migration in unclean)
        for f in findings
    )
    return "failed" if failed else "passed"


def live_status(findings: list[Finding]) -> str:
    """The summary's ``live``: ``failed`` when a live finding (MG5xx) is an error, else
    ``passed`` (warnings alone, such as an object no migration makes, do not fail it)."""
    failed = any(f.severity is Severity.ERROR and _phase(f) == "live" for f in findings)
    return "failed" if failed else "passed"


def _phase(finding: Finding) -> str | None:
    rule = rule_by_code(finding.code)
    return rule.phase if rule is not None else None


def replay_notes(replay: ReplayResult) -> list[str]:
    """What the reader of a text report should know about the replay: where it ran, and
    which migrations it could not replay and why."""
    notes = [f"replayed on {replay.server}", *replay.notes]
    for result in replay.migrations:
        not_run = result.forward == "skipped" or (
            result.forward == "ok" and result.rollback == "skipped"
        )
        if not_run and result.reason:
            notes.append(f"{result.migration}: {result.reason}")
    return notes


def live_notes(sections: list[LiveSection]) -> list[str]:
    """Each audited database and its migrations' states, or why live was skipped."""
    if not sections:
        return ["live: skipped (no --database-url)"]
    notes = []
    for section in sections:
        counted = Counter(state for _, state in section.states)
        states = ", ".join(
            f"{counted[s]} {s}" for s in ("applied", "partial", "pending") if counted[s]
        )
        notes.append(f"live {section.database} ({section.server}): {states}")
    return notes


#: The static findings that keep a file from being replayed: missing, unreadable, not parsed.
_MISSING_CODE = {"forward": MissingMigrationFile.code, "rollback": MissingRollbackFile.code}


def why_not_replayed(
    project: Project, replay: ReplayResult, static: Iterable[Finding]
) -> list[Finding]:
    """The static findings that explain each script replay skipped.

    A migration whose file is missing, unreadable, not UTF-8 or does not parse is not
    replayed, and neither is a round trip whose rollback is: nothing is proved for it. The
    finding that says why (MG102, MG104 or MG200, or MG206 for a psql include) must be in
    `verify`'s report, so that such a run does not pass. A migration skipped because an
    earlier one failed needs none: that one's finding says why.

    Args:
        project: The project replayed.
        replay: What replay did, one result per entry in catalog order.
        static: The static findings of the project (raw, as `run_static` gives them).

    Returns:
        Those of ``static`` that explain a skipped script, in their order, each once.
    """
    blocked: dict[str, list[tuple[str, str]]] = {}  # migration -> (missing code, file shown)
    for entry, result in zip(project.entries, replay.migrations, strict=True):
        path: Path | None
        if result.forward == "skipped":
            side, path, script = "forward", entry.forward_path, project.forward(entry)
        elif result.forward == "ok" and result.rollback == "skipped":
            side, path, script = "rollback", entry.rollback_path, project.rollback(entry)
        else:
            continue
        if path is None or (script is not None and script.parsed):
            continue  # blocked by an earlier migration, which has its own finding
        blocked.setdefault(entry.id, []).append((_MISSING_CODE[side], project.display(path)))
    if not blocked:
        return []
    found: list[Finding] = []
    includes: list[Finding] = []
    unparsed: set[str] = set()
    for finding in static:
        why = blocked.get(finding.migration or "")
        if why is None:
            continue
        for missing, shown in why:
            parse = finding.code == SqlDoesNotParse.code and finding.file == shown
            if finding.code == missing or parse:
                found.append(finding)
                unparsed.add(shown)
            elif finding.code == MetaCommand.code and finding.file == shown:
                includes.append(finding)
    # A file that does not parse only because of a psql include (`\i`) has no MG200.
    found += [finding for finding in includes if finding.file not in unparsed]
    return list(dict.fromkeys(found))
