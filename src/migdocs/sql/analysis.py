"""Statement effects from pglast's parse tree: objects created, dropped, altered; data, locks.

pglast's JSON output is walked as plain dicts rather than through its Python node classes:
building those classes costs about nine times the parse itself, and `migdocs check` must
keep pace with squawk on tens of thousands of files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pglast import parser

from migdocs.objects import DEFAULT_SCHEMA, RELATION_KINDS, ObjectKind, ObjectRef, quote_part
from migdocs.sql.effects import (
    TEMPORARY_SCHEMA,
    HeavyStep,
    KeyInfo,
    Lock,
    Retype,
    Statement,
    Validation,
)
from migdocs.sql.names import constraint_name, index_name

Node = dict[str, Any]

#: Functions whose result differs per row: as a column default they force a table rewrite.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "txid_current",
        "setseed",
    }
)
#: Functions a migration may call in a SELECT without changing the schema.
SCHEMA_NEUTRAL_FUNCTIONS = frozenset(
    {
        "set_config",
        "current_setting",
        "pg_sleep",
        "setval",
        "nextval",
        "currval",
        "lastval",
        "now",
        "count",
        "max",
        "min",
        "sum",
        "avg",
        "pg_advisory_lock",
        "pg_advisory_unlock",
        "pg_advisory_xact_lock",
        "pg_try_advisory_lock",
        "pg_try_advisory_xact_lock",
        "pg_notify",
        "pg_reload_conf",
        "pg_get_serial_sequence",
        "version",
        "format",
        "coalesce",
        "raise_exception",
        "pg_terminate_backend",
        "pg_cancel_backend",
        "pg_stat_reset",
    }
)

_DROP_KINDS = {
    "OBJECT_TABLE": ObjectKind.TABLE,
    "OBJECT_FOREIGN_TABLE": ObjectKind.TABLE,
    "OBJECT_INDEX": ObjectKind.INDEX,
    "OBJECT_VIEW": ObjectKind.VIEW,
    "OBJECT_MATVIEW": ObjectKind.MATVIEW,
    "OBJECT_SEQUENCE": ObjectKind.SEQUENCE,
    "OBJECT_TYPE": ObjectKind.TYPE,
    "OBJECT_DOMAIN": ObjectKind.TYPE,
    "OBJECT_FUNCTION": ObjectKind.FUNCTION,
    "OBJECT_PROCEDURE": ObjectKind.FUNCTION,
    "OBJECT_ROUTINE": ObjectKind.FUNCTION,
    "OBJECT_AGGREGATE": ObjectKind.FUNCTION,
    "OBJECT_TRIGGER": ObjectKind.TRIGGER,
    "OBJECT_POLICY": ObjectKind.POLICY,
    "OBJECT_SCHEMA": ObjectKind.SCHEMA,
    "OBJECT_EXTENSION": ObjectKind.EXTENSION,
    "OBJECT_COLUMN": ObjectKind.COLUMN,
    "OBJECT_TABCONSTRAINT": ObjectKind.CONSTRAINT,
}
_COMMAND_WORDS = {
    ObjectKind.TABLE: "TABLE",
    ObjectKind.INDEX: "INDEX",
    ObjectKind.VIEW: "VIEW",
    ObjectKind.MATVIEW: "MATERIALIZED VIEW",
    ObjectKind.SEQUENCE: "SEQUENCE",
    ObjectKind.TYPE: "TYPE",
    ObjectKind.FUNCTION: "FUNCTION",
    ObjectKind.TRIGGER: "TRIGGER",
    ObjectKind.POLICY: "POLICY",
    ObjectKind.SCHEMA: "SCHEMA",
    ObjectKind.EXTENSION: "EXTENSION",
    ObjectKind.COLUMN: "COLUMN",
    ObjectKind.CONSTRAINT: "CONSTRAINT",
}


def node_of(wrapper: Node) -> tuple[str, Node]:
    """``{"CreateStmt": {...}}`` → ``("CreateStmt", {...})``."""
    ((tag, body),) = wrapper.items()
    return tag, body


def strings(items: list[Node] | None) -> list[str]:
    """The values of a list of ``String`` nodes."""
    return [item["String"]["sval"] for item in items or () if "String" in item]


def walk(node: Any, tag: str) -> Iterator[Node]:
    """Every node with ``tag`` below ``node`` (depth first)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, value in current.items():
                if key == tag:
                    yield value
                if isinstance(value, dict | list):
                    stack.append(value)
        elif isinstance(current, list):
            stack.extend(current)


def type_name(node: Node) -> str:
    """A ``TypeName`` as text, e.g. ``varchar(255)``, ``numeric(12,2)``, ``app.mood[]``."""
    names = strings(node.get("names"))
    if names[:1] == ["pg_catalog"]:
        names = names[1:]
    text = ".".join(names)
    mods = []
    for mod in node.get("typmods") or ():
        const = mod.get("A_Const", {})
        if "ival" in const:
            mods.append(str(const["ival"].get("ival", 0)))
    if mods:
        text += f"({','.join(mods)})"
    if node.get("arrayBounds"):
        text += "[]"
    return text


