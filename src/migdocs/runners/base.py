"""What every runner knows, and the pieces runners share.

A runner is the tool that applies a history's migrations (golang-migrate, dbmate, Flyway…).
It decides where a migration's forward and rollback SQL are, in what order migrations run,
whether in a transaction, and where the database records what ran. Each runner is one
module of this package with one [Runner][migdocs.runners.base.Runner] subclass; every
command asks the catalog's runner, so no check knows a layout.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from migdocs.catalog.models import RunnerSettings

Part = Literal["up", "down"]
"""A section of a file that holds both scripts (dbmate, goose)."""

#: Folders no history lives in: dependencies, version control, build output.
SKIPPED_FOLDERS = frozenset(
    {
        "node_modules",
        "vendor",
        ".git",
        ".hg",
        ".svn",
        "dist",
        "build",
        "target",
        "out",
        ".venv",
        "venv",
        "__pycache__",
        ".next",
        ".nuxt",
        ".turbo",
        ".cache",
        "coverage",
        "site",
        "testdata",
        ".tox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)


@dataclass(frozen=True, slots=True)
class Listed:
    """One migration as its runner finds it.

    Attributes:
        id: The runner's own name for it: what its ledger records (a file stem without
            ``.up``, a Prisma folder name, a sqitch change).
        file: The forward script, relative to the runner's folder, with ``/``.
        rollback: The rollback script, relative to the runner's folder (the same file as
            ``file`` where one file holds both sections), or ``None`` when there is none.
        order: The key the runner sorts by; migrations run in ascending order.
        version: The version as the runner names it (``1.10``, ``20240101120000``), if any.
        date: When it was written, from its name (``YYYYMMDDHHMMSS``/``YYYY-MM-DD``), a
            journal or a plan.
        title: A title from its name, without runner suffixes.
        source: Where the runner's order comes from when it is not the name (a journal or a
            plan file, relative to the runner's folder) and the line there, for findings.
    """

    id: str
    file: str
    rollback: str | None
    order: tuple[Any, ...]
    version: str | None = None
    date: dt.date | None = None
    title: str = ""
    source: tuple[str, int | None] | None = None


@dataclass(frozen=True, slots=True)
class LayoutProblem:
    """A file the runner would refuse, ignore or misread.

    Attributes:
        code: The rule it is reported under (``MG103`` a name the runner ignores, ``MG109``
            a version twice, ``MG102`` a journal or plan naming a missing file, ``MG106`` a
            rollback with no migration, ``MG200`` a section marker the runner refuses).
        file: The file, relative to the runner's folder.
        line: The line in it, where one is to blame.
        message: What is wrong and what the runner would do.
        migration: The migration id it belongs to, where known.
    """

    code: str
    file: str
    line: int | None
    message: str
    migration: str | None = None


@dataclass
class Listing:
    """Everything a runner reads in its folder.

    Attributes:
        migrations: Every migration, in the runner's order.
        problems: Files it would refuse, ignore or misread.
        order_source: Where the order comes from, said in words (``file names``, ``the
            journal meta/_journal.json``), for ``init`` and MG107.
    """

    migrations: list[Listed] = field(default_factory=list)
    problems: list[LayoutProblem] = field(default_factory=list)
    order_source: str = "file names"

    def ignored(self, file: str, why: str) -> None:
        """Note a file the runner never runs (MG103), and ``why``."""
        self.problems.append(LayoutProblem("MG103", file, None, why))

    def by_id(self) -> dict[str, Listed]:
        """The migrations by id (the first of two with one id)."""
        out: dict[str, Listed] = {}
        for listed in self.migrations:
            out.setdefault(listed.id, listed)
        return out


@dataclass(frozen=True, slots=True)
class Sections:
    """Where a file's scripts are, by line (1-based, inclusive), as the runner reads them.

    Attributes:
        up: The forward script's lines, or ``None`` when the file has none.
        down: The rollback script's lines, or ``None`` when the file has none.
        up_transaction: Whether the runner runs the forward script in a transaction.
        down_transaction: The same for the rollback.
        problems: What the runner would refuse or misread, each with its line.
    """

    up: tuple[int, int] | None
    down: tuple[int, int] | None = None
    up_transaction: bool = True
    down_transaction: bool = True
    problems: tuple[LayoutProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why a folder looks like a runner's history, for ``init``.

    Attributes:
        runner: The runner's kind.
        folder: The runner's folder.
        score: How sure: a journal, plan or lock file is worth more than name patterns.
        reasons: What was seen, in words.
        migrations: How many migrations the runner would list there.
    """

    runner: str
    folder: Path
    score: int
    reasons: tuple[str, ...]
    migrations: int


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One migration as a ledger records it.

    Attributes:
        label: How the row names its migration (hash, script or version), for messages.
        migration: The catalog id it matches, if any.
        recorded: The checksum the runner recorded, if it records one.
        expected: The checksum of the file today, computed as the runner does.
        applied: Whether the row means "applied" (a Prisma row that failed or was rolled
            back, a goose row of a migration rolled back, do not).
        dirty: Whether the runner marked the migration as failed halfway (golang-migrate).
    """

    label: str
    migration: str | None
    recorded: str | None = None
    expected: str | None = None
    applied: bool = True
    dirty: bool = False


class CatalogScripts(Protocol):
    """What a runner reads of the catalog's migrations to match its ledger's rows with them:
    the project ([Project][migdocs.project.Project]) is one. A runner takes this, not the
    project, so that the project builds on the runners and not the other way round."""

    @property
    def migrations_dir(self) -> Path:
        """The folder the migrations are in."""
        ...

    def ledger_keys(self) -> dict[str, str]:
        """Catalog ids by what the runner's ledger records for them (a version, a name)."""
        ...

    def forward_files(self) -> list[tuple[str, Path]]:
        """Each catalog entry's id and forward file, in catalog order."""
        ...

    def forward_raw(self, index: int) -> bytes | None:
        """The bytes of the forward file of the entry at catalog position ``index``, or
        ``None`` when it is missing."""
        ...


