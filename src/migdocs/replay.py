"""Replaying the history on a scratch PostgreSQL: forward, rollback, forward again, compared.

For each migration in catalog order, [Replayer][migdocs.replay.Replayer]

1. runs the migration, one statement at a time (MG401 when one fails), and reads what it
   changed: the schema before (S0) and after (S1) differ by the objects it really made;
2. runs the rollback (MG402) and compares the schema with S0 (MG403);
3. runs the migration again (MG404 when it fails or gives something other than S1);
4. goes on from S1, whatever happened in 2 and 3, so that one run reports every problem.

Each script runs in a transaction block — as Flyway and drizzle run migrations — so that a
failure, or the whole round trip, is undone by ``ROLLBACK`` at no cost. That includes the
scripts a runner runs outside a transaction only for their locks (see
[block_form][migdocs.replay.block_form]): ``CONCURRENTLY`` runs as its plain form, which
makes the same schema, and a script's own ``BEGIN``/``COMMIT`` give way to the block's. A
script that PostgreSQL refuses in a block whatever the lock (``VACUUM``, ``ALTER TYPE … ADD
VALUE`` whose value it then uses, a ``ROLLBACK`` of its own) runs statement by statement in
autocommit, as psql runs it, on the replay's database itself; where that leaves the
database elsewhere than the migration's schema (a failure half way, a round trip that did
not come back), the database is made again from the start with the migrations replayed so
far — rare, where a copy for each such script would cost more the longer the history.

Snapshots are not read whole after each step: event triggers record which catalog rows
each step touched, and only those are re-read (``pg.capture``), so replay costs little more
than running the SQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pglast import parser
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from migdocs.checks.context import StaticContext
from migdocs.checks.replay import (
    ForwardFails,
    LockWithoutTimeout,
    ReapplyDiffers,
    RollbackDiffers,
    RollbackFails,
)
from migdocs.errors import MigdocsError
from migdocs.extension_stubs import extension_hint, extension_stubs, stub_notes
from migdocs.locks import LockProbe, LockTaken, documented
from migdocs.objects import (
    Identity,
    ObjectKind,
    ObjectRef,
    lookup_identity,
)
from migdocs.pg import (
    CaptureUnavailable,
    Change,
    Difference,
    ScratchServer,
    ServerError,
    Snapshot,
    diff,
    install_capture,
    read_snapshot,
    take_touched,
)
from migdocs.pg.diff import describe_change
from migdocs.project import Entry, Project
from migdocs.replay_catalog import undeclared_on_replay
from migdocs.report.finding import Finding
from migdocs.sql.effects import Statement
from migdocs.sql.script import OUTSIDE_TRANSACTION, Script, load_tree

Connection = psycopg.Connection[tuple[Any, ...]]

#: duplicate_object: what ``CREATE ROLE`` of a role that exists raises.
_DUPLICATE_OBJECT = "42710"
#: SQLSTATEs that mean "this must run outside a transaction block": retried in autocommit.
_NEEDS_AUTOCOMMIT = frozenset(
    {
        "25001",  # active_sql_transaction: CREATE INDEX CONCURRENTLY, VACUUM…
        "55P04",  # unsafe_new_enum_value_usage: ALTER TYPE … ADD VALUE, then used
        "2D000",  # invalid_transaction_termination: a DO block or procedure that COMMITs
    }
)


@dataclass(frozen=True, slots=True)
class Failure:
    """A statement the server refused.

    Attributes:
        file: The script, as the report names it.
        line: The line of the error (PostgreSQL's position within the statement, if given).
        column: The column of the error, where known.
        message: PostgreSQL's message, with its detail and hint.
        sqlstate: The SQLSTATE code.
    """

    file: str
    line: int
    column: int | None
    message: str
    sqlstate: str | None

    @property
    def location(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class Need:
    """Something a migration held back needs that a migration before it should have made.

    Attributes:
        ref: The object.
        origin: The migration that failed or could not be read: why it is not there.
        via: The migration, itself held back after ``origin``, whose statements make the
            object; ``None`` when ``origin``'s do.
    """

    ref: ObjectRef
    origin: str
    via: str | None = None

    def to_json(self) -> dict[str, str]:
        """``{"object": "kind:schema.name", "from": origin}``, with ``via`` where there is one."""
        data = {"object": self.ref.key, "from": self.origin}
        if self.via is not None:
            data["via"] = self.via
        return data


@dataclass
class MigrationReplay:
    """What replaying one migration showed (one item of the JSON report's ``replay``).

    Attributes:
        migration: The catalog id.
        forward: ``ok``, ``failed`` or ``skipped`` (not run: see ``reason``).
        rollback: ``ok``, ``failed``, ``none`` (the entry has no rollback script) or
            ``skipped``.
        round_trip: ``ok``, ``differs`` or ``skipped``.
        ms: Wall time of the migration's whole replay, in milliseconds.
        added: Objects the migration made (``kind:schema.name``; a table's parts go with it).
        removed: Objects it dropped.
        changed: Objects whose definition it changed.
        differences: What the round trip found different, one line each.
        reason: Why it was skipped, if it was.
        needs: What it was held back for: the objects, made by no migration that replayed,
            it needs, each with the failed migration that should have made it.
        locks: What its forward statements locked of the relations that existed before it
            (see [migdocs.locks][]).
    """

    migration: str
    forward: str = "skipped"
    rollback: str = "skipped"
    round_trip: str = "skipped"
    ms: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    reason: str | None = None
    needs: list[Need] = field(default_factory=list)
    locks: list[LockTaken] = field(default_factory=list)
    added_refs: list[ObjectRef] = field(default_factory=list, repr=False)
    removed_refs: list[ObjectRef] = field(default_factory=list, repr=False)
    changed_from: Snapshot | None = field(default=None, repr=False)
    """The objects of ``changed`` as they were before the migration (for the live audit)."""

    def record_changes(self, before: Snapshot, after: Snapshot, keys: set[str]) -> None:
        """What the migration added, removed and changed among ``keys`` (the objects it
        touched), from the schema before it and after it."""
        changed: dict[str, None] = {}
        for difference in _limited_diff(before, after, keys):
            key = difference.ref.key
            if difference.change is Change.ADDED:
                self.added.append(key)
            elif difference.change is Change.REMOVED:
                self.removed.append(key)
            else:
                changed[key] = None
        self.changed = list(changed)
        if changed:
            self.changed_from = before.subset(changed)
        # Every object made or dropped, parts of tables included (for MG405).
        for key in sorted(keys):
            if key in after and key not in before:
                self.added_refs.append(after[key].ref)
            elif key in before and key not in after:
                self.removed_refs.append(before[key].ref)

    def to_json(self) -> dict[str, Any]:
        """The contract's shape; ``differences``, ``reason`` and ``needs`` only when there
        are some."""
        data: dict[str, Any] = {
            "migration": self.migration,
            "forward": self.forward,
            "rollback": self.rollback,
            "round_trip": self.round_trip,
            "ms": self.ms,
            "changes": {"added": self.added, "removed": self.removed, "changed": self.changed},
            "locks": [lock.to_json() for lock in self.locks],
        }
        if self.differences:
            data["differences"] = self.differences
        if self.reason:
            data["reason"] = self.reason
        if self.needs:
            data["needs"] = [need.to_json() for need in self.needs]
        return data

    @property
    def passed(self) -> bool:
        """Whether every step that ran went well."""
        return (
            self.forward == "ok"
            and self.rollback in ("ok", "none")
            and self.round_trip in ("ok", "skipped")
        )


@dataclass
class ReplayResult:
    """The outcome of a replay.

    Attributes:
        migrations: One result per catalog entry, in catalog order.
        findings: MG4xx findings (default severities; settle them).
        schema: The schema the migrations build: what a live database should hold.
        dropped_refs: Every object some migration dropped, by key (the last drop).
        provenance: For each object of ``schema``, the id of the last migration that
            created or changed it.
        server: The scratch server's version, e.g. ``PostgreSQL 18.6``.
        role: The role replay ran the migrations as (the scratch session's
            ``current_user``): it owns whatever they made without naming an owner.
        owners_named: Objects a migration gave to ``role`` by its name (``OWNER TO
            postgres``, ``CREATE SCHEMA … AUTHORIZATION postgres``), as
            ``(family, schema, name)`` (see [owner_target][migdocs.replay.owner_target];
            the schema ``None`` where the statement left it unqualified): their owner
            is that role by name, not whoever ran the migrations.
        notes: What the reader should know of the replay (``replay.stub_extensions``).
        platform: The keys of what ``replay.preset`` made: the platform's objects, which a
            live database has in its platform's version (no drift, unless a migration
            changed them).
        measured: ``(file, line)`` of each forward statement whose locks replay measured.
    """

    migrations: list[MigrationReplay]
    findings: list[Finding]
    schema: Snapshot
    provenance: dict[str, str]
    server: str
    dropped_refs: dict[str, ObjectRef] = field(default_factory=dict)
    role: str = ""
    owners_named: frozenset[OwnerTarget] = frozenset()
    notes: list[str] = field(default_factory=list)
    platform: frozenset[str] = frozenset()
    measured: set[tuple[str, int]] = field(default_factory=set)

    def owner_named(self, ref: ObjectRef) -> bool:
        """Whether a migration gave ``ref`` to the replay's role by that role's name."""
        family = owner_family(ref.kind)
        return family is not None and (
            (family, ref.schema, ref.name) in self.owners_named
            or (family, None, ref.name) in self.owners_named
        )

    @property
    def status(self) -> str:
        """``passed`` when every migration replayed cleanly, else ``failed``."""
        return "passed" if all(m.passed for m in self.migrations) else "failed"

    def to_json(self) -> list[dict[str, Any]]:
        """The JSON report's ``replay`` list."""
        return [migration.to_json() for migration in self.migrations]


def statement_timeout_setting(value: str) -> str:
    """A timeout as the catalog or ``--statement-timeout`` writes it, as PostgreSQL reads it.

    Raises:
        MigdocsError: when it is not a number with an optional unit (ms, s, min, h).
    """
    text = "".join(value.split())
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :]
    if not number.isdigit() or unit not in ("", "ms", "s", "min", "h"):
        raise MigdocsError(f"statement timeout {value!r}: write a number with ms, s, min or h")
    return f"{number}{unit or 'ms'}"


def transactional(script: Script) -> bool:
    """Whether PostgreSQL can run the whole script in one transaction block, and its runner
    would run it in one."""
    return script.in_one_transaction


#: The script's own transaction control that a replay block stands in for (skipped in it).
_BLOCK_OWN = frozenset({"BEGIN_P", "START", "COMMIT", "END_P"})
#: Transaction control that runs as it is inside a replay block.
_BLOCK_NESTS = frozenset({"SAVEPOINT", "RELEASE"})
#: Statements whose CONCURRENTLY only changes how they lock, not what they make.
_CONCURRENT_FORMS = frozenset({"CREATE INDEX", "DROP INDEX", "REINDEX"})


def block_form(script: Script) -> list[str | None] | None:
    """Each statement of ``script`` as replay runs it inside a transaction block (``None``:
    skipped), or ``None`` when the script cannot run in one.

    Most scripts that a runner must run outside a transaction say so only for locks: their
    ``CONCURRENTLY`` (which takes a weaker lock, but makes the same index), or their own
    ``BEGIN`` and ``COMMIT`` (golang-migrate's and dbmate's habit). Replay runs those in its
    block, as the same schema change: ``CONCURRENTLY`` becomes as many spaces (so that the
    server's error positions still point into the file), the script's own ``BEGIN`` and
    ``COMMIT`` give way to the block's, savepoints nest in it. Static analysis judges what
    only the concurrent form does (MG205). What stays outside a block is what PostgreSQL
    refuses in one whatever the lock (``VACUUM``, ``CREATE DATABASE``…), a ``ROLLBACK`` or
    ``PREPARE TRANSACTION`` of the script's own, a ``DROP INDEX CONCURRENTLY`` that the
    concurrent form refuses (two indexes, ``CASCADE``), and, found on the server, an enum
    value used where it was added (55P04) or a ``COMMIT`` inside a procedure (2D000). So is
    a ``CONCURRENTLY`` inside the script's own ``BEGIN`` … ``COMMIT``, which PostgreSQL
    refuses: replay runs it as written, and reports it.
    """
    texts: list[str | None] = []
    own = False  # inside the script's own BEGIN … COMMIT
    for statement in script.statements:
        text = script.statement_text(statement)
        if statement.command in OUTSIDE_TRANSACTION:
            return None
        if statement.transaction:
            words = [t.name for t in parser.scan(text) if t.name not in _COMMENTS][:2]
            if words and words[0] in _BLOCK_OWN:
                own = words[0] in ("BEGIN_P", "START")
                texts.append(None)
                continue
            if (words and words[0] in _BLOCK_NESTS) or words == ["ROLLBACK", "TO"]:
                texts.append(text)
                continue
            return None
        if "concurrently" in text.lower() and statement.command in _CONCURRENT_FORMS:
            if own or (
                statement.command == "DROP INDEX"
                and (len(statement.drops) > 1 or statement.cascade)
            ):
                # In the script's own transaction block, or two indexes or CASCADE: the
                # concurrent form fails there, and the server is to say so.
                return None
            previous = ""
            for token in parser.scan(text):
                if token.name == "CONCURRENTLY":
                    if previous in ("ASCII_40", "ASCII_44"):
                        return None  # REINDEX (CONCURRENTLY): an option list, rare
                    end = token.end + 1
                    text = text[: token.start] + " " * (end - token.start) + text[end:]
                if token.name not in _COMMENTS:
                    previous = token.name
        texts.append(text)
    return texts


_COMMENTS = frozenset({"C_COMMENT", "SQL_COMMENT"})


class _NeedsAutocommit(Exception):
    """A statement refused to run inside the transaction block replay opened."""


class Replayer:
    """Replays a project's migrations on a scratch server.

    Args:
        project: The project.
        context: Its static analysis (for dependencies and MG405).
        server: A started scratch server; the replayer makes its own databases on it.
        statement_timeout: PostgreSQL's ``statement_timeout`` for every statement.
        progress: Called after each migration with (migrations done, total, id).
        role: The role replayed SQL runs as (one of the server's
            [replay_role][migdocs.pg.server.ScratchServer.replay_role]); ``None``: the
            server's admin role.
    """

    def __init__(
        self,
        project: Project,
        context: StaticContext,
        server: ScratchServer,
        *,
        statement_timeout: str = "60s",
        progress: Callable[[int, int, str], None] | None = None,
        role: str | None = None,
    ) -> None:
        self.project = project
        self.context = context
        self.server = server
        self.settings = {
            **project.catalog.replay.session,
            "statement_timeout": statement_timeout_setting(statement_timeout),
        }
        self.progress = progress
        self.findings: list[Finding] = []
        self.provenance: dict[str, str] = {}
        self.database = ""
        self.conn: Connection | None = None
        self.role = role
        self.capture = True
        self.snapshot = Snapshot()
        #: The forward scripts that replayed, in order: what the database is made of.
        self.applied: list[Script] = []
        #: (file, line) of every statement whose locks were measured.
        self.measured: set[tuple[str, int]] = set()

    # -- databases ----------------------------------------------------------------------------

    def _connect(self, database: str) -> Connection:
        conn = self.server.connect(database, settings=self.settings, role=self.role)
        # psycopg prepares a statement run five times, and on ROLLBACK deallocates all the
        # session's statements: the snapshot's own prepared queries would go each time.
        conn.prepare_threshold = None
        return conn

    def _main(self) -> Connection:
        if self.conn is None or self.conn.closed:
            self.conn = self._connect(self.database)
        return self.conn

    # -- running scripts ----------------------------------------------------------------------

    def _run(
        self,
        conn: Connection,
        script: Script,
        *,
        in_block: bool,
        probe: LockProbe | None = None,
        again: bool = False,
    ) -> Failure | None:
        """Run a script's statements one at a time; return the first failure, if any.
        With ``probe``, measure what each statement locks. With ``again`` (in autocommit,
        the script having run once on this server), a role that exists already is no
        failure: roles belong to the whole server, and the first run made it.

        Raises:
            _NeedsAutocommit: when ``in_block`` and a statement cannot run in a block.
        """
        resets = temporary = False
        texts = block_form(script) if in_block else None
        if in_block and texts is None:
            raise _NeedsAutocommit
        try:
            for number, statement in enumerate(script.statements):
                resets = resets or statement.command in ("SET", "RESET")
                text = script.statement_text(statement) if texts is None else texts[number]
                if text is None:
                    continue  # the script's own BEGIN or COMMIT: the block stands for it
                temporary = temporary or _TEMPORARY.search(text) is not None
                if in_block and statement.concurrently and _on_partitioned(conn, statement):
                    raise _NeedsAutocommit  # CONCURRENTLY refuses it: let the server say so
                filenodes = probe.filenodes(statement) if probe is not None else {}
                try:
                    conn.execute(text.encode("utf-8"), prepare=False)
                except psycopg.Error as error:
                    if in_block and error.sqlstate in _NEEDS_AUTOCOMMIT:
                        raise _NeedsAutocommit from None
                    if again and not in_block and error.sqlstate == _DUPLICATE_OBJECT:
                        continue
                    failure = _failure(script, statement, error)
                    hint = extension_hint(
                        failure.message, error.sqlstate, self.project, self.server
                    )
                    if hint is not None:
                        failure = dataclasses.replace(
                            failure, message=f"{failure.message} — {hint}"
                        )
                    fault = _server_fault(error, conn)
                    if fault is not None:
                        raise ServerError(
                            f"{failure.location}: {self.server.fault or fault} "
                            f"({self.server.name}): " + " ".join(failure.message.split())
                        ) from None
                    return failure
                if probe is not None:
                    probe.after(
                        statement,
                        filenodes,
                        as_written=texts is None or text == (script.statement_text(statement)),
                    )
        finally:
            failed_block = conn.info.transaction_status == TransactionStatus.INERROR
            if resets and not conn.broken and not failed_block:
                # Each script starts as a new psql session would: no settings of the last.
                # (A failed block's ROLLBACK undoes its settings.)
                conn.execute("RESET ALL")
                conn.execute("RESET ROLE")
            if temporary and not conn.broken and not failed_block:
                # Nor its temporary tables: they go with the session that made them.
                conn.execute("DISCARD TEMP")
        return None

    def _read(self, conn: Connection, before: Snapshot) -> tuple[Snapshot, set[str]]:
        """The schema now, and the keys that may differ from ``before``."""
        if not self.capture:
            after = read_snapshot(conn)
            return after, set(after.key_set() | before.key_set())
        partial = read_snapshot(conn, only=take_touched(conn))
        after = before.patched(partial)
        return after, set(partial.key_set()) | (after.key_set() ^ before.key_set())

    # -- the replay ---------------------------------------------------------------------------

    def run(self) -> ReplayResult:
        """Replay every migration in catalog order.

        Raises:
            MigdocsError: when the ``replay.preset`` or a ``replay.setup`` script fails (the
                replay cannot start).
        """
        platform = self._start()
        conn = self._main()
        row = conn.execute("SELECT current_user").fetchone()
        role = str(row[0]) if row else ""
        self.snapshot = read_snapshot(conn)
        results: list[MigrationReplay] = []
        missing: dict[Identity, Need] = {}  # what migrations not replayed should have made
        total = len(self.project.entries)
        for done, entry in enumerate(self.project.entries, 1):
            started = time.perf_counter()
            result = MigrationReplay(entry.id)
            forward = self.project.forward(entry)
            if forward is None:
                result.reason = "the migration file is missing"
            elif not forward.parsed:
                result.reason = "the migration does not parse (MG200)"
            elif needs := _held_back_for(forward, missing):
                result.needs = needs
                result.reason = _held_back_reason(needs)
            else:
                self._replay(entry, forward, result)
                if result.forward == "ok":
                    self.findings += undeclared_on_replay(
                        self.context, entry, result.added_refs, result.removed_refs
                    )
            if result.forward == "ok" and forward is not None:
                _settle_missing(missing, forward, result)
            else:
                origin = result.needs[0].origin if result.needs else entry.id
                via = entry.id if result.needs else None
                for ref in _would_make(entry, forward):
                    if ref.key not in self.snapshot:
                        missing.setdefault(lookup_identity(ref), Need(ref, origin, via))
            result.ms = round((time.perf_counter() - started) * 1000)
            results.append(result)
            if self.progress is not None:
                self.progress(done, total, entry.id)
        dropped = {ref.key: ref for result in results for ref in result.removed_refs}
        named: dict[OwnerTarget, bool] = {}
        for entry, result in zip(self.project.entries, results, strict=True):
            forward = self.project.forward(entry)
            if result.forward == "ok" and forward is not None:
                _follow_owners(forward, role, named)
        return ReplayResult(
            results,
            self.findings,
            self.snapshot,
            self.provenance,
            self.server.server_version,
            dropped,
            role,
            frozenset(target for target, by_name in named.items() if by_name),
            platform=platform,
            measured=self.measured,
        )

    def _start(self, *, again: bool = False) -> frozenset[str]:
        """Make the replay's database as the first migration finds it: capture, the preset
        and setup scripts, the runner's ledger. Returns the keys of what the preset made.
        ``again`` when the scripts ran once already on this server (see ``_run``)."""
        self.database = self.server.create_database(owner=self.role)
        with self.server.connect(self.database) as admin:
            try:
                install_capture(admin, reader=self.role)
            except CaptureUnavailable:
                self.capture = False  # not a superuser on --scratch-url: read whole snapshots
        conn = self._main()
        preset = self.project.preset_script()
        before = set(read_snapshot(conn).key_set()) if preset is not None else set()
        platform: frozenset[str] = frozenset()
        scripts = self.project.setup_scripts()
        for script in scripts:
            failure = self._run(conn, script, in_block=False, again=again)
            if failure is not None:
                raise MigdocsError(f"{failure.location}: replay setup failed: {failure.message}")
            if script is preset:
                platform = frozenset(read_snapshot(conn).key_set() - before)
        if scripts:
            # A new session, as production's are: what setup said with ALTER DATABASE/ROLE
            # … SET (a search_path with `extensions`) takes effect from here on.
            conn.close()
            conn = self._main()
        self._make_ledger(conn)
        if self.capture:
            take_touched(conn)
        return platform

    def _rebuild(self) -> None:
        """Make the replay's database again from the start, with the migrations that have
        replayed (``applied``), after a script run in autocommit left it elsewhere (a
        failure half way, a round trip that did not come back): rare, and the price of
        running such scripts on the database itself rather than on a copy made for each."""
        old = self.database
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        self._start(again=True)
        self.server.drop_database(old)
        conn = self._main()
        for script in self.applied:
            # As psql runs them: each ran once already, so the roles they make exist.
            failure = self._run(conn, script, in_block=False, again=True)
            if failure is not None:
                raise MigdocsError(
                    f"{failure.location}: replay could not build the schema again after a "
                    f"script outside a transaction (it ran before): {failure.message}"
                )
        if self.capture:
            take_touched(conn)

    def _make_ledger(self, conn: Connection) -> None:
        """The runner's ledger table, as the runner makes it before its first migration."""
        from migdocs.ledger import ledger_setup

        made = ledger_setup(self.project)
        if made is None:
            return
        try:
            conn.execute(made)
        except psycopg.Error as error:
            reason = " ".join(str(error).split())
            raise MigdocsError(
                f"{self.project.catalog_display}: the {self.project.runner.kind} ledger "
                f"cannot be made for replay: {reason}"
            ) from None

    def _replay(self, entry: Entry, forward: Script, result: MigrationReplay) -> None:
        before = self.snapshot
        applied = self._forward(entry, forward, result)
        if applied is None:
            return
        after, keys = applied
        result.forward = "ok"
        self.applied.append(forward)
        result.record_changes(before, after, keys)
        for key in keys:  # who last made or changed each object, for the live audit
            if key in after and (key not in before or not before.unchanged(key, after)):
                self.provenance[key] = entry.id
            elif key not in after:
                self.provenance.pop(key, None)
        self.snapshot = after
        rollback = self.project.rollback(entry)
        if rollback is None:
            if entry.rollback_path is None:
                result.rollback = "none"
            else:
                result.reason = "the rollback file is missing"
            return
        if not rollback.parsed:
            result.reason = "the rollback does not parse (MG200)"
            return
        trip = _Trip(entry, forward, rollback, before, after, keys, result)
        if block_form(forward) is not None and block_form(rollback) is not None:
            conn = self._main()
            mark = len(self.findings)
            conn.execute("BEGIN")
            try:
                self._round_trip(trip, conn, in_block=True)
                return
            except _NeedsAutocommit:
                del self.findings[mark:]
                result.differences.clear()
            finally:
                if not conn.broken:
                    conn.execute("ROLLBACK")  # back to S1, whatever the round trip did
        # As psql would, in autocommit, on the replay's database itself; where the round
        # trip does not come back to the migration's schema, the database is made again.
        conn = self._main()
        self._round_trip(trip, conn, in_block=False)
        if result.rollback != "ok" or result.round_trip != "ok":
            self._rebuild()
        elif self.capture:
            take_touched(conn)  # what the round trip touched is not the next migration's

    def _forward(
        self, entry: Entry, forward: Script, result: MigrationReplay
    ) -> tuple[Snapshot, set[str]] | None:
        """Run the migration on the main database; the new schema, or None if it failed."""
        before = self.snapshot
        if block_form(forward) is not None:
            conn = self._main()
            conn.execute("BEGIN")
            committed = False
            probe = LockProbe(conn, forward, before, self.settings)
            try:
                failure = self._run(conn, forward, in_block=True, probe=probe)
                if failure is None:
                    applied = self._read(conn, before)
                    conn.execute("COMMIT")
                    committed = True
                    self._record_locks(entry, probe.taken, result)
                    self.measured |= {(forward.display, line) for line in probe.measured}
                    return applied
                self._forward_failed(entry, failure, result)
                return None
            except _NeedsAutocommit:
                pass
            finally:
                if not committed and not conn.broken:
                    conn.execute("ROLLBACK")
        # Autocommit, as psql, on the replay's database itself: on a failure, the database
        # is made again as it was before the migration.
        conn = self._main()
        failure = self._run(conn, forward, in_block=False)
        if failure is None:
            applied = self._read(conn, before)
            taken = [lock for st in forward.statements for lock in documented(forward, st, before)]
            self._record_locks(entry, taken, result)
            return applied
        self._rebuild()
        self._forward_failed(entry, failure, result)
        return None

    def _record_locks(self, entry: Entry, taken: list[LockTaken], result: MigrationReplay) -> None:
        """Keep what the forward script locked; MG406 for each statement that blocked
        writers or rewrote a table, measured, with no ``lock_timeout`` set before it."""
        result.locks = taken
        unguarded: dict[tuple[str, int], list[LockTaken]] = {}
        for lock in taken:
            if lock.source == "measured" and lock.harmful and not lock.guarded:
                unguarded.setdefault((lock.file, lock.line), []).append(lock)
        for (file, line), locks in unguarded.items():
            held = "; ".join(
                f"{lock.mode} on {lock.relation.partition(':')[2]}"
                + (", rewriting it" if lock.rewrite else "")
                for lock in locks
            )
            self.findings.append(
                LockWithoutTimeout.of(held, migration=entry.id, file=file, line=line)
            )

    def _forward_failed(self, entry: Entry, failure: Failure, result: MigrationReplay) -> None:
        result.forward = "failed"
        result.reason = f"fails at {failure.location}"
        self.findings.append(ForwardFails.at(failure, entry.id))

    def _round_trip(self, trip: _Trip, conn: Connection, *, in_block: bool) -> None:
        """Rollback, compare with S0, forward again, compare with S1 (on ``conn``)."""
        entry, result = trip.entry, trip.result
        failure = self._run(conn, trip.rollback, in_block=in_block)
        if failure is not None:
            result.rollback = "failed"
            self.findings.append(RollbackFails.at(failure, entry.id))
            return
        result.rollback = "ok"
        s2, rollback_keys = self._read(conn, trip.after)
        undone = _limited_diff(trip.before, s2, trip.keys | rollback_keys)
        for difference in undone:
            text = _after_rollback(difference, trip.after)
            result.differences.append(f"after the rollback, {text}")
            self.findings.append(
                RollbackDiffers.of(text, migration=entry.id, file=trip.rollback.display)
            )
        failure = self._run(conn, trip.forward, in_block=in_block)
        if failure is not None:
            result.round_trip = "differs"
            result.differences.append(f"re-applying fails at {failure.location}: {failure.message}")
            # Also after an MG403: what the rollback left behind may be why, but a deploy
            # after this rollback fails, and the statement and the server's words say where.
            self.findings.append(
                ReapplyDiffers.at(failure, entry.id, after_differences=bool(undone))
            )
            return
        if undone or not trip.forward.opaque:
            # Statements whose effects static analysis sees are DDL, deterministic: run on
            # the same schema, they make the same schema, and reading it again would only
            # cost time. Where the rollback left a difference, MG403 has named it.
            result.round_trip = "differs" if undone else "ok"
            return
        # A DO block or a function call may branch on data the rollback changed: look.
        s3, again_keys = self._read(conn, s2)
        redone = _limited_diff(trip.after, s3, trip.keys | rollback_keys | again_keys)
        for difference in redone:
            text = _after_reapply(difference)
            result.differences.append(f"after rollback and re-apply, {text}")
            self.findings.append(
                ReapplyDiffers.of(text, migration=entry.id, file=trip.forward.display)
            )
        result.round_trip = "differs" if redone else "ok"


@dataclass(frozen=True, slots=True)
class _Trip:
    """A round trip to make: the entry, its scripts, S0, S1 and what the forward touched."""

    entry: Entry
    forward: Script
    rollback: Script
    before: Snapshot
    after: Snapshot
    keys: set[str]
    result: MigrationReplay


def replay_project(
    project: Project,
    context: StaticContext,
    server: ScratchServer,
    *,
    statement_timeout: str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> ReplayResult:
    """Replay a project on a started scratch server (its databases are dropped after)."""
    with (
        server.stub_extensions(extension_stubs(project)) as stubbed,
        server.replay_role(superuser=project.catalog.replay.superuser) as role,
    ):
        result = _replay_as(role, project, context, server, statement_timeout, progress)
    result.notes.extend(stub_notes(project, stubbed, server))
    return result


def _replay_as(
    role: str,
    project: Project,
    context: StaticContext,
    server: ScratchServer,
    statement_timeout: str | None,
    progress: Callable[[int, int, str], None] | None,
) -> ReplayResult:
    replayer = Replayer(
        project,
        context,
        server,
        statement_timeout=statement_timeout or project.catalog.replay.statement_timeout,
        progress=progress,
        role=role,
    )
    try:
        return replayer.run()
    except psycopg.OperationalError as error:  # the server went away between statements
        message = " ".join(str(error).split())
        fault = server.fault or "lost the connection to the scratch server"
        raise ServerError(f"{fault} ({server.name}): {message}") from None
    finally:
        if replayer.conn is not None:
            replayer.conn.close()
        if replayer.database:
            with contextlib.suppress(MigdocsError, ValueError):
                server.drop_database(replayer.database)  # else server.close() drops it


# -- helpers ----------------------------------------------------------------------------------


#: SQLSTATE classes and codes that say the scratch server, not the SQL, failed: insufficient
#: resources (a full disk, memory), a system or I/O error, the server shutting down.
_SERVER_FAULTS = {
    "53": "the scratch server ran out of resources",
    "58": "the scratch server had a system error",
    "57P01": "the scratch server was shut down",
    "57P02": "the scratch server crashed",
    "57P03": "the scratch server cannot take connections now",
    "08": "lost the connection to the scratch server",
}


def _on_partitioned(conn: Connection, statement: Statement) -> bool:
    """Whether a ``CREATE INDEX CONCURRENTLY`` is on a partitioned table, which only its
    non-concurrent form can index."""
    if statement.command != "CREATE INDEX" or not statement.uses:
        return False
    table = statement.uses[0]
    row = conn.execute(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        (table.schema, table.name),
    ).fetchone()
    return row is not None and row[0] == "p"


def _server_fault(error: psycopg.Error, conn: Connection) -> str | None:
    """What went wrong with the scratch server when ``error`` is its fault, not the SQL's."""
    code = error.sqlstate or ""
    for prefix in (code, code[:2]):
        if prefix in _SERVER_FAULTS:
            return _SERVER_FAULTS[prefix]
    if conn.broken or (isinstance(error, psycopg.OperationalError) and not code):
        return _SERVER_FAULTS["08"]
    return None


def _failure(script: Script, statement: Statement, error: psycopg.Error) -> Failure:
    """Where and why a statement failed, with the server's detail and hint."""
    diag = error.diag
    text = script.statement_text(statement)
    start_line = script.encoded.count(b"\n", 0, statement.offset) + 1
    line, column = start_line, None
    position = diag.statement_position
    if position and position.isdigit():
        before = text[: int(position) - 1]
        line = start_line + before.count("\n")
        if "\n" in before:
            column = len(before) - before.rfind("\n")
        elif start_line == statement.line:
            column = statement.column + len(before)
    else:
        line = statement.line
    message = diag.message_primary or str(error).strip()
    if isinstance(error, pg_errors.QueryCanceled):
        message += " (the statement ran longer than the statement timeout)"
    parts = [message]
    if diag.message_detail:
        parts.append(f"DETAIL: {diag.message_detail}")
    if diag.message_hint:
        parts.append(f"HINT: {diag.message_hint}")
    return Failure(script.display, line, column, " — ".join(parts), error.sqlstate)


#: What an ``OWNER TO`` statement's object is: ``(family, schema, name)``, the family one of
#: ``relation``, ``type``, ``function`` and ``schema``, the schema ``None`` when unqualified.
OwnerTarget = tuple[str, str | None, str]

#: The family of each kind of object that has an owner in a snapshot.
_OWNER_FAMILIES = {
    ObjectKind.TABLE: "relation",
    ObjectKind.VIEW: "relation",
    ObjectKind.MATVIEW: "relation",
    ObjectKind.SEQUENCE: "relation",
    ObjectKind.TYPE: "type",
    ObjectKind.FUNCTION: "function",
    ObjectKind.SCHEMA: "schema",
}
#: The same, by the object types of the parser's ``ALTER … OWNER TO``.
_OWNER_OBJECT_TYPES = {
    **dict.fromkeys(("TABLE", "VIEW", "MATVIEW", "SEQUENCE", "FOREIGN_TABLE"), "relation"),
    **dict.fromkeys(("TYPE", "DOMAIN"), "type"),
    **dict.fromkeys(("FUNCTION", "PROCEDURE", "ROUTINE", "AGGREGATE"), "function"),
    "SCHEMA": "schema",
}


def owner_family(kind: ObjectKind) -> str | None:
    """The family of objects whose ``OWNER TO`` names ``kind`` (``None``: it has no owner)."""
    return _OWNER_FAMILIES.get(kind)


def owner_target(tree: dict[str, Any]) -> list[tuple[OwnerTarget, dict[str, Any]]]:
    """The owners a parsed statement (pglast's JSON of one statement) sets: each object,
    and the ``RoleSpec`` it names as its owner."""
    found: list[tuple[OwnerTarget, dict[str, Any]]] = []
    for raw in tree.get("stmts", ()):
        ((tag, body),) = raw["stmt"].items()
        if tag == "AlterTableStmt":
            family = _OWNER_OBJECT_TYPES.get(body.get("objtype", "OBJECT_TABLE")[7:])
            relation = body.get("relation") or {}
            for wrapped in body.get("cmds") or ():
                cmd = wrapped.get("AlterTableCmd", {})
                if family and cmd.get("subtype") == "AT_ChangeOwner" and "relname" in relation:
                    target = (family, relation.get("schemaname"), relation["relname"])
                    found.append((target, cmd.get("newowner") or {}))
        elif tag == "AlterOwnerStmt":
            family = _OWNER_OBJECT_TYPES.get(body.get("objectType", "")[7:])
            names = _names(body.get("object") or {})
            if family and names:
                schema = names[-2] if len(names) > 1 and family != "schema" else None
                found.append(((family, schema, names[-1]), body.get("newowner") or {}))
        elif tag == "CreateSchemaStmt" and body.get("authrole"):
            name = body.get("schemaname") or body["authrole"].get("rolename")
            if name:
                found.append((("schema", None, name), body["authrole"]))
    return found


def _names(node: dict[str, Any]) -> list[str]:
    """The dotted name of an ``ALTER … OWNER TO``'s object (a string, a list, a function)."""
    if "String" in node:
        return [node["String"]["sval"]]
    items = node.get("List", {}).get("items") or node.get("ObjectWithArgs", {}).get("objname")
    return [item["String"]["sval"] for item in items or () if "String" in item]


def _follow_owners(script: Script, role: str, named: dict[OwnerTarget, bool]) -> None:
    """Follow, statement by statement, which objects a migration gives to ``role`` by its
    name (``True``), or to another role or ``CURRENT_USER`` (``False``); a new object is
    the running role's again (it is forgotten)."""
    for statement in script.statements:
        for ref in statement.creates:
            family = owner_family(ref.kind)
            if family is not None:
                named.pop((family, ref.schema, ref.name), None)
                named.pop((family, None, ref.name), None)
        command = statement.command
        if not (command.startswith("ALTER") or command in ("AlterOwner", "CREATE SCHEMA")):
            continue
        text = script.statement_text(statement)
        lowered = text.lower()
        if "owner" not in lowered and "authorization" not in lowered:
            continue  # no OWNER TO or AUTHORIZATION can be in it: nothing to parse
        try:
            tree = load_tree(parser.parse_sql_json(text))
        except RecursionError:  # nested too deep to read: its owner is compared as replayed
            continue
        except parser.ParseError:  # pragma: no cover - the whole file parsed
            continue
        for target, spec in owner_target(tree):
            named[target] = (
                spec.get("roletype") == "ROLESPEC_CSTRING" and spec.get("rolename") == role
            )


def _would_make(entry: Entry, forward: Script | None) -> list[ObjectRef]:
    """What a migration that did not run should have made: what its statements create, and,
    when its SQL could not be read or parsed (so that it has no statements, or only some),
    what its catalog entry declares it creates."""
    made: list[ObjectRef] = []
    if forward is not None:
        for statement in forward.statements:
            made += [*statement.creates, *(new for _, new in statement.renames)]
    if forward is None or not forward.parsed:
        made += entry.migration.creates.refs()
    return made


def _held_back_for(forward: Script, missing: dict[Identity, Need]) -> list[Need]:
    """What a migration needs of what migrations not replayed should have made, in the order
    its statements need them: what an earlier statement of it makes, it does not need, and
    what it names under ``IF EXISTS`` it does without (see ``Statement.needs``)."""
    if not missing:
        return []
    made: set[Identity] = set()
    found: dict[Identity, Need] = {}
    for statement in forward.statements:
        for ref in statement.needs:
            key = lookup_identity(ref)
            if key in missing and key not in made:
                found.setdefault(key, missing[key])
        for ref in [*statement.creates, *(new for _, new in statement.renames)]:
            made.add(lookup_identity(ref))
    # A table owed says it all: not each of its columns too.
    return [
        need
        for need in found.values()
        if need.ref.parent is None or lookup_identity(need.ref.parent) not in found
    ]


def _held_back_reason(needs: list[Need]) -> str:
    """``not replayed: it needs column public.t.c, which A should have made``, naming every
    object by the migration that should have made it (and the failure that held that one
    back)."""
    by_maker: dict[tuple[str, str | None], list[str]] = {}
    for need in needs:
        by_maker.setdefault((need.origin, need.via), []).append(
            f"{need.ref.kind.value} {need.ref.qualified}"
        )
    parts = []
    for (origin, via), names in by_maker.items():
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}"
        if via is None:
            parts.append(f"{listed}, which {origin} should have made")
        else:
            parts.append(f"{listed}, which {via} should have made (held back too, after {origin})")
    return "not replayed: it needs " + "; and ".join(parts)


def _settle_missing(
    missing: dict[Identity, Need], forward: Script, result: MigrationReplay
) -> None:
    """After a migration replayed: what it made is there after all; what it dropped (with
    ``IF EXISTS``, or along with its table) production would not have either; what it
    renamed, production has under the new name."""
    if not missing:
        return
    made = [*result.added_refs]
    dropped = [*result.removed_refs]
    for statement in forward.statements:
        made += statement.creates
        dropped += statement.drops
        for old, new in statement.renames:
            _rename_missing(missing, old, new)
    keys = {lookup_identity(ref) for ref in [*made, *dropped]}
    tables = {(ref.schema, ref.name) for ref in dropped if ref.kind in _PARENT_KINDS}
    for key, need in list(missing.items()):
        parent = need.ref.parent
        if key in keys or (parent is not None and (parent.schema, parent.name) in tables):
            del missing[key]


def _rename_missing(missing: dict[Identity, Need], old: ObjectRef, new: ObjectRef) -> None:
    """Follow a rename that replayed: a missing object, or one on a renamed table, is owed
    under its new name."""
    for key, need in list(missing.items()):
        ref = need.ref
        if key == lookup_identity(old):
            moved = new
        elif old.kind in _PARENT_KINDS and (ref.schema, ref.table) == (old.schema, old.name):
            moved = ObjectRef(ref.kind, new.schema, ref.name, table=new.name, args=ref.args)
        else:
            continue
        del missing[key]
        missing[lookup_identity(moved)] = Need(moved, need.origin, need.via)


def _limited_diff(before: Snapshot, after: Snapshot, keys: Iterable[str]) -> list[Difference]:
    """``diff`` restricted to ``keys``: the others are known to be equal."""
    keys = set(keys)
    return diff(before.subset(keys), after.subset(keys))


def _name(difference: Difference) -> str:
    return difference.ref.shown


def _after_rollback(difference: Difference, migrated: Snapshot) -> str:
    """A difference between S0 and the schema after the rollback, in a DBA's words."""
    name = _name(difference)
    made_by_migration = difference.ref.key in migrated
    if difference.change is Change.ADDED:
        if made_by_migration:
            return f"{name}: still present (the migration makes it; the rollback leaves it)"
        return f"{name}: made by the rollback (it did not exist before the migration)"
    if difference.change is Change.REMOVED:
        if made_by_migration:
            return f"{name}: dropped by the rollback (it existed before the migration)"
        return f"{name}: not restored (the migration drops it; the rollback does not bring it back)"
    change = describe_change(difference.attribute, difference.before, difference.after)
    return f"{name}: {difference.attribute} {change} (before the migration → after the rollback)"


def _after_reapply(difference: Difference) -> str:
    """A difference between S1 and the schema after rollback and re-apply."""
    name = _name(difference)
    if difference.change is Change.ADDED:
        return f"{name}: present, but the first run did not make it"
    if difference.change is Change.REMOVED:
        return f"{name}: missing, but the first run made it"
    change = describe_change(difference.attribute, difference.before, difference.after)
    return f"{name}: {difference.attribute} {change} (first run → second run)"


_PARENT_KINDS = frozenset({ObjectKind.TABLE, ObjectKind.VIEW, ObjectKind.MATVIEW})


#: Words of a statement that may leave a temporary object to the session (``CREATE TEMP
#: TABLE``, ``pg_temp.f()``): a script that has one ends with ``DISCARD TEMP``.
_TEMPORARY = re.compile("temp", re.IGNORECASE)