class Analyzer:
    """Turns parsed statements of one script into `Statement` effects.

    It keeps the script's ``search_path``, so unqualified names resolve to the schema
    PostgreSQL would use (``public`` unless the script sets another).
    """

    def __init__(self) -> None:
        self.search_path: list[str] = [DEFAULT_SCHEMA]
        #: Temporary relations the script made: an unqualified name finds them first, as
        #: PostgreSQL searches the session's ``pg_temp`` before ``search_path``.
        self.temporary: set[str] = set()

    # -- entry point --------------------------------------------------------------------------

    def analyze(self, wrapper: Node, statement: Statement) -> Statement:
        """Fill ``statement`` with the effects of one parsed statement."""
        tag, body = node_of(wrapper)
        statement.command = _command_tag(tag, body)
        handler = _HANDLERS.get(tag)
        if handler is not None:
            getattr(self, handler)(statement, body)
        statement.if_not_exists = statement.if_not_exists or bool(body.get("if_not_exists"))
        return statement

    # -- naming -------------------------------------------------------------------------------

    @property
    def schema(self) -> str:
        """Where unqualified new objects go."""
        return self.search_path[0] if self.search_path else DEFAULT_SCHEMA

    def relation(self, rangevar: Node, kind: ObjectKind = ObjectKind.TABLE) -> ObjectRef:
        """An object named by a ``RangeVar`` (a temporary one in ``pg_temp``)."""
        name = rangevar["relname"]
        schema = rangevar.get("schemaname")
        if schema is None and rangevar.get("relpersistence") == "t":
            self.temporary.add(name)
        if schema is None and name in self.temporary:
            schema = TEMPORARY_SCHEMA
        return ObjectRef(kind, schema or self.schema, name)

    def qualified(self, names: list[str], kind: ObjectKind) -> ObjectRef:
        """An object named by a dotted list (``[schema, name]`` or ``[name]``)."""
        if len(names) >= 2:
            return ObjectRef(kind, names[-2], names[-1])
        if kind in RELATION_KINDS and names[-1] in self.temporary:
            return ObjectRef(kind, TEMPORARY_SCHEMA, names[-1])
        return ObjectRef(kind, self.schema, names[-1])

    # -- tables -------------------------------------------------------------------------------

    def _create_table(self, statement: Statement, body: Node) -> None:
        relation = body["relation"]
        table = self.relation(relation)
        if relation.get("relpersistence") == "t":
            return  # temporary: gone at the end of the session
        statement.creates.append(table)
        for parent in body.get("inhRelations") or ():
            if "RangeVar" in parent:
                statement.uses.append(self.relation(parent["RangeVar"]))
        for element in body.get("tableElts") or ():
            tag, node = node_of(element)
            if tag == "ColumnDef":
                self._column(statement, table, node, existing=False)
            elif tag == "Constraint":
                self._constraint(statement, table, node, existing=False)
            elif tag == "TableLikeClause":
                statement.uses.append(self.relation(node["relation"]))

    def _column(
        self, statement: Statement, table: ObjectRef, node: Node, *, existing: bool
    ) -> None:
        name = node["colname"]
        column = _child(ObjectKind.COLUMN, table, name)
        statement.creates.append(column)
        typ = node.get("typeName")
        type_text = type_name(typ) if typ else ""
        # A serial is an integer column with a sequence: its type is the integer's.
        statement.column_types[column.identity] = _SERIAL_TYPES.get(type_text, type_text)
        if typ is not None:
            self._type_use(statement, typ)
        rewrite: str | None = None
        fix = "add the column without the default, backfill it in batches, then set the default"
        if type_text in _SERIAL_TYPES:
            rewrite = (
                f"adds {type_text} column {quote_part(name)}, which fills every row from a sequence"
            )
            fix = (
                f"add a plain {_SERIAL_TYPES[type_text]} column, backfill it in batches, then "
                "make a sequence its default"
            )
        not_null = has_default = False
        for wrapped in node.get("constraints") or ():
            constraint = wrapped["Constraint"]
            contype = constraint["contype"]
            if contype == "CONSTR_DEFAULT":
                has_default = True
                calls = {_func_name(call) for call in walk(constraint.get("raw_expr"), "FuncCall")}
                volatile = sorted(calls & VOLATILE_FUNCTIONS)
                if volatile:
                    rewrite = (
                        f"adds column {quote_part(name)} with a volatile default ({volatile[0]}())"
                    )
                    fix = (
                        "add the column without the default, backfill it in batches, then set "
                        "the default"
                    )
            elif contype == "CONSTR_IDENTITY":
                has_default = True
                rewrite = f"adds identity column {quote_part(name)}, which fills every row"
                fix = (
                    "add a plain column, backfill it in batches, then ALTER COLUMN … ADD "
                    "GENERATED … AS IDENTITY (which does not rewrite)"
                )
            elif contype == "CONSTR_GENERATED" and constraint.get("generated_kind") != "v":
                has_default = True
                rewrite = f"adds stored generated column {quote_part(name)}, computed for every row"
                fix = (
                    "adding a stored generated column always rewrites the table: do it in a "
                    "maintenance window, or keep a plain column filled by a trigger and "
                    "backfilled in batches"
                )
            elif contype == "CONSTR_NOTNULL":
                not_null = True
            else:
                self._constraint(statement, table, constraint, existing=existing, column=name)
        if existing:
            if rewrite:
                statement.heavy.append(
                    HeavyStep(
                        table,
                        Lock.ACCESS_EXCLUSIVE,
                        rewrite,
                        rewrites=True,
                        fix=fix,
                    )
                )
            if not_null and not has_default:
                statement.validations.append(
                    Validation(table, f"adds NOT NULL column {quote_part(name)} without a default")
                )

    def _constraint(
        self,
        statement: Statement,
        table: ObjectRef,
        node: Node,
        *,
        existing: bool,
        column: str | None = None,
    ) -> None:
        contype = node["contype"]
        keys = strings(node.get("keys")) or ([column] if column else [])
        if contype in ("CONSTR_NOTNULL", "CONSTR_DEFAULT", "CONSTR_NULL") or contype.startswith(
            "CONSTR_ATTR_"
        ):
            return
        label = {
            "CONSTR_PRIMARY": "pkey",
            "CONSTR_UNIQUE": "key",
            "CONSTR_FOREIGN": "fkey",
            "CONSTR_CHECK": "check",
            "CONSTR_EXCLUSION": "excl",
        }.get(contype)
        if label is None:
            return
        if contype == "CONSTR_FOREIGN":
            keys = strings(node.get("fk_attrs")) or keys
            pktable = node.get("pktable")
            if pktable is not None:
                target = self.relation(pktable)
                statement.uses.append(target)
                statement.column_uses += [
                    _child(ObjectKind.COLUMN, target, name)
                    for name in strings(node.get("pk_attrs"))
                ]
        elif contype == "CONSTR_CHECK":
            referenced = sorted(
                {strings(ref.get("fields"))[-1] for ref in walk(node.get("raw_expr"), "ColumnRef")}
                - {""}
            )
            keys = referenced if column is None else [column]
        elif contype == "CONSTR_EXCLUSION":
            keys = [
                elem["IndexElem"]["name"]
                for pair in node.get("exclusions") or ()
                for elem in pair.get("List", {}).get("items", [])[:1]
                if "IndexElem" in elem and elem["IndexElem"].get("name")
            ]
        name = node.get("conname")
        using = node.get("indexname")
        if using is not None:
            # The index becomes the constraint's (renamed to its name): no index of its own.
            statement.absorbs.append(_child(ObjectKind.INDEX, table, using))
            name = name or using
        if name is None:
            if contype == "CONSTR_PRIMARY":
                name = index_name(table.name, keys, primary=True)
            elif contype == "CONSTR_UNIQUE":
                name = index_name(table.name, keys, unique=True)
            elif contype == "CONSTR_CHECK":
                name = constraint_name(table.name, keys if len(keys) == 1 else [], "check")
            else:
                name = constraint_name(table.name, keys, label)
        constraint = _child(ObjectKind.CONSTRAINT, table, name)
        statement.creates.append(constraint)
        if contype == "CONSTR_EXCLUSION":
            elems = []
            for pair in node.get("exclusions") or ():
                items = pair.get("List", {}).get("items") or [{}]
                if "IndexElem" in items[0]:
                    elems.append(items[0]["IndexElem"])
            statement.keys[constraint.identity] = _index_key(
                table,
                elems,
                unique=False,
                where=node.get("where_clause"),
                method=node.get("access_method") or "gist",
            )
        else:
            statement.keys[constraint.identity] = KeyInfo(
                table,
                tuple(keys),
                unique=contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"),
                indexed=contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE"),
            )
        if not existing:
            return
        validated = not node.get("skip_validation")
        described = f"{_CONSTRAINT_WORDS[contype]} constraint {quote_part(name)}"
        if validated:
            statement.validations.append(Validation(table, f"adds {described}"))
        if contype in ("CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION"):
            if node.get("indexname") is None:
                statement.heavy.append(
                    HeavyStep(
                        table,
                        Lock.ACCESS_EXCLUSIVE,
                        f"adds {described}, building its index while writes wait",
                        rewrites=False,
                        fix="CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … "
                        "USING INDEX",
                    )
                )
        elif validated and contype in ("CONSTR_CHECK", "CONSTR_FOREIGN"):
            lock = (
                Lock.SHARE_ROW_EXCLUSIVE if contype == "CONSTR_FOREIGN" else Lock.ACCESS_EXCLUSIVE
            )
            statement.heavy.append(
                HeavyStep(
                    table,
                    lock,
                    f"adds {described}, scanning every row while writes wait",
                    rewrites=False,
                    fix="add it NOT VALID, then VALIDATE CONSTRAINT in a later step",
                )
            )

    def _alter_table(self, statement: Statement, body: Node) -> None:
        objtype = body.get("objtype", "OBJECT_TABLE")
        kind = _DROP_KINDS.get(objtype, ObjectKind.TABLE)
        target = self.relation(body["relation"], kind)
        statement.if_exists = bool(body.get("missing_ok"))
        if not statement.if_exists:
            statement.uses.append(target)
        if kind is not ObjectKind.TABLE:
            statement.alters.append(target)
            statement.take_lock(Lock.ACCESS_EXCLUSIVE)
            return
        table = target
        for wrapped in body.get("cmds") or ():
            cmd = wrapped["AlterTableCmd"]
            subtype = cmd["subtype"]
            name = cmd.get("name")
            lock = _ALTER_LOCKS.get(subtype, Lock.ACCESS_EXCLUSIVE)
            if subtype == "AT_AddColumn":
                self._column(statement, table, cmd["def"]["ColumnDef"], existing=True)
            elif subtype == "AT_DropColumn":
                statement.drops.append(_child(ObjectKind.COLUMN, table, name))
                if cmd.get("missing_ok"):
                    statement.drops_if_exists.append(statement.drops[-1])
                statement.cascade = statement.cascade or cmd.get("behavior") == "DROP_CASCADE"
            elif subtype == "AT_AlterColumnType":
                column = _child(ObjectKind.COLUMN, table, name)
                definition = cmd["def"]["ColumnDef"]
                new_type = type_name(definition["typeName"])
                statement.retypes.append(Retype(column, new_type))
                statement.alters.append(column)
                self._type_use(statement, definition["typeName"])
            elif subtype == "AT_SetNotNull":
                statement.alters.append(_child(ObjectKind.COLUMN, table, name))
                statement.validations.append(Validation(table, f"sets {quote_part(name)} NOT NULL"))
                statement.heavy.append(
                    HeavyStep(
                        table,
                        Lock.ACCESS_EXCLUSIVE,
                        f"sets {quote_part(name)} NOT NULL, "
                        "scanning every row while reads and writes wait",
                        rewrites=False,
                        fix="add CHECK (… IS NOT NULL) NOT VALID, VALIDATE it, then SET NOT NULL",
                    )
                )
            elif subtype == "AT_AddConstraint":
                constraint = cmd["def"]["Constraint"]
                if constraint["contype"] == "CONSTR_NOTNULL":
                    for column_name in strings(constraint.get("keys")):
                        statement.alters.append(_child(ObjectKind.COLUMN, table, column_name))
                        statement.validations.append(
                            Validation(table, f"sets {column_name} NOT NULL")
                        )
                else:
                    self._constraint(statement, table, constraint, existing=True)
                    if constraint["contype"] == "CONSTR_FOREIGN":
                        lock = Lock.SHARE_ROW_EXCLUSIVE
            elif subtype == "AT_DropConstraint":
                statement.drops.append(_child(ObjectKind.CONSTRAINT, table, name))
                if cmd.get("missing_ok"):
                    statement.drops_if_exists.append(statement.drops[-1])
                statement.cascade = statement.cascade or cmd.get("behavior") == "DROP_CASCADE"
            elif subtype == "AT_ValidateConstraint":
                statement.alters.append(_child(ObjectKind.CONSTRAINT, table, name))
                statement.validations.append(
                    Validation(table, f"validates constraint {quote_part(name)}")
                )
            elif subtype in _REWRITES:
                statement.alters.append(table)
                statement.heavy.append(
                    HeavyStep(
                        table,
                        Lock.ACCESS_EXCLUSIVE,
                        _REWRITES[subtype],
                        rewrites=True,
                        fix="do it in a maintenance window, or build a new table and swap",
                    )
                )
            elif name is not None and subtype in _COLUMN_COMMANDS:
                statement.alters.append(_child(ObjectKind.COLUMN, table, name))
            else:
                statement.alters.append(table)
            statement.take_lock(lock)

    # -- indexes ------------------------------------------------------------------------------

    def _create_index(self, statement: Statement, body: Node) -> None:
        table = self.relation(body["relation"])
        statement.uses.append(table)
        columns: list[str] = []
        for param in body.get("indexParams") or ():
            elem = param["IndexElem"]
            columns.append(elem.get("name") or elem.get("indexcolname") or "expr")
        unique = bool(body.get("unique"))
        statement.column_uses += [
            _child(ObjectKind.COLUMN, table, param["IndexElem"]["name"])
            for param in body.get("indexIncludingParams") or ()
            if param["IndexElem"].get("name")
        ]
        name = body.get("idxname") or index_name(table.name, columns)
        index = ObjectRef(ObjectKind.INDEX, table.schema, name, table=table.name)
        statement.creates.append(index)
        statement.keys[index.identity] = _index_key(
            table,
            [param["IndexElem"] for param in body.get("indexParams") or ()],
            unique=unique,
            where=body.get("whereClause"),
            method=body.get("accessMethod") or "btree",
        )
        statement.concurrently = bool(body.get("concurrent"))
        if statement.concurrently:
            statement.take_lock(Lock.SHARE_UPDATE_EXCLUSIVE)
        else:
            statement.take_lock(Lock.SHARE)
            statement.heavy.append(
                HeavyStep(
                    table,
                    Lock.SHARE,
                    f"creates index {quote_part(name)} without CONCURRENTLY, "
                    "blocking writes while it builds",
                    rewrites=False,
                    fix="CREATE INDEX CONCURRENTLY (outside a transaction block)",
                )
            )
        if unique:
            statement.validations.append(
                Validation(table, f"creates unique index {quote_part(name)}")
            )

    # -- drops and renames --------------------------------------------------------------------

    def _drop(self, statement: Statement, body: Node) -> None:
        kind = _DROP_KINDS.get(body.get("removeType", ""))
        if kind is None:
            return
        statement.cascade = body.get("behavior") == "DROP_CASCADE"
        statement.concurrently = bool(body.get("concurrent"))
        statement.if_exists = bool(body.get("missing_ok"))
        statement.command = f"DROP {_COMMAND_WORDS[kind]}"
        for item in body.get("objects") or ():
            ref = self._dropped(kind, item)
            if ref is not None:
                statement.drops.append(ref)
        if kind in (ObjectKind.TABLE, ObjectKind.INDEX, ObjectKind.VIEW, ObjectKind.MATVIEW):
            concurrent = statement.concurrently and kind is ObjectKind.INDEX
            statement.take_lock(
                Lock.SHARE_UPDATE_EXCLUSIVE if concurrent else Lock.ACCESS_EXCLUSIVE
            )

    def _dropped(self, kind: ObjectKind, item: Node) -> ObjectRef | None:
        if "TypeName" in item:
            return self.qualified(strings(item["TypeName"].get("names")), kind)
        if "ObjectWithArgs" in item:
            return self.qualified(strings(item["ObjectWithArgs"].get("objname")), kind)
        if "String" in item:
            return ObjectRef(kind, None, item["String"]["sval"])
        names = strings(item.get("List", {}).get("items"))
        if not names:
            return None
        if kind in (ObjectKind.TRIGGER, ObjectKind.POLICY):
            table = self.qualified(names[:-1], ObjectKind.TABLE)
            return _child(kind, table, names[-1])
        return self.qualified(names, kind)

    def _rename(self, statement: Statement, body: Node) -> None:
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
            kind = _DROP_KINDS[rename_type]
            table = self.relation(relation) if relation else None
            if table is None:
                return
            statement.uses.append(table)
            old = _child(kind, table, body["subname"])
            statement.renames.append((old, _child(kind, table, new_name)))
            statement.take_lock(Lock.ACCESS_EXCLUSIVE)
            return
        found = _DROP_KINDS.get(rename_type)
        if found is None:
            return
        kind = found
        if kind is ObjectKind.SCHEMA:
            old = ObjectRef(kind, None, body["subname"])
            statement.renames.append((old, ObjectRef(kind, None, new_name)))
            return
        if relation is not None:
            old = self.relation(relation, kind)
            statement.take_lock(Lock.ACCESS_EXCLUSIVE)
        else:
            old_ref = self._dropped(kind, body.get("object") or {})
            if old_ref is None:
                return
            old = old_ref
        statement.uses.append(old)
        statement.renames.append((old, ObjectRef(kind, old.schema, new_name)))

    def _set_schema(self, statement: Statement, body: Node) -> None:
        kind = _DROP_KINDS.get(body.get("objectType", ""))
        if kind is None or kind in (ObjectKind.SCHEMA, ObjectKind.EXTENSION):
            return
        statement.if_exists = bool(body.get("missing_ok"))
        relation = body.get("relation")
        old = (
            self.relation(relation, kind)
            if relation
            else self._dropped(kind, body.get("object") or {})
        )
        if old is None:
            return
        statement.uses.append(old)
        statement.renames.append((old, ObjectRef(kind, body["newschema"], old.name)))

    # -- views, sequences, types, functions, triggers, policies ------------------------------

    def _query_uses(self, statement: Statement, query: Any, with_clause: Any = None) -> None:
        """Tables a query reads; ``with_clause`` is the WITH of a statement around it."""
        parts = (query, with_clause)
        ctes = {cte["ctename"] for part in parts for cte in walk(part, "CommonTableExpr")}
        for part in parts:
            for rangevar in walk(part, "RangeVar"):
                if rangevar.get("schemaname") is None and rangevar["relname"] in ctes:
                    continue
                statement.uses.append(self.relation(rangevar))

    def _columns_read(
        self, statement: Statement, parts: list[Any], written: Node | None = None
    ) -> None:
        """The columns of tables that ``parts`` (a query, or an UPDATE's expressions and
        WHERE) read, where the table is certain: a column qualified by a table's name or
        alias, or unqualified where one table is all the statement reads (``written``, the
        RangeVar an UPDATE writes, counts as one). An output column's own name is not read."""
        tables: dict[str, ObjectRef] = {}
        rangevars = [written] if written is not None else []
        ctes = {cte["ctename"] for part in parts for cte in walk(part, "CommonTableExpr")}
        others = bool(ctes)
        for part in parts:
            rangevars += walk(part, "RangeVar")
            others = others or any(
                next(walk(part, tag), None) is not None
                for tag in ("RangeSubselect", "RangeFunction", "RangeTableFunc", "JsonTable")
            )
        for rangevar in rangevars:
            if rangevar.get("schemaname") is None and rangevar["relname"] in ctes:
                continue
            alias = (rangevar.get("alias") or {}).get("aliasname")
            tables[alias or rangevar["relname"]] = self.relation(rangevar)
        only = {table.identity: table for table in tables.values()}
        single = next(iter(only.values())) if len(only) == 1 and not others else None
        outputs = {
            target["ResTarget"].get("name")
            for part in parts
            for select in walk(part, "SelectStmt")
            for target in select.get("targetList") or ()
            if "ResTarget" in target
        }
        for ref in (ref for part in parts for ref in walk(part, "ColumnRef")):
            fields = ref.get("fields") or []
            names = strings(fields)
            if len(names) != len(fields) or not names:
                continue  # t.* or *
            if len(names) == 1 and single is not None and names[0] not in outputs:
                statement.column_uses.append(_child(ObjectKind.COLUMN, single, names[0]))
            elif len(names) >= 2 and names[-2] in tables:
                table = tables[names[-2]]
                statement.column_uses.append(_child(ObjectKind.COLUMN, table, names[-1]))

    def _create_view(self, statement: Statement, body: Node) -> None:
        view = self.relation(body["view"], ObjectKind.VIEW)
        if body["view"].get("relpersistence") != "t":
            statement.creates.append(view)
        before = len(statement.uses)
        self._query_uses(statement, body.get("query"))
        self._columns_read(statement, [body.get("query")])
        statement.depends_on.extend(statement.uses[before:])

    def _create_table_as(self, statement: Statement, body: Node) -> None:
        kind = ObjectKind.MATVIEW if body.get("objtype") == "OBJECT_MATVIEW" else ObjectKind.TABLE
        rel = body["into"]["rel"]
        made = self.relation(rel, kind)
        if rel.get("relpersistence") != "t":
            statement.creates.append(made)
        statement.command = (
            "CREATE MATERIALIZED VIEW" if kind is ObjectKind.MATVIEW else statement.command
        )
        before = len(statement.uses)
        self._query_uses(statement, body.get("query"))
        self._columns_read(statement, [body.get("query")])
        if kind is ObjectKind.MATVIEW:
            statement.depends_on.extend(statement.uses[before:])

    def _refresh(self, statement: Statement, body: Node) -> None:
        view = self.relation(body["relation"], ObjectKind.MATVIEW)
        statement.uses.append(view)
        statement.concurrently = bool(body.get("concurrent"))
        if statement.concurrently:
            statement.take_lock(Lock.EXCLUSIVE)
        else:
            statement.take_lock(Lock.ACCESS_EXCLUSIVE)
            statement.heavy.append(
                HeavyStep(
                    view,
                    Lock.ACCESS_EXCLUSIVE,
                    f"refreshes {quote_part(view.name)} without CONCURRENTLY, blocking its readers",
                    rewrites=True,
                    fix="REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index)",
                )
            )

    def _create_sequence(self, statement: Statement, body: Node) -> None:
        rel = body["sequence"]
        made = self.relation(rel, ObjectKind.SEQUENCE)
        if rel.get("relpersistence") != "t":
            statement.creates.append(made)

    def _alter_sequence(self, statement: Statement, body: Node) -> None:
        statement.alters.append(self.relation(body["sequence"], ObjectKind.SEQUENCE))

    def _create_enum(self, statement: Statement, body: Node) -> None:
        statement.creates.append(self.qualified(strings(body["typeName"]), ObjectKind.TYPE))

    def _alter_enum(self, statement: Statement, body: Node) -> None:
        enum = self.qualified(strings(body["typeName"]), ObjectKind.TYPE)
        statement.uses.append(enum)
        statement.alters.append(enum)

    def _create_domain(self, statement: Statement, body: Node) -> None:
        statement.creates.append(self.qualified(strings(body["domainname"]), ObjectKind.TYPE))
        self._type_use(statement, body["typeName"])

    def _alter_domain(self, statement: Statement, body: Node) -> None:
        domain = self.qualified(strings(body["typeName"]), ObjectKind.TYPE)
        statement.alters.append(domain)
        statement.uses.append(domain)

    def _create_composite(self, statement: Statement, body: Node) -> None:
        statement.creates.append(self.relation(body["typevar"], ObjectKind.TYPE))

    def _create_range(self, statement: Statement, body: Node) -> None:
        statement.creates.append(self.qualified(strings(body["typeName"]), ObjectKind.TYPE))

    def _define(self, statement: Statement, body: Node) -> None:
        kind = body.get("kind")
        names = strings(body.get("defnames"))
        if kind == "OBJECT_TYPE" and names:
            statement.creates.append(self.qualified(names, ObjectKind.TYPE))
        elif kind == "OBJECT_AGGREGATE" and names:
            statement.creates.append(self.qualified(names, ObjectKind.FUNCTION))

    def _create_function(self, statement: Statement, body: Node) -> None:
        function = self.qualified(strings(body["funcname"]), ObjectKind.FUNCTION)
        statement.creates.append(function)
        statement.command = "CREATE PROCEDURE" if body.get("is_procedure") else "CREATE FUNCTION"

    def _alter_function(self, statement: Statement, body: Node) -> None:
        func = body.get("func", {})
        statement.alters.append(self.qualified(strings(func.get("objname")), ObjectKind.FUNCTION))

    def _create_trigger(self, statement: Statement, body: Node) -> None:
        table = self.relation(body["relation"])
        statement.uses.append(table)
        statement.uses.append(self.qualified(strings(body.get("funcname")), ObjectKind.FUNCTION))
        statement.creates.append(_child(ObjectKind.TRIGGER, table, body["trigname"]))
        statement.take_lock(Lock.SHARE_ROW_EXCLUSIVE)
        # UPDATE OF its columns, and the OLD and NEW columns its WHEN reads.
        read = strings(body.get("columns"))
        for ref in walk(body.get("whenClause"), "ColumnRef"):
            names = strings(ref.get("fields"))
            if len(names) == 2 and names[0].lower() in ("old", "new"):
                read.append(names[1])
        statement.column_uses += [_child(ObjectKind.COLUMN, table, name) for name in read]

    def _create_policy(self, statement: Statement, body: Node) -> None:
        table = self.relation(body["table"])
        statement.uses.append(table)
        statement.creates.append(_child(ObjectKind.POLICY, table, body["policy_name"]))
        self._columns_read(statement, [body.get("qual"), body.get("with_check")], body["table"])

    def _alter_policy(self, statement: Statement, body: Node) -> None:
        table = self.relation(body["table"])
        statement.alters.append(_child(ObjectKind.POLICY, table, body["policy_name"]))

    def _create_schema(self, statement: Statement, body: Node) -> None:
        name = body.get("schemaname") or body.get("authrole", {}).get("rolename")
        if name is None:
            return
        statement.creates.append(ObjectRef(ObjectKind.SCHEMA, None, name))
        elements = body.get("schemaElts") or ()
        if not elements:
            return
        saved, self.search_path = self.search_path, [name]
        try:
            for element in elements:
                inner = Statement(statement.index, statement.line, statement.column, 0, "")
                self.analyze(element, inner)
                statement.creates.extend(inner.creates)
                statement.uses.extend(inner.uses)
                statement.column_uses.extend(inner.column_uses)
                statement.keys.update(inner.keys)
                statement.column_types.update(inner.column_types)
        finally:
            self.search_path = saved

    def _create_extension(self, statement: Statement, body: Node) -> None:
        statement.creates.append(ObjectRef(ObjectKind.EXTENSION, None, body["extname"]))

    def _comment(self, statement: Statement, body: Node) -> None:
        target = self._commented(body.get("objtype", ""), body.get("object") or {})
        if target is not None:
            statement.alters.append(target)

    def _commented(self, objtype: str, item: Node) -> ObjectRef | None:
        kind = _DROP_KINDS.get(objtype)
        if kind is None:
            return None
        if kind in (ObjectKind.COLUMN, ObjectKind.CONSTRAINT):
            names = strings(item.get("List", {}).get("items"))
            if len(names) < 2:
                return None
            return _child(kind, self.qualified(names[:-1], ObjectKind.TABLE), names[-1])
        return self._dropped(kind, item)

    def _grant(self, statement: Statement, body: Node) -> None:
        if body.get("targtype") != "ACL_TARGET_OBJECT":
            return
        kind = _DROP_KINDS.get(body.get("objtype", ""))
        if kind is None:
            return
        for item in body.get("objects") or ():
            if "RangeVar" in item:
                statement.alters.append(self.relation(item["RangeVar"], kind))
            else:
                ref = self._dropped(kind, item)
                if ref is not None:
                    statement.alters.append(ref)

    # -- data ---------------------------------------------------------------------------------

    def _data(self, statement: Statement, command: str, relation: Node | None) -> None:
        statement.data_change = command
        statement.take_lock(Lock.ROW_EXCLUSIVE)
        if relation is not None:
            table = self.relation(relation)
            statement.data_targets.append(table)
            statement.uses.append(table)

    def _insert(self, statement: Statement, body: Node) -> None:
        self._data(statement, "INSERT", body.get("relation"))
        self._query_uses(statement, body.get("selectStmt"), body.get("withClause"))
        table = self.relation(body["relation"])
        for target in body.get("cols") or ():
            statement.column_uses.append(
                _child(ObjectKind.COLUMN, table, target["ResTarget"]["name"])
            )
        self._columns_read(statement, [body.get("selectStmt"), body.get("withClause")])
        self._calls(statement, body.get("selectStmt"))

    def _update(self, statement: Statement, body: Node) -> None:
        self._data(statement, "UPDATE", body.get("relation"))
        self._calls(statement, body.get("targetList"))
        table = self.relation(body["relation"])
        for target in body.get("targetList") or ():
            name = target.get("ResTarget", {}).get("name")
            if name is not None:  # (a, b) = … names each column too
                statement.column_uses.append(_child(ObjectKind.COLUMN, table, name))
        parts = [body.get("targetList"), body.get("whereClause"), body.get("fromClause")]
        self._columns_read(statement, parts, written=body["relation"])

    def _delete(self, statement: Statement, body: Node) -> None:
        self._data(statement, "DELETE", body.get("relation"))

    def _merge(self, statement: Statement, body: Node) -> None:
        self._data(statement, "MERGE", body.get("relation"))

    def _truncate(self, statement: Statement, body: Node) -> None:
        statement.data_change = "TRUNCATE"
        statement.take_lock(Lock.ACCESS_EXCLUSIVE)
        for item in body.get("relations") or ():
            table = self.relation(item["RangeVar"])
            statement.data_targets.append(table)
            statement.uses.append(table)

    def _copy(self, statement: Statement, body: Node) -> None:
        if body.get("is_from"):
            self._data(statement, "COPY", body.get("relation"))

    def _select(self, statement: Statement, body: Node) -> None:
        into = body.get("intoClause")
        made = self.relation(into["rel"]) if into is not None else None
        if made is not None and into is not None and into["rel"].get("relpersistence") != "t":
            statement.creates.append(made)
            statement.command = "SELECT INTO"
        self._calls(statement, body)
        for call in walk(body.get("targetList"), "FuncCall"):
            if _func_name(call) != "set_config":
                continue
            args = [
                a.get("A_Const", {}).get("sval", {}).get("sval") for a in call.get("args") or ()
            ]
            if len(args) >= 2 and args[0] == "search_path" and args[1] is not None:
                self._set_search_path(args[1])

    def _calls(self, statement: Statement, node: Any) -> None:
        """Mark the statement opaque when it calls a function that may change the schema."""
        for call in walk(node, "FuncCall"):
            names = strings(call.get("funcname"))
            if names[:1] == ["pg_catalog"]:
                continue
            if names and names[-1] not in SCHEMA_NEUTRAL_FUNCTIONS:
                statement.opaque = True
                return

    def _opaque(self, statement: Statement, body: Node) -> None:
        statement.opaque = True

    def _do(self, statement: Statement, body: Node) -> None:
        """A ``DO`` block is opaque, but for the guard drizzle-kit and many hand-written
        histories put around a CREATE: ``BEGIN <statements> EXCEPTION WHEN duplicate_object
        THEN null; END`` does what its statements do, when they are not there yet."""
        code = language = None
        for arg in body.get("args") or ():
            elem = arg.get("DefElem", {})
            value = elem.get("arg", {}).get("String", {}).get("sval")
            if elem.get("defname") == "as":
                code = value
            elif elem.get("defname") == "language":
                language = value
        guarded = None
        if language in (None, "plpgsql") and code is not None:
            plain = _LINE_COMMENT.sub("", code)
            guarded = _GUARDED.match(plain) or _IF_NOT_EXISTS.match(plain)
        inner: list[Any] = []
        if guarded is not None:
            try:
                inner = json.loads(parser.parse_sql_json(guarded["sql"])).get("stmts", [])
            except parser.ParseError:
                inner = []
        if not inner or any(node_of(raw["stmt"])[0] not in _GUARDABLE for raw in inner):
            statement.opaque = True
            return
        for raw in inner:
            self.analyze(raw["stmt"], statement)
        statement.command = "DO"
        statement.if_not_exists = True  # the guard: nothing happens to what is there

    # -- session and maintenance ---------------------------------------------------------------

    def _set(self, statement: Statement, body: Node) -> None:
        if body.get("name") != "search_path":
            return
        if body.get("kind") in ("VAR_RESET", "VAR_SET_DEFAULT"):
            self.search_path = [DEFAULT_SCHEMA]
            return
        values = [
            arg.get("A_Const", {}).get("sval", {}).get("sval") for arg in body.get("args") or ()
        ]
        self._set_search_path(",".join(value for value in values if value is not None))

    def _set_search_path(self, value: str) -> None:
        """Follow ``search_path`` set to ``value`` (a comma-separated list of schemas)."""
        path: list[str] = []
        for part in value.split(","):
            part = part.strip().strip('"')
            if part and part != "$user" and part != "pg_catalog":
                path.append(part)
        self.search_path = path or [DEFAULT_SCHEMA]

    def _transaction(self, statement: Statement, body: Node) -> None:
        statement.transaction = True

    def _vacuum(self, statement: Statement, body: Node) -> None:
        options = {option["DefElem"]["defname"] for option in body.get("options") or ()}
        if "full" not in options:
            return
        for relation in body.get("rels") or ():
            rangevar = relation["VacuumRelation"].get("relation")
            if rangevar is None:
                continue
            table = self.relation(rangevar)
            statement.take_lock(Lock.ACCESS_EXCLUSIVE)
            statement.heavy.append(
                HeavyStep(
                    table,
                    Lock.ACCESS_EXCLUSIVE,
                    f"VACUUM FULL rewrites {quote_part(table.name)} while reads and writes wait",
                    rewrites=True,
                    fix="use pg_repack, or plain VACUUM",
                )
            )

    def _cluster(self, statement: Statement, body: Node) -> None:
        relation = body.get("relation")
        if relation is None:
            return
        table = self.relation(relation)
        statement.take_lock(Lock.ACCESS_EXCLUSIVE)
        statement.heavy.append(
            HeavyStep(
                table,
                Lock.ACCESS_EXCLUSIVE,
                f"CLUSTER rewrites {quote_part(table.name)} while reads and writes wait",
                rewrites=True,
                fix="use pg_repack",
            )
        )

    def _reindex(self, statement: Statement, body: Node) -> None:
        options = {option["DefElem"]["defname"] for option in body.get("params") or ()}
        relation = body.get("relation")
        if (
            "concurrently" in options
            or relation is None
            or body.get("kind") != "REINDEX_OBJECT_TABLE"
        ):
            return
        table = self.relation(relation)
        statement.take_lock(Lock.SHARE)
        statement.heavy.append(
            HeavyStep(
                table,
                Lock.SHARE,
                f"REINDEX of {quote_part(table.name)} without CONCURRENTLY blocks writes",
                rewrites=False,
                fix="REINDEX … CONCURRENTLY",
            )
        )

    def _lock(self, statement: Statement, body: Node) -> None:
        mode = body.get("mode", 8)
        statement.take_lock(list(Lock)[max(0, min(int(mode), 8) - 1)])

    def _type_use(self, statement: Statement, node: Node) -> None:
        names = strings(node.get("names"))
        if names and names[0] != "pg_catalog":
            statement.uses.append(self.qualified(names, ObjectKind.TYPE))


