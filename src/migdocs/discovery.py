"""Where a repository keeps its migration history, which runner applies it, and what the
project is called (for `init`).

`choose` walks the tree from the project folder, skipping dependencies, version control,
build output and hidden folders ([SKIPPED_FOLDERS][migdocs.runners.base.SKIPPED_FOLDERS]),
and asks every runner about each folder that holds SQL. The one clear candidate is adopted;
with several it stops with them ranked, each with its evidence, so that the user names one
with ``--migrations-dir`` or ``--runner``. A folder of schema dumps (``pg_dump`` output, or
a lone ``schema.sql``/``structure.sql``) is never a history.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migdocs.errors import MigdocsError
from migdocs.runners import MODULES, Runner, runner_class
from migdocs.runners.base import SKIPPED_FOLDERS, Evidence

#: How deep below the project folder the walk looks (monorepos nest services).
MAX_DEPTH = 10
#: How many folders the walk reads at most; a bigger tree needs ``--migrations-dir``.
MAX_FOLDERS = 50_000
#: A runner is the clear choice for a folder only when its score is this many times the
#: next runner's there; closer, the folder matches both and the user names one.
CLEAR_RATIO = 1.5
#: A history in another folder is a rival unless the best scores this much more: a lock
#: file, journal or plan (90 and up) against files that merely match a name (50 at most).
CLEAR_MARGIN = 30
#: Where histories keep their migrations when only plain SQL folders are found, in the
#: order `init` prefers them: migdocs' default, then other common layouts.
PLAIN_FOLDERS = ("migrations", "drizzle", "db/migrations", "database/migrations", "sql/migrations")

#: Files ``pg_dump`` writes: its header, or the settings it opens every dump with (dbmate
#: strips the header from its ``schema.sql``, but not those).
_DUMP_TEXT = (
    "-- PostgreSQL database dump",
    "SELECT pg_catalog.set_config('search_path', '', false);",
)
_DUMP_NAME = re.compile(r"^(schema|structure)([-_.][\w.-]*)?\.sql$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Choice:
    """The history `init` adopts.

    Attributes:
        runner: The runner that applies it.
        folder: The runner's folder.
        evidence: Why it was chosen (``None`` when both ``--runner`` and
            ``--migrations-dir`` named it).
        notes: What the user should know about the choice (folders a runner could not read).
    """

    runner: type[Runner]
    folder: Path
    evidence: Evidence | None
    notes: tuple[str, ...] = ()


def runner_classes() -> list[type[Runner]]:
    """Every runner class that is installed, in the order ties are ranked."""
    found: list[type[Runner]] = []
    for kind in MODULES:
        try:
            found.append(runner_class(kind))
        except ModuleNotFoundError as error:
            if not (error.name or "").startswith("migdocs.runners."):
                raise
    return found


def is_schema_dump(folder: Path) -> bool:
    """Whether every SQL file directly in ``folder`` is a schema dump rather than a
    migration: ``pg_dump`` output, or named ``schema.sql``/``structure.sql`` (and the like,
    ``schema-15.sql``). A folder without SQL files is not one."""
    names = _sql_names(folder)
    return bool(names) and all(_is_dump(folder / name) for name in names)


def _is_dump(path: Path) -> bool:
    if _DUMP_NAME.match(path.name):
        return True
    try:
        with path.open("rb") as stream:
            head = stream.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return False
    return any(marker in head for marker in _DUMP_TEXT)


def _sql_names(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return [e.name for e in entries if e.name.lower().endswith(".sql") and _file(e)]
    except OSError:
        return []


def _file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def folders_to_ask(root: Path) -> list[Path]:
    """The folders under ``root`` that may hold a history: those with SQL files, and their
    parents (a Prisma, sqitch or folder-per-migration layout keeps its SQL one level down),
    in walk order.

    Raises:
        MigdocsError: when the tree is too big to walk.
    """
    asked: dict[Path, None] = {}
    for seen, (current, dirs, files) in enumerate(os.walk(root), start=1):
        if seen > MAX_FOLDERS:
            raise MigdocsError(
                f"{root}: more than {MAX_FOLDERS} folders to look through; "
                "give --migrations-dir PATH"
            )
        here = Path(current)
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(
            name
            for name in dirs
            if name not in SKIPPED_FOLDERS and not name.startswith(".") and depth < MAX_DEPTH
        )
        if any(name.lower().endswith(".sql") for name in files) or "sqitch.plan" in files:
            if here != root:
                asked.setdefault(here.parent, None)
            asked.setdefault(here, None)
    return list(asked)


def evidence_in(folder: Path, runners: list[type[Runner]]) -> tuple[list[Evidence], list[str]]:
    """What each runner sees in ``folder``, and what a runner could not read there."""
    found: list[Evidence] = []
    broken: list[str] = []
    for runner in runners:
        try:
            evidence = runner.evidence(folder)
        except MigdocsError as error:
            broken.append(f"{folder}: {runner.kind}: {error}")
            continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            broken.append(f"{folder}: {runner.kind} cannot read it: {error}")
            continue
        if evidence is not None and evidence.migrations > 0:
            found.append(evidence)
    return found, broken


def ranked(candidates: list[Evidence]) -> list[Evidence]:
    """Candidates best first: by score, then in the runners' order, then the longer history."""
    order = {kind: index for index, kind in enumerate(MODULES)}
    return sorted(
        candidates,
        key=lambda e: (-e.score, order.get(e.runner, len(order)), -e.migrations, e.folder),
    )


