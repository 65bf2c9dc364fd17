"""A migration project: the loaded catalog, its files on disk, and each SQL file parsed once."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from migdocs.catalog import LoadedCatalog, Migration, load_catalog
from migdocs.catalog.models import PLACEHOLDERS, Catalog
from migdocs.errors import CatalogError, MigdocsError
from migdocs.limits import FileTooLarge
from migdocs.runners import Runner, make_runner
from migdocs.runners.base import LayoutProblem, Listed, Listing, Part, Sections, masked
from migdocs.sql.script import Script, ScriptProblem, parse_into, read_script

#: The platform presets migdocs ships, one ``NAME.sql`` each: package data, found without
#: importing `migdocs.pg` (and psycopg with it), which a static check never needs.
PRESETS = Path(__file__).parent / "pg" / "presets"


def shipped_presets() -> list[str]:
    """The names of the presets migdocs ships (``supabase``), sorted."""
    return sorted(path.stem for path in PRESETS.glob("*.sql"))


def convention_pattern(convention: str) -> re.Pattern[str]:
    """A file-name convention such as ``{date}_{name}.sql`` as a regular expression."""
    out = ""
    for part in re.split(r"(\{[a-z]+\})", convention):
        placeholder = part[1:-1] if part.startswith("{") and part.endswith("}") else None
        if placeholder is not None and placeholder in PLACEHOLDERS:
            out += PLACEHOLDERS[placeholder]
        else:
            out += re.escape(part)
    return re.compile(f"^{out}$")


def _folder_shown(catalog: str) -> str:
    """The folder of a catalog named ``catalog`` (as the user named it), as reports show it:
    ``""`` for the working directory."""
    folder = os.path.dirname(catalog)
    shown = Path(folder).as_posix() if folder else ""
    return "" if shown == "." else shown


@dataclass
class Entry:
    """One catalog migration with its files.

    Attributes:
        migration: The catalog entry.
        index: Its position in catalog order (0-based).
        forward_path: The migration file.
        rollback_path: The rollback file, when the entry names one.
        forward_part: The section of ``forward_path`` that is the forward script, where one
            file holds both (dbmate, goose).
        rollback_part: The section of ``rollback_path`` that is the rollback script.
    """

    migration: Migration
    index: int
    forward_path: Path
    rollback_path: Path | None
    forward_part: Part | None = None
    rollback_part: Part | None = None

    @property
    def id(self) -> str:
        """The migration's id."""
        return self.migration.id


