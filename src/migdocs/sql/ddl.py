"""CREATE, ALTER, DROP and RENAME of everything but a table's columns and constraints:
indexes, views, sequences, types, functions, triggers, policies, schemas, extensions."""

from __future__ import annotations

from migdocs.objects import ObjectKind, ObjectRef, quote_part
from migdocs.sql.effects import HeavyStep, Lock, Statement, Validation
from migdocs.sql.names import index_name
from migdocs.sql.queries import columns_read, query_uses
from migdocs.sql.registry import Handlers, Reading
from migdocs.sql.tables import type_use
from migdocs.sql.tree import (
    COMMAND_WORDS,
    OBJECT_KINDS,
    Node,
    child,
    index_key,
    strings,
    walk,
)

handles = Handlers()


@handles("IndexStmt", command="CREATE INDEX")
def create_index(reading: Reading, statement: Statement, body: Node) -> None:
    """An index, its key, and the writes it blocks unless built CONCURRENTLY."""
    table = reading.relation(body["relation"])
    statement.uses.append(table)
    columns: list[str] = []
    for param in body.get("indexParams") or ():
        elem = param["IndexElem"]
        columns.append(elem.get("name") or elem.get("indexcolname") or "expr")
    unique = bool(body.get("unique"))
    if unique:
        statement.command = "CREATE UNIQUE INDEX"
    statement.column_uses += [
        child(ObjectKind.COLUMN, table, param["IndexElem"]["name"])
        for param in body.get("indexIncludingParams") or ()
        if param["IndexElem"].get("name")
    ]
    name = body.get("idxname") or index_name(table.name, columns)
    index = ObjectRef(ObjectKind.INDEX, table.schema, name, table=table.name)
    statement.creates.append(index)
    statement.keys[index.identity] = index_key(
        table,
        [param["IndexElem"] for param in body.get("indexParams") or ()],
        unique=unique,
        where=body.get("whereClause"),
        method=body.get("accessMethod") or "btree",
    )
    blocking = HeavyStep(
        table,
        Lock.SHARE,
        f"creates index {quote_part(name)} without CONCURRENTLY, blocking writes while it builds",
        rewrites=False,
        fix="CREATE INDEX CONCURRENTLY (outside a transaction block)",
    )
    _unless_concurrently(statement, body, blocking, Lock.SHARE_UPDATE_EXCLUSIVE)
    if unique:
        statement.validations.append(Validation(table, f"creates unique index {quote_part(name)}"))


@handles("DropStmt")
def drop(reading: Reading, statement: Statement, body: Node) -> None:
    """What DROP drops, the command named for its kind (``DROP VIEW``); ``Drop`` for a
    kind migdocs does not follow."""
    kind = OBJECT_KINDS.get(body.get("removeType", ""))
    if kind is None:
        return
    statement.cascade = body.get("behavior") == "DROP_CASCADE"
    statement.concurrently = bool(body.get("concurrent"))
    statement.if_exists = bool(body.get("missing_ok"))
    statement.command = f"DROP {COMMAND_WORDS[kind]}"
    for item in body.get("objects") or ():
        ref = dropped(reading, kind, item)
        if ref is not None:
            statement.drops.append(ref)
    if kind in (ObjectKind.TABLE, ObjectKind.INDEX, ObjectKind.VIEW, ObjectKind.MATVIEW):
        concurrent = statement.concurrently and kind is ObjectKind.INDEX
        statement.take_lock(Lock.SHARE_UPDATE_EXCLUSIVE if concurrent else Lock.ACCESS_EXCLUSIVE)


