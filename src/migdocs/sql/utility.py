"""Session, privilege and maintenance statements: SET, GRANT, COMMENT, DO, CALL, transaction
control, VACUUM, CLUSTER, REINDEX, LOCK."""

from __future__ import annotations

import json
import re
from typing import Any

from pglast import parser

from migdocs.objects import DEFAULT_SCHEMA, ObjectKind, ObjectRef, quote_part
from migdocs.sql.ddl import dropped
from migdocs.sql.effects import HeavyStep, Lock, Statement
from migdocs.sql.registry import Handlers, Reading
from migdocs.sql.tree import OBJECT_KINDS, Node, child, node_of, strings

handles = Handlers()

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


@handles("CommentStmt", command="COMMENT")
def comment(reading: Reading, statement: Statement, body: Node) -> None:
    """The object commented on is altered."""
    target = _commented(reading, body.get("objtype", ""), body.get("object") or {})
    if target is not None:
        statement.alters.append(target)


def _commented(reading: Reading, objtype: str, item: Node) -> ObjectRef | None:
    """The object of ``objtype`` that a COMMENT names by ``item``."""
    kind = OBJECT_KINDS.get(objtype)
    if kind is None:
        return None
    if kind in (ObjectKind.COLUMN, ObjectKind.CONSTRAINT):
        names = strings(item.get("List", {}).get("items"))
        if len(names) < 2:
            return None
        return child(kind, reading.qualified(names[:-1], ObjectKind.TABLE), names[-1])
    return dropped(reading, kind, item)


@handles("GrantStmt", command="GRANT")
def grant(reading: Reading, statement: Statement, body: Node) -> None:
    """The objects privileges are granted or revoked on are altered."""
    if body.get("targtype") != "ACL_TARGET_OBJECT":
        return
    kind = OBJECT_KINDS.get(body.get("objtype", ""))
    if kind is None:
        return
    for item in body.get("objects") or ():
        if "RangeVar" in item:
            statement.alters.append(reading.relation(item["RangeVar"], kind))
        else:
            ref = dropped(reading, kind, item)
            if ref is not None:
                statement.alters.append(ref)


@handles("CallStmt", command="CALL")
@handles("ExecuteStmt", command="EXECUTE")
def opaque(reading: Reading, statement: Statement, body: Node) -> None:
    """What a procedure or a prepared statement does is not seen."""
    statement.opaque = True


@handles("DoStmt", command="DO")
def do_block(reading: Reading, statement: Statement, body: Node) -> None:
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
        reading.analyze(raw["stmt"], statement)
    statement.command = "DO"
    statement.if_not_exists = True  # the guard: nothing happens to what is there


@handles("VariableSetStmt", command="SET")
def set_variable(reading: Reading, statement: Statement, body: Node) -> None:
    """SET, RESET: ``search_path`` is followed."""
    if body.get("name") != "search_path":
        return
    if body.get("kind") in ("VAR_RESET", "VAR_SET_DEFAULT"):
        reading.search_path = [DEFAULT_SCHEMA]
        return
    values = [arg.get("A_Const", {}).get("sval", {}).get("sval") for arg in body.get("args") or ()]
    reading.set_search_path(",".join(value for value in values if value is not None))


@handles("TransactionStmt")
def transaction(reading: Reading, statement: Statement, body: Node) -> None:
    """BEGIN, COMMIT, ROLLBACK, SAVEPOINT…: the command is the kind of step."""
    kind: str = body.get("kind", "TRANS_STMT")
    statement.command = kind.removeprefix("TRANS_STMT_").replace("_", " ")
    statement.transaction = True


@handles("VacuumStmt", command="VACUUM")
def vacuum(reading: Reading, statement: Statement, body: Node) -> None:
    """VACUUM (FULL rewrites its tables), or ANALYZE."""
    if not body.get("is_vacuumcmd"):
        statement.command = "ANALYZE"
    options = {option["DefElem"]["defname"] for option in body.get("options") or ()}
    if "full" not in options:
        return
    for relation in body.get("rels") or ():
        rangevar = relation["VacuumRelation"].get("relation")
        if rangevar is None:
            continue
        _rewrites(
            statement, reading.relation(rangevar), "VACUUM FULL", "use pg_repack, or plain VACUUM"
        )


@handles("ClusterStmt", command="CLUSTER")
def cluster(reading: Reading, statement: Statement, body: Node) -> None:
    """CLUSTER, which rewrites its table."""
    relation = body.get("relation")
    if relation is None:
        return
    _rewrites(statement, reading.relation(relation), "CLUSTER", "use pg_repack")


def _rewrites(statement: Statement, table: ObjectRef, command: str, fix: str) -> None:
    """``command`` rewrites ``table`` while it holds an ACCESS EXCLUSIVE lock on it."""
    statement.hold(
        HeavyStep(
            table,
            Lock.ACCESS_EXCLUSIVE,
            f"{command} rewrites {quote_part(table.name)} while reads and writes wait",
            rewrites=True,
            fix=fix,
        )
    )


@handles("ReindexStmt", command="REINDEX")
def reindex(reading: Reading, statement: Statement, body: Node) -> None:
    """REINDEX of a table, which blocks writes unless CONCURRENTLY."""
    options = {option["DefElem"]["defname"] for option in body.get("params") or ()}
    relation = body.get("relation")
    if "concurrently" in options or relation is None or body.get("kind") != "REINDEX_OBJECT_TABLE":
        return
    table = reading.relation(relation)
    statement.hold(
        HeavyStep(
            table,
            Lock.SHARE,
            f"REINDEX of {quote_part(table.name)} without CONCURRENTLY blocks writes",
            rewrites=False,
            fix="REINDEX … CONCURRENTLY",
        )
    )


@handles("LockStmt", command="LOCK")
def lock_table(reading: Reading, statement: Statement, body: Node) -> None:
    """LOCK TABLE: the lock it takes."""
    mode = body.get("mode", 8)
    statement.take_lock(list(Lock)[max(0, min(int(mode), 8) - 1)])
