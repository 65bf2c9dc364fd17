"""Rules of the MG4xx family: what replaying the migrations on a scratch PostgreSQL proves.

`migdocs verify` raises these. Each rule owns its words: replay (``replay.py``) says what the
server did, and the rule's class methods make the finding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from migdocs.catalog.models import Severity
from migdocs.checks.base import Rule
from migdocs.report.finding import Finding

if TYPE_CHECKING:
    from migdocs.objects import ObjectRef


class Refusal(Protocol):
    """A statement the server refused, where it stands and the server's words."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def column(self) -> int | None: ...
    @property
    def message(self) -> str: ...


def _refused(rule: type[Rule], what: str, failure: Refusal, migration: str) -> Finding:
    """A finding of ``rule`` at the refused statement: ``what``, then the server's words."""
    return rule.finding(
        f"{what}: {failure.message}",
        migration=migration,
        file=failure.file,
        line=failure.line,
        column=failure.column,
    )


class ForwardFails(Rule):
    """A migration fails on replay.

    ## What it does
    Runs every migration in catalog order on a scratch PostgreSQL, one statement at a time
    as psql would, and reports the first statement that fails with its line and the
    server's message, detail and hint. Later migrations that use what it would have created
    are not replayed, and the report says so; the others still are.

    ## Why is this bad?
    The history does not build a database from scratch: a new environment, a test
    database or a disaster recovery will stop at this migration.

    ## Example
    ```sql
    ALTER TABLE users ADD COLUMN is_deleted boolean NOT NULL;  -- fails once users has rows
    ```
    (on replay, the more common failure is a typo or an object of another migration).

    ## Use instead
    Fix the statement so the migration runs on the schema the migrations before it build.
    """

    code = "MG401"
    name = "replay.migration-fails"
    severity = Severity.ERROR
    summary = "a migration fails on replay"
    phase = "replay"

    @classmethod
    def at(cls, failure: Refusal, migration: str) -> Finding:
        """The migration's statement the server refused."""
        return _refused(cls, "the migration fails on replay", failure, migration)


class RollbackFails(Rule):
    """A rollback fails on replay.

    ## What it does
    Right after a migration, runs its rollback on the scratch database and reports the
    first statement that fails.

    ## Why is this bad?
    A rollback that fails on the very schema its migration made will fail in production,
    during the incident it was written for.

    ## Example
    ```sql
    DROP INDEX email_active_idx;  -- the migration named it users_email_active_idx
    ```

    ## Use instead
    Fix the rollback until it runs right after its migration.
    """

    code = "MG402"
    name = "replay.rollback-fails"
    severity = Severity.ERROR
    summary = "a rollback fails on replay"
    phase = "replay"

    @classmethod
    def at(cls, failure: Refusal, migration: str) -> Finding:
        """The rollback's statement the server refused."""
        return _refused(cls, "the rollback fails right after its migration", failure, migration)


class RollbackDiffers(Rule):
    """After the rollback, the schema differs from before the migration.

    ## What it does
    Compares a full description of the schema (tables, columns with types and defaults,
    constraints, indexes, views, sequences, types, functions, triggers, policies, owners,
    grants, comments) taken before the migration with the one after its rollback, and
    names every difference.

    ## Why is this bad?
    The rollback leaves a schema that no migration describes: an index left behind, a
    column restored with another type or precision, a constraint lost on the way.

    ## Example
    The migration changes `orders.total` from `numeric(12,3)` to `numeric(14,2)`; the
    rollback changes it back to `numeric(12,2)`.

    ## Use instead
    Make the rollback restore exactly what the migration changed.
    """

    code = "MG403"
    name = "replay.rollback-restores-schema"
    severity = Severity.ERROR
    summary = "after the rollback, the schema differs from before the migration"
    phase = "replay"

    @classmethod
    def of(cls, difference: str, *, migration: str, file: str) -> Finding:
        """What the rollback left otherwise than before the migration (``difference``)."""
        return cls.finding(f"after the rollback, {difference}", migration=migration, file=file)


class ReapplyDiffers(Rule):
    """Re-applying the migration after its rollback fails or gives a different schema.

    ## What it does
    Runs the migration a second time after its rollback and compares the result with the
    schema its first run made.

    ## Why is this bad?
    Rolling back and deploying again is the usual way out of an incident; if the second
    deployment fails or builds something else, the way out is closed.

    ## Example
    The rollback drops a table but leaves its sequence, so `CREATE SEQUENCE` in the
    migration fails the second time.

    ## Use instead
    Make the rollback undo everything the migration does (or use `IF NOT EXISTS` where the
    leftover is intended).
    """

    code = "MG404"
    name = "replay.reapply-differs"
    severity = Severity.ERROR
    summary = "re-applying the migration after its rollback fails or gives a different schema"
    phase = "replay"

    @classmethod
    def at(cls, failure: Refusal, migration: str, *, after_differences: bool) -> Finding:
        """Re-applying the migration fails; ``after_differences`` when the rollback had
        not restored the schema (MG403), which may be why."""
        what = "re-applying the migration after its rollback fails"
        if after_differences:
            what += " (the rollback did not restore the schema: MG403)"
        return _refused(cls, what, failure, migration)

    @classmethod
    def of(cls, difference: str, *, migration: str, file: str) -> Finding:
        """What re-applying left otherwise than the first run (``difference``)."""
        return cls.finding(
            f"after rollback and re-apply, {difference}", migration=migration, file=file
        )