def dropped(reading: Reading, kind: ObjectKind, item: Node) -> ObjectRef | None:
    """The object of ``kind`` that ``item`` (a name in DROP, COMMENT, GRANT…) names."""
    if "TypeName" in item:
        return reading.qualified(strings(item["TypeName"].get("names")), kind)
    if "ObjectWithArgs" in item:
        return reading.qualified(strings(item["ObjectWithArgs"].get("objname")), kind)
    if "String" in item:
        return ObjectRef(kind, None, item["String"]["sval"])
    names = strings(item.get("List", {}).get("items"))
    if not names:
        return None
    if kind in (ObjectKind.TRIGGER, ObjectKind.POLICY):
        table = reading.qualified(names[:-1], ObjectKind.TABLE)
        return child(kind, table, names[-1])
    return reading.qualified(names, kind)


@handles("RenameStmt", command="ALTER … RENAME")
def rename(reading: Reading, statement: Statement, body: Node) -> None:
    """An object, column, constraint, trigger or policy renamed."""
    rename_type = body.get("renameType", "")
    new_name = body["newname"]
    relation = body.get("relation")
    statement.if_exists = bool(body.get("missing_ok"))
    if rename_type in (
        "OBJECT_COLUMN",
        "OBJECT_TABCONSTRAINT",
        "OBJECT_TRIGGER",
        "OBJECT_POLICY",
    ):
        kind = OBJECT_KINDS[rename_type]
        table = reading.relation(relation) if relation else None
        if table is None:
            return
        statement.uses.append(table)
        old = child(kind, table, body["subname"])
        statement.renames.append((old, child(kind, table, new_name)))
        statement.take_lock(Lock.ACCESS_EXCLUSIVE)
        return
    found = OBJECT_KINDS.get(rename_type)
    if found is None:
        return
    kind = found
    if kind is ObjectKind.SCHEMA:
        old = ObjectRef(kind, None, body["subname"])
        statement.renames.append((old, ObjectRef(kind, None, new_name)))
        return
    if relation is not None:
        old = reading.relation(relation, kind)
        statement.take_lock(Lock.ACCESS_EXCLUSIVE)
    else:
        old_ref = dropped(reading, kind, body.get("object") or {})
        if old_ref is None:
            return
        old = old_ref
    statement.uses.append(old)
    statement.renames.append((old, ObjectRef(kind, old.schema, new_name)))


@handles("AlterObjectSchemaStmt", command="ALTER … SET SCHEMA")
def set_schema(reading: Reading, statement: Statement, body: Node) -> None:
    """An object moved to another schema: renamed, as far as its identity goes."""
    kind = OBJECT_KINDS.get(body.get("objectType", ""))
    if kind is None or kind in (ObjectKind.SCHEMA, ObjectKind.EXTENSION):
        return
    statement.if_exists = bool(body.get("missing_ok"))
    relation = body.get("relation")
    old = (
        reading.relation(relation, kind)
        if relation
        else dropped(reading, kind, body.get("object") or {})
    )
    if old is None:
        return
    statement.uses.append(old)
    statement.renames.append((old, ObjectRef(kind, body["newschema"], old.name)))


@handles("ViewStmt", command="CREATE VIEW")
def create_view(reading: Reading, statement: Statement, body: Node) -> None:
    """A view, and the tables and columns it reads."""
    view = reading.relation(body["view"], ObjectKind.VIEW)
    if body["view"].get("relpersistence") != "t":
        statement.creates.append(view)
    before = len(statement.uses)
    query_uses(reading, statement, body.get("query"))
    columns_read(reading, statement, [body.get("query")])
    statement.depends_on.extend(statement.uses[before:])


@handles("CreateTableAsStmt", command="CREATE TABLE AS")
def create_table_as(reading: Reading, statement: Statement, body: Node) -> None:
    """A table or materialized view made from a query, and what the query reads."""
    kind = ObjectKind.MATVIEW if body.get("objtype") == "OBJECT_MATVIEW" else ObjectKind.TABLE
    rel = body["into"]["rel"]
    made = reading.relation(rel, kind)
    if rel.get("relpersistence") != "t":
        statement.creates.append(made)
    statement.command = (
        "CREATE MATERIALIZED VIEW" if kind is ObjectKind.MATVIEW else statement.command
    )
    before = len(statement.uses)
    query_uses(reading, statement, body.get("query"))
    columns_read(reading, statement, [body.get("query")])
    if kind is ObjectKind.MATVIEW:
        statement.depends_on.extend(statement.uses[before:])


