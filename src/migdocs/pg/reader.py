"""Reading a snapshot from a database's catalog: prepared queries, one transaction, two cores."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from functools import cache
from typing import Any, NamedTuple

import psycopg
from psycopg import Pipeline
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Literal

from migdocs.pg.queries import PARAMS, RESOLVE, SCOPE_CATALOGS, Query, queries
from migdocs.pg.snapshot import CAPTURE_SCHEMA, ObjectId, ObjectState, Row, Snapshot, Touched

__all__ = ["SECOND_CONNECTION_CATALOG", "read_snapshot"]


def read_snapshot(
    conn: psycopg.Connection[Any],
    *,
    schemas: Iterable[str] | None = None,
    exclude_schemas: Iterable[str] = (),
    only: Touched | None = None,
) -> Snapshot:
    """Read a database's schema with a fixed number of catalog queries, whatever its size.

    The queries run in one read-only repeatable-read transaction (a savepoint if the
    connection is already in one), with settings that make PostgreSQL print every name
    schema-qualified, so the same DDL gives the same snapshot on any server. A full read
    of a big database that opened its own transaction runs its two slowest queries on a
    second connection at the same time, in the same snapshot (``pg_export_snapshot``, as
    ``pg_dump --jobs`` does); should that connection fail, they run on ``conn`` after the
    others.

    Args:
        conn: A connection to the database.
        schemas: Read only these schemas (default: every one but the system's).
        exclude_schemas: Skip these schemas.
        only: Read only what these catalog rows belong to (a touched column: its table),
            plus, for altered rows, the objects whose definitions name them. The result is
            partial: bring a previous snapshot up to date with
            [Snapshot.patched][migdocs.pg.snapshot.Snapshot.patched].

    Returns:
        The snapshot; system schemas, objects of extensions (they belong to the
        extension) and migdocs' own ``migdocs_capture`` schema are never in it.
    """
    if only is not None and not only:
        return Snapshot.from_rows({}, only, frozenset())
    params: dict[str, str | None] = {
        "schemas": None if schemas is None else _array(sorted(schemas)),
        "excluded": _array(sorted({*exclude_schemas, CAPTURE_SCHEMA})),
    }
    statements = _statements(conn.info.server_version, only is not None)
    known = _PREPARED.get(conn)
    try:
        if only is not None and known is not None and _quick(conn, statements, known):
            return _read_partial(conn, statements, params, only)
        return _read(conn, statements, params, only, known)
    except psycopg.errors.InvalidSqlStatementName:
        if known is None:
            raise
    # A DISCARD or DEALLOCATE took the session's statements away: prepare them again.
    del _PREPARED[conn]
    return _read(conn, statements, params, only, None)


#: The names of the statements each session has prepared, as far as this process knows.
_PREPARED: weakref.WeakKeyDictionary[psycopg.Connection[Any], frozenset[str]] = (
    weakref.WeakKeyDictionary()
)


def _quick(
    conn: psycopg.Connection[Any], statements: list[_Statement], known: frozenset[str]
) -> bool:
    """Whether a partial read can take the quick way: its statements are prepared, and the
    connection is in a transaction or in autocommit (so that it may open one itself)."""
    status = conn.info.transaction_status
    return (
        (
            status == TransactionStatus.INTRANS
            or (status == TransactionStatus.IDLE and conn.autocommit)
        )
        and _RESOLVE.name in known
        and all(each.prepared.name in known for each in statements)
    )


def _read_partial(
    conn: psycopg.Connection[Any],
    statements: list[_Statement],
    params: dict[str, str | None],
    only: Touched,
) -> Snapshot:
    """A partial read in two round trips: each a batch of statements in one message.

    Replay reads what each step touched twice a migration: the statements and their round
    trips, not the server's work, are most of what such a read costs. The batch opens a
    savepoint (or a transaction) and sets the session; the second asks the queries and
    rolls back, so the caller's transaction is as it was.
    """
    if conn.info.transaction_status == TransactionStatus.IDLE:
        opening, closing = f"BEGIN; {_BEGIN}", "ROLLBACK"
    else:
        opening = "SAVEPOINT migdocs_read"
        closing = "ROLLBACK TO SAVEPOINT migdocs_read; RELEASE SAVEPOINT migdocs_read"
    resolve = _RESOLVE.execute(_resolution(only))
    entries: dict[str, Row | ObjectState] = {}
    with _no_cyclic_gc(), conn.cursor() as cur:
        try:
            cur.execute(f"{opening}; {_SETTINGS}; {resolve}", prepare=False)
            covered = frozenset(ObjectId(catalog, oid) for catalog, oid in _results(cur)[-1])
            scopes = _scope_oids(covered)
            # A query whose scopes were not touched has nothing to say.
            asked = [each for each in statements if scopes[each.query.scope]]
            values = {**params, **{catalog: _array(oids) for catalog, oids in scopes.items()}}
            executes = [each.prepared.execute(values) for each in asked]
            cur.execute("; ".join([*executes, closing]), prepare=False)
        except BaseException:
            if not conn.closed and not conn.broken:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(closing, prepare=False)
            raise
        for rows in _results(cur):
            entries.update({row[0]: row for row in rows})
    return Snapshot.from_rows(entries, only, covered)


def _resolution(only: Touched) -> dict[str, str | None]:
    """The values of the query that resolves what a partial read of ``only`` re-reads."""
    objects = sorted(only.objects)
    return {
        "catalogs": _array([obj.catalog for obj in objects]),
        "oids": _array([str(obj.oid) for obj in objects]),
        "altered": _array(["t" if obj in only.altered else "f" for obj in objects]),
    }


def _scope_oids(covered: frozenset[ObjectId]) -> dict[str, list[str]]:
    """The oids of the scopes a read re-reads (a table, a type…), by the catalog of each."""
    scopes: dict[str, list[str]] = {catalog: [] for catalog in SCOPE_CATALOGS}
    for scope in covered:
        if scope.catalog in scopes:
            scopes[scope.catalog].append(str(scope.oid))
    return scopes


def _results(cur: psycopg.Cursor[Any]) -> list[list[Row]]:
    """The rows of every statement of a batch that returns rows, in order."""
    results = []
    while True:
        if cur.description is not None:
            results.append(cur.fetchall())
        if not cur.nextset():
            return results


def _read(
    conn: psycopg.Connection[Any],
    statements: list[_Statement],
    params: dict[str, str | None],
    only: Touched | None,
    known: frozenset[str] | None,
) -> Snapshot:
    """One read (see ``read_snapshot``), with the session's prepared statements if known.

    In a pipeline: opening the transaction, the settings and the resolution of what a
    partial read re-reads travel together, then the queries, then the rollback.
    """
    entries: dict[str, Row | ObjectState] = {}
    covered: frozenset[ObjectId] = frozenset()
    begin = conn.info.transaction_status == TransactionStatus.IDLE
    needed = [_RESOLVE, *(each.prepared for each in statements)]
    ready = known is not None and all(statement.name in known for statement in needed)
    with ExitStack() as stack:
        stack.enter_context(_no_cyclic_gc())
        if ready:
            stack.enter_context(_pipeline(conn))
        stack.enter_context(conn.transaction(force_rollback=True))
        if begin:
            conn.execute(_BEGIN, prepare=False)
        if not ready:
            # Once a session: what it has prepared, and the rest in one batch.
            if known is None:
                listing = conn.execute(_LISTING, prepare=False).fetchone()
                known = frozenset(listing[0] if listing else ())
            missing = [statement for statement in needed if statement.name not in known]
            if missing:
                conn.execute(";\n".join(s.prepare for s in missing), prepare=False)
                known |= {statement.name for statement in missing}
            stack.enter_context(_pipeline(conn))
        settings = conn.cursor()
        settings.execute(_SETTINGS, prepare=False)
        scopes = _scope_oids(covered)
        if only is not None:
            resolve = _RESOLVE.execute(_resolution(only))
            rows = conn.execute(resolve, prepare=False).fetchall()
            covered = frozenset(ObjectId(catalog, oid) for catalog, oid in rows)
            scopes = _scope_oids(covered)
            # A query whose scopes were not touched has nothing to say.
            statements = [each for each in statements if scopes[each.query.scope]]
        params = {**params, **{catalog: _array(oids) for catalog, oids in scopes.items()}}
        second: _SecondConnection | None = None
        # A standby exports snapshots from PostgreSQL 10 on.
        if only is None and begin and conn.info.server_version >= 100000:
            size = settings.fetchone()
            if size is not None and size[0] >= SECOND_CONNECTION_CATALOG:
                row = conn.execute("SELECT pg_export_snapshot()", prepare=False).fetchone()
                assert row is not None
                second = _SecondConnection(
                    conn, row[0], [each for each in statements if each.query.second], params
                )
                statements = [each for each in statements if not each.query.second]
        for rows in _fetch(conn, statements, params):
            entries.update({row[0]: row for row in rows})
        if second is not None:
            # Should the second connection have failed, its queries run here instead.
            for rows in second.result() or _fetch(conn, second.statements, params):
                entries.update({row[0]: row for row in rows})
    if known is not None:
        _PREPARED[conn] = known
    return Snapshot.from_rows(entries, only, covered)


def _pipeline(conn: psycopg.Connection[Any]) -> AbstractContextManager[Any]:
    """A pipeline where libpq has them: statements travel together, results come back
    together, and the server runs the next statement while the client reads a result."""
    return conn.pipeline() if Pipeline.is_supported() else nullcontext()


#: The size of ``pg_class`` (bytes) from which a full read takes a second connection: about
#: 700 tables; below it, the second connection's start costs more than it saves.
SECOND_CONNECTION_CATALOG = 1 << 20


def _fetch(
    conn: psycopg.Connection[Any], statements: list[_Statement], params: Mapping[str, str | None]
) -> list[list[Row]]:
    """The rows of each statement, as they arrive (binary: numbers and lists cost the client
    less to load)."""
    with _pipeline(conn):
        cursors = [conn.cursor(binary=True) for _ in statements]
        for statement, each in zip(statements, cursors, strict=True):
            each.execute(statement.prepared.execute(params), prepare=False)
        results = []
        for each in cursors:
            results.append(each.fetchall())
            each.close()
    return results


class _SecondConnection(threading.Thread):
    """A second session that runs some queries of a full read at the same time as the first,
    in the snapshot the first exported: the server reads the catalogs on two cores.

    It connects as the first did (the same parameters, password included), and reads in a
    read-only repeatable-read transaction too.
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        exported: str,
        statements: list[_Statement],
        params: Mapping[str, str | None],
    ) -> None:
        super().__init__(name="migdocs-snapshot", daemon=True)
        password = conn.info.password
        self.conninfo = make_conninfo(conn.info.dsn, **({"password": password} if password else {}))
        self.exported = exported
        self.statements = statements
        self.params = params
        self.rows: list[list[Row]] | None = None
        self.start()

    def run(self) -> None:
        try:
            with (
                psycopg.Connection.connect(self.conninfo, autocommit=True) as conn,
                conn.cursor() as cur,
            ):
                cur.execute(_BEGIN.replace("SET TRANSACTION", "BEGIN"))
                cur.execute(SQL("SET TRANSACTION SNAPSHOT {}").format(Literal(self.exported)))
                cur.execute(_SETTINGS)
                cur.execute(";\n".join(each.prepared.prepare for each in self.statements))
                self.rows = _fetch(conn, self.statements, self.params)
                cur.execute("ROLLBACK")
        except psycopg.Error:
            self.rows = None  # the first connection runs them: a pooler, a connection limit…

    def result(self) -> list[list[Row]] | None:
        """The rows of each statement, or ``None`` if this connection could not read them."""
        self.join()
        return self.rows


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector: a read makes a hundred thousand rows, none of them
    in a cycle, and collecting them as they come costs more than making them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Prepared:
    """A statement prepared on the server once per session, and run with ``EXECUTE``.

    Server-side: replay's DDL makes psycopg forget the statements it prepares itself, and
    planning these queries costs more than running them for a partial read. The name
    follows the text, so a session never runs a stale one.
    """

    def __init__(self, sql: str, params: tuple[str, ...]) -> None:
        self.sql = sql
        self.params = params
        self.name = "migdocs_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:16]
        text = sql
        for position, param in enumerate(params, 1):
            text = text.replace(f"%({param})s", f"${position}")
        types = ", ".join("text" for _ in params)
        self.prepare = f"PREPARE {self.name} ({types}) AS {text.replace('%%', '%')}"

    def execute(self, values: Mapping[str, str | None]) -> str:
        """The ``EXECUTE`` statement, with its values as literals (``EXECUTE`` takes no
        parameters of the extended protocol)."""
        literals = ", ".join(_literal(values.get(param)) for param in self.params)
        return f"EXECUTE {self.name} ({literals})"