class Project:
    """Everything migdocs knows about a project without a database.

    Args:
        loaded: The validated catalog.
        relative_to_catalog: Whether reports name the SQL files from where ``loaded.display``
            names the catalog (``psql/catalog.yaml``, ``psql/migrations/a.sql``), so that
            every path of a report starts from the same place; else from the project folder.

    Raises:
        CatalogError: when a path in the catalog leads outside the project.
    """

    def __init__(self, loaded: LoadedCatalog, *, relative_to_catalog: bool = True) -> None:
        self.loaded = loaded
        self.catalog: Catalog = loaded.catalog
        self.root = loaded.path.parent.resolve()
        problems: list[str] = []
        self._bases: dict[Path, bool] = {}
        self._listings: dict[Path, dict[str, os.DirEntry[str]]] = {}
        self._children: dict[Path, dict[str, Path]] = {}
        self._shown_folders: dict[str, str] = {}
        self._shown_root = _folder_shown(loaded.display) if relative_to_catalog else ""
        settings = self.catalog.runner
        self.runner: Runner = make_runner(self.root, settings)
        #: The runner that decides the layout, or ``None`` for `plain` (paths + conventions).
        self.layout: Runner | None = None if settings.kind == "plain" else self.runner
        if self.layout is None:
            self.migrations_dir = self._folder(
                ("paths", "migrations"), self.catalog.paths.migrations, problems
            )
            self.rollbacks_dir = self._folder(
                ("paths", "rollbacks"), self.catalog.paths.rollbacks, problems
            )
        else:
            folder = settings.path or self.layout.default_path
            self.migrations_dir = self._folder(("runner", "path"), folder, problems)
            if not problems and not self.migrations_dir.is_dir():
                where = ("runner", "path") if settings.path else ("runner", "kind")
                problems.append(
                    loaded.error(
                        where,
                        f"{folder!r} is not a folder: {settings.kind}'s migrations are not "
                        "there (give `runner.path`, relative to the catalog)",
                    )
                )
            self.rollbacks_dir = self.migrations_dir
            self.layout.folder = self.migrations_dir
        self.entries: list[Entry] = []
        for index, migration in enumerate(self.catalog.migrations):
            forward = self._inside(
                self.migrations_dir,
                self._forward_name(migration),
                ("migrations", index, "file" if migration.file else "id"),
                problems,
            )
            rollback = None
            if migration.rollback is not None and migration.rollback.file is not None:
                rollback = self._inside(
                    self.rollbacks_dir,
                    migration.rollback.file,
                    ("migrations", index, "rollback", "file"),
                    problems,
                )
            if forward is not None:
                entry = Entry(migration, index, forward, rollback)
                if self.layout is not None and self.layout.sectioned:
                    # Every file of such a runner holds both: the rollback is a down section,
                    # its own migration's or (named by hand) another file's.
                    entry.forward_part = "up"
                    entry.rollback_part = "down" if rollback is not None else None
                self.entries.append(entry)
        #: The ``replay.preset`` file: a shipped preset's or the project's own.
        self.preset_path: Path | None = None
        preset = self.catalog.replay.preset
        if preset is not None:
            if preset in shipped_presets():
                self.preset_path = PRESETS / f"{preset}.sql"
            elif preset.endswith(".sql"):
                self.preset_path = self._inside(self.root, preset, ("replay", "preset"), problems)
            else:
                problems.append(
                    loaded.error(
                        ("replay", "preset"),
                        f"{preset!r} is no preset of migdocs ({', '.join(shipped_presets())}): "
                        "name one, or give a .sql file relative to the catalog",
                    )
                )
        self.setup_paths: list[Path] = []
        for index, name in enumerate(self.catalog.replay.setup):
            path = self._inside(self.root, name, ("replay", "setup", index), problems)
            if path is not None:
                self.setup_paths.append(path)
        if problems:
            raise CatalogError(problems)
        self._scripts: dict[Path, Script | None] = {}
        self._read_problems: dict[Path, ScriptProblem] = {}
        self._sections: dict[Path, Sections | None] = {}
        self._parts: dict[tuple[Path, Part], Script | None] = {}
        self._preset: Script | None = None

    @classmethod
    def load(cls, catalog_path: Path, display: str | None = None) -> Project:
        """Load the catalog at ``catalog_path`` and the project around it.

        Args:
            catalog_path: The catalog file.
            display: How reports name it, as the user did; its SQL files are then named
                from the same place. Without it, messages name the catalog by
                ``catalog_path`` and reports name the files from the project folder.
        """
        return cls(load_catalog(catalog_path, display), relative_to_catalog=display is not None)

    # -- paths --------------------------------------------------------------------------------

    def _folder(self, where: tuple[str, str], value: str, problems: list[str]) -> Path:
        path = self._inside(self.root, value, where, problems)
        return path if path is not None else self.root / "__invalid__"

    def _forward_name(self, migration: Migration) -> str:
        """The entry's forward file under its folder: ``file``, else where the runner keeps
        the migration with that id, else ``{id}.sql``."""
        if migration.file is not None or self.layout is None:
            return migration.file_name
        listed = self.listed.get(migration.id)
        return listed.file if listed is not None else self.layout.default_file(migration.id)

    # -- the runner's view ----------------------------------------------------------------------

    @cached_property
    def listing(self) -> Listing:
        """What the runner finds in its folder (nothing for `plain`)."""
        return self.layout.listing() if self.layout is not None else Listing()

    @cached_property
    def listed(self) -> dict[str, Listed]:
        """The runner's migrations by id."""
        return self.listing.by_id()

    def layout_problems(self, code: str) -> list[LayoutProblem]:
        """What the runner would refuse or ignore in its folder, for the rule ``code``."""
        return [problem for problem in self.listing.problems if problem.code == code]

    def ledger_keys(self) -> dict[str, str]:
        """Catalog ids by what the runner's ledger records for them (a version, a name)."""
        keys: dict[str, str] = {}
        for entry in self.entries:
            listed = self.listed.get(entry.id)
            if listed is not None and self.layout is not None:
                keys.setdefault(self.layout.ledger_key(listed), entry.id)
            else:
                keys.setdefault(entry.id, entry.id)
        return keys

    def _inside(
        self, base: Path, name: str, where: tuple[str | int, ...], problems: list[str]
    ) -> Path | None:
        """``base / name``, refused when it leads outside the project (``..``, absolute, links)
        or cannot name a file (a NUL byte)."""
        if "\0" in name:
            problems.append(self.loaded.error(where, f"{name!r} holds a NUL byte: not a file name"))
            return None
        simple = "/" not in name and "\\" not in name and name not in (".", "..", "")
        if simple and self._base_inside(base):
            # One plain name in a folder already known to be inside: only a link can lead out.
            # The folder's listing says which names are links without a system call per file.
            listed = self._listing(base).get(name)
            if listed is not None and not listed.is_symlink():
                return self._child(base, name)
            try:
                link = listed is None and (base / name).is_symlink()
            except OSError as error:  # a name too long for the file system
                problems.append(self.loaded.error(where, f"{name!r}: {error.strerror}"))
                return None
            if listed is None and not link:
                return base / name  # missing (MG102), or spelled in another case than on disk
        relative = Path(name)
        if relative.is_absolute() or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
            problems.append(
                self.loaded.error(where, f"{name!r} is absolute; give a path inside the project")
            )
            return None
        candidate = base / relative
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            problems.append(self.loaded.error(where, f"{name!r} cannot be resolved"))
            return None
        if not resolved.is_relative_to(self.root):
            problems.append(
                self.loaded.error(where, f"{name!r} leads outside the project folder ({self.root})")
            )
            return None
        return candidate

    def _base_inside(self, base: Path) -> bool:
        inside = self._bases.get(base)
        if inside is None:
            try:
                inside = base.resolve().is_relative_to(self.root)
            except (OSError, RuntimeError):
                inside = False
            self._bases[base] = inside
        return inside

    def _child(self, folder: Path, name: str) -> Path:
        """``folder / name``, one object however often it is asked for (paths are costly)."""
        made = self._children.setdefault(folder, {})
        path = made.get(name)
        if path is None:
            path = made[name] = folder / name
        return path

    def _listing(self, folder: Path) -> dict[str, os.DirEntry[str]]:
        """The entries of ``folder`` by name, read once (empty when it cannot be read)."""
        listing = self._listings.get(folder)
        if listing is None:
            try:
                with os.scandir(folder) as entries:
                    listing = {entry.name: entry for entry in entries}
            except OSError:
                listing = {}
            self._listings[folder] = listing
        return listing

    def display(self, path: Path) -> str:
        """A path as reports show it, with ``/``: from the catalog's folder as the user named
        it, so that every path of a report starts where the catalog's does (the working
        directory, or the root when the catalog was named by an absolute path)."""
        # Most paths are a file name in one of a few folders: each folder is worked out once.
        folder, name = os.path.split(path)
        shown = self._shown_folders.get(folder)
        if shown is not None and name:
            return f"{shown}/{name}" if shown else name
        try:
            relative = Path(folder).relative_to(self.root).as_posix()
        except ValueError:
            pass
        else:
            self._shown_folders[folder] = self._from_root(relative)
        return self._display(path)

    def _display(self, path: Path) -> str:
        try:
            return self._from_root(path.relative_to(self.root).as_posix())
        except ValueError:
            try:
                return self._from_root(path.resolve().relative_to(self.root).as_posix())
            except ValueError:
                return path.as_posix()

    def _from_root(self, relative: str) -> str:
        """A path relative to the project folder, as reports show it."""
        if relative == ".":
            return self._shown_root
        return f"{self._shown_root}/{relative}" if self._shown_root else relative

    @property
    def catalog_display(self) -> str:
        """The catalog file as messages name it."""
        return self.loaded.display

    # -- files --------------------------------------------------------------------------------

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
            self._read_problems[path] = ScriptProblem("MG200", "is a folder, not a SQL file")
        except FileTooLarge as exc:
            script = None
            self._read_problems[path] = ScriptProblem("MG200", f"{exc.strerror}; not read")
        except OSError as exc:
            script = None
            self._read_problems[path] = ScriptProblem("MG200", f"cannot be read: {exc.strerror}")
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

    def scripts_read(self) -> dict[str, Script]:
        """Every file read so far, by its display path."""
        return {script.display: script for script in self._scripts.values() if script is not None}

    def read_problem(self, path: Path) -> ScriptProblem | None:
        """Why an existing file could not be read, if it could not."""
        self.script(path)
        return self._read_problems.get(path)

    def forward(self, entry: Entry) -> Script | None:
        """The entry's migration script (its up section, where a file holds both)."""
        return self.script(entry.forward_path, entry.forward_part)

    def rollback(self, entry: Entry) -> Script | None:
        """The entry's rollback script, if it names one and it exists."""
        if entry.rollback_path is None:
            return None
        return self.script(entry.rollback_path, entry.rollback_part)

    def setup_scripts(self) -> list[Script]:
        """The ``replay.preset`` script, then the ``replay.setup`` scripts, parsed.

        Raises:
            CatalogError: when one is missing, cannot be read or does not parse: replay
                would start from another schema than production's, and every check built
                on it would be wrong (naming the catalog's line and the file).
        """
        scripts: list[Script] = []
        problems: list[str] = []
        preset = self.preset_script()
        if preset is not None:
            scripts.append(preset)
        for index, path in enumerate(self.setup_paths):
            script = self.script(path)
            message = self._unusable(path, script)
            if message is not None:
                problems.append(self.loaded.error(("replay", "setup", index), message))
            elif script is not None:
                scripts.append(script)
        if problems:
            raise CatalogError(problems)
        return scripts

    def preset_script(self) -> Script | None:
        """The ``replay.preset`` script, parsed; ``None`` without one.

        Raises:
            CatalogError: when it is missing, cannot be read or does not parse.
        """
        path = self.preset_path
        if path is None:
            return None
        if path.parent != PRESETS:
            script = self.script(path)
        else:  # migdocs' own: read apart, so that no finding is made on it
            if self._preset is None:
                self._preset = read_script(path, f"migdocs:presets/{path.name}")
            script = self._preset
        message = self._unusable(path, script)
        if message is not None:
            raise CatalogError([self.loaded.error(("replay", "preset"), message)])
        return script

    def _unusable(self, path: Path, script: Script | None) -> str | None:
        """Why a preset or setup file cannot be run, naming it (and the line where it does
        not parse), or ``None`` when it can."""
        shown = script.display if script is not None else self.display(path)
        problem = self._read_problems.get(path)
        if problem is not None:
            return f"{shown} {problem.message}"
        if script is None:
            return f"{shown} does not exist"
        if not script.parsed:
            first = next((p for p in script.problems if p.code == "MG200"), None)
            if first is None:  # only a psql include stopped it
                first = next(iter(script.problems), ScriptProblem("MG200", "does not parse"))
            where = ":".join(str(n) for n in (first.line, first.column) if n is not None)
            return f"{shown}{':' + where if where else ''}: {first.message}"
        return None

    @cached_property
    def migration_pattern(self) -> re.Pattern[str]:
        """The migration file-name convention."""
        return convention_pattern(self.catalog.conventions.migration)

    @cached_property
    def rollback_pattern(self) -> re.Pattern[str]:
        """The rollback file-name convention."""
        return convention_pattern(self.catalog.conventions.rollback)

    @cached_property
    def migration_files(self) -> list[Path]:
        """SQL files of the migrations folder (not subfolders, not rollbacks kept beside them);
        for a runner, the forward file of each migration it lists."""
        if self.layout is not None:
            return [self.migrations_dir / listed.file for listed in self.listing.migrations]
        same = self.migrations_dir.resolve() == self.rollbacks_dir.resolve()
        return self._sql_files(
            self.migrations_dir, lambda name: not (same and self.rollback_pattern.match(name))
        )

    @cached_property
    def rollback_files(self) -> list[Path]:
        """SQL files in the rollbacks folder; for a runner, the rollback files of the
        migrations it lists (a file that also holds the forward script is not one)."""
        if self.layout is not None:
            return [
                self.migrations_dir / listed.rollback
                for listed in self.listing.migrations
                if listed.rollback is not None and listed.rollback != listed.file
            ]
        same = self.migrations_dir.resolve() == self.rollbacks_dir.resolve()
        return self._sql_files(
            self.rollbacks_dir, lambda name: not same or bool(self.rollback_pattern.match(name))
        )

    def _sql_files(self, folder: Path, keep: Callable[[str], bool]) -> list[Path]:
        """The files ``*.sql`` of ``folder`` (links to files included) that ``keep``, sorted as
        paths sort."""
        names = []
        for name, entry in self._listing(folder).items():
            if not os.path.normcase(name).endswith(".sql") or not keep(name):
                continue
            try:
                is_file = entry.is_file()
            except OSError:
                is_file = False
            if is_file:
                names.append(name)
        names.sort(key=os.path.normcase)
        return [self._child(folder, name) for name in names]

    def index_of(self, migration_id: str) -> int:
        """The catalog position of a migration id.

        Raises:
            MigdocsError: when no entry has that id.
        """
        for entry in self.entries:
            if entry.id == migration_id:
                return entry.index
        raise MigdocsError(f"{self.catalog_display}: no migration with id {migration_id!r}")

    def review_digest(self, entry: Entry) -> str | None:
        """SHA-256 of the forward file's bytes followed by the rollback file's bytes.

        ``None`` when the forward file (or a named rollback file) is missing.
        """
        forward = self.forward(entry)
        if forward is None:
            return None
        import hashlib

        digest = hashlib.sha256(forward.raw)
        if entry.rollback_path is not None:
            rollback = self.rollback(entry)
            if rollback is None:
                return None
            digest.update(rollback.raw)
        return digest.hexdigest()
