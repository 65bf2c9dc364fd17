"""What `replay.stub_extensions` asks of replay: the stubs the SQL needs, what to tell the
reader about them, and the hint of a `CREATE EXTENSION` that fails for want of one."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pglast import parser

from migdocs.pg.server import ExtensionStub, ScratchServer, StubbedExtensions
from migdocs.sql.script import load_tree

if TYPE_CHECKING:
    from migdocs.project import Project
    from migdocs.sql.script import Script

#: PostgreSQL's message when no control file of that name is on the server (SQLSTATE 0A000).
_NOT_AVAILABLE = re.compile(r'extension "([^"]+)" is not available')


def extension_stubs(project: Project) -> list[ExtensionStub]:
    """One stub per name of ``replay.stub_extensions``, with the versions the project's SQL
    asks of it and the schema it puts it in, where it names only one."""
    names = project.catalog.replay.stub_extensions
    if not names:
        return []
    versions: dict[str, set[str]] = {name: set() for name in names}
    schemas: dict[str, set[str]] = {name: set() for name in names}
    for script in _scripts(project):
        for statement in script.statements:
            if statement.command not in ("CREATE EXTENSION", "ALTER EXTENSION"):
                continue
            for node in _extension_nodes(script.statement_text(statement)):
                name = str(node.get("extname", ""))
                if name not in versions:
                    continue
                for option in node.get("options", ()):
                    element = option.get("DefElem", {})
                    value = element.get("arg", {}).get("String", {}).get("sval")
                    if value is None:
                        continue
                    if element.get("defname") == "new_version":
                        versions[name].add(str(value))
                    elif element.get("defname") == "schema":
                        schemas[name].add(str(value))
    return [
        ExtensionStub(
            name,
            frozenset(versions[name]),
            next(iter(schemas[name])) if len(schemas[name]) == 1 else None,
        )
        for name in dict.fromkeys(names)
    ]


def stub_notes(project: Project, stubbed: StubbedExtensions, server: ScratchServer) -> list[str]:
    """What the report says of the stubs: which are empty, and warnings for those the
    server has (the real one is used) or cannot take (a ``--scratch-url`` server)."""
    line = project.loaded.line_of("replay", "stub_extensions")
    where = f"{project.loaded.display}:{line}" if line else project.loaded.display
    notes: list[str] = []
    if stubbed.made:
        notes.append(
            f"replay.stub_extensions: {_listed(stubbed.made)} replayed as empty extensions: "
            "what uses their functions or tables fails"
        )
    for name in stubbed.real:
        notes.append(
            f"warning: {where}: replay.stub_extensions names {name}, which {server.name} "
            "has: the real extension is used"
        )
    if stubbed.refused:
        notes.append(
            f"warning: {where}: replay.stub_extensions needs the embedded server; "
            f"{server.name} cannot take stubs, and lacks {_listed(stubbed.refused)}: "
            "CREATE EXTENSION fails there"
        )
    return notes


def extension_hint(
    message: str, sqlstate: str | None, project: Project, server: ScratchServer
) -> str | None:
    """migdocs' hint for a statement that failed with ``message`` because the server has no
    such extension: a server that has it, or ``replay.stub_extensions``; else ``None``."""
    found = _NOT_AVAILABLE.search(message) if sqlstate == "0A000" else None
    if found is None:
        return None
    name = found.group(1)
    if name in project.catalog.replay.stub_extensions and not server.takes_extension_stubs:
        return (
            f"replay.stub_extensions needs the embedded server: {server.name} cannot take "
            f"stubs; install {name} there, or replay on the embedded server"
        )
    return (
        f"replay on a server that has {name} (--scratch-url URL), or name it in "
        f"replay.stub_extensions: CREATE EXTENSION then makes an empty {name} (what uses "
        "its functions still fails)"
    )


def _scripts(project: Project) -> list[Script]:
    scripts = list(project.setup_scripts())
    for entry in project.entries:
        for script in (project.forward(entry), project.rollback(entry)):
            if script is not None and script.parsed:
                scripts.append(script)
    return scripts


def _extension_nodes(text: str) -> list[dict[str, Any]]:
    """The ``CreateExtensionStmt`` and ``AlterExtensionStmt`` nodes of one statement."""
    try:
        tree = load_tree(parser.parse_sql_json(text))
    except (parser.ParseError, RecursionError):
        return []
    nodes: list[dict[str, Any]] = []
    for raw in tree.get("stmts", ()):
        stmt = raw.get("stmt", {})
        node = stmt.get("CreateExtensionStmt") or stmt.get("AlterExtensionStmt")
        if node is not None:
            nodes.append(node)
    return nodes


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
