"""Rules of the MG2xx family: the SQL itself, and the catalog's objects against what it does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from migdocs.catalog.models import Severity
from migdocs.checks.base import Rule
from migdocs.checks.files import layout_findings
from migdocs.declarations import declarable_creates, declarable_drops
from migdocs.objects import (
    CATALOG_KEY_OF,
    CHILD_KINDS,
    ObjectRef,
    case_twin,
    parse_declared,
)
from migdocs.report.finding import Finding

if TYPE_CHECKING:
    from migdocs.checks.context import EntryAnalysis, StaticContext
    from migdocs.project import Entry
    from migdocs.sql.script import Script


def _script_problems(
    rule: type[Rule], context: StaticContext, hint: Callable[[Script], str] | None = None
) -> Iterator[Finding]:
    """The problems of ``rule``'s code that reading each script found, where they are."""
    for entry, script in context.scripts():
        said = hint(script) if hint is not None else ""
        for problem in script.problems:
            if problem.code == rule.code:
                yield rule.finding(
                    problem.message + said,
                    migration=entry.id if entry else None,
                    file=script.display,
                    line=problem.line,
                    column=problem.column,
                )


def _declared_where(
    context: StaticContext, entry: Entry, section: str, ref: ObjectRef
) -> int | None:
    key = CATALOG_KEY_OF.get(ref.kind)
    loaded = context.project.loaded
    if key is None:
        return loaded.line_of("migrations", entry.index, section)
    names = getattr(getattr(entry.migration, section), key)
    for position, name in enumerate(names):
        if parse_declared(ref.kind, name).same(ref):
            return loaded.line_of("migrations", entry.index, section, key, position)
    return loaded.line_of("migrations", entry.index, section)


def _other_kind(ref: ObjectRef, seen: list[ObjectRef], section: str) -> str:
    """A hint for a declaration under the wrong key: what the SQL has of that name instead
    (a view declared under `views` that is a materialized view), or nothing."""
    for other in seen:
        key = CATALOG_KEY_OF.get(other.kind)
        if (
            key is not None
            and other.kind is not ref.kind
            and other.kind not in CHILD_KINDS
            and (other.schema, other.name) == (ref.schema, ref.name)
        ):
            return f" (it is a {other.kind.value}: declare it under `{section}.{key}`)"
    twin = case_twin(ref, seen)
    if twin is not None:
        return (
            f" (it {section[:-1]}s {twin.kind.value} {twin.qualified}: names are written as "
            f"PostgreSQL stores them, case included; declare it as `{twin.declared}`)"
        )
    return ""


class SqlDoesNotParse(Rule):
    """SQL does not parse.

    ## What it does
    Parses every migration and rollback file with PostgreSQL's own grammar (pglast) and
    reports where it stops, with line and column. A file that is not UTF-8 is reported here
    too. (A `replay.setup` file that does not parse stops the run instead, with exit 2:
    every check and the replay build on it.)

    ## Why is this bad?
    PostgreSQL will refuse the file at deploy time; and until it parses, migdocs cannot tell
    what it does, so every other check of that file is blind.

    ## Example
    ```sql
    CREATE TABLE users (id serial PRIMARY KEY,);
    ```

    ## Use instead
    ```sql
    CREATE TABLE users (id serial PRIMARY KEY);
    ```
    """

    code = "MG200"
    name = "sql.parse-error"
    severity = Severity.ERROR
    summary = "SQL does not parse"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for entry in project.entries:
            for path in (entry.forward_path, entry.rollback_path):
                problem = project.read_problem(path) if path is not None else None
                if problem is not None and path is not None:
                    yield self.finding(
                        problem.message, migration=entry.id, file=project.display(path)
                    )
        hint = _sections_hint if project.layout is None else None
        yield from _script_problems(type(self), context, hint)
        yield from layout_findings(self, context)


_SECTION_MARKERS = (
    (
        re.compile(r"^--\s*migrate:(up|down)\b", re.MULTILINE),
        "dbmate",
        "`-- migrate:up`/`-- migrate:down`",
    ),
    (re.compile(r"^--\s*\+goose\s+(Up|Down)\b", re.MULTILINE), "goose", "`-- +goose Up`/`Down`"),
)


def _sections_hint(script: Script) -> str:
    """For a file read whole by the `plain` runner that has another runner's section
    markers: how to have each section read as its own script."""
    for marker, kind, markers in _SECTION_MARKERS:
        if script.text is not None and marker.search(script.text):
            return (
                f" (the file has {kind}'s {markers} sections, read here as one script: set "
                f"`runner: {{kind: {kind}}}` so that each is read on its own)"
            )
    return ""