def candidates(root: Path, kind: str | None = None) -> tuple[list[Evidence], list[str]]:
    """Every history under ``root`` (of runner ``kind`` only, when given), each once,
    ranked; and what a runner could not read."""
    runners = [r for r in runner_classes() if kind is None or r.kind in (kind, "plain")]
    found: list[Evidence] = []
    broken: list[str] = []
    for folder in folders_to_ask(root):
        if is_schema_dump(folder):
            continue
        seen, problems = evidence_in(folder, runners)
        found.extend(seen)
        broken.extend(problems)
    found = _without_repeats(found)
    if kind is not None:
        found = [e for e in found if e.runner == kind]
    return ranked(found), broken


def _without_repeats(found: list[Evidence]) -> list[Evidence]:
    """The candidates without those that are another's history seen again: a plain SQL
    folder inside another candidate (``migrations/rollbacks``, a sqitch ``deploy/``) or
    where a runner recognises its layout, and a folder whose runner finds there just the
    migrations it finds in a folder inside it (Flyway looks through subfolders)."""
    layouts = [e.folder for e in found if e.runner != "plain"]
    folders = [e.folder for e in found]
    kept = []
    for evidence in found:
        if evidence.runner == "plain" and (
            evidence.folder in layouts
            or any(evidence.folder.is_relative_to(f) and evidence.folder != f for f in folders)
        ):
            continue
        if evidence.runner != "plain" and any(
            other.runner == evidence.runner
            and other.migrations == evidence.migrations
            and other.folder != evidence.folder
            and other.folder.is_relative_to(evidence.folder)
            for other in found
        ):
            continue
        kept.append(evidence)
    return kept


def describe(evidence: Evidence, root: Path, rank: int) -> str:
    """One line of the ranking: runner, folder, score and what was seen."""
    folder = shown(evidence.folder, root)
    seen = "; ".join(evidence.reasons)
    return (
        f"  {rank}. {evidence.runner} in {folder}: {evidence.migrations} "
        f"migration{'' if evidence.migrations == 1 else 's'} "
        f"(score {evidence.score}: {seen})"
    )


def shown(folder: Path, root: Path) -> str:
    """A folder as messages name it: from the project folder, ending in ``/``."""
    try:
        relative = folder.relative_to(root).as_posix()
    except ValueError:
        return folder.as_posix()
    return "." if relative == "." else relative + "/"


