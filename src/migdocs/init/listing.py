"""What `init` reads of a history: its migration files in the order they are applied (a
drizzle journal's, else their names'), or what its runner lists, and the naming
conventions they follow."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from migdocs.errors import MigdocsError
from migdocs.project import convention_pattern
from migdocs.runners.base import Listing, Runner

#: File-name conventions `init` recognises, the catalog's default first.
MIGRATION_CONVENTIONS = ("{date}_{name}.sql", "{version}_{name}.sql", "{name}.sql")
ROLLBACK_CONVENTIONS = (
    "{date}_rollback_{name}.sql",
    "{date}_{name}.down.sql",
    "{date}_{name}_rollback.sql",
    "{version}_{name}.down.sql",
    "{version}_rollback_{name}.sql",
    "{version}_{name}_rollback.sql",
    "{name}.down.sql",
    "{name}_rollback.sql",
    "{name}_down.sql",
    "{name}.sql",
)
#: A plain migration's stem that starts with its date: ``2025-09-01_add_notes``.
DATED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})_([a-z0-9_]+)$")
#: Files that give a runner its order or settings (a journal, a plan, a lock file): a
#: problem in one of them leaves the whole history unreadable.
_ORDER_FILES = frozenset({".json", ".plan", ".toml", ".conf", ".yaml", ".yml"})


@dataclass
class Found:
    """A migration file found on disk, with what init learned about it."""

    path: Path
    date: dt.date | None
    note: str | None = None
    rollback: Path | None = None
    paired_by: str | None = None


def find_migrations(folder: Path) -> tuple[list[Found], str]:
    """The migration files in applied order, and where that order came from."""
    files = sorted(p for p in folder.glob("*.sql") if p.is_file())
    journal = folder / "meta" / "_journal.json"
    if not journal.is_file():
        return [Found(path, file_date(path)) for path in files], "file names (sorted)"
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        items = sorted(data["entries"], key=lambda item: item.get("idx", 0))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise MigdocsError(f"{journal}: not a drizzle journal: {error}") from None
    by_stem = {path.stem: path for path in files}
    found: list[Found] = []
    for item in items:
        path = by_stem.pop(str(item.get("tag")), None)
        if path is None:
            continue
        when = item.get("when")
        date = dt.datetime.fromtimestamp(when / 1000, dt.UTC).date() if when else None
        found.append(Found(path, file_date(path) or date))
    for path in by_stem.values():
        found.append(Found(path, file_date(path), note="not in meta/_journal.json: order unknown"))
    return found, f"drizzle's {journal.relative_to(folder.parent).as_posix()}"


def file_date(path: Path) -> dt.date | None:
    """The ``YYYY-MM-DD`` a plain migration's name starts with, if it is a real date."""
    match = DATED_NAME.match(path.stem)
    if match:
        try:
            return dt.date.fromisoformat(match.group(1))
        except ValueError:
            return None
    return None


def infer_convention(names: list[str], candidates: tuple[str, ...]) -> str:
    """The first of ``candidates`` that the most of ``names`` follow (the first if none does),
    so that MG103 names the odd files out, not every file."""
    best, best_count = candidates[0], 0
    for candidate in candidates:
        pattern = convention_pattern(candidate)
        count = sum(bool(pattern.match(name)) for name in names)
        if count > best_count:
            best, best_count = candidate, count
    return best


def read_listing(runner: Runner) -> Listing:
    """What ``runner`` lists in its folder.

    Raises:
        MigdocsError: when it cannot read its folder, journal or plan, or lists nothing.
    """
    where = runner.folder
    try:
        listing = runner.listing()
    except MigdocsError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise MigdocsError(f"{where}: {runner.kind} cannot read it: {error}") from None
    broken = [p for p in listing.problems if Path(p.file).suffix.lower() in _ORDER_FILES]
    if not broken and listing.migrations:
        return listing
    shown = broken or listing.problems
    lines = [
        f"{where / p.file}{':' + str(p.line) if p.line else ''}: {p.message}" for p in shown[:5]
    ]
    if len(shown) > 5:
        lines.append(f"… and {len(shown) - 5} more")
    what = "cannot be read" if broken else "holds no migration that it would run"
    raise MigdocsError("\n".join([f"{where}: the {runner.kind} history {what}", *lines]))