#: The method of `Analyzer` that reads each statement type.
_HANDLERS = {
    "CreateStmt": "_create_table",
    "AlterTableStmt": "_alter_table",
    "IndexStmt": "_create_index",
    "DropStmt": "_drop",
    "RenameStmt": "_rename",
    "AlterObjectSchemaStmt": "_set_schema",
    "ViewStmt": "_create_view",
    "CreateTableAsStmt": "_create_table_as",
    "RefreshMatViewStmt": "_refresh",
    "CreateSeqStmt": "_create_sequence",
    "AlterSeqStmt": "_alter_sequence",
    "CreateEnumStmt": "_create_enum",
    "AlterEnumStmt": "_alter_enum",
    "CreateDomainStmt": "_create_domain",
    "AlterDomainStmt": "_alter_domain",
    "CompositeTypeStmt": "_create_composite",
    "CreateRangeStmt": "_create_range",
    "DefineStmt": "_define",
    "CreateFunctionStmt": "_create_function",
    "AlterFunctionStmt": "_alter_function",
    "CreateTrigStmt": "_create_trigger",
    "CreatePolicyStmt": "_create_policy",
    "AlterPolicyStmt": "_alter_policy",
    "CreateSchemaStmt": "_create_schema",
    "CreateExtensionStmt": "_create_extension",
    "CommentStmt": "_comment",
    "GrantStmt": "_grant",
    "InsertStmt": "_insert",
    "UpdateStmt": "_update",
    "DeleteStmt": "_delete",
    "MergeStmt": "_merge",
    "TruncateStmt": "_truncate",
    "CopyStmt": "_copy",
    "SelectStmt": "_select",
    "DoStmt": "_do",
    "CallStmt": "_opaque",
    "ExecuteStmt": "_opaque",
    "VariableSetStmt": "_set",
    "TransactionStmt": "_transaction",
    "VacuumStmt": "_vacuum",
    "ClusterStmt": "_cluster",
    "ReindexStmt": "_reindex",
    "LockStmt": "_lock",
}