def choose(root: Path, kind: str | None = None, folder: Path | None = None) -> Choice:
    """The history to adopt under ``root``: the one clear candidate, or the one that
    ``kind`` (``--runner``) and ``folder`` (``--migrations-dir``) name.

    Raises:
        MigdocsError: when there is none, or several and nothing says which (the message
            ranks them with their evidence), or the named folder is no history.
    """
    if folder is not None:
        return _in_folder(root, folder, kind)
    root = root.resolve()
    found, broken = candidates(root, kind)
    notes = tuple(f"not read: {line}" for line in broken)
    if not found:
        kinds = kind or ", ".join(r.kind for r in runner_classes())
        lines = [
            f"{root}: no {kind + ' ' if kind else ''}migration history found: no folder holds "
            f"migrations of {kinds} (schema dumps, hidden folders and "
            f"{', '.join(sorted(n for n in SKIPPED_FOLDERS if not n.startswith('.')))} "
            "are not looked in)",
            *(f"  {line}" for line in broken),
            "give --migrations-dir PATH to name the folder",
        ]
        raise MigdocsError("\n".join(lines))
    layouts = [e for e in found if e.runner != "plain"]
    if not layouts:
        return _plain_choice(root, found, notes)
    top = layouts[0]
    # A rival scores close to the best: in its folder, within CLEAR_RATIO; in another,
    # within CLEAR_MARGIN. A lock file, journal or plan (Prisma, drizzle, sqitch) outranks
    # a folder of files that merely match a name pattern elsewhere (a ClickHouse folder
    # beside langfuse's Prisma history): it is adopted, and the other named in a note.
    rivals = [
        e
        for e in layouts[1:]
        if e.score * CLEAR_RATIO > top.score
        or (e.folder != top.folder and top.score - e.score < CLEAR_MARGIN)
    ]
    if rivals:
        _ambiguous(root, layouts, kind)
    notes += tuple(
        f"also seen, far less clearly: {describe(e, root, rank).strip()}; "
        "--migrations-dir PATH adopts it instead"
        for rank, e in enumerate(layouts[1:], start=2)
        if e.folder != top.folder
    )
    cls = runner_class(top.runner)
    plain = next((e for e in found if e.runner == "plain" and e.folder == top.folder), None)
    keeps = plain_keeps_more(cls, top.folder) if kind is None else None
    if keeps is not None:
        note = (
            f"{top.runner} would leave {keeps} out: adopted as plain SQL files "
            "(paths and conventions), which keeps them; --runner "
            f"{top.runner} adopts it as {top.runner}"
        )
        return Choice(runner_class("plain"), top.folder, plain, (*notes, note))
    return Choice(cls, top.folder, top, notes)


def _plain_choice(root: Path, found: list[Evidence], notes: tuple[str, ...]) -> Choice:
    for name in PLAIN_FOLDERS:
        for evidence in found:
            if evidence.folder == root / name:
                return Choice(runner_class("plain"), evidence.folder, evidence, notes)
    if len(found) == 1:
        return Choice(runner_class("plain"), found[0].folder, found[0], notes)
    _ambiguous(root, found, "plain")
    raise AssertionError("unreachable")


def _ambiguous(root: Path, found: list[Evidence], kind: str | None) -> None:
    lines = [f"{root}: {len(found)} candidate migration histories, best first:"]
    lines += [describe(e, root, rank) for rank, e in enumerate(found, start=1)]
    if kind:
        lines.append(f"give --migrations-dir PATH to say which {kind} folder to adopt")
    else:
        lines.append("give --migrations-dir PATH (or --runner KIND) to say which one to adopt")
    raise MigdocsError("\n".join(lines))


def plain_keeps_more(runner: type[Runner], folder: Path) -> str | None:
    """What a runner without rollback scripts (drizzle) would leave out of the history that
    the plain catalog keeps: a ``rollbacks/`` folder of SQL files the team wrote; ``None``
    when it leaves nothing out. (A SQL file its journal does not list is not kept: drizzle
    never runs it, and MG103 says so.)"""
    if runner.has_rollbacks or runner.kind == "plain":
        return None
    if _sql_names(folder / "rollbacks"):
        return "the rollback scripts in rollbacks/"
    return None


def _in_folder(root: Path, folder: Path, kind: str | None) -> Choice:
    resolved = folder.resolve()
    if not resolved.is_dir():
        raise MigdocsError(f"{folder}: --migrations-dir is not a folder")
    if not resolved.is_relative_to(root.resolve()):
        raise MigdocsError(
            f"{folder}: --migrations-dir is outside the project folder {root.resolve()} "
            "(the catalog's folder)"
        )
    if kind is not None:
        cls = runner_class(kind)
        evidence, _ = evidence_in(folder, [cls])
        return Choice(cls, folder, evidence[0] if evidence else None)
    if is_schema_dump(folder):
        raise MigdocsError(
            f"{folder}: holds schema dumps (pg_dump output, schema.sql), not a migration history"
        )
    found, broken = evidence_in(folder, runner_classes())
    if not found:
        lines = [f"{folder}: no runner recognises a migration history there", *broken]
        raise MigdocsError("\n".join(lines))
    best = ranked(found)[0]
    return Choice(runner_class(best.runner), folder, best, tuple(f"not read: {b}" for b in broken))


