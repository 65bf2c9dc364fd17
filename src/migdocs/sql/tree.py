"""Readers of pglast's JSON parse tree: node tags, names, types, and expressions as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.sql.effects import KeyInfo

Node = dict[str, Any]

#: The kind of object each ``ObjectType`` of the parse tree names (DROP, ALTER, COMMENT, …).
OBJECT_KINDS = {
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
#: The word a command uses for each kind of object (``DROP MATERIALIZED VIEW``).
COMMAND_WORDS = {
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


def func_name(call: Node) -> str:
    """The name a ``FuncCall`` calls, without its schema."""
    names = strings(call.get("funcname"))
    return names[-1] if names else ""


def child(kind: ObjectKind, table: ObjectRef, name: str) -> ObjectRef:
    """A column, constraint, index, trigger or policy of ``table``."""
    return ObjectRef(kind, table.schema, name, table=table.name)


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


def index_key(
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
