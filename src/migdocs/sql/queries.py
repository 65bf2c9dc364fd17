"""What a query reads: the tables and columns it reads, and calls that may change the schema."""

from __future__ import annotations

from typing import Any

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.sql.effects import Statement
from migdocs.sql.registry import Reading
from migdocs.sql.tree import Node, child, strings, walk

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


def query_uses(reading: Reading, statement: Statement, query: Any, with_clause: Any = None) -> None:
    """Tables a query reads; ``with_clause`` is the WITH of a statement around it."""
    parts = (query, with_clause)
    ctes = {cte["ctename"] for part in parts for cte in walk(part, "CommonTableExpr")}
    for part in parts:
        for rangevar in walk(part, "RangeVar"):
            if rangevar.get("schemaname") is None and rangevar["relname"] in ctes:
                continue
            statement.uses.append(reading.relation(rangevar))


def columns_read(
    reading: Reading, statement: Statement, parts: list[Any], written: Node | None = None
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
        tables[alias or rangevar["relname"]] = reading.relation(rangevar)
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
            statement.column_uses.append(child(ObjectKind.COLUMN, single, names[0]))
        elif len(names) >= 2 and names[-2] in tables:
            table = tables[names[-2]]
            statement.column_uses.append(child(ObjectKind.COLUMN, table, names[-1]))


def calls(statement: Statement, node: Any) -> None:
    """Mark the statement opaque when it calls a function that may change the schema."""
    for call in walk(node, "FuncCall"):
        names = strings(call.get("funcname"))
        if names[:1] == ["pg_catalog"]:
            continue
        if names and names[-1] not in SCHEMA_NEUTRAL_FUNCTIONS:
            statement.opaque = True
            return
