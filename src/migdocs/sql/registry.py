"""The table of statement handlers: for each node tag, the function that reads it and the
command it is, declared together with `Handlers` as pglast's ``@node_printer`` declares
its printers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.sql.effects import Statement
from migdocs.sql.tree import Node


class Reading(Protocol):
    """A script being read, as a handler sees it: its names so far, and the walk it gives a
    statement nested in another back to (``CREATE SCHEMA … CREATE TABLE``, a guarded DO)."""

    search_path: list[str]

    def relation(self, rangevar: Node, kind: ObjectKind = ObjectKind.TABLE) -> ObjectRef:
        """An object named by a ``RangeVar``."""
        ...

    def qualified(self, names: list[str], kind: ObjectKind) -> ObjectRef:
        """An object named by a dotted list."""
        ...

    def set_search_path(self, value: str) -> None:
        """Follow ``search_path`` set to ``value``."""
        ...

    def analyze(self, wrapper: Node, statement: Statement) -> Statement:
        """Fill ``statement`` with the effects of one parsed statement."""
        ...


#: A handler: fills a statement with the effects of a node's body.
Read = Callable[[Reading, Statement, Node], None]


@dataclass(frozen=True)
class Handler:
    """What reads one node tag.

    Attributes:
        tag: The node tag, e.g. ``IndexStmt``.
        read: The function that fills a statement with the effects of such a node.
        command: The statement's command, e.g. ``CREATE INDEX``, before ``read`` makes it
            more precise (``CREATE UNIQUE INDEX``); None for the tag without ``Stmt``.
    """

    tag: str
    read: Read
    command: str | None

    def command_of(self) -> str:
        """The command a statement of this tag is, until its handler says more."""
        return self.command if self.command is not None else self.tag.removesuffix("Stmt")


class Handlers:
    """The handlers of one module, each declared by decorating it: ``@handles("IndexStmt",
    command="CREATE INDEX")``, where ``handles = Handlers()``."""

    def __init__(self) -> None:
        self.by_tag: dict[str, Handler] = {}

    def __call__(self, tag: str, *, command: str | None = None) -> Callable[[Read], Read]:
        """Declare the decorated function the handler of ``tag``, its command ``command``."""

        def declare(read: Read) -> Read:
            if tag in self.by_tag:
                raise ValueError(f"two handlers for {tag}")
            self.by_tag[tag] = Handler(tag, read, command)
            return read

        return declare

    @staticmethod
    def joined(*modules: Handlers) -> dict[str, Handler]:
        """One table of the handlers of ``modules``, a tag handled once only."""
        table: dict[str, Handler] = {}
        for handlers in modules:
            for tag, handler in handlers.by_tag.items():
                if tag in table:
                    raise ValueError(f"two handlers for {tag}")
                table[tag] = handler
        return table
