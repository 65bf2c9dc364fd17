"""Errors that stop a run before it can report findings (exit code 2)."""

from __future__ import annotations


class MigdocsError(Exception):
    """A run that cannot be made: bad catalog, bad flags, unreachable database.

    The message is complete and names the file and line, or the host; the CLI prints it as
    ``migdocs: error: <message>`` and exits with 2.
    """


class CatalogError(MigdocsError):
    """The catalog cannot be loaded; each problem is one ``file:line:column: path: message``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
