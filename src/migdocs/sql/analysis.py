"""Statement effects from pglast's parse tree: objects created, dropped, altered; data, locks.

pglast's JSON output is walked as plain dicts rather than through its Python node classes:
building those classes costs about nine times the parse itself, and `migdocs check` must
keep pace with squawk on tens of thousands of files. Each node tag has its handler, declared
where it is written (`migdocs.sql.tables`, `ddl`, `dml`, `utility`) and gathered here.
"""

from __future__ import annotations

from migdocs.objects import DEFAULT_SCHEMA, RELATION_KINDS, ObjectKind, ObjectRef
from migdocs.sql import ddl, dml, tables, utility
from migdocs.sql.effects import TEMPORARY_SCHEMA, Statement
from migdocs.sql.registry import Handler, Handlers
from migdocs.sql.tree import Node, node_of

#: The handler of each node tag, and the command such a statement is.
HANDLERS: dict[str, Handler] = Handlers.joined(
    tables.handles, ddl.handles, dml.handles, utility.handles
)


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

    def analyze(self, wrapper: Node, statement: Statement) -> Statement:
        """Fill ``statement`` with the effects of one parsed statement."""
        tag, body = node_of(wrapper)
        statement.node = tag
        handler = HANDLERS.get(tag)
        if handler is None:
            statement.command = tag.removesuffix("Stmt")
        else:
            statement.command = handler.command_of()
            handler.read(self, statement, body)
        statement.if_not_exists = statement.if_not_exists or bool(body.get("if_not_exists"))
        return statement

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

    def set_search_path(self, value: str) -> None:
        """Follow ``search_path`` set to ``value`` (a comma-separated list of schemas)."""
        path: list[str] = []
        for part in value.split(","):
            part = part.strip().strip('"')
            if part and part != "$user" and part != "pg_catalog":
                path.append(part)
        self.search_path = path or [DEFAULT_SCHEMA]
