"""Rules of the MG1xx family: the catalog against the files on disk, names, order and dates."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from migdocs.catalog.models import Severity
from migdocs.checks.base import Rule
from migdocs.report.finding import Finding

if TYPE_CHECKING:
    from migdocs.checks.context import StaticContext


def _not_named(files: list[Path], named: list[Path]) -> Iterator[Path]:
    """The ``files`` that no path of ``named`` leads to (``a/./b`` is ``a/b``)."""
    exact = set(map(str, named))  # how nearly every catalog names its files
    normal: set[str] | None = None
    for path in files:
        if str(path) in exact:
            continue
        if normal is None:
            normal = {os.path.normpath(other) for other in named}
        if os.path.normpath(path) not in normal:
            yield path


def layout_findings(rule: Rule, context: StaticContext) -> Iterator[Finding]:
    """The rule's findings from the runner's own reading of its folder: files it would
    ignore (MG103), rollbacks of no migration (MG106), a version twice (MG109), a journal
    or plan naming a missing file (MG102)."""
    project = context.project
    for problem in project.layout_problems(rule.code):
        yield rule.finding(
            problem.message,
            migration=problem.migration,
            file=project.display(project.migrations_dir / problem.file),
            line=problem.line,
        )


class UnlistedMigration(Rule):
    """A migration SQL file is not in the catalog.

    ## What it does
    Lists the `.sql` files of the migrations folder that no catalog entry names.

    ## Why is this bad?
    A runner that applies every file in the folder will run it, but nothing documents it,
    checks it, or replays its rollback: it is exactly the drift migdocs exists to stop.

    ## Example
    `migrations/2025-09-03_add_template_slugs.sql` exists, and `catalog.yaml` has no entry
    with `id: 2025-09-03_add_template_slugs`.

    ## Use instead
    Add an entry for it (`migdocs init` prints one for new files), or move the file out of
    the migrations folder if it is not a migration.
    """

    code = "MG101"
    name = "files.migration-not-in-catalog"
    severity = Severity.ERROR
    summary = "a migration SQL file is not in the catalog"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        unlisted = _not_named(project.migration_files, [e.forward_path for e in project.entries])
        for path in unlisted:
            yield self.finding("migration file is not in the catalog", file=project.display(path))


class MissingMigrationFile(Rule):
    """A catalog entry's migration file does not exist.

    ## What it does
    Checks that the file of every entry (`file`, or `{id}.sql`) is in the migrations folder.

    ## Why is this bad?
    The catalog documents a migration nobody can run, review or replay; usually the file
    was renamed or the entry has a typo.

    ## Example
    ```yaml
    - id: 2025-08-30_initial_schema   # but the file is 2025-08-30_initial.sql
    ```

    ## Use instead
    Make `id` (or `file`) match the file's name.
    """

    code = "MG102"
    name = "files.migration-file-missing"
    severity = Severity.ERROR
    summary = "a catalog entry's migration file does not exist"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for entry in project.entries:
            if project.forward(entry) is None and project.read_problem(entry.forward_path) is None:
                key = "file" if entry.migration.file else "id"
                yield self.in_entry(
                    f"migration file {project.display(entry.forward_path)} does not exist",
                    project,
                    entry,
                    key,
                )
        yield from layout_findings(self, context)


class NamingConvention(Rule):
    """A file name breaks the naming convention.

    ## What it does
    Matches every migration and rollback file named in the catalog against
    `conventions.migration` and `conventions.rollback` (`{date}_{name}.sql` and
    `{date}_rollback_{name}.sql` by default). With a `runner` other than `plain`, names the
    `.sql` files in the runner's folder that the runner itself would ignore (a golang-migrate
    file without `.up.sql`, a Flyway file without `V<version>__`, a file drizzle's journal
    does not list).

    ## Why is this bad?
    Names are how people find a migration and its rollback in a hurry; a name that breaks
    the pattern is easy to miss, and tools that sort or pair files by name go wrong.

    ## Example
    `migrations/AddUsers.sql` under the default convention.

    ## Use instead
    `migrations/2025-08-30_add_users.sql`, or set `conventions` to the pattern the team uses.
    """

    code = "MG103"
    name = "files.naming-convention"
    severity = Severity.WARNING
    summary = "a file name breaks the naming convention"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        if project.layout is not None:  # the runner's own rule: files it would ignore
            yield from layout_findings(self, context)
            return
        conventions = project.catalog.conventions
        for entry in project.entries:
            if not project.migration_pattern.match(entry.forward_path.name):
                yield self.finding(
                    f"{entry.forward_path.name!r} does not follow {conventions.migration!r}",
                    migration=entry.id,
                    file=project.display(entry.forward_path),
                )
            if entry.rollback_path is not None and not project.rollback_pattern.match(
                entry.rollback_path.name
            ):
                yield self.finding(
                    f"{entry.rollback_path.name!r} does not follow {conventions.rollback!r}",
                    migration=entry.id,
                    file=project.display(entry.rollback_path),
                )


class MissingRollbackFile(Rule):
    """A catalog entry's rollback file does not exist.

    ## What it does
    Checks that the `rollback.file` of every entry is in the rollbacks folder.

    ## Why is this bad?
    The rollback is what an on-call engineer reaches for during an incident; a catalog that
    promises one that is not there fails them at the worst moment.

    ## Example
    ```yaml
    rollback: {file: 2025-08-30_rollback_initial.sql, risk: critical, ...}
    ```
    with no such file in `migrations/rollbacks/`.

    ## Use instead
    Write the rollback, fix the name, or say `rollback: {none: "<why>"}`.
    """

    code = "MG104"
    name = "files.rollback-file-missing"
    severity = Severity.ERROR
    summary = "a catalog entry's rollback file does not exist"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for entry in project.entries:
            path = entry.rollback_path
            if path is None or project.rollback(entry) is not None or project.read_problem(path):
                continue
            yield self.in_entry(
                f"rollback file {project.display(path)} does not exist",
                project,
                entry,
                "rollback",
                "file",
            )


class RollbackNotDeclared(Rule):
    """An entry declares no rollback.

    ## What it does
    Requires every entry to say how it is undone: a `rollback.file`, or `rollback.none` with
    the reason there is none.

    ## Why is this bad?
    "No rollback" must be a decision someone made and wrote down, not an omission found
    during an outage.

    ## Example
    An entry with no `rollback` key at all.

    ## Use instead
    ```yaml
    rollback: {none: "data backfill only; restore from backup instead"}
    ```
    """

    code = "MG105"
    name = "files.rollback-not-declared"
    severity = Severity.ERROR
    summary = "an entry declares no rollback (neither a file nor `none` with a reason)"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for entry in project.entries:
            rollback = entry.migration.rollback
            if rollback is None or not rollback.declared:
                yield self.in_entry(
                    "no rollback declared: give `rollback.file`, or `rollback.none` with a reason",
                    project,
                    entry,
                )


class UnlistedRollback(Rule):
    """A file in the rollbacks folder belongs to no entry.

    ## What it does
    Lists `.sql` files of the rollbacks folder that no entry names as its `rollback.file`.

    ## Why is this bad?
    Someone may run it believing it is the rollback of a migration; nothing checks what it
    does. Procedure scripts kept beside rollbacks are a common source of confusion.

    ## Example
    `migrations/rollbacks/OAUTH_ROLLBACK_PROCEDURES.sql` named by no entry.

    ## Use instead
    Name it in the entry it undoes, or move procedures to `docs/` or another folder.
    """

    code = "MG106"
    name = "files.rollback-not-in-catalog"
    severity = Severity.WARNING
    summary = "a file in the rollbacks folder belongs to no entry"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        named = [e.rollback_path for e in project.entries if e.rollback_path is not None]
        for path in _not_named(project.rollback_files, named):
            yield self.finding(
                "file in the rollbacks folder belongs to no entry", file=project.display(path)
            )
        yield from layout_findings(self, context)


class SortOrder(Rule):
    """Sorted file names give a different order than the catalog.

    ## What it does
    Compares the catalog's order with the order the runner applies the files in: for the
    `plain` runner, file names sorted as strings (same-date files sort alphabetically); for
    every other runner, its own rule — versions numerically (Flyway's `V1_10` after `V1_9`,
    golang-migrate, dbmate, goose), timestamps (Supabase, Prisma), drizzle's journal,
    sqitch's plan.

    ## Why is this bad?
    The catalog's order is the truth, but many runners apply files in name order: such a
    runner would apply these migrations in another order than the one documented and tested.

    ## Example
    `2025-08-30_initial_schema.sql` then `2025-08-30_add_username_field.sql`: sorted by
    name, `add_username_field` comes first.

    ## Use instead
    Rename the files so names sort in catalog order, or — when the runner reads the catalog
    and databases already recorded the names — turn the rule off with the reason:
    `rules: {MG107: {severity: "off", reason: "…"}}`.
    """

    code = "MG107"
    name = "files.sort-order"
    severity = Severity.ERROR
    summary = "sorted file names give a different order than the catalog"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        if project.layout is not None:
            yield from self._runner_order(context)
            return
        previous = None
        for entry in project.entries:
            name = entry.migration.file_name
            if previous is not None and name < previous.migration.file_name:
                yield self.in_entry(
                    f"{name!r} sorts before {previous.migration.file_name!r}, which the "
                    "catalog applies first: a runner that sorts file names would apply them "
                    "in another order",
                    project,
                    entry,
                )
            previous = entry

    def _runner_order(self, context: StaticContext) -> Iterator[Finding]:
        """The catalog's order against the order the runner applies its migrations in."""
        project = context.project
        runner = project.layout
        assert runner is not None
        position = {listed.id: index for index, listed in enumerate(project.listing.migrations)}
        latest: tuple[int, str] | None = None
        for entry in project.entries:
            at = position.get(entry.id)
            if at is None:
                continue
            if latest is not None and at < latest[0]:
                yield self.in_entry(
                    f"{runner.kind} applies {entry.id!r} before {latest[1]!r} (its order: "
                    f"{project.listing.order_source}), but the catalog lists it after",
                    project,
                    entry,
                )
            elif latest is None or at > latest[0]:
                latest = (at, entry.id)