@handles("RefreshMatViewStmt", command="REFRESH MATERIALIZED VIEW")
def refresh(reading: Reading, statement: Statement, body: Node) -> None:
    """A refresh, which blocks the view's readers unless CONCURRENTLY."""
    view = reading.relation(body["relation"], ObjectKind.MATVIEW)
    statement.uses.append(view)
    blocking = HeavyStep(
        view,
        Lock.ACCESS_EXCLUSIVE,
        f"refreshes {quote_part(view.name)} without CONCURRENTLY, blocking its readers",
        rewrites=True,
        fix="REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index)",
    )
    _unless_concurrently(statement, body, blocking, Lock.EXCLUSIVE)


def _unless_concurrently(
    statement: Statement, body: Node, blocking: HeavyStep, concurrent: Lock
) -> None:
    """A statement that takes the ``concurrent`` lock with CONCURRENTLY, and is the
    ``blocking`` step without it."""
    statement.concurrently = bool(body.get("concurrent"))
    if statement.concurrently:
        statement.take_lock(concurrent)
    else:
        statement.hold(blocking)


@handles("CreateSeqStmt", command="CREATE SEQUENCE")
def create_sequence(reading: Reading, statement: Statement, body: Node) -> None:
    """A sequence (not a temporary one)."""
    rel = body["sequence"]
    made = reading.relation(rel, ObjectKind.SEQUENCE)
    if rel.get("relpersistence") != "t":
        statement.creates.append(made)


@handles("AlterSeqStmt", command="ALTER SEQUENCE")
def alter_sequence(reading: Reading, statement: Statement, body: Node) -> None:
    """A sequence altered."""
    statement.alters.append(reading.relation(body["sequence"], ObjectKind.SEQUENCE))


@handles("CreateEnumStmt", command="CREATE TYPE")
@handles("CreateRangeStmt", command="CREATE TYPE")
def create_type(reading: Reading, statement: Statement, body: Node) -> None:
    """An enum or range type."""
    statement.creates.append(reading.qualified(strings(body["typeName"]), ObjectKind.TYPE))


@handles("AlterEnumStmt", command="ALTER TYPE")
@handles("AlterDomainStmt", command="ALTER DOMAIN")
def alter_type(reading: Reading, statement: Statement, body: Node) -> None:
    """An enum (given a value, a value renamed) or a domain altered."""
    altered = reading.qualified(strings(body["typeName"]), ObjectKind.TYPE)
    statement.uses.append(altered)
    statement.alters.append(altered)


@handles("CreateDomainStmt", command="CREATE DOMAIN")
def create_domain(reading: Reading, statement: Statement, body: Node) -> None:
    """A domain, and the type it is based on."""
    statement.creates.append(reading.qualified(strings(body["domainname"]), ObjectKind.TYPE))
    type_use(reading, statement, body["typeName"])


@handles("CompositeTypeStmt", command="CREATE TYPE")
def create_composite(reading: Reading, statement: Statement, body: Node) -> None:
    """A composite type."""
    statement.creates.append(reading.relation(body["typevar"], ObjectKind.TYPE))


@handles("DefineStmt", command="CREATE")
def define(reading: Reading, statement: Statement, body: Node) -> None:
    """CREATE TYPE (a base type) or CREATE AGGREGATE; other definitions are not followed."""
    kind = body.get("kind")
    names = strings(body.get("defnames"))
    if kind == "OBJECT_TYPE" and names:
        statement.creates.append(reading.qualified(names, ObjectKind.TYPE))
    elif kind == "OBJECT_AGGREGATE" and names:
        statement.creates.append(reading.qualified(names, ObjectKind.FUNCTION))