class Runner:
    """A migration runner: its layout, order, transactions and ledger.

    Args:
        folder: The runner's folder (``runner.path``, resolved from the catalog's folder).
        settings: The catalog's ``runner`` block (globs, ledger table), if any.
    """

    kind: ClassVar[str]
    """The catalog's name for it (``runner.kind``)."""
    default_path: ClassVar[str] = "migrations"
    """Where the runner keeps its migrations by default, relative to the project."""
    sectioned: ClassVar[bool] = False
    """Whether one file holds both the forward and the rollback script."""
    has_rollbacks: ClassVar[bool] = True
    """Whether the runner knows rollback scripts at all (Prisma does not)."""
    default_ledger: ClassVar[str | None] = None
    """The runner's ledger table, ``schema.table``, when not configured otherwise."""
    repair: ClassVar[str] = ""
    """How the runner's own command clears a migration it marked as failed halfway, for
    MG504 (``migrate force VERSION``)."""
    ledger_ddl: ClassVar[str] = ""
    """SQL that creates the ledger table as the runner does, ``{table}`` standing for its
    qualified name (and ``{schema}`` for its schema): replay makes it before the first
    migration, since real migrations touch it."""
    version_column: ClassVar[str | None] = None
    """The ledger's column of applied versions, where the ledger is one row per version
    (dbmate, Supabase, diesel): the rows are matched with the catalog by it."""

    def __init__(self, folder: Path, settings: RunnerSettings | None = None) -> None:
        self.folder = folder
        self.include = tuple(settings.include) if settings is not None else ()
        self.exclude = tuple(settings.exclude) if settings is not None else ()
        self.ledger = (settings.ledger if settings is not None else None) or self.default_ledger

    # -- files ----------------------------------------------------------------------------------

    def wanted(self, relative: str) -> bool:
        """Whether a file (relative to the folder, with ``/``) is this database's: it matches
        an ``include`` glob (or there is none) and no ``exclude`` glob. A glob without ``/``
        is matched against the file's name, else against its relative path."""

        def matches(pattern: str) -> bool:
            target = relative if "/" in pattern else relative.rpartition("/")[2]
            return fnmatch.fnmatchcase(target, pattern)

        if self.include and not any(matches(p) for p in self.include):
            return False
        return not any(matches(p) for p in self.exclude)

    def names(self) -> list[str]:
        """The names of the plain files directly in the folder that are this database's,
        sorted."""
        try:
            with os.scandir(self.folder) as entries:
                names = [e.name for e in entries if _is_file(e)]
        except OSError:
            return []
        return sorted(name for name in names if self.wanted(name))

    def subfolders(self) -> list[str]:
        """The names of the folders directly in the folder, sorted."""
        try:
            with os.scandir(self.folder) as entries:
                return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
        except OSError:
            return []

    # -- what each runner says ------------------------------------------------------------------

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        """Why ``folder`` holds this runner's history, or ``None`` when it does not."""
        raise NotImplementedError

    def listing(self) -> Listing:
        """The migrations in the runner's order, and the files it would refuse or ignore."""
        raise NotImplementedError

    def sections(self, text: str) -> Sections:
        """Where the forward and rollback scripts of a file are (a whole file by default)."""
        return Sections(up=whole(text))

    def checksum(self, raw: bytes) -> str | None:
        """The checksum the ledger records for a forward file's bytes, computed as the runner
        does; ``None`` when its ledger keeps none."""
        return None

    def ledger_key(self, listed: Listed) -> str:
        """What the ledger records for a migration (its version by default)."""
        return listed.version or listed.id

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
    ) -> list[LedgerRow]:
        """The ledger's rows, each matched with a catalog entry where one fits."""
        if self.version_column is None:
            raise NotImplementedError
        return version_rows(conn, table, project, self.version_column)

    def default_file(self, migration_id: str) -> str:
        """Where a migration the runner does not list would be (for MG102's message)."""
        return f"{migration_id}.sql"


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


# -- shared helpers -------------------------------------------------------------------------------