class DateMismatch(Rule):
    """An entry's date disagrees with its file name, or dates go backwards in catalog order.

    ## What it does
    Compares `date` with the `{date}` of the file name, and each entry's date with the one
    before it in catalog order.

    ## Why is this bad?
    A wrong date misleads whoever reconstructs what happened when; dates going backwards
    usually mean an entry was inserted in the wrong place.

    ## Example
    ```yaml
    - id: 2025-08-31_add_sessions
      date: 2025-08-13
    ```

    ## Use instead
    Fix the date, or move the entry to where it belongs.
    """

    code = "MG108"
    name = "files.date-mismatch"
    severity = Severity.WARNING
    summary = "an entry's date disagrees with its file name, or dates go backwards"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        previous: dt.date | None = None
        for entry in project.entries:
            date = entry.migration.date
            named: str | None = None
            if project.layout is not None:
                listed = project.listed.get(entry.id)
                if listed is not None and listed.date is not None:
                    named = listed.date.isoformat()
            else:
                match = project.migration_pattern.match(entry.forward_path.name)
                if match is not None and "date" in match.groupdict():
                    named = match["date"]
            if named is not None and named != date.isoformat():
                yield self.in_entry(
                    f"date {date.isoformat()} disagrees with the file name's {named}",
                    project,
                    entry,
                    "date",
                )
            if previous is not None and date < previous:
                yield self.in_entry(
                    f"date {date.isoformat()} is before the previous entry's "
                    f"{previous.isoformat()}",
                    project,
                    entry,
                    "date",
                )
            previous = date