def canonical(node: Any) -> str:
    """An expression as text that is the same wherever and however it was written."""
    return json.dumps(_without_locations(node), sort_keys=True, separators=(",", ":"))


def _without_locations(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_locations(v) for k, v in node.items() if k != "location"}
    if isinstance(node, list):
        return [_without_locations(item) for item in node]
    return node


def _column_refs(node: Any) -> list[str]:
    """The columns an expression reads (the last name of each column reference)."""
    names = (strings(ref.get("fields"))[-1:] for ref in walk(node, "ColumnRef"))
    return sorted({name[0] for name in names if name})


def _index_key(
    table: ObjectRef, elems: list[Node], *, unique: bool, where: Node | None, method: str
) -> KeyInfo:
    """The key of an index (or exclusion constraint) built on ``elems``."""
    columns: list[str] = []
    options: list[str] = []
    read: list[str] = []
    for elem in elems:
        if elem.get("name"):
            columns.append(elem["name"])
        else:
            expression = elem.get("expr")
            columns.append(f"expr:{canonical(expression)}")
            read.extend(_column_refs(expression))
        collation = ".".join(strings(elem.get("collation")))
        opclass = ".".join(strings(elem.get("opclass")))
        options.append(f"{collation} {opclass}".strip())
    if where is not None:
        read.extend(_column_refs(where))
    return KeyInfo(
        table,
        tuple(columns),
        unique=unique,
        predicate=canonical(where) if where is not None else None,
        method=method,
        options=tuple(options) if any(options) else (),
        expression_columns=tuple(sorted(set(read))),
    )


