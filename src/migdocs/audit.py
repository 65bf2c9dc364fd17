"""The live part of `migdocs audit`: each database of a fleet, read-only, against the replay.

Connections are opened first, all at once, so that an unreachable host or a refused
password stops the run within the connect timeout, before any replay. Then each database
is read (one snapshot, the ledger if the catalog names one) and compared with what replay
built, several at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg

from migdocs.drift import LiveSection, compare_live
from migdocs.errors import MigdocsError
from migdocs.ledger import (
    LedgerRow,
    applied_ids,
    compare_ledger,
    missing_ledger,
    project_ledger,
    read_project_ledger,
    runner_schemas,
    unrecorded,
)
from migdocs.pg import read_snapshot
from migdocs.pg.live import connect_live, redact
from migdocs.project import Project
from migdocs.replay import ReplayResult
from migdocs.report.finding import Finding

#: How many live databases are read at once.
CONCURRENCY = 4


@dataclass
class LiveDatabase:
    """One open, read-only connection to an audited database."""

    url: str
    name: str
    conn: psycopg.Connection[Any]

    @property
    def server(self) -> str:
        """The server's version as people write it, e.g. ``PostgreSQL 15.19``."""
        major, minor = divmod(self.conn.info.server_version, 10000)
        return f"PostgreSQL {major}.{minor}"


@contextlib.contextmanager
def open_fleet(urls: list[str], *, connect_timeout: int) -> Iterator[list[LiveDatabase]]:
    """Connect to every database at once; close them all at the end.

    Raises:
        MigdocsError: naming every database that cannot be reached (never a password).
    """
    opened: list[LiveDatabase] = []
    errors: list[str] = []

    def connect(url: str) -> LiveDatabase:
        return LiveDatabase(url, redact(url), connect_live(url, connect_timeout=connect_timeout))

    with ThreadPoolExecutor(max_workers=max(1, min(CONCURRENCY, len(urls)))) as pool:
        futures = [pool.submit(connect, url) for url in urls]
        for future in futures:
            try:
                opened.append(future.result())
            except MigdocsError as error:
                errors.append(str(error))
    try:
        if errors:
            raise MigdocsError("\n".join(errors))
        yield opened
    finally:
        for database in opened:
            database.conn.close()


def audit_fleet(
    project: Project, replay: ReplayResult, databases: list[LiveDatabase]
) -> list[LiveSection]:
    """Compare each database with the replay, several at a time; sections in URL order."""
    with ThreadPoolExecutor(max_workers=max(1, min(CONCURRENCY, len(databases)))) as pool:
        return list(pool.map(lambda db: audit_database(project, replay, db), databases))


def audit_database(project: Project, replay: ReplayResult, database: LiveDatabase) -> LiveSection:
    """One database: its snapshot and ledger against the replay.

    Raises:
        MigdocsError: when a catalog query fails (a role that cannot read the catalogs).
    """
    ledger = project_ledger(project)
    try:
        snapshot = read_snapshot(database.conn)
        applied: set[str] | None = None
        rows: list[LedgerRow] | None = None
        ledger_findings: list[Finding] = []
        if ledger is not None:
            try:
                rows = read_project_ledger(database.conn, project)
            except LookupError as missing:
                ledger_findings = [missing_ledger(ledger[0], str(missing), database.name)]
            else:
                ledger_findings = compare_ledger(project, rows, database.name)
                applied = applied_ids(rows)
    except psycopg.Error as error:
        reason = " ".join(str(error).split())
        raise MigdocsError(f"{database.name}: cannot read the database: {reason}") from None
    # drizzle, sqitch and Supabase keep their ledger in a schema of their own: that schema is
    # the runner's, not drift.
    section = compare_live(
        project,
        replay,
        snapshot,
        database=database.name,
        server=database.server,
        skip_schemas=runner_schemas(project),
        skip_objects=[ledger[1]] if ledger is not None else [],
        ledger_applied=applied,
    )
    if rows is not None:
        ledger_findings += unrecorded(project, rows, section.states, database.name)
    section.findings[:0] = ledger_findings
    return section
