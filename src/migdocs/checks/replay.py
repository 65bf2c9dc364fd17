"""Rules of the MG4xx family: what replaying the migrations on a scratch PostgreSQL proves.

`migdocs verify` raises these; they live here so each code is documented in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from migdocs.catalog.models import Severity
from migdocs.checks.base import Rule

if TYPE_CHECKING:
    from pathlib import Path

    from migdocs.project import Project
    from migdocs.replay import ReplayResult
    from migdocs.report.finding import Finding


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


#: The static findings that keep a file from being replayed: missing, unreadable, not parsed.
_MISSING_CODE = {"forward": "MG102", "rollback": "MG104"}


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
            if finding.code == missing or (finding.code == "MG200" and finding.file == shown):
                found.append(finding)
                unparsed.add(shown)
            elif finding.code == "MG206" and finding.file == shown:
                includes.append(finding)
    # A file that does not parse only because of a psql include (`\i`) has no MG200.
    found += [finding for finding in includes if finding.file not in unparsed]
    return list(dict.fromkeys(found))