@handles("CreateFunctionStmt", command="CREATE FUNCTION")
def create_function(reading: Reading, statement: Statement, body: Node) -> None:
    """A function, or a procedure (the command says which)."""
    function = reading.qualified(strings(body["funcname"]), ObjectKind.FUNCTION)
    statement.creates.append(function)
    statement.command = "CREATE PROCEDURE" if body.get("is_procedure") else "CREATE FUNCTION"


@handles("AlterFunctionStmt", command="ALTER FUNCTION")
def alter_function(reading: Reading, statement: Statement, body: Node) -> None:
    """A function altered."""
    func = body.get("func", {})
    statement.alters.append(reading.qualified(strings(func.get("objname")), ObjectKind.FUNCTION))


@handles("CreateTrigStmt", command="CREATE TRIGGER")
def create_trigger(reading: Reading, statement: Statement, body: Node) -> None:
    """A trigger, its table and function, and the columns it reads."""
    table = reading.relation(body["relation"])
    statement.uses.append(table)
    statement.uses.append(reading.qualified(strings(body.get("funcname")), ObjectKind.FUNCTION))
    statement.creates.append(child(ObjectKind.TRIGGER, table, body["trigname"]))
    statement.take_lock(Lock.SHARE_ROW_EXCLUSIVE)
    # UPDATE OF its columns, and the OLD and NEW columns its WHEN reads.
    read = strings(body.get("columns"))
    for ref in walk(body.get("whenClause"), "ColumnRef"):
        names = strings(ref.get("fields"))
        if len(names) == 2 and names[0].lower() in ("old", "new"):
            read.append(names[1])
    statement.column_uses += [child(ObjectKind.COLUMN, table, name) for name in read]


@handles("CreatePolicyStmt", command="CREATE POLICY")
def create_policy(reading: Reading, statement: Statement, body: Node) -> None:
    """A row-level security policy, and the columns its expressions read."""
    table = reading.relation(body["table"])
    statement.uses.append(table)
    statement.creates.append(child(ObjectKind.POLICY, table, body["policy_name"]))
    columns_read(reading, statement, [body.get("qual"), body.get("with_check")], body["table"])


@handles("AlterPolicyStmt", command="ALTER POLICY")
def alter_policy(reading: Reading, statement: Statement, body: Node) -> None:
    """A policy altered."""
    table = reading.relation(body["table"])
    statement.alters.append(child(ObjectKind.POLICY, table, body["policy_name"]))


@handles("CreateSchemaStmt", command="CREATE SCHEMA")
def create_schema(reading: Reading, statement: Statement, body: Node) -> None:
    """A schema, and what the statements inside it make there."""
    name = body.get("schemaname") or body.get("authrole", {}).get("rolename")
    if name is None:
        return
    statement.creates.append(ObjectRef(ObjectKind.SCHEMA, None, name))
    elements = body.get("schemaElts") or ()
    if not elements:
        return
    saved, reading.search_path = reading.search_path, [name]
    try:
        for element in elements:
            inner = Statement(statement.index, statement.line, statement.column, 0, "")
            reading.analyze(element, inner)
            statement.creates.extend(inner.creates)
            statement.uses.extend(inner.uses)
            statement.column_uses.extend(inner.column_uses)
            statement.keys.update(inner.keys)
            statement.column_types.update(inner.column_types)
    finally:
        reading.search_path = saved


@handles("CreateExtensionStmt", command="CREATE EXTENSION")
def create_extension(reading: Reading, statement: Statement, body: Node) -> None:
    """An extension."""
    statement.creates.append(ObjectRef(ObjectKind.EXTENSION, None, body["extname"]))


@handles("AlterExtensionStmt", command="ALTER EXTENSION")
def alter_extension(reading: Reading, statement: Statement, body: Node) -> None:
    """Named only: what an extension's new version changes is not seen."""
