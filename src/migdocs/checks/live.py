"""Rules of the MG5xx family: what comparing a live database with the history shows.

`migdocs audit` raises these, with the audited database (its URL redacted) on each finding.
Each rule owns its words: the comparison (``drift.py``) and the ledger reader (``ledger.py``)
say what they saw, and the rule's class methods make the finding.
"""

from __future__ import annotations

from migdocs.catalog.models import Severity
from migdocs.checks.base import Rule
from migdocs.report.finding import Finding


def _by(migration: str | None, verb: str) -> str:
    """`` (made by 2025-…)`` when the migration is known."""
    return f" ({verb} {migration})" if migration else ""


class MissingObject(Rule):
    """An object the migrations create is missing from the live database.

    ## What it does
    Compares the live database with the schema replay builds from the migrations, and
    names each object that should be there and is not, with the migration that makes it.
    Objects of migrations not applied yet (at the end of the history) are not reported:
    their migration is *pending*.

    ## Why is this bad?
    Someone dropped it by hand, or a migration was skipped: queries that need it fail, and
    the next migration that builds on it may fail in production only.

    ## Example
    `email_active_idx` was dropped during an incident and never recreated.

    ## Use instead
    Recreate the object as its migration does, or write a migration that drops it for good.
    """

    code = "MG501"
    name = "live.object-missing"
    severity = Severity.ERROR
    summary = "an object the migrations create is missing from the live database"
    phase = "live"

    @classmethod
    def of(cls, name: str, *, made_by: str | None, database: str) -> Finding:
        """``name`` (such as ``index public.email_idx``) is not in the live database."""
        return cls.finding(
            f"{name} is missing{_by(made_by, 'made by')}", migration=made_by, database=database
        )


class UntrackedObject(Rule):
    """The live database has an object no migration creates.

    ## What it does
    Names each object of the live database that the migrations do not make (or that a
    migration drops), within the schemas the catalog's `live.schemas` selects, except the
    objects that `live.ignore` patterns match and the ledger's own table.

    ## Why is this bad?
    An index made by hand during an incident, a table of a forgotten experiment: a
    database built from the migrations (a new region, a restore, the tests) lacks it.

    ## Example
    `CREATE INDEX CONCURRENTLY orders_created_idx ON orders (created_at);` run in psql.

    ## Use instead
    Write a migration that makes it (the live database then already has it), drop it, or
    add a `live.ignore` pattern when another tool owns it.
    """

    code = "MG502"
    name = "live.untracked-object"
    severity = Severity.WARNING
    summary = "the live database has an object no migration creates"
    phase = "live"

    @classmethod
    def of(cls, name: str, *, dropped_by: str | None, database: str) -> Finding:
        """``name`` is in the live database, though no migration makes it, or the migration
        ``dropped_by`` drops it."""
        message = (
            f"{name} exists, but migration {dropped_by} drops it"
            if dropped_by is not None
            else f"{name} exists, but no migration makes it"
        )
        return cls.finding(message, migration=dropped_by, database=database)


class DefinitionDiffers(Rule):
    """An object's definition in the live database differs from what the migrations make.

    ## What it does
    Compares each object the live database and the migrations both have, attribute by
    attribute (type, default, nullability, index definition, constraint, view query…), and
    names the difference with the migration that last changed the object.

    ## Why is this bad?
    The database works differently from what every other environment built from the
    migrations does: a column type changed by hand, an index rebuilt with other columns.

    ## Example
    `ALTER TABLE users ALTER COLUMN email TYPE varchar(320);` run by hand.

    ## Use instead
    Write a migration for the change, or undo it on the live database.
    """

    code = "MG503"
    name = "live.definition-differs"
    severity = Severity.ERROR
    summary = "an object's definition in the live database differs from what the migrations make"
    phase = "live"

    @classmethod
    def of(
        cls, name: str, attribute: str, change: str, *, changed_by: str | None, database: str
    ) -> Finding:
        """``attribute`` of ``name`` differs: ``change`` says how (migrations → live)."""
        return cls.finding(
            f"{name}: {attribute} {change} (migrations → live){_by(changed_by, 'last changed by')}",
            migration=changed_by,
            database=database,
        )


