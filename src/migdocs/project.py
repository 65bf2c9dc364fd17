"""A migration project: the loaded catalog, its files on disk, and each SQL file parsed once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from migdocs.catalog import LoadedCatalog, Migration, load_catalog
from migdocs.catalog.models import PLACEHOLDERS, Catalog
from migdocs.errors import CatalogError, MigdocsError
from migdocs.project_folder import ProjectFolder
from migdocs.project_scripts import ProjectScripts
from migdocs.runners import Runner, make_runner
from migdocs.runners.base import LayoutProblem, Listed, Listing, Part, Sections
from migdocs.sql.script import Script, ScriptProblem, read_script

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
        #: The folder the catalog is in, which every path of the project is inside.
        self.folder = ProjectFolder(loaded, relative_to_catalog=relative_to_catalog)
        self.root = self.folder.root
        problems: list[str] = []
        settings = self.catalog.runner
        self.runner: Runner = make_runner(self.root, settings)
        #: The runner that decides the layout, or ``None`` for `plain` (paths + conventions).
        self.layout: Runner | None = None if settings.kind == "plain" else self.runner
        self.migrations_dir, self.rollbacks_dir = self._migration_folders(problems)
        self.entries: list[Entry] = self._find_entries(problems)
        #: The ``replay.preset`` file: a shipped preset's or the project's own.
        self.preset_path: Path | None = self._find_preset(problems)
        self.setup_paths: list[Path] = []
        for index, name in enumerate(self.catalog.replay.setup):
            path = self.folder.inside(self.root, name, ("replay", "setup", index), problems)
            if path is not None:
                self.setup_paths.append(path)
        if problems:
            raise CatalogError(problems)
        #: Every SQL file read so far, parsed as the runner reads it.
        self.scripts = ProjectScripts(self.layout, self.folder.display)  # no cycle through self
        self._preset: Script | None = None

    def _migration_folders(self, problems: list[str]) -> tuple[Path, Path]:
        """The migrations and the rollbacks folder: the catalog's ``paths`` for `plain`, else
        the runner's folder for both (which the runner is then pointed at)."""
        if self.layout is None:
            paths = self.catalog.paths
            return (
                self.folder.folder(("paths", "migrations"), paths.migrations, problems),
                self.folder.folder(("paths", "rollbacks"), paths.rollbacks, problems),
            )
        settings = self.catalog.runner
        name = settings.path or self.layout.default_path
        folder = self.folder.folder(("runner", "path"), name, problems)
        if not problems and not folder.is_dir():
            where = ("runner", "path") if settings.path else ("runner", "kind")
            problems.append(
                self.loaded.error(
                    where,
                    f"{name!r} is not a folder: {settings.kind}'s migrations are not "
                    "there (give `runner.path`, relative to the catalog)",
                )
            )
        self.layout.folder = folder
        return folder, folder

    def _find_entries(self, problems: list[str]) -> list[Entry]:
        """Each catalog migration with its files (those whose forward file is refused left
        out, and why in ``problems``)."""
        entries = []
        for index, migration in enumerate(self.catalog.migrations):
            forward = self.folder.inside(
                self.migrations_dir,
                self._forward_name(migration),
                ("migrations", index, "file" if migration.file else "id"),
                problems,
            )
            rollback = None
            if migration.rollback is not None and migration.rollback.file is not None:
                rollback = self.folder.inside(
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
                entries.append(entry)
        return entries

    def _find_preset(self, problems: list[str]) -> Path | None:
        """The ``replay.preset`` file, if the catalog names one."""
        preset = self.catalog.replay.preset
        if preset is None:
            return None
        if preset in shipped_presets():
            return PRESETS / f"{preset}.sql"
        if preset.endswith(".sql"):
            return self.folder.inside(self.root, preset, ("replay", "preset"), problems)
        problems.append(
            self.loaded.error(
                ("replay", "preset"),
                f"{preset!r} is no preset of migdocs ({', '.join(shipped_presets())}): "
                "name one, or give a .sql file relative to the catalog",
            )
        )
        return None

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

    def display(self, path: Path) -> str:
        """A path as reports show it, with ``/``: from the catalog's folder as the user named
        it, so that every path of a report starts where the catalog's does."""
        return self.folder.display(path)

    @property
    def catalog_display(self) -> str:
        """The catalog file as messages name it."""
        return self.loaded.display

    # -- files --------------------------------------------------------------------------------

    def script(self, path: Path, part: Part | None = None) -> Script | None:
        """The parsed file at ``path`` (read once), or ``None`` when it does not exist; with
        ``part``, that section of it, as the runner reads the file."""
        return self.scripts.script(path, part)

    def sections(self, path: Path) -> Sections | None:
        """Where the runner finds the forward and rollback scripts of a file that holds both."""
        return self.scripts.sections(path)

    def scripts_read(self) -> dict[str, Script]:
        """Every file read so far, by its display path."""
        return self.scripts.read()

    def read_problem(self, path: Path) -> ScriptProblem | None:
        """Why an existing file could not be read, if it could not."""
        self.script(path)
        return self.scripts.unreadable.get(path)

    def forward(self, entry: Entry) -> Script | None:
        """The entry's migration script (its up section, where a file holds both)."""
        return self.script(entry.forward_path, entry.forward_part)

    def rollback(self, entry: Entry) -> Script | None:
        """The entry's rollback script, if it names one and it exists."""
        if entry.rollback_path is None:
            return None
        return self.script(entry.rollback_path, entry.rollback_part)

    def forward_files(self) -> list[tuple[str, Path]]:
        """Each entry's id and forward file, in catalog order."""
        return [(entry.id, entry.forward_path) for entry in self.entries]

    def forward_raw(self, index: int) -> bytes | None:
        """The bytes of the forward file of the entry at catalog position ``index``, or
        ``None`` when it is missing."""
        script = self.forward(self.entries[index])
        return script.raw if script is not None else None

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
        problem = self.scripts.unreadable.get(path)
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
        return self.folder.sql_files(
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
        return self.folder.sql_files(
            self.rollbacks_dir, lambda name: not same or bool(self.rollback_pattern.match(name))
        )

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
