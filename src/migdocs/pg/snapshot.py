"""Schema snapshots: what a PostgreSQL database holds, object by object, read from its catalog."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import threading
import weakref
from collections.abc import Iterable, Iterator, KeysView, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, TypeAlias

import psycopg
from psycopg import Pipeline
from psycopg.conninfo import make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Literal

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.pg.diff import SET_ATTRIBUTES
from migdocs.pg.normalize import function_body, squeeze, unqualified
from migdocs.pg.queries import LAYOUTS, PARAMS, RESOLVE, SCOPE_CATALOGS, Layout, Query, queries

__all__ = [
    "CAPTURE_SCHEMA",
    "AttrValue",
    "ObjectId",
    "ObjectState",
    "Snapshot",
    "Touched",
    "read_snapshot",
    "squeeze",
]

#: One attribute's value: text, a flag, a number, nothing, or a list of texts.
AttrValue: TypeAlias = str | bool | int | tuple[str, ...] | None

#: The private schema of migdocs' own objects in a scratch database; never in a snapshot.
CAPTURE_SCHEMA = "migdocs_capture"

#: A row of a catalog query, as it arrived: ``queries.META``, then the attributes.
_Row: TypeAlias = tuple[Any, ...]


class ObjectId(NamedTuple):
    """A catalog row: the system catalog it lives in (``pg_class``…) and its oid."""

    catalog: str
    oid: int


@dataclass(frozen=True, slots=True)
class ObjectState:
    """One object of a snapshot: what it is and how it is defined.

    Attributes:
        ref: The object.
        attrs: Its definition, attribute by attribute (``type``, ``default``, ``owner``…),
            normalized so that equal definitions compare equal on any server version.
    """

    ref: ObjectRef
    attrs: dict[str, AttrValue]


@dataclass(frozen=True, slots=True)
class Touched:
    """Catalog rows that DDL created, changed or dropped: what a partial read re-reads.

    Attributes:
        objects: Every touched row (dropped ones included).
        altered: Those among them that were altered (renamed, moved…): objects that refer
            to them are re-read too, since their definitions name them.
    """

    objects: frozenset[ObjectId] = frozenset()
    altered: frozenset[ObjectId] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.objects)

    def __or__(self, other: Touched) -> Touched:
        return Touched(self.objects | other.objects, self.altered | other.altered)


class _Index(NamedTuple):
    """Where a snapshot's states come from, for patching: the keys each scope holds (a
    table: its columns, indexes…) and the key of each object's own row."""

    by_scope: dict[ObjectId, tuple[str, ...]]
    by_own: dict[ObjectId, str]