_STAMP = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?!\d)")
_ISO = re.compile(r"^(\d{4})[-_.](\d{2})[-_.](\d{2})(?!\d)")


def date_from_name(name: str) -> dt.date | None:
    """The date a name starts with: ``YYYYMMDDHHMMSS`` (or a shorter stamp of at least
    ``YYYYMMDD``) or ``YYYY-MM-DD``; ``None`` when it starts with neither or the date is not
    a real one (``0001``, ``20240231``)."""
    match = _ISO.match(name) or _STAMP.match(name)
    if match is None:
        return None
    year, month, day = (int(match[i]) for i in (1, 2, 3))
    if not 1970 <= year <= 2200:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


_PREFIX = re.compile(r"^(?:\d{4}[-_.]\d{2}[-_.]\d{2}|\d+)(?:[-_.]\d+)*[_-]*")


def title_from(stem: str) -> str:
    """A title from a migration's name: no version or date prefix, no runner suffix,
    words apart (``20240101120000_add_users.up`` → ``Add users``)."""
    stem = re.sub(r"\.(up|down)$", "", stem)
    words = _PREFIX.sub("", stem)
    words = re.sub(r"[_\-.]+", " ", words).strip() or stem
    # camelCase and PascalCase names (drizzle, Prisma tags) read as words.
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", " ", words)
    return words[:1].upper() + words[1:]


def title_of(name: str) -> str:
    """A title from the name part of a migration whose version the runner already split
    off (golang-migrate's ``1.7.0_schema`` → ``1.7.0 schema``): words apart, nothing
    stripped."""
    words = re.sub(r"[_\-]+", " ", name).strip()
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", " ", words) or name
    return words[:1].upper() + words[1:]


def numeric_key(version: str) -> tuple[int, ...]:
    """A dotted or underscored version as numbers (``1_10`` → ``(1, 10)``), so that ``1.10``
    sorts after ``1.9``."""
    return tuple(int(part) for part in re.split(r"[._]", version) if part)


def whole(text: str) -> tuple[int, int]:
    """The lines of a whole file."""
    return (1, max(1, text.count("\n") + (0 if text.endswith("\n") else 1)))


def masked(text: str, lines: tuple[int, int] | None) -> str:
    """``text`` with every line outside ``lines`` emptied (its line break kept), so that a
    section parses on its own and keeps the file's line numbers."""
    if lines is None:
        return "\n" * text.count("\n")
    first, last = lines
    kept: list[str] = []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if first <= number <= last:
            kept.append(line)
        else:
            kept.append("\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else "")
    return "".join(kept)


def one_file(name: str, version: str, rollback: str | None) -> Listed:
    """A migration that is one file ``<version>….sql``, run in the order of file names
    (dbmate, Supabase): its stem is its id, its version tells its date."""
    stem = name[: -len(".sql")]
    return Listed(
        id=stem,
        file=name,
        rollback=rollback,
        order=(name,),
        version=version,
        date=date_from_name(version),
        title=title_from(stem),
    )


def marker_evidence(
    kind: str, folder: Path, names: list[str], marker: re.Pattern[str], shown: str
) -> Evidence | None:
    """Evidence from a section marker (dbmate's ``-- migrate:up``, goose's ``-- +goose Up``)
    at the start of a line in the first 20 of ``names``: the more files have it, the surer;
    ``None`` when none has."""
    marked = 0
    for name in names[:20]:
        try:
            text = (folder / name).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if any(marker.match(line) for line in text.splitlines()):
            marked += 1
    if not marked:
        return None
    reasons = (f"{marked} of the first {min(20, len(names))} files have `{shown}`",)
    return Evidence(kind, folder, 60 + marked, reasons, len(names))


def duplicate_versions(listed: list[Listed]) -> Iterator[LayoutProblem]:
    """MG109 for each migration whose version another one already has: the runner would
    refuse the folder, or apply only one of them."""
    seen: dict[tuple[Any, ...], Listed] = {}
    for item in listed:
        first = seen.setdefault(item.order, item)
        if first is not item:
            yield LayoutProblem(
                "MG109",
                item.file,
                None,
                f"version {item.version or item.id} is also {first.file}'s: the runner refuses "
                "two migrations with one version",
                item.id,
            )


def version_rows(
    conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts, column: str
) -> list[LedgerRow]:
    """A ledger of one row per applied version (dbmate, Supabase, diesel): each matched
    with the catalog entry whose runner version it is."""
    from psycopg import sql as _sql

    rows = conn.execute(
        _sql.SQL("SELECT {} FROM {} ORDER BY 1").format(_sql.SQL(column), table)
    ).fetchall()
    keys = project.ledger_keys()
    return [LedgerRow(f"version {version}", keys.get(str(version))) for (version,) in rows]


def catalog_positions(project: CatalogScripts) -> dict[str, int]:
    """Each catalog id's position, as ``forward_raw`` takes it (the last entry's where two
    share an id: MG109 reports them)."""
    return {migration: index for index, (migration, _) in enumerate(project.forward_files())}