class UndeclaredObjectMissing(Rule):
    """The catalog declares an object the SQL does not create or drop.

    ## What it does
    Compares each entry's `creates` and `drops` with what its migration's SQL really does,
    as the schema model sees it (a table's columns go with the table, an index with its
    table or column). Statements whose effect is invisible (DO blocks, function calls)
    make the effect unknown, and then nothing is reported.

    ## Why is this bad?
    The documentation promises an object that the migration does not make: readers, the
    docs site and the live audit all rely on a fact that is false.

    ## Example
    ```yaml
    creates: {indexes: [users_email_idx]}
    ```
    while the SQL says `CREATE INDEX users_mail_idx ON users (email)`.

    ## Use instead
    Name the object as the SQL does, or remove it from the entry.
    """

    code = "MG201"
    name = "sql.declared-object-not-in-sql"
    severity = Severity.ERROR
    summary = "the catalog declares an object the SQL does not create/drop"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        for analysis in context.analyses:
            forward, net = analysis.forward, analysis.net
            if forward is None or net is None or forward.opaque:
                continue
            entry = analysis.entry
            for section, seen in (("creates", net.may_create), ("drops", net.may_drop)):
                for ref in context.declared(entry, section):
                    if net.allows(section, ref):
                        continue
                    verb = section[:-1]
                    yield self.finding(
                        f"declares that it {section} {ref.kind.value} {ref.qualified}, "
                        f"but the SQL does not {verb} it{_other_kind(ref, seen, section)}",
                        migration=entry.id,
                        file=context.project.catalog_display,
                        line=_declared_where(context, entry, section, ref),
                    )


class UndeclaredObject(Rule):
    """The SQL creates or drops an object the catalog does not declare.

    ## What it does
    Lists what a migration's SQL creates or drops, net, that its entry's `creates`/`drops`
    does not name. A table's own columns and constraints are covered by declaring the table
    in the same migration; indexes, views, functions, triggers and the rest are declared in
    their own right. Implicit objects (a primary key's index, a serial's sequence) are never
    listed.

    ## Why is this bad?
    The catalog is the history's index: an object it does not mention cannot be found in
    the docs, and the live audit cannot say which migration should have made it.

    ## Example
    ```sql
    CREATE INDEX prompts_user_id_idx ON prompts (user_id);
    ```
    with no `creates: {indexes: [prompts_user_id_idx]}` in the entry.

    ## Use instead
    Declare it: `creates: {indexes: [prompts_user_id_idx]}`.
    """

    code = "MG202"
    name = "sql.object-not-declared"
    severity = Severity.WARNING
    summary = "the SQL creates/drops an object the catalog does not declare"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        for analysis in context.analyses:
            forward = analysis.forward
            if analysis.net is None or forward is None:
                continue
            entry = analysis.entry
            lines: dict[tuple[str, object], int] | None = None  # only needed for a finding
            sides = (
                ("creates", "create", declarable_creates(analysis)),
                ("drops", "drop", declarable_drops(analysis)),
            )
            for section, verb, made in sides:
                declared = context.declared(entry, section)
                for ref in made:
                    if any(ref.same(other) for other in declared):
                        continue
                    lines = lines if lines is not None else _statement_lines(analysis)
                    yield self.finding(
                        f"{section} {ref.kind.value} {ref.qualified}, which `{section}."
                        f"{CATALOG_KEY_OF[ref.kind]}` does not declare",
                        migration=entry.id,
                        file=forward.display,
                        line=lines.get((verb, ref.identity)),
                    )


def _statement_lines(analysis: EntryAnalysis) -> dict[tuple[str, object], int]:
    lines: dict[tuple[str, object], int] = {}
    if analysis.forward is None:
        return lines
    for statement in analysis.forward.statements:
        for ref in statement.creates:
            lines.setdefault(("create", ref.identity), statement.line)
        for old, new in statement.renames:
            lines.setdefault(("create", new.identity), statement.line)
            lines.setdefault(("drop", old.identity), statement.line)
        for ref in statement.drops:
            lines.setdefault(("drop", ref.identity), statement.line)
    return lines


class UsedBeforeCreated(Rule):
    """A migration uses an object that only a later migration creates.

    ## What it does
    Walks the migrations in catalog order and reports a statement that refers to a table,
    view, type or function that does not exist yet but that a later migration creates.

    ## Why is this bad?
    Applied in the documented order, the migration fails on a fresh database: the history
    only works on databases where things happened in another order.

    ## Example
    Migration 3 says `CREATE INDEX ON user_sessions (expire)`, and `user_sessions` is
    created by migration 4.

    ## Use instead
    Move the statement into (or after) the migration that creates the object, or reorder
    the catalog.
    """

    code = "MG203"
    name = "sql.used-before-created"
    severity = Severity.ERROR
    summary = "a migration uses an object that only a later migration creates"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        entries = context.project.entries
        for analysis in context.analyses:
            if analysis.forward is None:
                continue
            for statement, ref, creator in analysis.early_uses:
                yield self.finding(
                    f"{statement.command} uses {ref.kind.value} {ref.qualified}, which only "
                    f"the later migration {entries[creator].id} creates",
                    migration=analysis.entry.id,
                    file=analysis.forward.display,
                    line=statement.line,
                    column=statement.column,
                )