class Snapshot(Mapping[str, ObjectState]):
    """A database's schema: an immutable mapping from [ObjectRef.key][] to [ObjectState][].

    Read one with [read_snapshot][migdocs.pg.snapshot.read_snapshot]; compare two with
    [diff][migdocs.pg.diff.diff]. Iteration is in key order.

    A read keeps each object as the row the server sent, and makes its state when it is
    first looked up: comparing two snapshots compares rows first, so objects that did not
    change are never made.
    """

    __slots__ = ("_cache", "_entries", "_index", "_order", "covered", "selection")

    def __init__(self, states: Iterable[ObjectState] = ()) -> None:
        """A complete snapshot of the given states (tests build expected ones this way)."""
        self._entries: dict[str, _Row | ObjectState] = {state.ref.key: state for state in states}
        self._cache: dict[str, ObjectState] = {}
        self._index: _Index | None = None
        self._order: list[str] | None = None
        self.selection: Touched | None = None
        """For a partial snapshot, what it was asked to re-read; ``None`` for a full one."""
        self.covered: frozenset[ObjectId] = frozenset()
        """For a partial snapshot, the scopes (tables, types…) it re-read entirely."""

    @classmethod
    def _make(
        cls,
        entries: dict[str, _Row | ObjectState],
        selection: Touched | None = None,
        covered: frozenset[ObjectId] = frozenset(),
        index: _Index | None = None,
    ) -> Snapshot:
        snapshot = cls()
        snapshot._entries = entries
        snapshot._index = index
        snapshot.selection = selection
        snapshot.covered = covered
        return snapshot

    def __getitem__(self, key: str) -> ObjectState:
        entry = self._entries[key]
        if type(entry) is not tuple:
            return entry  # type: ignore[return-value]
        state = self._cache.get(key)
        if state is None:
            state = self._cache[key] = _state(entry)
        return state

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        if self._order is None:
            self._order = sorted(self._entries)
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Snapshot):
            return self._entries.keys() == other._entries.keys() and all(
                self.unchanged(key, other) for key in self._entries
            )
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        partial = ", partial" if self.partial else ""
        return f"<Snapshot of {len(self)} objects{partial}>"

    def key_set(self) -> KeysView[str]:
        """The keys as a set view, unordered (set operations on it run at C speed)."""
        return self._entries.keys()

    def ref(self, key: str) -> ObjectRef:
        """The object of ``key``, without making its state.

        Raises:
            KeyError: when the snapshot has no such object.
        """
        entry = self._entries[key]
        if type(entry) is not tuple:
            return entry.ref  # type: ignore[union-attr]
        return _ref(entry, LAYOUTS[entry[3]])

    def unchanged(self, key: str, other: Snapshot) -> bool:
        """Whether the object of ``key`` has the same state here and in ``other``.

        Rows that arrived alike are alike without making their states.

        Raises:
            KeyError: when either snapshot has no such object.
        """
        mine = self._entries[key]
        theirs = other._entries[key]
        if mine is theirs:
            return True
        # Past the oids (which differ between databases), a row is its state's source.
        if type(mine) is tuple and type(theirs) is tuple and mine[3:] == theirs[3:]:
            return True
        return self[key] == other[key]

    def subset(self, keys: Iterable[str]) -> Snapshot:
        """A complete snapshot of the objects of ``keys`` that this one holds."""
        entries = self._entries
        return Snapshot._make({key: entries[key] for key in keys if key in entries})

    def attribute(self, key: str, name: str) -> AttrValue:
        """One attribute of the object of ``key`` as read, without making its state (a list
        as a tuple, in the order it arrived); ``None`` when the object has no such attribute.

        Raises:
            KeyError: when the snapshot has no such object.
        """
        entry = self._entries[key]
        if type(entry) is not tuple:
            return entry.attrs.get(name)  # type: ignore[union-attr]
        position = _POSITIONS[entry[3]].get(name)
        if position is None:
            return None
        value = entry[position]
        return tuple(value) if isinstance(value, list) else value

    def owned_by(self, role: str, owner: str, keys: Iterable[str]) -> Snapshot:
        """This snapshot with the objects of ``keys`` that ``role`` owns owned by ``owner``.

        Their ``owner``, and the items of their own ACLs that name ``role`` — which are the
        owner's (``revoked``: what the owner took away from itself; ``grants``; the
        ``grants`` of a table's columns) — name ``owner`` instead. Everything else is kept
        as it was: an object another role owns, and any other mention of ``role``.
        """
        entries = dict(self._entries)
        tables: set[str] = set()
        for key in keys:
            entry = entries.get(key)
            if entry is None or self.attribute(key, "owner") != role:
                continue
            entries[key] = _renamed(entry, role, owner, ("owner", "grants", "revoked"))
            if self.ref(key).kind is ObjectKind.TABLE:
                tables.add(key)
        if tables:
            for key, entry in self._entries.items():
                if self.attribute(key, "grants") is None:
                    continue  # only columns and owned objects have grants; most have none
                ref = self.ref(key)
                if ref.kind is ObjectKind.COLUMN and ref.parent and ref.parent.key in tables:
                    entries[key] = _renamed(entry, role, owner, ("grants",))
        return Snapshot._make(entries)

    @property
    def partial(self) -> bool:
        """Whether this holds only what a read with ``only=`` re-read."""
        return self.selection is not None

    def patched(self, partial: Snapshot) -> Snapshot:
        """This snapshot, brought up to date with a partial one read after it.

        Every object within what ``partial`` re-read is replaced by its new state, and
        every touched object that no longer exists is gone; the rest is kept as it was.
        It costs what ``partial`` holds, plus copying this snapshot's tables of keys.

        Raises:
            ValueError: when ``partial`` is not a partial snapshot.
        """
        if partial.selection is None:
            raise ValueError("patched() needs a snapshot read with only=…")
        index = self._indexed()
        entries = dict(self._entries)
        by_scope = dict(index.by_scope)
        by_own = dict(index.by_own)

        def drop(key: str) -> None:
            entry = entries.pop(key)
            if type(entry) is tuple and (own := LAYOUTS[entry[3]].own) is not None:
                row = ObjectId(own, entry[2])
                if by_own.get(row) == key:
                    del by_own[row]

        touched = partial.selection.objects
        for scope in partial.covered | touched:
            for key in by_scope.pop(scope, ()):
                entry = entries.get(key)
                if type(entry) is tuple and (LAYOUTS[entry[3]].scope, entry[1]) == scope:
                    drop(key)
        for own in touched:
            if (gone := by_own.get(own)) is not None and gone in entries:
                drop(gone)  # its scope's list keeps the key: entries are checked when used
        for key, entry in partial._entries.items():
            if key in entries:
                drop(key)
            entries[key] = entry
        fresh = partial._indexed()
        by_own.update(fresh.by_own)
        by_scope.update(fresh.by_scope)
        return Snapshot._make(entries, index=_Index(by_scope, by_own))

    def _indexed(self) -> _Index:
        """The tables of keys by scope and own row (made once, when first patched)."""
        if self._index is None:
            by_scope: dict[ObjectId, list[str]] = {}
            by_own: dict[ObjectId, str] = {}
            for key, entry in self._entries.items():
                if type(entry) is not tuple:
                    continue  # a state made by hand comes from no catalog row
                layout = LAYOUTS[entry[3]]
                by_scope.setdefault(ObjectId(layout.scope, entry[1]), []).append(key)
                if layout.own is not None:
                    by_own[ObjectId(layout.own, entry[2])] = key
            self._index = _Index({scope: tuple(keys) for scope, keys in by_scope.items()}, by_own)
        return self._index


