"""The locks each statement of a migration really took, measured on replay (the JSON
report's ``locks``, MG406).

While replay runs a migration forward in its transaction block, [LockProbe][migdocs.locks.LockProbe]
reads, after each statement and before the block ends, the session's own ``pg_locks`` rows on
tables and materialized views, and keeps those on relations that existed before the
migration (a table the migration creates is empty: locking it blocks nobody). A lock mode
the block did not hold before the statement is the statement's; the strongest is recorded.
Before the statement, the ``relfilenode`` of each pre-existing table it names is read:
a different one after means the statement rewrote the table.

Statements replay does not run as written in its block — ``CONCURRENTLY`` run as the plain
form, scripts run in autocommit on a copy — get what PostgreSQL's documentation says they
take, marked ``documented``: their locks are gone, or not theirs, by the time they could
be read.

A lock the block already held is not taken again: it is listed at the statement that took
it first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.sql.effects import Lock

if TYPE_CHECKING:
    from collections.abc import Iterable

    import psycopg

    from migdocs.pg.snapshot import Snapshot
    from migdocs.report.finding import Finding
    from migdocs.sql.effects import Statement
    from migdocs.sql.script import Script

#: ``pg_locks.mode`` of each table lock mode, weakest first.
MODES = (
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
)
MODE_OF = dict(zip(Lock, MODES, strict=True))
_RANK = {mode: rank for rank, mode in enumerate(MODES)}
#: From this mode up, a lock blocks writes (INSERT, UPDATE, DELETE) to the table.
_BLOCKS_WRITES = _RANK["ShareLock"]
_KINDS = {"r": ObjectKind.TABLE, "p": ObjectKind.TABLE, "m": ObjectKind.MATVIEW}

_HELD = b"""
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relfilenode, l.mode
FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND c.relkind IN ('r', 'p', 'm')
"""
_FILENODES = b"""
SELECT c.oid, c.relfilenode
FROM unnest(%s::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name)
"""
#: ``SET [LOCAL|SESSION] lock_timeout`` to something other than 0.
_LOCK_TIMEOUT = re.compile(
    r"^\s*SET\s+(?:LOCAL\s+|SESSION\s+)?lock_timeout\s*(?:=|TO)\s*'?\s*([0-9.]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LockTaken:
    """One statement's lock on a relation that existed before the migration.

    Attributes:
        file: The script, as the report names it.
        line: The statement's first line.
        relation: ``kind:schema.name``.
        mode: As ``pg_locks`` names it (``AccessExclusiveLock``), the strongest it held.
        rewrite: Whether the relation's storage was replaced (its ``relfilenode`` changed).
        source: ``measured``, or ``documented`` where PostgreSQL's documentation gives it.
        guarded: Whether the script set a ``lock_timeout`` before the statement.
        own: Whether the statement took the lock (or rewrote the relation, or needs such a
            lock itself), not only ran while an earlier statement of its block held it.
    """

    file: str
    line: int
    relation: str
    mode: str
    rewrite: bool
    source: str
    guarded: bool = False
    own: bool = True

    @property
    def blocks_writes(self) -> bool:
        """Whether the lock blocks writes to the table (``SHARE`` and up)."""
        return _RANK[self.mode] >= _BLOCKS_WRITES

    @property
    def harmful(self) -> bool:
        """Whether the statement blocked the table's writers, or rewrote it (MG406's
        concern, before ``lock_timeout``)."""
        return self.own and (self.blocks_writes or self.rewrite)

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "relation": self.relation,
            "mode": self.mode,
            "rewrite": self.rewrite,
            "source": self.source,
        }


def _tables(statement: Statement) -> list[ObjectRef]:
    """The tables and materialized views a statement names, each once."""
    found: dict[str, ObjectRef] = {}
    for ref in (
        *statement.alters,
        *statement.uses,
        *statement.data_targets,
        *statement.drops,
        *statement.creates,
    ):
        table = ref if ref.kind in (ObjectKind.TABLE, ObjectKind.MATVIEW) else ref.parent
        if table is not None and table.kind in (ObjectKind.TABLE, ObjectKind.MATVIEW):
            found.setdefault(table.key, table)
    return list(found.values())


def _regclass(ref: ObjectRef) -> str:
    parts = [ref.schema, ref.name] if ref.schema else [ref.name]
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


def guarded_lines(script: Script, session: dict[str, str]) -> set[int]:
    """The lines of the statements that run after the script set a ``lock_timeout`` (or
    with the replay session's own)."""
    value = session.get("lock_timeout", "").strip().strip("'")
    on = bool(value) and value not in ("0", "0ms", "0s")
    lines: set[int] = set()
    for statement in script.statements:
        if on:
            lines.add(statement.line)
        if statement.command in ("SET", "RESET"):
            match = _LOCK_TIMEOUT.match(script.statement_text(statement))
            if match is not None:
                on = float(match.group(1)) > 0
            elif "lock_timeout" in script.statement_text(statement).lower():
                on = False  # RESET lock_timeout, or a value this does not read
    return lines


class LockProbe:
    """Measures the locks of one run of a migration's forward script in a block.

    Args:
        conn: The replay's connection, in the block.
        script: The forward script.
        before: The schema before the migration: what "pre-existing" means.
        session: The replay session's settings (a ``lock_timeout`` there guards it all).
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        script: Script,
        before: Snapshot,
        session: dict[str, str],
    ) -> None:
        self.conn = conn
        self.script = script
        self.before = before
        self.guarded = guarded_lines(script, session)
        self.held: dict[int, int] = {}  # oid -> the strongest rank the block holds
        self.taken: list[LockTaken] = []
        self.measured: set[int] = set()  # lines of the statements measured

    def filenodes(self, statement: Statement) -> dict[int, int]:
        """The storage of each pre-existing table ``statement`` names, before it runs."""
        names = [_regclass(t) for t in _tables(statement) if t.key in self.before]
        if not names:
            return {}
        rows = self.conn.execute(_FILENODES, (names,), prepare=False).fetchall()
        return {int(oid): int(node) for oid, node in rows}

    def after(self, statement: Statement, filenodes: dict[int, int], *, as_written: bool) -> None:
        """Read what the block holds after ``statement``: its new locks, its rewrites.
        ``as_written`` is false for a statement the block ran in another form."""
        rows = self.conn.execute(_HELD, prepare=False).fetchall()
        # By relation: its key, the strongest mode held, whether this statement took a mode
        # the block did not hold, whether it rewrote it.
        seen: dict[int, tuple[str, int, bool, bool]] = {}
        for oid, schema, name, relkind, node, mode in rows:
            rank = _RANK.get(str(mode))
            if rank is None:
                continue
            key, top, took, rewrite = seen.get(
                oid, (f"{_KINDS[str(relkind)].value}:{schema}.{name}", -1, False, False)
            )
            took = took or rank > self.held.get(oid, -1)
            rewrite = rewrite or (oid in filenodes and filenodes[oid] != node)
            seen[oid] = (key, max(top, rank), took, rewrite)
        for oid, (_, top, _, _) in seen.items():
            self.held[oid] = max(self.held.get(oid, -1), top)
        if not as_written:
            self.taken += documented(self.script, statement, self.before)
            return
        self.measured.add(statement.line)
        file, guarded = self.script.display, statement.line in self.guarded
        # Its own lock blocks writers (MG205's reading): a mode the block already held is
        # the one it ran under.
        heavy = statement.lock is not None and statement.lock.blocks_writes
        for oid, (key, top, took, rewrite) in seen.items():
            # The relations it locked anew or rewrote, and those it names: it ran under
            # what the block holds on them.
            if key in self.before and (took or rewrite or oid in filenodes):
                self.taken.append(
                    LockTaken(
                        file,
                        statement.line,
                        key,
                        MODES[top],
                        rewrite,
                        "measured",
                        guarded,
                        own=took or rewrite or heavy,
                    )
                )


def documented(script: Script, statement: Statement, before: Snapshot) -> list[LockTaken]:
    """What PostgreSQL's documentation says ``statement`` takes on the pre-existing tables
    it names (the static analysis' reading of it)."""
    if statement.lock is None:
        return []
    rewrites = {step.table.key for step in statement.heavy if step.rewrites}
    return [
        LockTaken(
            script.display,
            statement.line,
            table.key,
            MODE_OF[statement.lock],
            table.key in rewrites,
            "documented",
        )
        for table in _tables(statement)
        if table.key in before
    ]


def without_guesses(
    static: Iterable[Finding], measured: set[tuple[str, int]], locks: Iterable[LockTaken]
) -> list[Finding]:
    """The static findings, but MG205's guesses on the statements replay measured: a
    measured statement gets MG406 where it blocked writers or rewrote a table with no
    ``lock_timeout``, MG205 where it did so with one (the lock is still held while the
    table is read or rewritten), and neither where it took no such lock."""
    guarded = {(lock.file, lock.line) for lock in locks if lock.harmful and lock.guarded}
    return [
        finding
        for finding in static
        if finding.code != "MG205"
        or finding.file is None
        or finding.line is None
        or (finding.file, finding.line) not in measured
        or (finding.file, finding.line) in guarded
    ]
