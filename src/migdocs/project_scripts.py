"""A project's SQL files, each read and parsed once, as the project's runner reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from migdocs.limits import FileTooLarge
from migdocs.runners.base import masked
from migdocs.sql.script import Script, ScriptProblem, parse_into, read_script

if TYPE_CHECKING:
    from migdocs.runners.base import Part, Runner, Sections


class ProjectScripts:
    """Every SQL file read so far, parsed, and the sections of the files that hold two.

    Args:
        layout: The runner that decides the layout, or ``None`` for `plain`.
        display: How reports show a path.
    """

    def __init__(self, layout: Runner | None, display: Callable[[Path], str]) -> None:
        self.layout = layout
        self.display = display
        #: Why each existing file that was asked for could not be read.
        self.unreadable: dict[Path, ScriptProblem] = {}
        self._scripts: dict[Path, Script | None] = {}
        self._sections: dict[Path, Sections | None] = {}
        self._parts: dict[tuple[Path, Part], Script | None] = {}

    def script(self, path: Path, part: Part | None = None) -> Script | None:
        """The parsed file at ``path`` (read once), or ``None`` when it does not exist; with
        ``part``, that section of it, as the runner reads the file."""
        if part is not None:
            return self._section(path, part)
        if path in self._scripts:
            return self._scripts[path]
        script: Script | None
        # A file that holds two sections is parsed section by section, never whole.
        whole = self.layout is None or not self.layout.sectioned
        try:
            script = read_script(path, self.display(path), parse=whole)
        except FileNotFoundError:
            script = None
        except IsADirectoryError:
            script = None
            self.unreadable[path] = ScriptProblem("MG200", "is a folder, not a SQL file")
        except FileTooLarge as exc:
            script = None
            self.unreadable[path] = ScriptProblem("MG200", f"{exc.strerror}; not read")
        except OSError as exc:
            script = None
            self.unreadable[path] = ScriptProblem("MG200", f"cannot be read: {exc.strerror}")
        self._scripts[path] = script
        return script

    def sections(self, path: Path) -> Sections | None:
        """Where the runner finds the forward and rollback scripts of a file that holds both."""
        if path in self._sections:
            return self._sections[path]
        whole = self.script(path)
        found = None
        if whole is not None and whole.text is not None and self.layout is not None:
            found = self.layout.sections(whole.text)
        self._sections[path] = found
        return found

    def _section(self, path: Path, part: Part) -> Script | None:
        key = (path, part)
        if key in self._parts:
            return self._parts[key]
        whole = self.script(path)
        found = self.sections(path)
        script = whole
        if whole is not None and whole.text is not None and found is not None:
            lines = found.up if part == "up" else found.down
            text = masked(whole.text, lines)
            script = Script(path, whole.display, whole.raw, text)
            script.transaction = found.up_transaction if part == "up" else found.down_transaction
            if lines is not None:
                parse_into(script, text)
            if part == "up":
                for problem in found.problems:
                    script.problems.append(
                        ScriptProblem(problem.code, problem.message, problem.line)
                    )
            if lines is None or any(problem.code == "MG200" for problem in found.problems):
                # The runner refuses or misreads the file: what it would run is not known,
                # so nothing is checked or replayed as if it were (MG200 says why).
                script.parsed = False
        self._parts[key] = script
        return script

    def read(self) -> dict[str, Script]:
        """Every file read so far, by its display path."""
        return {script.display: script for script in self._scripts.values() if script is not None}
