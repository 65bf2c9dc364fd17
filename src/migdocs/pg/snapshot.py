"""Schema snapshots: what a PostgreSQL database holds, object by object, read from its catalog."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable, Iterator, KeysView, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from pglast import parse_sql
from pglast.ast import (
    ColumnRef,
    CommonTableExpr,
    RangeFunction,
    RangeSubselect,
    RangeVar,
    SelectStmt,
    String,
    SubLink,
)
from pglast.enums import SetOperation
from pglast.parser import ParseError
from pglast.visitors import Action, Ancestor, Skip, Visitor
from psycopg import Pipeline
from psycopg.pq import TransactionStatus
from psycopg.sql import SQL, Composed, Identifier, Literal

from migdocs.objects import ObjectKind, ObjectRef

if TYPE_CHECKING:
    import psycopg

#: One attribute's value: text, a flag, a number, nothing, or a list of texts.
AttrValue: TypeAlias = str | bool | int | tuple[str, ...] | None

#: The private schema of migdocs' own objects in a scratch database; never in a snapshot.
CAPTURE_SCHEMA = "migdocs_capture"


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


class _Origin(NamedTuple):
    scope: ObjectId  # the row whose re-reading re-reads this state (a table for its column)
    own: ObjectId | None  # the object's own row, if it has one


class Snapshot(Mapping[str, ObjectState]):
    """A database's schema: an immutable mapping from [ObjectRef.key][] to [ObjectState][].

    Read one with [read_snapshot][migdocs.pg.snapshot.read_snapshot]; compare two with
    [diff][migdocs.pg.diff.diff]. Iteration is in key order.
    """

    __slots__ = ("_by_own", "_by_scope", "_order", "_origins", "_states", "covered", "selection")

    def __init__(self, states: Iterable[ObjectState] = ()) -> None:
        """A complete snapshot of the given states (tests build expected ones this way)."""
        self._states = {state.ref.key: state for state in states}
        self._origins: dict[str, _Origin] = {}
        self._by_scope: dict[ObjectId, tuple[str, ...]] = {}
        self._by_own: dict[ObjectId, str] = {}
        self._order: list[str] | None = None
        self.selection: Touched | None = None
        """For a partial snapshot, what it was asked to re-read; ``None`` for a full one."""
        self.covered: frozenset[ObjectId] = frozenset()
        """For a partial snapshot, the scopes (tables, types…) it re-read entirely."""

    @classmethod
    def _make(
        cls,
        states: dict[str, ObjectState],
        origins: dict[str, _Origin],
        selection: Touched | None = None,
        covered: frozenset[ObjectId] = frozenset(),
    ) -> Snapshot:
        snapshot = cls()
        snapshot._states = states
        snapshot._origins = origins
        by_scope: dict[ObjectId, list[str]] = {}
        for key, origin in origins.items():
            by_scope.setdefault(origin.scope, []).append(key)
            if origin.own is not None:
                snapshot._by_own[origin.own] = key
        snapshot._by_scope = {scope: tuple(keys) for scope, keys in by_scope.items()}
        snapshot.selection = selection
        snapshot.covered = covered
        return snapshot

    def __getitem__(self, key: str) -> ObjectState:
        return self._states[key]

    def __contains__(self, key: object) -> bool:
        return key in self._states

    def __iter__(self) -> Iterator[str]:
        if self._order is None:
            self._order = sorted(self._states)
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._states)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Snapshot):
            return self._states == other._states
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        partial = ", partial" if self.partial else ""
        return f"<Snapshot of {len(self)} objects{partial}>"

    def key_set(self) -> KeysView[str]:
        """The keys as a set view, unordered (set operations on it run at C speed)."""
        return self._states.keys()

    @property
    def partial(self) -> bool:
        """Whether this holds only what a read with ``only=`` re-read."""
        return self.selection is not None

    def patched(self, partial: Snapshot) -> Snapshot:
        """This snapshot, brought up to date with a partial one read after it.

        Every object within what ``partial`` re-read is replaced by its new state, and
        every touched object that no longer exists is gone; the rest is kept as it was.
        It costs what ``partial`` holds, not what this snapshot holds.

        Raises:
            ValueError: when ``partial`` is not a partial snapshot.
        """
        if partial.selection is None:
            raise ValueError("patched() needs a snapshot read with only=…")
        patched = Snapshot()
        states = patched._states = dict(self._states)
        origins = patched._origins = dict(self._origins)
        by_scope = patched._by_scope = dict(self._by_scope)
        by_own = patched._by_own = dict(self._by_own)

        def drop(key: str) -> None:
            del states[key]
            origin = origins.pop(key)
            if origin.own is not None and by_own.get(origin.own) == key:
                del by_own[origin.own]

        touched = partial.selection.objects
        for scope in partial.covered | touched:
            for key in by_scope.pop(scope, ()):
                if key in origins and origins[key].scope == scope:
                    drop(key)
        for own in touched:
            if (gone := by_own.get(own)) is not None:
                drop(gone)  # its scope's list keeps the key: entries are checked when used
        for key, state in partial._states.items():
            if key in origins:
                drop(key)
            origin = partial._origins[key]
            states[key] = state
            origins[key] = origin
            if origin.own is not None:
                by_own[origin.own] = key
        by_scope.update(partial._by_scope)
        return patched


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
    schema-qualified, so the same DDL gives the same snapshot on any server.

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
        return Snapshot._make({}, {}, only, frozenset())
    scopes: dict[str, list[str]] = {catalog: [] for catalog in _SCOPE_CATALOGS}
    params: dict[str, str | None] = {
        "schemas": None if schemas is None else _array(sorted(schemas)),
        "excluded": _array(sorted({*exclude_schemas, CAPTURE_SCHEMA})),
    }
    version = conn.info.server_version
    queries = _queries(version, only is not None)
    states: dict[str, ObjectState] = {}
    origins: dict[str, _Origin] = {}
    covered: frozenset[ObjectId] = frozenset()
    begin = conn.info.transaction_status == TransactionStatus.IDLE
    with _no_cyclic_gc(), conn.transaction(force_rollback=True), conn.cursor() as cur:
        if begin:
            cur.execute(_BEGIN)
        prepared = cur.execute(_SETTINGS).fetchone()
        missing = [
            statement.prepare
            for statement in (_RESOLVE, *(query.statement for query in queries))
            if prepared is None or statement.name not in prepared[-1]
        ]
        if missing:
            cur.execute(";\n".join(missing))
        if only is not None:
            objects = sorted(only.objects)
            resolve = {
                "catalogs": _array([obj.catalog for obj in objects]),
                "oids": _array([str(obj.oid) for obj in objects]),
                "altered": _array(["t" if obj in only.altered else "f" for obj in objects]),
            }
            cur.execute(_RESOLVE.execute(resolve), prepare=False)
            covered = frozenset(ObjectId(catalog, oid) for catalog, oid in cur)
            for scope in covered:
                if scope.catalog in scopes:
                    scopes[scope.catalog].append(str(scope.oid))
        params.update({catalog: _array(oids) for catalog, oids in scopes.items()})
        # In a pipeline, the queries travel together, and the server runs the next ones
        # while the rows of the first are turned into states.
        with conn.pipeline() if Pipeline.is_supported() else nullcontext():
            cursors = [conn.cursor() for _ in queries]
            for query, each in zip(queries, cursors, strict=True):
                each.execute(query.statement.execute(params), prepare=False)
            for query, each in zip(queries, cursors, strict=True):
                rows = each.fetchall()
                names = [column.name for column in each.description or ()]
                query.read_into(names, rows, version, states, origins)
                each.close()
    return Snapshot._make(states, origins, only, covered)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector: a read makes tens of thousands of small objects,
    none of them in a cycle, and collecting them as they come costs a third of the read."""
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

    def execute(self, values: Mapping[str, str | None]) -> Composed:
        """The ``EXECUTE`` statement, with its values as literals (``EXECUTE`` takes no
        parameters of the extended protocol)."""
        literals = [Literal(values.get(param)) for param in self.params]
        return SQL("EXECUTE {} ({})").format(Identifier(self.name), SQL(", ").join(literals))