class DuplicateEntry(Rule):
    """Duplicate id or file in the catalog.

    ## What it does
    Finds entries that share an `id`, a migration file or a rollback file.

    ## Why is this bad?
    Ids name migrations in ledgers, reports and links; a shared file means one entry
    documents a migration that is really another's.

    ## Example
    Two entries with `id: 2025-08-30_initial_schema`.

    ## Use instead
    Give every migration its own id and files.
    """

    code = "MG109"
    name = "files.duplicate-entry"
    severity = Severity.ERROR
    summary = "duplicate id or file in the catalog"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        seen_ids: dict[str, int] = {}
        seen_files: dict[str, int] = {}
        for entry in project.entries:
            first = seen_ids.setdefault(entry.id, entry.index)
            if first != entry.index:
                yield self.in_entry(
                    f"id {entry.id!r} is already used by migrations[{first}]",
                    project,
                    entry,
                )
            for path in (entry.forward_path, entry.rollback_path):
                if path is None:
                    continue
                shown = project.display(path)
                owner = seen_files.setdefault(shown, entry.index)
                # A file shared with the entry whose id this one repeats is that same mistake.
                if owner != entry.index and owner != first:
                    yield self.in_entry(
                        f"file {shown} is already named by migrations[{owner}]",
                        project,
                        entry,
                    )
        yield from layout_findings(self, context)