def _child(kind: ObjectKind, table: ObjectRef, name: str) -> ObjectRef:
    return ObjectRef(kind, table.schema, name, table=table.name)


def _func_name(call: Node) -> str:
    names = strings(call.get("funcname"))
    return names[-1] if names else ""


#: The serial pseudo-types and the integer type each really makes.
_SERIAL_TYPES = {
    "serial": "int4",
    "serial4": "int4",
    "bigserial": "int8",
    "serial8": "int8",
    "smallserial": "int2",
    "serial2": "int2",
}

#: ``DO $$ BEGIN … EXCEPTION WHEN duplicate_object THEN null; END $$``: drizzle-kit's
#: guard (before it wrote ``IF NOT EXISTS``), and a common hand-written one.
_GUARDED = re.compile(
    r"^\s*BEGIN\s+(?P<sql>.+?)\s*EXCEPTION\s+WHEN\s+duplicate_object\s+THEN\s+null\s*;"
    r"\s*END\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
#: ``DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type …) THEN CREATE TYPE …; END IF; END $$``:
#: the guard Supabase histories (usebasejump/basejump) write around what has no IF NOT EXISTS.
_IF_NOT_EXISTS = re.compile(
    r"^\s*BEGIN\s+IF\s+NOT\s+EXISTS\s*\(.+?\)\s*THEN\s+(?P<sql>.+?)\s*END\s+IF\s*;"
    r"\s*END\s*;?\s*$",
    re.IGNORECASE | re.DOTALL,
)
#: A ``--`` comment to the end of its line (PL/pgSQL's, in a guard).
_LINE_COMMENT = re.compile(r"--[^\n]*")
#: What such a guard may hold for its effect to be seen: creations that fail when the
#: object is there (``duplicate_object``).
_GUARDABLE = frozenset(
    {"CreateEnumStmt", "CompositeTypeStmt", "CreateDomainStmt", "AlterTableStmt", "CreateRoleStmt"}
)

_CONSTRAINT_WORDS = {
    "CONSTR_PRIMARY": "PRIMARY KEY",
    "CONSTR_UNIQUE": "UNIQUE",
    "CONSTR_FOREIGN": "FOREIGN KEY",
    "CONSTR_CHECK": "CHECK",
    "CONSTR_EXCLUSION": "EXCLUDE",
}
_REWRITES = {
    "AT_SetLogged": "SET LOGGED rewrites the table",
    "AT_SetUnLogged": "SET UNLOGGED rewrites the table",
    "AT_SetTableSpace": "SET TABLESPACE copies the table",
    "AT_SetAccessMethod": "SET ACCESS METHOD rewrites the table",
    "AT_SetExpression": "SET EXPRESSION recomputes the column for every row",
}
_COLUMN_COMMANDS = frozenset(
    {
        "AT_ColumnDefault",
        "AT_DropNotNull",
        "AT_SetStatistics",
        "AT_SetOptions",
        "AT_ResetOptions",
        "AT_SetStorage",
        "AT_SetCompression",
        "AT_AddIdentity",
        "AT_SetIdentity",
        "AT_DropIdentity",
        "AT_DropExpression",
        "AT_AlterColumnGenericOptions",
    }
)
_ALTER_LOCKS = {
    "AT_ValidateConstraint": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_SetStatistics": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_ClusterOn": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_DropCluster": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_SetRelOptions": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_AttachPartition": Lock.SHARE_UPDATE_EXCLUSIVE,
    "AT_EnableTrig": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrig": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigAll": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigAll": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_EnableTrigUser": Lock.SHARE_ROW_EXCLUSIVE,
    "AT_DisableTrigUser": Lock.SHARE_ROW_EXCLUSIVE,
}
_COMMANDS = {
    "CreateStmt": "CREATE TABLE",
    "IndexStmt": "CREATE INDEX",
    "RenameStmt": "ALTER … RENAME",
    "AlterObjectSchemaStmt": "ALTER … SET SCHEMA",
    "ViewStmt": "CREATE VIEW",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "AlterSeqStmt": "ALTER SEQUENCE",
    "CreateEnumStmt": "CREATE TYPE",
    "AlterEnumStmt": "ALTER TYPE",
    "CreateDomainStmt": "CREATE DOMAIN",
    "AlterDomainStmt": "ALTER DOMAIN",
    "CompositeTypeStmt": "CREATE TYPE",
    "CreateRangeStmt": "CREATE TYPE",
    "DefineStmt": "CREATE",
    "AlterFunctionStmt": "ALTER FUNCTION",
    "CreateTrigStmt": "CREATE TRIGGER",
    "CreatePolicyStmt": "CREATE POLICY",
    "AlterPolicyStmt": "ALTER POLICY",
    "CreateSchemaStmt": "CREATE SCHEMA",
    "CreateExtensionStmt": "CREATE EXTENSION",
    "AlterExtensionStmt": "ALTER EXTENSION",
    "CommentStmt": "COMMENT",
    "GrantStmt": "GRANT",
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
    "TruncateStmt": "TRUNCATE",
    "CopyStmt": "COPY",
    "SelectStmt": "SELECT",
    "DoStmt": "DO",
    "CallStmt": "CALL",
    "ExecuteStmt": "EXECUTE",
    "VariableSetStmt": "SET",
    "VacuumStmt": "VACUUM",
    "ClusterStmt": "CLUSTER",
    "ReindexStmt": "REINDEX",
    "LockStmt": "LOCK",
    "CreateFunctionStmt": "CREATE FUNCTION",
}


def _command_tag(tag: str, body: Node) -> str:
    if tag == "AlterTableStmt":
        altered = _DROP_KINDS.get(body.get("objtype", "OBJECT_TABLE"), ObjectKind.TABLE)
        return f"ALTER {_COMMAND_WORDS.get(altered, 'TABLE')}"
    if tag == "TransactionStmt":
        kind: str = body.get("kind", "TRANS_STMT")
        return kind.removeprefix("TRANS_STMT_").replace("_", " ")
    if tag == "IndexStmt" and body.get("unique"):
        return "CREATE UNIQUE INDEX"
    if tag == "VacuumStmt" and not body.get("is_vacuumcmd"):
        return "ANALYZE"
    return _COMMANDS.get(tag, tag.removesuffix("Stmt"))