class PartlyApplied(Rule):
    """A migration is only partly applied in the live database.

    ## What it does
    Infers each migration's state from its objects: applied when everything it makes is
    there and everything it drops is gone, pending when none of it holds, partial in
    between. The last migration applied at all (or, with a ledger, one the ledger does not
    list as applied) that is partial is reported, with what is missing.

    ## Why is this bad?
    A deployment stopped halfway — a script run without a transaction, a statement that
    timed out — and the database is in a state no migration describes.

    ## Example
    The migration creates `user_sessions` and its index `IDX_session_expire`; the index
    creation timed out.

    ## Use instead
    Finish the migration by hand (the missing statements), or roll it back and deploy again.
    """

    code = "MG504"
    name = "live.partly-applied"
    severity = Severity.ERROR
    summary = "a migration is only partly applied in the live database"
    phase = "live"

    @classmethod
    def of(cls, parts: list[str], *, migration: str, file: str, database: str) -> Finding:
        """What of the migration's objects is missing, unchanged or still present."""
        return cls.finding(
            f"the migration is only partly applied: {'; '.join(parts)}",
            migration=migration,
            file=file,
            database=database,
        )

    @classmethod
    def marked(
        cls,
        label: str,
        runner: str,
        repair: str | None,
        *,
        migration: str,
        file: str,
        database: str,
    ) -> Finding:
        """The runner's ledger marks the migration as failed halfway (``label``)."""
        return cls.finding(
            f"the ledger marks {label}: the migration failed halfway, and {runner} applies "
            "nothing more until the database is repaired by hand and the mark cleared"
            + (f" ({repair})" if repair else ""),
            migration=migration,
            file=file,
            database=database,
        )


class LedgerChecksum(Rule):
    """The ledger's checksum of an applied migration differs from its file.

    ## What it does
    Reads the migration runner's ledger (drizzle's `__drizzle_migrations`, Flyway's
    `flyway_schema_history`) and compares the checksum it recorded when each migration ran
    with the checksum of the file today, computed the way the runner computes it.

    ## Why is this bad?
    The file was edited after it ran: the database holds what the old text did, and every
    new environment gets what the new text does.

    ## Example
    A typo fixed in `2025-08-30_initial_schema.sql` after it was deployed.

    ## Use instead
    Never edit an applied migration: write a new one. If the edit is only cosmetic, repair
    the ledger with the runner's own command (`flyway repair`).
    """

    code = "MG505"
    name = "live.ledger-checksum"
    severity = Severity.ERROR
    summary = "the ledger's checksum of an applied migration differs from its file"
    phase = "live"

    @classmethod
    def of(
        cls, recorded: str, current: str, *, migration: str, file: str, database: str
    ) -> Finding:
        """The ledger recorded ``recorded``; the file's checksum is ``current``."""
        return cls.finding(
            f"the file changed since it was applied: the ledger recorded checksum "
            f"{recorded}, the file's is {current} now",
            migration=migration,
            file=file,
            database=database,
        )


class LedgerMismatch(Rule):
    """The ledger and the catalog disagree on which migrations exist.

    ## What it does
    Names each ledger row that matches no catalog entry, and each catalog entry before the
    last applied one that the ledger does not list.

    ## Why is this bad?
    A migration ran that the history does not describe, or the runner skipped one: the
    catalog no longer tells what the database went through.

    ## Example
    A hotfix migration applied from a branch that was never merged.

    ## Use instead
    Add the missing entry to the catalog (and its file), or find why the runner skipped it.
    """

    code = "MG506"
    name = "live.ledger-mismatch"
    severity = Severity.WARNING
    summary = "the ledger and the catalog disagree on which migrations exist"
    phase = "live"

    @classmethod
    def no_ledger(cls, kind: str, reason: str, *, database: str) -> Finding:
        """The catalog names a ``kind`` ledger that is not there (``reason``)."""
        return cls.finding(
            f"the catalog names a {kind} ledger, but {reason}: the runner has applied nothing "
            "here, or records it elsewhere (set `runner.ledger`)",
            database=database,
        )

    @classmethod
    def unknown_row(cls, label: str, *, database: str) -> Finding:
        """A ledger row that matches no migration of the catalog."""
        return cls.finding(
            f"the ledger lists {label}, which matches no migration of the catalog",
            database=database,
        )

    @classmethod
    def gap(cls, migration: str, *, database: str) -> Finding:
        """A migration the ledger skips, though later ones are applied."""
        return cls.finding(
            "the ledger does not list this migration, though later ones are applied",
            migration=migration,
            database=database,
        )

    @classmethod
    def unrecorded(cls, migration: str, state: str, *, database: str) -> Finding:
        """A migration whose objects are there (``state``) that the ledger does not list."""
        return cls.finding(
            f"the migration is {state} in the database (its objects are there), but the "
            "ledger does not list it: the runner would apply it again",
            migration=migration,
            database=database,
        )