class ReplayDisagreesWithCatalog(Rule):
    """Replay shows the migration creating or dropping objects the catalog does not say.

    ## What it does
    Compares what a migration really created and dropped on the scratch server with its
    entry's `creates` and `drops`. It judges what static analysis cannot see — DO blocks,
    dynamic SQL, functions called from SQL — and stays silent on what MG201/MG202 already
    report.

    ## Why is this bad?
    The catalog is wrong about the migration, and the docs and the live audit inherit it.

    ## Example
    ```sql
    DO $$ BEGIN EXECUTE 'CREATE TABLE audit_log (id bigint)'; END $$;
    ```
    with no `creates: {tables: [audit_log]}`.

    ## Use instead
    Declare what the migration really creates and drops.
    """

    code = "MG405"
    name = "replay.catalog-mismatch"
    severity = Severity.ERROR
    summary = (
        "replay shows the migration creating/dropping objects the catalog does not declare, "
        "or not those it declares"
    )
    phase = "replay"

    @classmethod
    def not_done(
        cls, verb: str, ref: ObjectRef, hint: str, *, migration: str, file: str, line: int | None
    ) -> Finding:
        """The catalog says the migration ``verb`` (creates, drops) ``ref``; replay did not
        see it do so (``hint``: a letter-case twin it did see, or nothing)."""
        return cls.finding(
            f"the catalog says the migration {verb} {ref.kind.value} {ref.qualified}, but on "
            f"replay it does not{hint}",
            migration=migration,
            file=file,
            line=line,
        )

    @classmethod
    def undeclared(
        cls, verb: str, ref: ObjectRef, section: str, *, migration: str, file: str
    ) -> Finding:
        """On replay the migration ``verb`` (creates, drops) ``ref``, which the catalog does
        not declare (under ``section``, such as ``creates.indexes``)."""
        return cls.finding(
            f"on replay the migration {verb} {ref.kind.value} {ref.qualified}, which the "
            f"catalog does not declare (add it to {section})",
            migration=migration,
            file=file,
        )


class LockWithoutTimeout(Rule):
    """On replay, a statement blocked writers or rewrote a table, with no `lock_timeout`.

    ## What it does
    While replay runs each migration forward in its transaction block, it reads after every
    statement the session's own `pg_locks` rows and, for the tables the statement names,
    their `relfilenode` before and after. It reports a statement that held `ACCESS
    EXCLUSIVE`, or `SHARE` and up (which block `INSERT`, `UPDATE` and `DELETE`), on a table
    that existed before the migration, or rewrote one, when the script set no
    `lock_timeout` before it (nor does the catalog's `replay.session`). Tables the
    migration creates are empty and never reported. The lock is the server's, measured, not
    a reading of the SQL: this is MG205's guess made fact, and where replay measured a
    statement, MG205 says nothing more of it.

    ## Why is this bad?
    A statement that needs a strong lock waits for every transaction that holds a weaker
    one, and every query that arrives meanwhile queues behind it: a one-millisecond
    `ALTER TABLE` behind a long report stops the application until the report ends. A
    rewrite holds the lock for as long as it copies the table.

    ## Example
    ```sql
    ALTER TABLE users ADD COLUMN last_seen timestamptz;  -- AccessExclusiveLock on users
    ```

    ## Use instead
    ```sql
    SET lock_timeout = '5s';
    ALTER TABLE users ADD COLUMN last_seen timestamptz;
    ```
    and retry the migration when it times out; for an index, `CREATE INDEX CONCURRENTLY`.
    """

    code = "MG406"
    name = "replay.lock-without-timeout"
    severity = Severity.WARNING
    summary = (
        "on replay, a statement held a lock that blocks writes on a pre-existing table, or "
        "rewrote it, with no lock_timeout set first"
    )
    phase = "replay"

    @classmethod
    def of(cls, held: str, *, migration: str, file: str, line: int) -> Finding:
        """The statement at ``file:line`` held ``held`` (modes on tables) with no
        ``lock_timeout`` set before it."""
        return cls.finding(
            f"the statement held {held} (measured on replay), and the script sets no "
            "lock_timeout before it: waiting for its lock, it queues every query of "
            "the table behind it; set one first, e.g. SET lock_timeout = '5s';",
            migration=migration,
            file=file,
            line=line,
        )
