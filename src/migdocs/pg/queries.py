"""The catalog queries behind a snapshot: their SQL, and what each column of their rows means.

Every query returns rows that start with the columns of [META][migdocs.pg.queries.META] —
the object's key, the catalog rows it comes from, its [Layout][migdocs.pg.queries.Layout]
and its name — followed by its attributes. The server does the work: names, keys and
normalised definitions come out ready, empty lists as NULL, so a row is kept as it arrives
and becomes an object only when someone looks at it.

A full read and a partial one (``only=``) are two texts of each query, so that each gets the
plan it needs: scans of whole catalogs and hash joins for everything, index scans for a
handful of oids.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from migdocs.objects import ObjectKind

#: The first columns of every row: the object's key (``ObjectRef.key``); the oid of the row
#: whose re-reading re-reads it (a column's table); the oid of its own row (none for a
#: column); its layout (an index into ``LAYOUTS``); then its schema, table, name and
#: arguments, as ``ObjectRef`` takes them.
META = ("_key", "_scope", "_own", "_layout", "_schema", "_table", "_name", "_args")

#: The catalogs whose rows are scopes: re-reading one re-reads every state it holds.
SCOPE_CATALOGS = ("pg_namespace", "pg_extension", "pg_class", "pg_type", "pg_proc")

#: The parameters of every catalog query, in the order of their prepared statements.
PARAMS = ("schemas", "excluded", *SCOPE_CATALOGS)

#: Attributes whose values are lists (a NULL in a row is an empty list).
LIST_ATTRS = frozenset(
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


@dataclass(frozen=True, slots=True)
class Layout:
    """How the rows of one kind of object read.

    Attributes:
        kind: The objects' kind.
        scope: The catalog of ``_scope``.
        own: The catalog of ``_own`` (``None`` for columns, which have no row of their own).
        attrs: Each attribute and its column in the row, in the order a state lists them.
        lists: Those of ``attrs`` whose values are lists.
        finish: What is left to normalise in Python: ``view``, ``view15`` (a view read
            from a server before 16), ``function``, or ``None``.
        sql_body: For functions, the column of a SQL-standard body.
    """

    kind: ObjectKind
    scope: str
    own: str | None
    attrs: tuple[tuple[str, int], ...]
    lists: tuple[str, ...]
    finish: str | None = None
    sql_body: int = 0


#: Every layout; a row's ``_layout`` is its index here.
LAYOUTS: list[Layout] = []


def _layout(
    kind: ObjectKind,
    scope: str,
    own: str | None,
    columns: tuple[str, ...],
    attrs: tuple[str, ...] | None = None,
    finish: str | None = None,
) -> int:
    """Register the layout of rows whose attribute columns are ``columns`` (a state has
    ``attrs`` of them, default all but a SQL-standard body); return its index."""
    position = {name: len(META) + index for index, name in enumerate(columns)}
    names = attrs if attrs is not None else tuple(c for c in columns if c != "sql body")
    LAYOUTS.append(
        Layout(
            kind,
            scope,
            own,
            tuple((name, position[name]) for name in names),
            tuple(name for name in names if name in LIST_ATTRS),
            finish,
            position.get("sql body", 0),
        )
    )
    return len(LAYOUTS) - 1


# --- the columns of each query, and the layouts of its rows ---------------------------------

_PRIVILEGES = ("owner", "grants", "revoked", "comment")

_SCHEMA_COLUMNS = ("grants", "revoked", "owner", "comment")
_EXTENSION_COLUMNS = ("schema",)
_RELATION_COLUMNS = (
    *("persistence", "partitioned by", "inherits", "partition bound", "row security"),
    *("force row security", "replica identity", "access method", "definition", "options"),
    *("type", "start", "increment", "min", "max", "cache", "cycle", "owned by"),
    *("server", "server options", "grants", "revoked", "owner", "comment"),
)
_COLUMN_COLUMNS = (
    *("position", "type", "not null", "default", "identity", "generated", "collation"),
    *("sequence", "grants", "comment"),
)
_CONSTRAINT_COLUMNS = ("definition", "comment")
_INDEX_COLUMNS = ("definition", "valid", "comment")
_TRIGGER_COLUMNS = ("definition", "state", "comment")
_POLICY_COLUMNS = ("command", "permissive", "roles", "using", "with check", "comment")
_TYPE_COLUMNS = (
    *("kind", "labels", "base type", "not null", "default", "constraints", "collation"),
    *("attributes", "subtype", "grants", "revoked", "owner", "comment"),
)
_FUNCTION_COLUMNS = (
    *("kind", "arguments", "returns", "language", "volatility", "strict"),
    *("security definer", "leakproof", "parallel", "cost", "rows", "settings", "body"),
    *("sql body", "library", "aggregate", "grants", "revoked", "owner", "comment"),
)

_TABLE_ATTRS = (
    *("persistence", "partitioned by", "inherits", "partition bound", "row security"),
    *("force row security", "replica identity", "access method", "options", *_PRIVILEGES),
)
_SEQUENCE_ATTRS = ("type", "start", "increment", "min", "max", "cache", "cycle", "owned by")


def _relation(kind: ObjectKind, attrs: tuple[str, ...], finish: str | None = None) -> int:
    return _layout(kind, "pg_class", "pg_class", _RELATION_COLUMNS, attrs, finish)


def _type(attrs: tuple[str, ...]) -> int:
    return _layout(ObjectKind.TYPE, "pg_type", "pg_type", _TYPE_COLUMNS, attrs)


_SCHEMA = _layout(ObjectKind.SCHEMA, "pg_namespace", "pg_namespace", _SCHEMA_COLUMNS)
_EXTENSION = _layout(ObjectKind.EXTENSION, "pg_extension", "pg_extension", _EXTENSION_COLUMNS)
_VIEW_ATTRS = ("definition", "options", *_PRIVILEGES)
_MATVIEW_ATTRS = ("definition", "options", "access method", *_PRIVILEGES)
#: The layout of each relkind's rows; views of a server before 16 have their own.
_RELATIONS = {
    "r": _relation(ObjectKind.TABLE, _TABLE_ATTRS),
    "p": _relation(ObjectKind.TABLE, _TABLE_ATTRS),
    "f": _relation(ObjectKind.TABLE, (*_TABLE_ATTRS, "server", "server options")),
    "v": _relation(ObjectKind.VIEW, _VIEW_ATTRS, "view"),
    "m": _relation(ObjectKind.MATVIEW, _MATVIEW_ATTRS, "view"),
    "S": _relation(ObjectKind.SEQUENCE, (*_SEQUENCE_ATTRS, *_PRIVILEGES)),
}
_RELATIONS_15 = {
    **_RELATIONS,
    "v": _relation(ObjectKind.VIEW, _VIEW_ATTRS, "view15"),
    "m": _relation(ObjectKind.MATVIEW, _MATVIEW_ATTRS, "view15"),
}
_COLUMN = _layout(ObjectKind.COLUMN, "pg_class", None, _COLUMN_COLUMNS)
_CONSTRAINT = _layout(ObjectKind.CONSTRAINT, "pg_class", "pg_constraint", _CONSTRAINT_COLUMNS)
_INDEX = _layout(ObjectKind.INDEX, "pg_class", "pg_class", _INDEX_COLUMNS)
_TRIGGER = _layout(ObjectKind.TRIGGER, "pg_class", "pg_trigger", _TRIGGER_COLUMNS)
_POLICY = _layout(ObjectKind.POLICY, "pg_class", "pg_policy", _POLICY_COLUMNS)
#: The layout of each kind of type's rows, by ``typtype``.
_TYPES = {
    "e": _type(("kind", "labels", *_PRIVILEGES)),
    "d": _type(
        ("kind", "base type", "not null", "default", "constraints", "collation", *_PRIVILEGES)
    ),
    "c": _type(("kind", "attributes", *_PRIVILEGES)),
    "r": _type(("kind", "subtype", *_PRIVILEGES)),
    "b": _type(("kind", *_PRIVILEGES)),
}
_FUNCTION = _layout(ObjectKind.FUNCTION, "pg_proc", "pg_proc", _FUNCTION_COLUMNS, finish="function")


# --- SQL ------------------------------------------------------------------------------------


class _Sql:
    """The parts of the queries that differ between a full read and a partial one."""

    def __init__(self, version: int, partial: bool) -> None:
        self.version = version
        self.partial = partial

    def selected(self, catalog: str, oid: str) -> str:
        """The rows a partial read re-reads (``oid`` among the scopes of ``catalog``)."""
        return f"{oid} = ANY (%({catalog})s::oid[])" if self.partial else "true"

    def not_member(self, catalog: str, oid: str) -> str:
        """Not an object of an extension (those belong to the extension)."""
        return not_member(catalog, oid)

    def not_constraint_index(self, oid: str) -> str:
        """Not the index of a primary key, unique or exclusion constraint (it is the
        constraint's): a hash of them all for a full read, an index probe each for a few."""
        if self.partial:
            return f"""NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                AND d.objid = {oid} AND d.refclassid = 'pg_constraint'::regclass
                AND d.deptype = 'i')"""
        return f"""{oid} NOT IN (SELECT d.objid FROM pg_depend d
            WHERE d.refclassid = 'pg_constraint'::regclass AND d.classid = 'pg_class'::regclass
              AND d.deptype = 'i')"""

    def owned_sequences(self) -> str:
        """The sequences that belong to a column, as ``o`` (seq, relid, attnum): an
        identity's, or a serial's whose column default still takes from it."""
        if self.partial:
            return f"""(SELECT o.objid AS seq, o.refobjid AS relid, o.refobjsubid AS attnum
            FROM pg_depend o WHERE o.classid = 'pg_class'::regclass
              AND o.refclassid = 'pg_class'::regclass AND {implicit("o")}
              AND {self.selected("pg_class", "o.refobjid")}) o"""
        # From each default to the sequence it takes from, when the default's column owns
        # it: joins the planner may hash, not three index probes per sequence.
        return """(SELECT o.objid AS seq, o.refobjid AS relid, o.refobjsubid AS attnum
            FROM pg_depend o WHERE o.classid = 'pg_class'::regclass
              AND o.refclassid = 'pg_class'::regclass AND o.refobjsubid > 0
              AND o.deptype = 'i'
            UNION ALL
            SELECT o.objid, o.refobjid, o.refobjsubid
            FROM pg_attrdef ad
            JOIN pg_depend dd ON dd.classid = 'pg_attrdef'::regclass AND dd.objid = ad.oid
                AND dd.refclassid = 'pg_class'::regclass
                AND dd.refobjsubid = 0  -- a whole relation: not the default's own column
            JOIN pg_depend o ON o.classid = 'pg_class'::regclass AND o.objid = dd.refobjid
                AND o.refclassid = 'pg_class'::regclass AND o.refobjid = ad.adrelid
                AND o.refobjsubid = ad.adnum AND o.deptype = 'a') o"""

    def not_owned_sequence(self) -> tuple[str, str]:
        """The join and the condition that leave out the sequences of ``owned_sequences``
        from the relations ``c``."""
        if self.partial:
            return (
                "",
                f"""NOT (c.relkind = 'S' AND EXISTS (
      SELECT FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid
      AND o.refclassid = 'pg_class'::regclass AND {implicit("o")}))""",
            )
        join = (
            f"LEFT JOIN (SELECT DISTINCT o.seq FROM {self.owned_sequences()}) os ON os.seq = c.oid"
        )
        return join, "os.seq IS NULL"

    def relations(self, kinds: str) -> str:
        """The relations of these relkinds that a read covers, as ``c`` with its schema
        ``n``: filtered once per relation (the conditions are the join's), before their
        parts are joined."""
        return f"""pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        AND c.relkind IN ({kinds}) AND {schema_filter("n")}
        AND {self.selected("pg_class", "c.oid")} AND {self.not_member("pg_class", "c.oid")}"""


def not_member(catalog: str, oid: str) -> str:
    """Not an object of an extension. The reference index finds the members by extension
    (a few rows): the planner hashes them, and knows that almost every object passes."""
    return f"""NOT EXISTS (SELECT FROM pg_depend e
            WHERE e.refclassid = 'pg_extension'::regclass AND e.classid = '{catalog}'::regclass
              AND e.objid = {oid} AND e.deptype = 'e')"""


def implicit(owned: str) -> str:
    """Whether the sequence of ``owned`` (a pg_depend row, sequence to column) belongs to the
    column: an identity's, or a serial's whose column default still takes from it (with
    index probes: for a handful of sequences)."""
    return f"""{owned}.refobjsubid > 0 AND ({owned}.deptype = 'i' OR ({owned}.deptype = 'a'
        AND EXISTS (SELECT FROM pg_depend dd
            WHERE dd.refclassid = 'pg_class'::regclass AND dd.refobjid = {owned}.objid
              -- Not a condition pg_depend's depender index can use: the reference index,
              -- on the sequence, finds the one row; the other would scan every default.
              AND (dd.classid = 'pg_attrdef'::regclass) IS TRUE
              AND EXISTS (SELECT FROM pg_attrdef ad WHERE ad.oid = dd.objid
                  AND ad.adrelid = {owned}.refobjid AND ad.adnum = {owned}.refobjsubid))))"""


def schema_filter(alias: str) -> str:
    """The schemas a read covers: not the system's, not excluded, among ``schemas`` if given."""
    return f"""{alias}.nspname NOT LIKE 'pg\\_%%' AND {alias}.nspname <> 'information_schema'
    AND {alias}.nspname <> ALL (%(excluded)s::text[])
    AND (%(schemas)s::text[] IS NULL OR {alias}.nspname = ANY (%(schemas)s::text[]))"""


def _described(catalog: str, oid: str, sub: str = "0") -> str:
    """The join that brings an object's comment as ``dsc.description``."""
    return f"""LEFT JOIN pg_description dsc ON dsc.classoid = '{catalog}'::regclass
    AND dsc.objoid = {oid} AND dsc.objsubid = {sub}"""


def _list(array: str) -> str:
    """An array, NULL when empty: an empty array costs the client more than a NULL."""
    return f"NULLIF({array}, '{{}}'::text[])"


def _acl_items(items: str) -> str:
    """The text of each ACL item of ``items`` (rows of ``aclexplode``), sorted."""
    return f"""ARRAY(
        SELECT CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(g.grantee)::text END
               || ':' || g.privilege_type
               || CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
        FROM {items} g ORDER BY 1)"""


def _grants(acl: str, have: str, lack: str) -> str:
    """What ``have`` grants beyond ``lack`` (nothing when ``acl`` is NULL: the defaults)."""
    items = f"""(SELECT grantee, privilege_type, is_grantable FROM aclexplode({have})
              EXCEPT SELECT grantee, privilege_type, is_grantable FROM aclexplode({lack}))"""
    return f"CASE WHEN {acl} IS NOT NULL THEN {_list(_acl_items(items))} END"


def _privileges(acl: str, kind: str, owner: str) -> dict[str, str]:
    """``grants`` (beyond the default privileges), ``revoked`` (defaults taken away), ``owner``."""
    default = f'acldefault(({kind})::"char", {owner})'
    return {
        "grants": _grants(acl, acl, default),
        "revoked": _grants(acl, default, acl),
        "owner": f"pg_get_userbyid({owner})::text",
    }


def _meta(
    key: str,
    scope: str,
    own: str,
    layout: str,
    *,
    schema: str = "NULL::name",
    table: str = "NULL::name",
    name: str,
    args: str = "NULL::text",
) -> str:
    """The first columns of every query: see ``META``."""
    return (
        f"{key} AS _key, {scope} AS _scope, {own} AS _own, {layout} AS _layout, "
        f"{schema} AS _schema, {table} AS _table, {name} AS _name, {args} AS _args"
    )


def _select(meta: str, names: tuple[str, ...], columns: dict[str, str]) -> str:
    """``SELECT`` of the meta columns, then ``columns`` in the layout's order of ``names``."""
    return "SELECT " + ",\n       ".join(
        [meta, *(f'{columns[name]} AS "{name}"' for name in names)]
    )


def _case(expression: str, layouts: dict[str, int]) -> str:
    """The layout of a row, by the value of ``expression`` (a relkind, a typtype)."""
    whens = " ".join(f"WHEN '{value}' THEN {layout}" for value, layout in layouts.items())
    return f"CASE {expression} {whens} END"


def _key(kind: str, *parts: str) -> str:
    return f"'{kind}:' || " + " || '.' || ".join(parts)


def _on_relation(
    kind: str,
    name: str,
    own: str,
    layout: int,
    *,
    key: tuple[str, ...] = ("n.nspname", "c.relname"),
) -> str:
    """The meta columns of an object on a relation ``c`` of the schema ``n`` (a column, a
    constraint, an index…), which a read of the relation re-reads: its key is ``key``'s
    parts, then its ``name``."""
    return _meta(
        _key(kind, *key, name),
        "c.oid",
        own,
        str(layout),
        schema="n.nspname",
        table="c.relname",
        name=name,
    )


def _schemas(sql: _Sql) -> str:
    columns = {
        **_privileges("n.nspacl", "'n'", "n.nspowner"),
        "comment": "dsc.description",
    }
    meta = _meta(_key("schema", "n.nspname"), "n.oid", "n.oid", str(_SCHEMA), name="n.nspname")
    return f"""{_select(meta, _SCHEMA_COLUMNS, columns)}
FROM pg_namespace n
{_described("pg_namespace", "n.oid")}
WHERE {schema_filter("n")} AND {sql.selected("pg_namespace", "n.oid")}
  AND {sql.not_member("pg_namespace", "n.oid")}
"""


def _extensions(sql: _Sql) -> str:
    meta = _meta(
        _key("extension", "x.extname"), "x.oid", "x.oid", str(_EXTENSION), name="x.extname"
    )
    return f"""{_select(meta, _EXTENSION_COLUMNS, {"schema": "n.nspname"})}
FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
WHERE x.extname <> 'plpgsql' AND ({schema_filter("n")} OR n.nspname = 'pg_catalog'
    AND %(schemas)s::text[] IS NULL) AND {sql.selected("pg_extension", "x.oid")}
"""


def _relations(sql: _Sql) -> str:
    layouts = _RELATIONS if sql.version >= 160000 else _RELATIONS_15
    kind = """CASE WHEN c.relkind IN ('r', 'p', 'f') THEN 'table' WHEN c.relkind = 'v' THEN 'view'
        WHEN c.relkind = 'm' THEN 'matview' ELSE 'sequence' END"""
    meta = _meta(
        f"{kind} || ':' || n.nspname || '.' || c.relname",
        "c.oid",
        "c.oid",
        _case("c.relkind", layouts),
        schema="n.nspname",
        name="c.relname",
    )
    acl_kind = "CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END"
    columns = {
        "persistence": "CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'permanent' END",
        "partitioned by": "CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END",
        "inherits": "inh.parents",
        "partition bound": "CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END",
        "row security": "c.relrowsecurity",
        "force row security": "c.relforcerowsecurity",
        "replica identity": """CASE c.relreplident WHEN 'd' THEN 'default' WHEN 'n' THEN 'nothing'
           WHEN 'f' THEN 'full' ELSE 'index' END""",
        "access method": "am.amname",
        "definition": "CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END",
        "options": "ARRAY(SELECT o FROM unnest(c.reloptions) o ORDER BY 1)",
        "type": "format_type(s.seqtypid, NULL)",
        "start": "s.seqstart",
        "increment": "s.seqincrement",
        "min": "s.seqmin",
        "max": "s.seqmax",
        "cache": "s.seqcache",
        "cycle": "s.seqcycle",
        "owned by": """CASE WHEN c.relkind = 'S' THEN (
           SELECT o.refobjid::regclass::text || '.' || quote_ident(a.attname)
           FROM pg_depend o JOIN pg_attribute a ON a.attrelid = o.refobjid
               AND a.attnum = o.refobjsubid
           WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid
             AND o.refclassid = 'pg_class'::regclass AND o.deptype = 'a') END""",
        "server": "fs.srvname",
        "server options": "ARRAY(SELECT o FROM unnest(ft.ftoptions) o ORDER BY 1)",
        **_privileges("c.relacl", acl_kind, "c.relowner"),
        "comment": "dsc.description",
    }
    for name in ("options", "server options"):
        columns[name] = _list(columns[name])
    owned_join, not_owned = sql.not_owned_sequence()
    return f"""{_select(meta, _RELATION_COLUMNS, columns)}
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_am am ON am.oid = c.relam AND c.relkind IN ('r', 'm')
LEFT JOIN pg_sequence s ON s.seqrelid = c.oid
LEFT JOIN pg_foreign_table ft ON ft.ftrelid = c.oid
LEFT JOIN pg_foreign_server fs ON fs.oid = ft.ftserver
LEFT JOIN (
    SELECT i.inhrelid, array_agg(i.inhparent::regclass::text ORDER BY i.inhseqno) AS parents
    FROM pg_inherits i WHERE {sql.selected("pg_class", "i.inhrelid")} GROUP BY 1
) inh ON inh.inhrelid = c.oid
{owned_join}
{_described("pg_class", "c.oid")}
WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S') AND {schema_filter("n")}
  AND {sql.selected("pg_class", "c.oid")} AND {sql.not_member("pg_class", "c.oid")}
  AND {not_owned}
"""


_SEQUENCE_TEXT = """format_type(s.seqtypid, NULL) || ' start ' || s.seqstart
    || ' increment ' || s.seqincrement || ' min ' || s.seqmin || ' max ' || s.seqmax
    || ' cache ' || s.seqcache || CASE WHEN s.seqcycle THEN ' cycle' ELSE '' END"""


def _columns(sql: _Sql) -> str:
    meta = _on_relation("column", "a.attname", "NULL::oid", _COLUMN)
    columns = {
        "position": "row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum)::int",
        "type": "format_type(a.atttypid, a.atttypmod)",
        "not null": "a.attnotnull",
        # A default names no column (PostgreSQL refuses it), so it is printed without its
        # table: opening every table to print its defaults costs more than the rest.
        "default": "CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, 0) END",
        "identity": "CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END",
        "generated": """CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid)
           || CASE a.attgenerated WHEN 's' THEN ' stored' ELSE ' virtual' END END""",
        "collation": """CASE WHEN a.attcollation <> t.typcollation THEN
           CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
       END""",
        "sequence": "ow.sequence",
        "grants": f"""CASE WHEN a.attacl IS NOT NULL THEN {
            _list(_acl_items("aclexplode(a.attacl)"))
        } END""",
        "comment": "dsc.description",
    }
    return f"""WITH owned AS (
    SELECT o.relid, o.attnum, string_agg({_SEQUENCE_TEXT}, '; ') AS sequence
    FROM {sql.owned_sequences()} JOIN pg_sequence s ON s.seqrelid = o.seq
    GROUP BY 1, 2
)
{_select(meta, _COLUMN_COLUMNS, columns)}
FROM {sql.relations("'r', 'p', 'f'")}
JOIN pg_attribute a ON a.attrelid = c.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN owned ow ON ow.relid = a.attrelid AND ow.attnum = a.attnum
{_described("pg_class", "c.oid", "a.attnum")}
WHERE a.attnum > 0 AND NOT a.attisdropped
"""


def _constraints(sql: _Sql) -> str:
    meta = _on_relation("constraint", "k.conname", "k.oid", _CONSTRAINT)
    columns = {"definition": "pg_get_constraintdef(k.oid)", "comment": "dsc.description"}
    # Only tables (plain, partitioned, foreign) have constraints of their own.
    return f"""{_select(meta, _CONSTRAINT_COLUMNS, columns)}
FROM {sql.relations("'r', 'p', 'f'")}
JOIN pg_constraint k ON k.conrelid = c.oid
{_described("pg_constraint", "k.oid")}
WHERE k.contype <> 'n' AND k.conislocal AND k.conparentid = 0
"""


def _indexes(sql: _Sql) -> str:
    # An index is named in its schema, as a table is: its key names no table.
    meta = _on_relation("index", "ic.relname", "i.indexrelid", _INDEX, key=("n.nspname",))
    columns = {
        "definition": "pg_get_indexdef(i.indexrelid)",
        "valid": "i.indisvalid",
        "comment": "dsc.description",
    }
    return f"""{_select(meta, _INDEX_COLUMNS, columns)}
FROM {sql.relations("'r', 'p', 'm', 'f'")}
JOIN pg_index i ON i.indrelid = c.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
{_described("pg_class", "i.indexrelid")}
WHERE NOT ic.relispartition
  AND {sql.not_constraint_index("i.indexrelid")}
"""


def _triggers(sql: _Sql) -> str:
    meta = _on_relation("trigger", "g.tgname", "g.oid", _TRIGGER)
    columns = {
        "definition": "pg_get_triggerdef(g.oid)",
        "state": """CASE g.tgenabled WHEN 'D' THEN 'disabled' WHEN 'R' THEN 'replica'
           WHEN 'A' THEN 'always' ELSE 'enabled' END""",
        "comment": "dsc.description",
    }
    clones = "AND g.tgparentid = 0" if sql.version >= 130000 else ""
    return f"""{_select(meta, _TRIGGER_COLUMNS, columns)}
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_trigger g ON g.tgrelid = c.oid
{_described("pg_trigger", "g.oid")}
WHERE NOT g.tgisinternal {clones} AND {schema_filter("n")}
  AND {sql.selected("pg_class", "c.oid")} AND {sql.not_member("pg_class", "c.oid")}
"""


def _policies(sql: _Sql) -> str:
    meta = _on_relation("policy", "p.polname", "p.oid", _POLICY)
    columns = {
        "command": """CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
           WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END""",
        "permissive": "p.polpermissive",
        "roles": _list("""ARRAY(
           SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END
           FROM unnest(p.polroles) r ORDER BY 1)"""),
        "using": "pg_get_expr(p.polqual, p.polrelid)",
        "with check": "pg_get_expr(p.polwithcheck, p.polrelid)",
        "comment": "dsc.description",
    }
    return f"""{_select(meta, _POLICY_COLUMNS, columns)}
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_policy p ON p.polrelid = c.oid
{_described("pg_policy", "p.oid")}
WHERE {schema_filter("n")} AND {sql.selected("pg_class", "c.oid")}
  AND {sql.not_member("pg_class", "c.oid")}
"""


def _types(sql: _Sql) -> str:
    kind = """CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain'
        WHEN 'c' THEN 'composite' WHEN 'r' THEN 'range' ELSE 'base' END"""
    meta = _meta(
        _key("type", "n.nspname", "t.typname"),
        "t.oid",
        "t.oid",
        _case("t.typtype", _TYPES),
        schema="n.nspname",
        name="t.typname",
    )
    columns = {
        "kind": kind,
        "labels": _list("""CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text
           FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END"""),
        "base type": "CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END",
        "not null": "t.typnotnull",
        "default": "CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END",
        "constraints": _list("""CASE WHEN t.typtype = 'd' THEN ARRAY(
           SELECT quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid)
           FROM pg_constraint k WHERE k.contypid = t.oid AND k.contype <> 'n' ORDER BY 1)
       END"""),
        "collation": """CASE WHEN t.typtype = 'd' AND t.typcollation <> bt.typcollation THEN
           CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
       END""",
        "attributes": _list("""CASE WHEN t.typtype = 'c' THEN ARRAY(
           SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
           FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
             AND NOT a.attisdropped ORDER BY a.attnum)
       END"""),
        "subtype": "format_type(r.rngsubtype, NULL)",
        **_privileges("t.typacl", "'T'", "t.typowner"),
        "comment": "dsc.description",
    }
    # A table's row type is the table's, and an array type its element's: the first by a
    # hash of the (few) standalone composite types' relations, the second by a hash of every
    # type's array (pg_type has no index on it).
    return f"""{_select(meta, _TYPE_COLUMNS, columns)}
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_range r ON r.rngtypid = t.oid
{_described("pg_type", "t.oid")}
WHERE t.typtype IN ('b', 'c', 'd', 'e', 'r')
  AND (t.typrelid = 0 OR t.typrelid IN (SELECT rc.oid FROM pg_class rc WHERE rc.relkind = 'c'))
  AND {schema_filter("n")} AND {sql.selected("pg_type", "t.oid")}
  AND NOT EXISTS (SELECT FROM pg_type a WHERE a.typarray = t.oid)
  AND {sql.not_member("pg_type", "t.oid")}
"""


def _functions(sql: _Sql) -> str:
    body, sql_body = "p.prosrc", "NULL::text"
    if sql.version >= 140000:
        body = "CASE WHEN p.prosqlbody IS NULL THEN p.prosrc END"
        sql_body = "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END"
    meta = _meta(
        "'function:' || n.nspname || '.' || p.proname || '(' || oidvectortypes(p.proargtypes)"
        " || ')'",
        "p.oid",
        "p.oid",
        str(_FUNCTION),
        schema="n.nspname",
        name="p.proname",
        args="oidvectortypes(p.proargtypes)",
    )
    columns = {
        "kind": """CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
           WHEN 'w' THEN 'window' ELSE 'function' END""",
        "arguments": "pg_get_function_arguments(p.oid)",
        "returns": "pg_get_function_result(p.oid)",
        "language": "l.lanname",
        "volatility": """CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable'
           ELSE 'volatile' END""",
        "strict": "p.proisstrict",
        "security definer": "p.prosecdef",
        "leakproof": "p.proleakproof",
        "parallel": """CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted'
           ELSE 'unsafe' END""",
        "cost": "p.procost::text",
        "rows": "p.prorows::text",
        "settings": _list("ARRAY(SELECT o FROM unnest(p.proconfig) o ORDER BY 1)"),
        "body": body,
        "sql body": sql_body,
        "library": "p.probin",
        "aggregate": """CASE WHEN p.prokind = 'a' THEN 'sfunc=' || g.aggtransfn::regproc::text
           || ' stype=' || format_type(g.aggtranstype, NULL)
           || coalesce(' finalfunc=' || nullif(g.aggfinalfn, 0)::regproc::text, '')
           || coalesce(' initcond=' || g.agginitval, '') END""",
        **_privileges("p.proacl", "'f'", "p.proowner"),
        "comment": "dsc.description",
    }
    return f"""{_select(meta, _FUNCTION_COLUMNS, columns)}
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_aggregate g ON g.aggfnoid = p.oid
{_described("pg_proc", "p.oid")}
WHERE {schema_filter("n")} AND {sql.selected("pg_proc", "p.oid")}
  AND {sql.not_member("pg_proc", "p.oid")}
  -- not the constructors of a range type: they belong to it
  AND NOT EXISTS (SELECT FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass
      AND i.objid = p.oid AND i.deptype = 'i')
"""


@dataclass(frozen=True, slots=True)
class Query:
    """One catalog query of a read.

    Attributes:
        sql: Its text, with ``%(name)s`` placeholders for ``PARAMS``.
        scope: The catalog of its rows' ``_scope``: a partial read that re-reads no row of
            it has nothing to ask this query.
        second: Whether a full read of a big database runs it on its second connection:
            these two take about as long on the server as all the others.
    """

    sql: str
    scope: str
    second: bool = False


@cache
def queries(version: int, partial: bool) -> tuple[Query, ...]:
    """The catalog queries of a full or partial read on a server version, in the order they
    are best sent: the client turns a query's many rows into states while the server runs
    the next, slower one."""
    sql = _Sql(version, partial)
    return (
        Query(_columns(sql), "pg_class"),
        Query(_indexes(sql), "pg_class", second=True),
        Query(_constraints(sql), "pg_class"),
        Query(_relations(sql), "pg_class", second=True),
        Query(_types(sql), "pg_type"),
        Query(_functions(sql), "pg_proc"),
        Query(_triggers(sql), "pg_class"),
        Query(_policies(sql), "pg_class"),
        Query(_schemas(sql), "pg_namespace"),
        Query(_extensions(sql), "pg_extension"),
    )


# A touched catalog row -> the scope that holds its state (a column's table, an index's
# table, a domain constraint's domain...); altered rows also bring the rows that depend on
# them (a view on a renamed table), and an altered schema, what depends on its objects.
RESOLVE = f"""
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
    AND o.objid = c.oid AND o.refclassid = 'pg_class'::regclass
    AND {implicit("o")}
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