class EmptyScript(Rule):
    """A migration or rollback file has no statements.

    ## What it does
    Reports files that hold only comments or whitespace.

    ## Why is this bad?
    An empty migration documents a change that never happens; an empty rollback promises an
    undo that does nothing.

    ## Example
    A rollback file that only says `-- TODO: write the rollback`.

    ## Use instead
    Write the statements, or declare `rollback: {none: "<why>"}`.
    """

    code = "MG204"
    name = "sql.empty-file"
    severity = Severity.WARNING
    summary = "a migration or rollback file has no statements"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        for entry, script in context.scripts():
            if script.empty:
                yield self.finding(
                    "the file has no statements",
                    migration=entry.id if entry else None,
                    file=script.display,
                )


class HeavyLock(Rule):
    """A forward statement takes a heavy lock or rewrites a table.

    ## What it does
    Finds steps on tables that already exist (created by an earlier migration) which hold a
    lock blocking writes (or reads) while they scan or rewrite the whole table: an index
    built without `CONCURRENTLY`, a volatile default, a type change, a validated constraint,
    `SET NOT NULL`, `VACUUM FULL`, `CLUSTER`. Tables the same migration creates are empty
    and never reported.

    ## Why is this bad?
    On a large table the application stalls for as long as the step runs.

    ## Example
    ```sql
    CREATE INDEX prompts_user_id_idx ON prompts (user_id);
    ```

    ## Use instead
    ```sql
    CREATE INDEX CONCURRENTLY prompts_user_id_idx ON prompts (user_id);
    ```
    or, where the table is known to be small, `-- migdocs: ignore MG205 (small table)`.
    """

    code = "MG205"
    name = "sql.heavy-lock"
    severity = Severity.INFO
    summary = "a forward statement takes a heavy lock or rewrites a table"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        for analysis in context.analyses:
            if analysis.forward is None:
                continue
            for statement, step in analysis.heavy:
                yield self.finding(
                    f"{step.reason} on existing {step.table.kind.value} {step.table.qualified} "
                    f"({step.lock.value} lock); instead: {step.fix}",
                    migration=analysis.entry.id,
                    file=analysis.forward.display,
                    line=statement.line,
                    column=statement.column,
                )


class MetaCommand(Rule):
    """A file holds a psql meta-command.

    ## What it does
    Reports lines such as `\\set`, `\\i other.sql` or `\\connect` that only psql understands.

    ## Why is this bad?
    Other runners fail on them, and migdocs cannot see what they do: an `\\i` include makes
    the file's effects unknown.

    ## Example
    ```sql
    \\set ON_ERROR_STOP on
    CREATE TABLE t (id int);
    ```

    ## Use instead
    Keep psql settings on the command line (`psql -v ON_ERROR_STOP=1`) and inline included
    files.
    """

    code = "MG206"
    name = "sql.psql-meta-command"
    severity = Severity.WARNING
    summary = "a file holds a psql meta-command that migdocs cannot follow"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        yield from _script_problems(type(self), context)


class BadIgnoreComment(Rule):
    """An inline `-- migdocs: ignore` comment is incomplete or names no rule.

    ## What it does
    Reads every `-- migdocs: ignore MG205 (reason)` comment of the migration, rollback and
    setup files and reports one that gives no reason, names a code that is no rule, names
    no code at all, or has no statement after it to silence.

    ## Why is this bad?
    Turning a rule off for a whole project needs a `reason` in `rules:`; silencing it for one
    statement deserves the same, or the next reader cannot tell a considered exception from
    a hushed problem. A misspelt code silences nothing, while its author believes otherwise.

    ## Example
    ```sql
    -- migdocs: ignore MG205
    CREATE INDEX templates_type_idx ON templates (type);
    ```

    ## Use instead
    ```sql
    -- migdocs: ignore MG205 (templates has 40 rows)
    CREATE INDEX templates_type_idx ON templates (type);
    ```
    """

    code = "MG207"
    name = "sql.bad-ignore-comment"
    severity = Severity.WARNING
    summary = "an inline ignore comment gives no reason, names no rule, or silences nothing"

    @classmethod
    def of(
        cls, problem: str, *, migration: str | None, file: str, line: int, column: int | None
    ) -> Finding:
        """The comment at ``file:line`` and what is wrong with it (``problem``).

        The engine finds these, next to the suppressions they would make
        (``checks/engine.py``): whether a code is a rule's is the registry's to say.
        """
        return cls.finding(
            f"`migdocs: ignore` {problem}", migration=migration, file=file, line=line, column=column
        )