#: Each layout's attributes by name: their columns in its rows.
_POSITIONS: list[dict[str, int]] = [dict(layout.attrs) for layout in LAYOUTS]


def _renamed(
    entry: _Row | ObjectState, role: str, owner: str, names: tuple[str, ...]
) -> _Row | ObjectState:
    """An object's row (or state) with ``role`` as the ``names`` attributes name it (the
    owner; the grantee of an ACL item, ``role:PRIVILEGE``) replaced by ``owner``."""

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return owner if value == role else value
        if isinstance(value, list | tuple):
            items = []
            for item in value:
                grantee, colon, privilege = str(item).rpartition(":")
                items.append(f"{owner}:{privilege}" if colon and grantee == role else item)
            return type(value)(sorted(items))
        return value

    if type(entry) is not tuple:
        state: ObjectState = entry  # type: ignore[assignment]
        attrs = dict(state.attrs)
        for name in names:
            if name in attrs:
                attrs[name] = rename(attrs[name])
        return ObjectState(state.ref, attrs)
    row = list(entry)
    positions = _POSITIONS[row[3]]
    for name in names:
        if (position := positions.get(name)) is not None:
            row[position] = rename(row[position])
    return tuple(row)


def _ref(row: _Row, layout: Layout) -> ObjectRef:
    return ObjectRef(layout.kind, row[4], row[6], row[5], row[7])


