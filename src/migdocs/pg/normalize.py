"""What only the server version changes in catalog text, taken out: layout, and 15's qualifiers."""

from __future__ import annotations

from typing import Any

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


def function_body(text: str) -> str:
    """A function body as written, without the blank lines and spaces around it."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def unqualified(definition: str) -> str:
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