def _literal(value: str | None) -> str:
    """A text literal (an escape string: the same whatever ``standard_conforming_strings``)."""
    if value is None:
        return "NULL"
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


class _Statement(NamedTuple):
    prepared: _Prepared
    query: Query


@cache
def _statements(version: int, partial: bool) -> list[_Statement]:
    """The prepared catalog queries of a full or partial read."""
    return [_Statement(_Prepared(query.sql, PARAMS), query) for query in queries(version, partial)]


_RESOLVE = _Prepared(RESOLVE, ("catalogs", "oids", "altered"))


def _array(items: list[str]) -> str:
    """An array literal, passed as text: the queries' parameter types never vary."""
    return (
        "{"
        + ",".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
        + "}"
    )


_BEGIN = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_SETTINGS = r"""
SELECT pg_relation_size('pg_catalog.pg_class') AS catalog_size,
       set_config('search_path', 'pg_catalog', true),
       -- The joins are written in the order that suits a full and a partial read alike.
       set_config('join_collapse_limit', '1', true),
       set_config('from_collapse_limit', '1', true),
       set_config('TimeZone', 'UTC', true),
       set_config('DateStyle', 'ISO, MDY', true),
       set_config('IntervalStyle', 'postgres', true),
       set_config('extra_float_digits', '1', true),
       set_config('bytea_output', 'hex', true),
       -- Plan the prepared queries once: the plan of a handful of oids suits any handful.
       set_config('plan_cache_mode', 'force_generic_plan', true),
       -- Sorts and hashes of a whole catalog in memory; and no JIT, whose compiling costs
       -- more than these queries run.
       set_config('work_mem', '64MB', true),
       set_config('jit', 'off', true)
"""
_LISTING = r"SELECT ARRAY(SELECT name FROM pg_prepared_statements WHERE name LIKE 'migdocs\_%')"
