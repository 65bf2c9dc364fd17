"""Ledgers: what a migration runner recorded in the live database as applied.

- ``drizzle``: drizzle-orm's ``drizzle.__drizzle_migrations (id serial, hash text,
  created_at bigint)`` (``PgDialect.migrate`` in drizzle-orm ``src/pg-core/dialect.ts``;
  ``migrationsSchema``/``migrationsTable`` rename it). Its migrator (``readMigrationFiles``
  in ``src/migrator.ts``) stores the sha256 (hex) of each file's text as ``hash`` (current
  releases turn CRLF line ends into LF first; older ones hashed the text as it was) and the
  journal entry's ``when`` (``meta/_journal.json``) as ``created_at``; it applies the journal
  entries whose ``when`` is later than the last row's ``created_at``.
- ``flyway``: Flyway's ``flyway_schema_history`` (installed_rank, version, description,
  type, script, checksum, installed_by, installed_on, execution_time, success). Its
  ``checksum`` is a CRC-32 over the file's lines — read with line breaks removed, a
  byte-order mark dropped from the first, each line's UTF-8 bytes fed in turn — stored as
  a signed 32-bit integer (Flyway's ``ChecksumCalculator``).
- ``table``: a table of the catalog's choosing with a text column ``version`` holding
  migration ids.

For ``drizzle`` and ``flyway``, the catalog's ``ledger.table`` (``schema.table``) names a
table the runner was configured to use instead of its default.

[compare_ledger][migdocs.ledger.compare_ledger] turns disagreements into MG505 (an applied
file changed since it ran) and MG506 (ledger and catalog disagree on what exists).
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import sql

from migdocs.catalog.models import Ledger
from migdocs.checks.live import LedgerChecksum, LedgerMismatch, PartlyApplied
from migdocs.project import Project
from migdocs.report.finding import Finding
from migdocs.runners.base import LedgerRow
from migdocs.runners.drizzle import drizzle_hash, drizzle_hashes, drizzle_rows
from migdocs.runners.flyway import flyway_checksum, flyway_version

__all__ = [
    "LedgerRow",
    "applied_ids",
    "compare_ledger",
    "drizzle_hash",
    "drizzle_hashes",
    "flyway_checksum",
    "flyway_version",
    "ledger_setup",
    "ledger_table",
    "ledger_tables",
    "missing_ledger",
    "project_ledger",
    "read_ledger",
    "read_project_ledger",
    "runner_schemas",
    "unrecorded",
]

DRIZZLE_TABLE = "drizzle.__drizzle_migrations"
FLYWAY_TABLE = "flyway_schema_history"


def ledger_table(ledger: Ledger) -> str | None:
    """The ledger's table, ``schema.table``: the catalog's ``ledger.table`` if it names one,
    else the runner's default (Flyway's is in the session's current schema, ``public``)."""
    if ledger.kind == "none":
        return None
    if ledger.table:
        return ledger.table if "." in ledger.table else f"public.{ledger.table}"
    if ledger.kind == "drizzle":
        return DRIZZLE_TABLE
    if ledger.kind == "flyway":
        return f"public.{FLYWAY_TABLE}"
    return None


def ledger_tables(ledger: Ledger) -> set[str]:
    """Qualified names of the ledger's own table: never reported as drift (with its
    columns, constraints and indexes)."""
    table = ledger_table(ledger)
    return {table} if table else set()


def project_ledger(project: Project) -> tuple[str, str] | None:
    """The project's ledger as ``(kind, schema.table)``: the catalog's runner's (its
    ``runner.ledger`` or default table), or for `plain` the ``ledger:`` block's; ``None``
    when there is none."""
    runner = project.layout
    if runner is None:
        table = ledger_table(project.catalog.ledger)
        return (project.catalog.ledger.kind, table) if table else None
    if not runner.ledger:
        return None
    table = runner.ledger if "." in runner.ledger else f"public.{runner.ledger}"
    return (runner.kind, table)


#: Runners that keep their ledger in a schema of their own: that schema is theirs, not drift.
_OWN_SCHEMA = frozenset({"drizzle", "sqitch", "supabase"})


def runner_schemas(project: Project) -> list[str]:
    """Schemas that belong to the migration runner (drizzle's, sqitch's registry,
    ``supabase_migrations``): never reported as drift."""
    ledger = project_ledger(project)
    if ledger is None or ledger[0] not in _OWN_SCHEMA:
        return []
    return [ledger[1].split(".", 1)[0]]


def ledger_setup(project: Project) -> sql.Composed | None:
    """SQL that makes the runner's ledger table as the runner makes it (its schema first),
    for replay to run before the first migration: real migrations touch it. ``None`` for
    `plain` and for runners without a ledger."""
    runner = project.layout
    ledger = project_ledger(project)
    if runner is None or ledger is None or not runner.ledger_ddl:
        return None
    schema, _, name = ledger[1].partition(".")
    parts: list[sql.Composable] = []
    if schema != "public":
        parts.append(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    parts.append(
        sql.SQL(runner.ledger_ddl).format(
            table=sql.Identifier(schema, name), schema=sql.Identifier(schema)
        )
    )
    return sql.SQL("; ").join(parts)


def read_project_ledger(conn: psycopg.Connection[Any], project: Project) -> list[LedgerRow]:
    """The project's ledger rows (see [project_ledger][migdocs.ledger.project_ledger]).

    Raises:
        psycopg.Error: when the table cannot be read (the caller names the database).
        LookupError: when the ledger's table does not exist.
    """
    runner = project.layout
    if runner is None:
        return read_ledger(conn, project.catalog.ledger, project)
    ledger = project_ledger(project)
    if ledger is None:
        return []
    return runner.read_ledger(conn, _existing(conn, ledger[1]), project)


def read_ledger(conn: psycopg.Connection[Any], ledger: Ledger, project: Project) -> list[LedgerRow]:
    """The ledger's rows, each matched with a catalog entry where one fits.

    Raises:
        psycopg.Error: when the table cannot be read (the caller names the database).
        LookupError: when the ledger's table does not exist.
    """
    table = ledger_table(ledger)
    if table is None:
        return []
    name = _existing(conn, table)
    if ledger.kind == "drizzle":
        return drizzle_rows(conn, name, project)
    if ledger.kind == "flyway":
        return _flyway(conn, name, project)
    return _table(conn, name, project)


def _existing(conn: psycopg.Connection[Any], table: str) -> sql.Composable:
    """The table as an SQL identifier, after making sure it is there."""
    schema, _, name = table.rpartition(".")
    row = conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        [schema or "public", name],
    ).fetchone()
    if row is None:
        raise LookupError(f"the ledger table {table} does not exist")
    return sql.Identifier(schema or "public", name)