# --- the catalog queries -------------------------------------------------------------------

#: The catalogs whose rows are scopes: re-reading one re-reads every state it holds.
_SCOPE_CATALOGS = ("pg_namespace", "pg_extension", "pg_class", "pg_type", "pg_proc")


def _array(items: list[str]) -> str:
    """An array literal, passed as text: the queries' parameter types never vary."""
    return (
        "{"
        + ",".join('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
        + "}"
    )


_BEGIN = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
_SETTINGS = r"""
SELECT set_config('search_path', 'pg_catalog', true),
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
       ARRAY(SELECT name FROM pg_prepared_statements WHERE name LIKE 'migdocs\_%')
"""


def _implicit(owned: str) -> str:
    """Whether the sequence of ``owned`` (a pg_depend row, sequence to column) belongs to the
    column: an identity's, or a serial's whose column default still takes from it."""
    return f"""{owned}.refobjsubid > 0 AND ({owned}.deptype = 'i' OR ({owned}.deptype = 'a'
        AND EXISTS (SELECT FROM pg_depend dd
            WHERE dd.refclassid = 'pg_class'::regclass AND dd.refobjid = {owned}.objid
              -- Not a condition pg_depend's depender index can use: the reference index,
              -- on the sequence, finds the one row; the other would scan every default.
              AND (dd.classid = 'pg_attrdef'::regclass) IS TRUE
              AND EXISTS (SELECT FROM pg_attrdef ad WHERE ad.oid = dd.objid
                  AND ad.adrelid = {owned}.refobjid AND ad.adnum = {owned}.refobjsubid))))"""


# A touched catalog row -> the scope that holds its state (a column's table, an index's
# table, a domain constraint's domain...); altered rows also bring the rows that depend on
# them (a view on a renamed table), and an altered schema, what depends on its objects.
_RESOLVE_SQL = f"""
WITH RECURSIVE given(classid, objid, depth) AS (
    SELECT g.catalog::regclass::oid, g.objid,
           CASE WHEN NOT g.altered THEN 2 WHEN g.catalog = 'pg_namespace' THEN 0 ELSE 1 END
    FROM unnest(%(catalogs)s::text[], %(oids)s::oid[], %(altered)s::bool[])
         AS g(catalog, objid, altered)
), reach(classid, objid, depth) AS (
    SELECT classid, objid, depth FROM given
    UNION
    SELECT d.classid, d.objid, r.depth + 1
    -- LATERAL: an index scan per row reached, never a scan of all of pg_depend.
    FROM reach r CROSS JOIN LATERAL (
        SELECT d.classid, d.objid FROM pg_depend d
        WHERE d.refclassid = r.classid AND d.refobjid = r.objid
        OFFSET 0  -- not pulled up into a hash join
    ) d
    WHERE r.depth < 2
), rows AS (
    SELECT DISTINCT classid, objid FROM reach
)
SELECT 'pg_class' AS catalog,
       CASE WHEN c.relkind IN ('i', 'I') THEN x.indrelid
            WHEN o.refobjid IS NOT NULL THEN o.refobjid
            ELSE c.oid END AS oid
FROM rows r JOIN pg_class c ON r.classid = 'pg_class'::regclass AND c.oid = r.objid
LEFT JOIN pg_index x ON x.indexrelid = c.oid
LEFT JOIN pg_depend o ON c.relkind = 'S' AND o.classid = 'pg_class'::regclass
    AND o.objid = c.oid AND o.refclassid = 'pg_class'::regclass AND {_implicit("o")}
WHERE c.relkind NOT IN ('c', 't')
UNION
SELECT 'pg_class', o.objid
FROM rows r JOIN pg_depend o ON r.classid = 'pg_class'::regclass
    AND o.refclassid = 'pg_class'::regclass AND o.refobjid = r.objid
    AND o.classid = 'pg_class'::regclass AND o.deptype IN ('a', 'i')
JOIN pg_class s ON s.oid = o.objid AND s.relkind = 'S'
UNION
SELECT 'pg_type', c.reltype
FROM rows r JOIN pg_class c ON r.classid = 'pg_class'::regclass AND c.oid = r.objid
WHERE c.relkind = 'c'
UNION
SELECT 'pg_class', a.adrelid
FROM rows r JOIN pg_attrdef a ON r.classid = 'pg_attrdef'::regclass AND a.oid = r.objid
UNION
SELECT CASE WHEN k.conrelid <> 0 THEN 'pg_class' ELSE 'pg_type' END,
       CASE WHEN k.conrelid <> 0 THEN k.conrelid ELSE k.contypid END
FROM rows r JOIN pg_constraint k ON r.classid = 'pg_constraint'::regclass AND k.oid = r.objid
UNION
SELECT 'pg_class', t.tgrelid
FROM rows r JOIN pg_trigger t ON r.classid = 'pg_trigger'::regclass AND t.oid = r.objid
UNION
SELECT 'pg_class', p.polrelid
FROM rows r JOIN pg_policy p ON r.classid = 'pg_policy'::regclass AND p.oid = r.objid
UNION
SELECT 'pg_class', w.ev_class
FROM rows r JOIN pg_rewrite w ON r.classid = 'pg_rewrite'::regclass AND w.oid = r.objid
UNION
SELECT CASE WHEN t.typrelid <> 0 AND rc.relkind <> 'c' THEN 'pg_class' ELSE 'pg_type' END,
       CASE WHEN t.typrelid <> 0 AND rc.relkind <> 'c' THEN t.typrelid
            ELSE coalesce(e.oid, m.rngtypid, t.oid) END
FROM rows r JOIN pg_type t ON r.classid = 'pg_type'::regclass AND t.oid = r.objid
LEFT JOIN pg_class rc ON rc.oid = t.typrelid
-- An array type's element: by oid (pg_type has no index on typarray).
LEFT JOIN pg_type e ON e.oid = t.typelem AND e.typarray = t.oid
LEFT JOIN pg_range m ON m.rngmultitypid = t.oid
UNION
SELECT 'pg_proc', r.objid FROM rows r WHERE r.classid = 'pg_proc'::regclass
UNION
SELECT 'pg_namespace', r.objid FROM rows r WHERE r.classid = 'pg_namespace'::regclass
UNION
SELECT 'pg_extension', r.objid FROM rows r WHERE r.classid = 'pg_extension'::regclass
"""
_RESOLVE = _Prepared(_RESOLVE_SQL, ("catalogs", "oids", "altered"))


def _schema_filter(alias: str) -> str:
    return f"""{alias}.nspname NOT LIKE 'pg\\_%%' AND {alias}.nspname <> 'information_schema'
    AND {alias}.nspname <> ALL (%(excluded)s::text[])
    AND (%(schemas)s::text[] IS NULL OR {alias}.nspname = ANY (%(schemas)s::text[]))"""


def _selected(catalog: str, oid: str) -> str:
    """A marker that ``_finish`` turns into the condition of a partial read, or removes."""
    return f"@@{catalog}:{oid}@@"


def _finish(sql: str, partial: bool) -> str:
    """The query with its ``_selected`` markers made conditions on what a partial read re-reads.

    A full and a partial read are two texts, so that each gets the plan it needs: index scans
    for a handful of oids, scans of whole catalogs for everything.
    """
    parts = sql.split("@@")
    for index in range(1, len(parts), 2):
        catalog, _, oid = parts[index].partition(":")
        parts[index] = f"{oid} = ANY (%({catalog})s::oid[])" if partial else "true"
    return "".join(parts)


def _not_member(catalog: str, oid: str) -> str:
    return f"""NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = '{catalog}'::regclass
    AND e.objid = {oid} AND e.deptype = 'e')"""


def _described(catalog: str, oid: str, sub: str = "0") -> str:
    """The join that brings an object's comment as ``dsc.description``."""
    return f"""LEFT JOIN pg_description dsc ON dsc.classoid = '{catalog}'::regclass
    AND dsc.objoid = {oid} AND dsc.objsubid = {sub}"""


def _privileges(acl: str, kind: str, owner: str) -> str:
    """``grants`` (beyond the default privileges) and ``revoked`` (defaults taken away)."""

    def listed(have: str, lack: str) -> str:
        return f"""CASE WHEN {acl} IS NULL THEN '{{}}'::text[] ELSE ARRAY(
        SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END
               || ':' || a.privilege_type
               || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
        FROM (SELECT grantee, privilege_type, is_grantable FROM aclexplode({have})
              EXCEPT SELECT grantee, privilege_type, is_grantable FROM aclexplode({lack})) a
        ORDER BY 1) END"""

    default = f'acldefault(({kind})::"char", {owner})'
    return (
        f'{listed(acl, default)} AS "grants", {listed(default, acl)} AS "revoked", '
        f'pg_get_userbyid({owner})::text AS "owner"'
    )


def _meta(
    oid: str,
    scope: str,
    *,
    kind: str = "NULL",
    schema: str = "NULL",
    table: str = "NULL",
    name: str,
    args: str = "NULL",
) -> str:
    """The first columns of every query: see ``_META``."""
    return (
        f"{oid} AS _oid, {scope} AS _scope, {kind} AS _kind, {schema}::text AS _schema, "
        f"{table}::text AS _table, {name}::text AS _name, {args}::text AS _args"
    )


_TYPE_KIND = """CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain'
    WHEN 'c' THEN 'composite' WHEN 'r' THEN 'range' ELSE 'base' END"""

_SCHEMAS = f"""
SELECT {_meta("n.oid", "n.oid", name="n.nspname")},
       {_privileges("n.nspacl", "'n'", "n.nspowner")},
       dsc.description AS "comment"
FROM pg_namespace n
{_described("pg_namespace", "n.oid")}
WHERE {_schema_filter("n")} AND {_selected("pg_namespace", "n.oid")}
  AND {_not_member("pg_namespace", "n.oid")}
"""

_EXTENSIONS = f"""
SELECT {_meta("x.oid", "x.oid", name="x.extname")},
       n.nspname AS "schema"
FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
WHERE {_schema_filter("n")} AND {_selected("pg_extension", "x.oid")}
"""

_RELATION_ACL_KIND = "CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END"

_RELATIONS = f"""
SELECT {_meta("c.oid", "c.oid", kind="c.relkind::text", schema="n.nspname", name="c.relname")},
       CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'permanent' END AS "persistence",
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS "partitioned by",
       ARRAY(SELECT i.inhparent::regclass::text FROM pg_inherits i
             WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS "inherits",
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END
           AS "partition bound",
       c.relrowsecurity AS "row security", c.relforcerowsecurity AS "force row security",
       CASE c.relreplident WHEN 'd' THEN 'default' WHEN 'n' THEN 'nothing'
           WHEN 'f' THEN 'full' ELSE 'index' END AS "replica identity",
       am.amname AS "access method",
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS "definition",
       ARRAY(SELECT o FROM unnest(c.reloptions) o ORDER BY 1) AS "options",
       format_type(s.seqtypid, NULL) AS "type", s.seqstart AS "start",
       s.seqincrement AS "increment", s.seqmin AS "min", s.seqmax AS "max",
       s.seqcache AS "cache", s.seqcycle AS "cycle",
       (SELECT o.refobjid::regclass::text || '.' || quote_ident(a.attname)
        FROM pg_depend o JOIN pg_attribute a ON a.attrelid = o.refobjid
            AND a.attnum = o.refobjsubid
        WHERE c.relkind = 'S' AND o.classid = 'pg_class'::regclass AND o.objid = c.oid
          AND o.refclassid = 'pg_class'::regclass AND o.deptype = 'a') AS "owned by",
       fs.srvname AS "server",
       ARRAY(SELECT o FROM unnest(ft.ftoptions) o ORDER BY 1) AS "server options",
       {_privileges("c.relacl", _RELATION_ACL_KIND, "c.relowner")},
       dsc.description AS "comment"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_am am ON am.oid = c.relam AND c.relkind IN ('r', 'm')
LEFT JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
LEFT JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
{_described("pg_class", "c.oid")}
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND {_schema_filter("n")}
  AND {_selected("pg_class", "c.oid")} AND {_not_member("pg_class", "c.oid")}
  AND NOT (c.relkind = 'S' AND EXISTS (
      SELECT FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid
      AND o.refclassid = 'pg_class'::regclass AND {_implicit("o")}))
"""

_SEQUENCE_TEXT = """format_type(s.seqtypid, NULL) || ' start ' || s.seqstart
    || ' increment ' || s.seqincrement || ' min ' || s.seqmin || ' max ' || s.seqmax
    || ' cache ' || s.seqcache || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END"""

_COLUMNS = f"""
WITH owned AS (
    SELECT o.refobjid AS relid, o.refobjsubid AS attnum,
           string_agg({_SEQUENCE_TEXT}, '; ') AS sequence
    FROM pg_depend o JOIN pg_sequence s ON s.seqrelid = o.objid
    WHERE o.classid = 'pg_class'::regclass AND o.refclassid = 'pg_class'::regclass
      AND {_implicit("o")} AND {_selected("pg_class", "o.refobjid")}
    GROUP BY 1, 2
)
SELECT {_meta("a.attnum", "c.oid", schema="n.nspname", table="c.relname", name="a.attname")},
       row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)::int AS "position",
       format_type(a.atttypid, a.atttypmod) AS "type", a.attnotnull AS "not null",
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS "default",
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END AS "identity",
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid)
           || CASE a.attgenerated WHEN 's' THEN ' stored' ELSE ' virtual' END END AS "generated",
       CASE WHEN a.attcollation <> t.typcollation THEN
           CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
       END AS "collation",
       ow.sequence AS "sequence",
       CASE WHEN a.attacl IS NULL THEN '{{}}'::text[] ELSE ARRAY(
           SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END
                  || ':' || g.privilege_type
                  || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
           FROM aclexplode(a.attacl) g ORDER BY 1) END AS "grants",
       dsc.description AS "comment"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN owned ow ON ow.relid = a.attrelid AND ow.attnum = a.attnum
{_described("pg_class", "c.oid", "a.attnum")}
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f')
  AND {_schema_filter("n")} AND {_selected("pg_class", "c.oid")}
  AND {_not_member("pg_class", "c.oid")}
"""

_CONSTRAINTS = f"""
SELECT {_meta("k.oid", "c.oid", schema="n.nspname", table="c.relname", name="k.conname")},
       pg_get_constraintdef(k.oid) AS "definition",
       dsc.description AS "comment"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_constraint k ON k.conrelid = c.oid
{_described("pg_constraint", "k.oid")}
WHERE k.contype <> 'n' AND k.conislocal AND k.conparentid = 0
  AND {_schema_filter("n")} AND {_selected("pg_class", "c.oid")}
  AND {_not_member("pg_class", "c.oid")}
"""

_INDEXES = f"""
SELECT {_meta("i.indexrelid", "c.oid", schema="n.nspname", table="c.relname", name="ic.relname")},
       pg_get_indexdef(i.indexrelid) AS "definition",
       i.indisvalid AS "valid", dsc.description AS "comment"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_index i ON i.indrelid = c.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
{_described("pg_class", "i.indexrelid")}
WHERE NOT ic.relispartition AND c.relkind IN ('r', 'p', 'm', 'f')
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
      AND d.objid = i.indexrelid AND d.refclassid = 'pg_constraint'::regclass
      AND d.deptype = 'i')
  AND {_schema_filter("n")} AND {_selected("pg_class", "c.oid")}
  AND {_not_member("pg_class", "c.oid")}
"""

_TRIGGERS = """
SELECT {meta},
       pg_get_triggerdef(g.oid) AS "definition",
       CASE g.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica'
           WHEN 'A' THEN 'always' ELSE 'enabled' END AS "state",
       dsc.description AS "comment"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_trigger g ON g.tgrelid = c.oid
{described}
WHERE NOT g.tgisinternal {clones} AND {schema_filter} AND {selected} AND {not_member}
"""

_POLICIES = f"""
SELECT {_meta("p.oid", "c.oid", schema="n.nspname", table="c.relname", name="p.polname")},
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
           WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS "command",
       p.polpermissive AS "permissive",
       ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
             FROM unnest(p.polroles) r ORDER BY 1) AS "roles",
       pg_get_expr(p.polqual, p.polrelid) AS "using",
       pg_get_expr(p.polwithcheck, p.polrelid) AS "with check",
       dsc.description AS "comment"
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_policy p ON p.polrelid = c.oid
{_described("pg_policy", "p.oid")}
WHERE {_schema_filter("n")} AND {_selected("pg_class", "c.oid")}
  AND {_not_member("pg_class", "c.oid")}
"""

_TYPES = f"""
SELECT {_meta("t.oid", "t.oid", kind=_TYPE_KIND, schema="n.nspname", name="t.typname")},
       {_TYPE_KIND} AS "kind",
       CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e
           WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS "labels",
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END
           AS "base type",
       t.typnotnull AS "not null",
       CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END AS "default",
       CASE WHEN t.typtype = 'd' THEN ARRAY(
           SELECT quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid)
           FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype <> 'n' ORDER BY 1)
       END AS "constraints",
       CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN
           CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
       END AS "collation",
       CASE WHEN t.typtype = 'c' THEN ARRAY(
           SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
           FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
             AND NOT a.attisdropped ORDER BY a.attnum)
       END AS "attributes",
       format_type(r.rngsubtype, NULL) AS "subtype",
       {_privileges("t.typacl", "'T'", "t.typowner")},
       dsc.description AS "comment"
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_class rc ON rc.oid = t.typrelid
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_range r ON r.rngtypid = t.oid
{_described("pg_type", "t.oid")}
WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r') AND (t.typrelid = 0 OR rc.relkind = 'c')
  AND NOT EXISTS (SELECT FROM pg_type a WHERE a.typarray = t.oid)
  AND {_schema_filter("n")} AND {_selected("pg_type", "t.oid")}
  AND {_not_member("pg_type", "t.oid")}
"""

_FUNCTIONS = """
SELECT {meta},
       CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
           WHEN 'w' THEN 'window' ELSE 'function' END AS "kind",
       pg_get_function_arguments(p.oid) AS "arguments",
       pg_get_function_result(p.oid) AS "returns",
       l.lanname AS "language",
       CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable'
           ELSE 'volatile' END AS "volatility",
       p.proisstrict AS "strict", p.prosecdef AS "security definer",
       p.proleakproof AS "leakproof",
       CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted'
           ELSE 'unsafe' END AS "parallel",
       p.procost::text AS "cost", p.prorows::text AS "rows",
       ARRAY(SELECT o FROM unnest(p.proconfig) o ORDER BY 1) AS "settings",
       {body} AS "body", {sql_body} AS "sql body", p.probin AS "library",
       CASE WHEN p.prokind = 'a' THEN 'sfunc=' || g.aggtransfn::regproc::text
           || ' stype=' || format_type(g.aggtranstype, NULL)
           || coalesce(' finalfunc=' || nullif(g.aggfinalfn, 0)::regproc::text, '')
           || coalesce(' initcond=' || g.agginitval, '') END AS "aggregate",
       {privileges},
       dsc.description AS "comment"
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_aggregate g ON g.aggfnoid = p.oid
{described}
WHERE {schema_filter} AND {selected} AND {not_member}
  -- not the constructors of a range type: they belong to it
  AND NOT EXISTS (SELECT FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass
      AND i.objid = p.oid AND i.deptype = 'i')
"""


# --- from rows to states -----------------------------------------------------------------

#: Every query's first columns, in this order; the others are the object's attributes.
_META = ("_oid", "_scope", "_kind", "_schema", "_table", "_name", "_args")
_RELATION_KINDS = {
    "r": ObjectKind.TABLE,
    "p": ObjectKind.TABLE,
    "f": ObjectKind.TABLE,
    "v": ObjectKind.VIEW,
    "m": ObjectKind.MATVIEW,
    "S": ObjectKind.SEQUENCE,
}
_PRIVILEGES = ("owner", "grants", "revoked", "comment")
_TABLE_ATTRS = (
    "persistence",
    "partitioned by",
    "inherits",
    "partition bound",
    "row security",
    "force row security",
    "replica identity",
    "access method",
    "options",
    *_PRIVILEGES,
)
#: The attributes of each kind of relation or type (a query reads the union of them).
_ATTRS_OF = {
    "r": _TABLE_ATTRS,
    "p": _TABLE_ATTRS,
    "f": (*_TABLE_ATTRS, "server", "server options"),
    "v": ("definition", "options", *_PRIVILEGES),
    "m": ("definition", "options", "access method", *_PRIVILEGES),
    "S": (
        *("type", "start", "increment", "min", "max", "cache", "cycle", "owned by"),
        *_PRIVILEGES,
    ),
    "enum": ("kind", "labels", *_PRIVILEGES),
    "domain": (
        "kind",
        "base type",
        "not null",
        "default",
        "constraints",
        "collation",
        *_PRIVILEGES,
    ),
    "composite": ("kind", "attributes", *_PRIVILEGES),
    "range": ("kind", "subtype", *_PRIVILEGES),
    "base": ("kind", *_PRIVILEGES),
}


@dataclass(frozen=True)
class _Query:
    """One catalog query and how its rows become states.

    Attributes:
        statement: The query; its first columns are those of ``_META``.
        kind: The kind of its objects; ``None`` when ``_kind`` says (a relkind).
        scope: The catalog of ``_scope``: re-reading that row re-reads the object.
        own: The catalog of ``_oid``, the object's own row (``None`` for columns).
    """

    statement: _Prepared
    kind: ObjectKind | None
    scope: str
    own: str | None

    def read_into(
        self,
        names: list[str],
        rows: list[tuple[Any, ...]],
        version: int,
        states: dict[str, ObjectState],
        origins: dict[str, _Origin],
    ) -> None:
        """Turn the query's rows into states (and where they come from), keyed by ref key."""
        start = len(_META)
        attr_names = names[start:]
        lists = [(index, name) for index, name in enumerate(attr_names) if name in _LIST_ATTRS]
        for row in rows:
            oid, scope, subkind, schema, table, name, args = row[:start]
            attrs: dict[str, AttrValue] = dict(zip(attr_names, row[start:], strict=True))
            for index, key in lists:
                if row[start + index] is not None:
                    attrs[key] = tuple(row[start + index])
            kind = self.kind or _RELATION_KINDS[subkind]
            if subkind in _ATTRS_OF:
                attrs = {key: attrs[key] for key in _ATTRS_OF[subkind]}
            if kind is ObjectKind.VIEW or kind is ObjectKind.MATVIEW:
                definition = str(attrs["definition"])
                if version < 160000:
                    definition = _unqualified(definition)
                attrs["definition"] = squeeze(definition)
            elif kind is ObjectKind.FUNCTION:
                # A SQL-standard body is PostgreSQL's own rendering: its layout means nothing.
                standard = attrs.pop("sql body")
                if isinstance(standard, str):
                    attrs["body"] = squeeze(standard)
                elif isinstance(attrs["body"], str):
                    attrs["body"] = _body(attrs["body"])
            ref = ObjectRef(kind, schema, name, table, args)
            key = ref.key
            states[key] = ObjectState(ref, attrs)
            own = None if self.own is None else ObjectId(self.own, oid)
            origins[key] = _Origin(ObjectId(self.scope, scope), own)


#: Attributes whose values are lists.
_LIST_ATTRS = frozenset(
    {
        "grants",
        "revoked",
        "options",
        "server options",
        "inherits",
        "labels",
        "constraints",
        "attributes",
        "roles",
        "settings",
    }
)


def squeeze(text: str) -> str:
    """SQL text with every run of whitespace outside quotes made one space, and trimmed.

    PostgreSQL versions indent what they print (views, function bodies) differently; the
    meaning never depends on it.
    """
    out: list[str] = []
    quote = ""
    space = False
    for char in text.strip():
        if quote:
            out.append(char)
            if char == quote:
                quote = ""
        elif char.isspace():
            space = True
        else:
            if space and out:
                out.append(" ")
            space = False
            out.append(char)
            if char in "'\"":
                quote = char
    return "".join(out)


def _body(text: str) -> str:
    """A function body as written, without the blank lines and spaces around it."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def _unqualified(definition: str) -> str:
    """A view's definition as PostgreSQL 16 and later print it.

    Up to 15, a view's query had two hidden relations (OLD and NEW), so PostgreSQL printed
    every column qualified (``orders.total``); since 16 it leaves out the qualifier when the
    view's own query reads one relation only. Remove it here as 16 would.
    """
    try:
        statements = parse_sql(definition)
    except ParseError:
        return definition
    if len(statements) != 1:
        return definition
    statement = statements[0].stmt
    if statement is None:
        return definition
    finder = _TopLevelColumns()
    finder(statement)
    if not finder.locations:
        return definition
    out: list[str] = []
    start = 0
    for location, qualifier in sorted(finder.locations):
        for printed in (qualifier, '"' + qualifier.replace('"', '""') + '"'):
            if definition.startswith(printed + ".", location):
                out.append(definition[start:location])
                start = location + len(printed) + 1
                break
    out.append(definition[start:])
    return "".join(out)


class _TopLevelColumns(Visitor):
    """Finds ``relation.column`` references of a query that reads one relation only.

    Subqueries are left alone: PostgreSQL qualifies their columns in every version.
    """

    def __init__(self) -> None:
        self.locations: list[tuple[int, str]] = []
        self.relation: str | None = None

    def visit_SelectStmt(self, ancestors: Ancestor, node: SelectStmt) -> type[Action] | None:
        if node is not self.root:
            return Skip
        sources: tuple[Any, ...] = node.fromClause or ()
        if node.op != SetOperation.SETOP_NONE or len(sources) != 1:
            return Skip
        source = sources[0]
        if isinstance(source, RangeVar | RangeSubselect | RangeFunction) and source.alias:
            self.relation = source.alias.aliasname
        elif isinstance(source, RangeVar):
            self.relation = source.relname
        else:
            return Skip
        return None

    def visit_RangeSubselect(self, ancestors: Ancestor, node: RangeSubselect) -> type[Action]:
        return Skip

    def visit_CommonTableExpr(self, ancestors: Ancestor, node: CommonTableExpr) -> type[Action]:
        return Skip

    def visit_SubLink(self, ancestors: Ancestor, node: SubLink) -> type[Action]:
        return Skip

    def visit_ColumnRef(self, ancestors: Ancestor, node: ColumnRef) -> None:
        fields = node.fields or ()
        if len(fields) != 2 or node.location is None:
            return
        qualifier = fields[0]
        if (
            isinstance(qualifier, String)
            and qualifier.sval is not None
            and qualifier.sval == self.relation
        ):
            self.locations.append((node.location, qualifier.sval))


#: The parameters of every catalog query, in the order of their prepared statements.
_PARAMS = ("schemas", "excluded", *_SCOPE_CATALOGS)


@cache
def _queries(version: int, partial: bool) -> list[_Query]:
    """The catalog queries of a full or partial read on a server version."""
    triggers = _TRIGGERS.format(
        meta=_meta("g.oid", "c.oid", schema="n.nspname", table="c.relname", name="g.tgname"),
        described=_described("pg_trigger", "g.oid"),
        clones="AND g.tgparentid = 0" if version >= 130000 else "",
        schema_filter=_schema_filter("n"),
        selected=_selected("pg_class", "c.oid"),
        not_member=_not_member("pg_class", "c.oid"),
    )
    body, sql_body = "p.prosrc", "NULL::text"
    if version >= 140000:
        body = "CASE WHEN p.prosqlbody IS NULL THEN p.prosrc END"
        sql_body = "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END"
    functions = _FUNCTIONS.format(
        meta=_meta(
            "p.oid",
            "p.oid",
            schema="n.nspname",
            name="p.proname",
            args="oidvectortypes(p.proargtypes)",
        ),
        body=body,
        sql_body=sql_body,
        privileges=_privileges("p.proacl", "'f'", "p.proowner"),
        described=_described("pg_proc", "p.oid"),
        schema_filter=_schema_filter("n"),
        selected=_selected("pg_proc", "p.oid"),
        not_member=_not_member("pg_proc", "p.oid"),
    )

    def query(sql: str, kind: ObjectKind | None, scope: str, own: str | None) -> _Query:
        return _Query(_Prepared(_finish(sql, partial), _PARAMS), kind, scope, own)

    return [
        query(_SCHEMAS, ObjectKind.SCHEMA, "pg_namespace", "pg_namespace"),
        query(_EXTENSIONS, ObjectKind.EXTENSION, "pg_extension", "pg_extension"),
        query(_RELATIONS, None, "pg_class", "pg_class"),
        query(_COLUMNS, ObjectKind.COLUMN, "pg_class", None),
        query(_CONSTRAINTS, ObjectKind.CONSTRAINT, "pg_class", "pg_constraint"),
        query(_INDEXES, ObjectKind.INDEX, "pg_class", "pg_class"),
        query(triggers, ObjectKind.TRIGGER, "pg_class", "pg_trigger"),
        query(_POLICIES, ObjectKind.POLICY, "pg_class", "pg_policy"),
        query(_TYPES, ObjectKind.TYPE, "pg_type", "pg_type"),
        query(functions, ObjectKind.FUNCTION, "pg_proc", "pg_proc"),
    ]
