"""Statements that change rows (INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY), and SELECT."""

from __future__ import annotations

from migdocs.objects import ObjectKind
from migdocs.sql.effects import Lock, Statement
from migdocs.sql.queries import calls, columns_read, query_uses
from migdocs.sql.registry import Handlers, Reading
from migdocs.sql.tree import Node, child, func_name, walk

handles = Handlers()


def _data(reading: Reading, statement: Statement, command: str, relation: Node | None) -> None:
    """Rows of ``relation`` changed by ``command``, under a ROW EXCLUSIVE lock."""
    statement.data_change = command
    statement.take_lock(Lock.ROW_EXCLUSIVE)
    if relation is not None:
        table = reading.relation(relation)
        statement.data_targets.append(table)
        statement.uses.append(table)


@handles("InsertStmt", command="INSERT")
def insert(reading: Reading, statement: Statement, body: Node) -> None:
    """Rows inserted, the columns named, and what the query of its rows reads."""
    _data(reading, statement, "INSERT", body.get("relation"))
    query_uses(reading, statement, body.get("selectStmt"), body.get("withClause"))
    table = reading.relation(body["relation"])
    for target in body.get("cols") or ():
        statement.column_uses.append(child(ObjectKind.COLUMN, table, target["ResTarget"]["name"]))
    columns_read(reading, statement, [body.get("selectStmt"), body.get("withClause")])
    calls(statement, body.get("selectStmt"))


@handles("UpdateStmt", command="UPDATE")
def update(reading: Reading, statement: Statement, body: Node) -> None:
    """Rows updated, the columns set, and the columns its expressions read."""
    _data(reading, statement, "UPDATE", body.get("relation"))
    calls(statement, body.get("targetList"))
    table = reading.relation(body["relation"])
    for target in body.get("targetList") or ():
        name = target.get("ResTarget", {}).get("name")
        if name is not None:  # (a, b) = … names each column too
            statement.column_uses.append(child(ObjectKind.COLUMN, table, name))
    parts = [body.get("targetList"), body.get("whereClause"), body.get("fromClause")]
    columns_read(reading, statement, parts, written=body["relation"])


@handles("DeleteStmt", command="DELETE")
def delete(reading: Reading, statement: Statement, body: Node) -> None:
    """Rows deleted."""
    _data(reading, statement, "DELETE", body.get("relation"))


@handles("MergeStmt", command="MERGE")
def merge(reading: Reading, statement: Statement, body: Node) -> None:
    """Rows merged."""
    _data(reading, statement, "MERGE", body.get("relation"))


@handles("TruncateStmt", command="TRUNCATE")
def truncate(reading: Reading, statement: Statement, body: Node) -> None:
    """Every row of its tables deleted, under an ACCESS EXCLUSIVE lock."""
    statement.data_change = "TRUNCATE"
    statement.take_lock(Lock.ACCESS_EXCLUSIVE)
    for item in body.get("relations") or ():
        table = reading.relation(item["RangeVar"])
        statement.data_targets.append(table)
        statement.uses.append(table)


@handles("CopyStmt", command="COPY")
def copy_rows(reading: Reading, statement: Statement, body: Node) -> None:
    """Rows copied in (COPY … FROM); copying out changes nothing."""
    if body.get("is_from"):
        _data(reading, statement, "COPY", body.get("relation"))


@handles("SelectStmt", command="SELECT")
def select(reading: Reading, statement: Statement, body: Node) -> None:
    """A SELECT: SELECT INTO makes a table; a call may change the schema or the
    ``search_path`` (``set_config``)."""
    into = body.get("intoClause")
    made = reading.relation(into["rel"]) if into is not None else None
    if made is not None and into is not None and into["rel"].get("relpersistence") != "t":
        statement.creates.append(made)
        statement.command = "SELECT INTO"
    calls(statement, body)
    for call in walk(body.get("targetList"), "FuncCall"):
        if func_name(call) != "set_config":
            continue
        args = [a.get("A_Const", {}).get("sval", {}).get("sval") for a in call.get("args") or ()]
        if len(args) >= 2 and args[0] == "search_path" and args[1] is not None:
            reading.set_search_path(args[1])