def _version(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in re.split(r"[._]", text)) if text else None
    except ValueError:
        return None


def _flyway(
    conn: psycopg.Connection[Any], table: sql.Composable, project: Project
) -> list[LedgerRow]:
    rows = conn.execute(
        sql.SQL(
            "SELECT version, script, checksum, type, success FROM {} ORDER BY installed_rank"
        ).format(table)
    ).fetchall()
    # `flyway repair` marks a row that lost its file with a later DELETE row of its version.
    deleted = {str(version) for version, _, _, kind, _ in rows if kind == "DELETE"}
    by_script = {entry.forward_path.name: entry for entry in project.entries}
    result = []
    for version, script_name, checksum, kind, success in rows:
        if kind == "BASELINE" and (baseline := _version(version)) is not None:
            # Flyway never ran what the baseline stands for, and records none of it.
            for each in project.entries:
                covered = flyway_version(each.forward_path.name)
                if covered is not None and covered <= baseline:
                    result.append(LedgerRow(f"baseline {version}", each.id))
            continue
        if kind not in ("SQL", "SQL_BASELINE") or not success or str(version) in deleted:
            continue
        entry = by_script.get(str(script_name))
        expected = None
        if entry is not None and (script := project.forward(entry)) is not None:
            expected = str(flyway_checksum(script.raw))
        label = f"{script_name} (version {version})" if version else str(script_name)
        recorded = None if checksum is None else str(checksum)
        result.append(LedgerRow(label, entry.id if entry else None, recorded, expected))
    return result


def _table(
    conn: psycopg.Connection[Any], table: sql.Composable, project: Project
) -> list[LedgerRow]:
    rows = conn.execute(sql.SQL("SELECT version::text FROM {} ORDER BY 1").format(table)).fetchall()
    ids = {entry.id for entry in project.entries}
    return [LedgerRow(str(version), version if version in ids else None) for (version,) in rows]


def missing_ledger(kind: str, reason: str, database: str) -> Finding:
    """MG506 when the ledger's table is not there at all: one finding, not one per
    migration."""
    return LedgerMismatch.no_ledger(kind, reason, database=database)


def compare_ledger(project: Project, rows: list[LedgerRow], database: str) -> list[Finding]:
    """MG505 for applied files that changed since they ran; MG506 where ledger and catalog
    disagree on which migrations exist."""
    findings: list[Finding] = []
    entries = {entry.id: entry for entry in project.entries}
    for row in rows:
        if row.dirty and row.migration is not None:
            entry = entries[row.migration]
            findings.append(
                PartlyApplied.marked(
                    row.label,
                    project.runner.kind,
                    project.runner.repair,
                    migration=row.migration,
                    file=project.display(entry.forward_path),
                    database=database,
                )
            )
            continue
        if not row.applied:
            continue
        if row.migration is None:
            findings.append(LedgerMismatch.unknown_row(row.label, database=database))
        elif row.recorded is not None and row.expected is not None and row.recorded != row.expected:
            entry = entries[row.migration]
            findings.append(
                LedgerChecksum.of(
                    row.recorded,
                    row.expected,
                    migration=row.migration,
                    file=project.display(entry.forward_path),
                    database=database,
                )
            )
    applied = applied_ids(rows)
    last = max((entries[m].index for m in applied), default=-1)
    for entry in project.entries[: last + 1]:
        if entry.id not in applied:
            findings.append(LedgerMismatch.gap(entry.id, database=database))
    return findings


def applied_ids(rows: list[LedgerRow]) -> set[str]:
    """The catalog ids the ledger records as applied (not failed, rolled back or dirty)."""
    return {
        row.migration for row in rows if row.migration is not None and row.applied and not row.dirty
    }


def unrecorded(
    project: Project, rows: list[LedgerRow], states: list[tuple[str, str]], database: str
) -> list[Finding]:
    """MG506 for migrations after the ledger's last row whose objects are in the database:
    applied, by hand or by another runner, but not recorded, so the runner would apply them
    again. (Gaps before the last row are [compare_ledger][migdocs.ledger.compare_ledger]'s.)"""
    entries = {entry.id: entry for entry in project.entries}
    applied = applied_ids(rows)
    # A migration the ledger marks as failed halfway is MG504's: the runner applies nothing
    # until it is repaired, so it would not apply it again either.
    recorded = applied | {row.migration for row in rows if row.migration and row.dirty}
    last = max((entries[m].index for m in applied), default=-1)
    return [
        LedgerMismatch.unrecorded(migration, state, database=database)
        for migration, state in states
        if state in ("applied", "partial")
        and migration not in recorded
        and entries[migration].index > last
    ]