def _state(row: _Row) -> ObjectState:
    """The state of an object from its row: attributes by name, lists as tuples, and what
    only Python normalises (view definitions, function bodies) normalised."""
    layout = LAYOUTS[row[3]]
    attrs: dict[str, AttrValue] = {name: row[index] for name, index in layout.attrs}
    for name in layout.lists:
        value = attrs[name]
        if value is None:
            attrs[name] = ()
        elif name in SET_ATTRIBUTES:
            # A set, whatever order the server's collation sorted it in.
            attrs[name] = tuple(sorted(value))  # type: ignore[arg-type]
        else:
            attrs[name] = tuple(value)  # type: ignore[arg-type]
    if layout.finish in ("view", "view15"):
        definition = str(attrs["definition"])
        if layout.finish == "view15":
            definition = unqualified(definition)
        attrs["definition"] = squeeze(definition)
    elif layout.finish == "function":
        # A SQL-standard body is PostgreSQL's own rendering: its layout means nothing.
        standard = row[layout.sql_body]
        if isinstance(standard, str):
            attrs["body"] = squeeze(standard)
        elif isinstance(attrs["body"], str):
            attrs["body"] = function_body(attrs["body"])
    return ObjectState(_ref(row, layout), attrs)


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
        return Snapshot._make({}, only, frozenset())
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
    objects = sorted(only.objects)
    resolve = {
        "catalogs": _array([obj.catalog for obj in objects]),
        "oids": _array([str(obj.oid) for obj in objects]),
        "altered": _array(["t" if obj in only.altered else "f" for obj in objects]),
    }
    scopes: dict[str, list[str]] = {catalog: [] for catalog in SCOPE_CATALOGS}
    entries: dict[str, _Row | ObjectState] = {}
    with _no_cyclic_gc(), conn.cursor() as cur:
        try:
            cur.execute(f"{opening}; {_SETTINGS}; {_RESOLVE.execute(resolve)}", prepare=False)
            covered = frozenset(ObjectId(catalog, oid) for catalog, oid in _results(cur)[-1])
            for scope in covered:
                if scope.catalog in scopes:
                    scopes[scope.catalog].append(str(scope.oid))
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
    return Snapshot._make(entries, only, covered)


def _results(cur: psycopg.Cursor[Any]) -> list[list[_Row]]:
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
    scopes: dict[str, list[str]] = {catalog: [] for catalog in SCOPE_CATALOGS}
    entries: dict[str, _Row | ObjectState] = {}
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
        if only is not None:
            objects = sorted(only.objects)
            resolve = {
                "catalogs": _array([obj.catalog for obj in objects]),
                "oids": _array([str(obj.oid) for obj in objects]),
                "altered": _array(["t" if obj in only.altered else "f" for obj in objects]),
            }
            rows = conn.execute(_RESOLVE.execute(resolve), prepare=False).fetchall()
            covered = frozenset(ObjectId(catalog, oid) for catalog, oid in rows)
            for scope in covered:
                if scope.catalog in scopes:
                    scopes[scope.catalog].append(str(scope.oid))
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
    return Snapshot._make(entries, only, covered)


def _pipeline(conn: psycopg.Connection[Any]) -> AbstractContextManager[Any]:
    """A pipeline where libpq has them: statements travel together, results come back
    together, and the server runs the next statement while the client reads a result."""
    return conn.pipeline() if Pipeline.is_supported() else nullcontext()


#: The size of ``pg_class`` (bytes) from which a full read takes a second connection: about
#: 700 tables; below it, the second connection's start costs more than it saves.
SECOND_CONNECTION_CATALOG = 1 << 20


def _fetch(
    conn: psycopg.Connection[Any], statements: list[_Statement], params: Mapping[str, str | None]
) -> list[list[_Row]]:
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
        self.rows: list[list[_Row]] | None = None
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

    def result(self) -> list[list[_Row]] | None:
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