#: Database names as multi-database folders tag their files (ory/popx:
#: ``<version>_<name>.<dialect>.up.sql``); PostgreSQL's first.
POSTGRES_TAGS = ("postgres", "postgresql", "pg")
_TAGGED = re.compile(
    r"\.(?P<tag>postgres|postgresql|pg|mysql|mariadb|sqlite3|sqlite|cockroach|cockroachdb"
    r"|mssql|sqlserver|clickhouse|oracle)(?=\.)",
    re.IGNORECASE,
)
#: golang-migrate's file name (``source/parse.go``): version, name, direction, extension.
_GOLANG_MIGRATE = re.compile(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$")


def database_filters(kind: str, names: list[str]) -> tuple[list[str], list[str]]:
    """``include`` and ``exclude`` globs that keep PostgreSQL's files of a folder that holds
    several databases' (ory/popx keeps ``*.postgres.up.sql``, ``*.mysql.up.sql``,
    ``*.sqlite3.up.sql`` and ``*.cockroach.up.sql`` side by side, and untagged files that
    every database runs unless a file of its own has the same version); two empty lists for
    a folder of one database.

    Where every file is tagged, ``include`` names PostgreSQL's; where some are not, ``exclude``
    names the other databases' and, for golang-migrate's layout, each untagged file that a
    PostgreSQL file of the same version and direction replaces.
    """
    tags: dict[str, str] = {}
    for name in names:
        if not name.lower().endswith(".sql"):
            continue
        found = _TAGGED.findall(name)
        if found:
            tags[name] = found[-1].lower()
    others = sorted({tag for tag in tags.values() if tag not in POSTGRES_TAGS})
    if not others:
        return [], []
    ours = sorted({tag for tag in tags.values() if tag in POSTGRES_TAGS})
    untagged = [n for n in names if n.lower().endswith(".sql") and n not in tags]
    if not untagged:
        return [f"*.{tag}.*" for tag in ours], []
    exclude = [f"*.{tag}.*" for tag in others]
    if kind == "golang-migrate":
        replaced = set()
        for name, tag in tags.items():
            match = _GOLANG_MIGRATE.match(name)
            if match is not None and tag in POSTGRES_TAGS:
                replaced.add((int(match[1]), match[3]))
        for name in untagged:
            match = _GOLANG_MIGRATE.match(name)
            if match is not None and (int(match[1]), match[3]) in replaced:
                exclude.append(name)
    return [], exclude


# -- the project's name --------------------------------------------------------------------------

#: Folder names that say where migrations are, not what the project is called.
_NOT_NAMES = frozenset({"migrations", "migration", "db", "database", "sql", "schema", "src"})


def project_name(root: Path) -> str:
    """The project's name as its repository gives it: ``package.json``'s ``name``, the last
    part of ``go.mod``'s module (without a ``/v2`` suffix), ``pyproject.toml``'s
    ``[project]`` (or Poetry's) name, ``Cargo.toml``'s ``[package]`` name; else the folder's
    name (its parent's, when the folder is called ``migrations`` or the like)."""
    for read in (_package_json, _go_mod, _pyproject, _cargo):
        try:
            name = read(root)
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            name = None
        if isinstance(name, str) and name.strip():
            return name.strip()
    folder = root.resolve()
    while folder.name.lower() in _NOT_NAMES and folder.parent != folder:
        folder = folder.parent
    return folder.name or "TODO"


def _package_json(root: Path) -> Any:
    data = json.loads((root / "package.json").read_text(encoding="utf-8"))
    return data.get("name") if isinstance(data, dict) else None


def _go_mod(root: Path) -> str | None:
    for line in (root / "go.mod").read_text(encoding="utf-8").splitlines():
        words = line.split("//")[0].split()
        if len(words) >= 2 and words[0] == "module":
            parts = [p for p in words[1].strip('"').split("/") if p]
            if len(parts) > 1 and re.fullmatch(r"v\d+", parts[-1]):
                parts.pop()
            return parts[-1] if parts else None
    return None


def _pyproject(root: Path) -> Any:
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    return data.get("project", {}).get("name") or (
        data.get("tool", {}).get("poetry", {}).get("name")
    )


def _cargo(root: Path) -> Any:
    data = tomllib.loads((root / "Cargo.toml").read_text(encoding="utf-8"))
    return data.get("package", {}).get("name")
