"""`migdocs init`: a catalog for an existing history, from its SQL files, a drizzle journal
and a hand-written history document.

What it can know it fills in: the order (a drizzle ``meta/_journal.json``, else file names),
each migration's ``creates`` and ``drops`` (the SQL analysis, as `migdocs check` reads it),
its rollback file (by the naming convention, else a ``-- Rollback for X.sql`` header, else
the most similar name), the rollback's computed impact and the least risk it implies. A
history document in the seed's format (``### <file>.sql``, ``**Purpose**: …``,
``**Changes**:`` lists …) adds purposes, changes, features, dates, rollback texts and
objects it names; mojibake in it is repaired with ftfy. What nobody can know becomes
``TODO``, which MG604 reports until someone writes it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ftfy
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migdocs.catalog.loader import LoadedCatalog
from migdocs.catalog.models import Catalog, Impact, Risk
from migdocs.catalog.yamlload import load_yaml
from migdocs.checks.context import StaticContext
from migdocs.checks.rollback import minimum_risk
from migdocs.checks.sql import declarable_creates, declarable_drops
from migdocs.clock import today
from migdocs.errors import MigdocsError
from migdocs.limits import HISTORY_MAX_BYTES, read_bounded
from migdocs.objects import CATALOG_KEY_OF, CATALOG_KEYS, DEFAULT_SCHEMA, ObjectRef
from migdocs.project import Project, convention_pattern
from migdocs.review import dump

TODO = "TODO"
#: Where histories keep their migrations, in the order `init` looks: migdocs' default, then
#: drizzle-kit's default output folder and other common layouts.
FOLDERS = ("migrations", "drizzle", "db/migrations", "database/migrations", "sql/migrations")
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
_DATED = re.compile(r"^(\d{4}-\d{2}-\d{2})_([a-z0-9_]+)$")
_NOISE = re.compile(r"(^|_)(rollback|revert|undo|down|add|create|drop|remove|update)(?=_|$)")
_HEADER = re.compile(
    r"--\s*(?:rollback|revert|undo)\s+(?:for|of)\s+`?([\w.-]+?)(?:\.sql)?`?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_IMPACT_WORDS = {
    "destructive": Impact.DATA_LOSS,
    "data loss": Impact.DATA_LOSS,
    "deletes": Impact.DATA_LOSS,
    "may fail": Impact.MAY_FAIL,
    "performance": Impact.PERFORMANCE,
    "downtime": Impact.DOWNTIME,
}
_RISK_WORDS = {"low": Risk.LOW, "medium": Risk.MEDIUM, "high": Risk.HIGH, "critical": Risk.CRITICAL}


@dataclass
class HistoryEntry:
    """What a history document says about one migration file."""

    date: dt.date | None = None
    purpose: str | None = None
    changes: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rollback: str | None = None
    impact_text: str | None = None
    risk: Risk | None = None


def read_history(path: Path) -> dict[str, HistoryEntry]:
    """Parse a history document in the seed's format: entries by migration file stem.

    Raises:
        MigdocsError: when the file cannot be read.
    """
    try:
        document = read_bounded(path, HISTORY_MAX_BYTES)
        text = ftfy.fix_text(document.decode("utf-8", errors="replace"))
    except OSError as error:
        raise MigdocsError(f"{path}: cannot read: {error.strerror}") from None
    entries: dict[str, HistoryEntry] = {}
    current: HistoryEntry | None = None
    listing: str | None = None
    risk: Risk | None = None
    risks: dict[str, Risk] = {}
    for raw in text.splitlines():
        line = raw.strip()
        heading = re.match(r"^(#{2,4})\s+`?([\w.-]+?)\.sql`?\s*$", line)
        if heading:
            current = entries.setdefault(Path(heading.group(2)).stem, HistoryEntry())
            listing = None
            continue
        if line.startswith("#"):
            current, listing = None, None
            continue
        field_match = re.match(r"^\*\*([^*]+?)\*\*:?\s*(.*)$", line)
        if field_match:
            name, value = field_match.group(1).strip().lower(), field_match.group(2).strip()
            level = name.removesuffix(" risk")
            if level in _RISK_WORDS and name.endswith("risk"):
                risk, listing = _RISK_WORDS[level], "risk"
                continue
            listing = None
            if current is None:
                continue
            value = value.lstrip(":").strip()
            if name == "date":
                current.date = _date(value)
            elif name == "purpose":
                current.purpose = value or None
            elif name == "rollback":
                current.rollback = _code(value) or None
            elif name == "rollback impact":
                current.impact_text = _clean(value)
            else:
                listing = name
            continue
        item = re.match(r"^[-*]\s+(.*)$", line)
        if item and listing == "risk" and risk is not None:
            name = _code(item.group(1))
            if name:
                risks[Path(name).stem] = risk
        elif item and current is not None and listing is not None:
            _listed(current, listing, item.group(1).strip())
        elif not line:
            continue
        elif listing != "risk":
            listing = None if current is None or not line.startswith(("-", "*")) else listing
    if not entries:
        raise MigdocsError(
            f"{path}: no migration in it: init reads sections headed `### <file>.sql`, "
            "as in a history document of the common format"
        )
    for entry in entries.values():
        if entry.rollback and Path(entry.rollback).stem in risks:
            entry.risk = risks[Path(entry.rollback).stem]
    return entries


def _listed(entry: HistoryEntry, listing: str, text: str) -> None:
    if listing == "changes":
        entry.changes.append(text)
    elif listing.startswith("features"):
        entry.features.append(text)
    elif "table" in listing:
        if name := _code(text):
            entry.tables.append(name)
    elif "index" in listing:
        if name := _code(text):
            entry.indexes.append(name)
    elif "constraint" in listing:
        name = _code(text)
        if name and text.lower().startswith(("removes", "drops")):
            entry.removed.append(name)
        elif name and "index" in text.lower():
            entry.indexes.append(name)


def _code(text: str) -> str:
    match = re.search(r"`([^`]+)`", text)
    return match.group(1).strip() if match else ""


def _clean(text: str) -> str:
    """An impact text without the leading warning sign (or what is left of a broken one)."""
    return re.sub(r"^[^\w*`]+", "", text).strip()


def _date(text: str) -> dt.date | None:
    for form in ("%B %d, %Y", "%Y-%m-%d", "%b %d, %Y", "%d %B %Y"):
        try:
            return dt.datetime.strptime(text.strip(), form).date()
        except ValueError:
            continue
    return None


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
        return [Found(path, _file_date(path)) for path in files], "file names (sorted)"
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
        found.append(Found(path, _file_date(path) or date))
    for path in by_stem.values():
        found.append(Found(path, _file_date(path), note="not in meta/_journal.json: order unknown"))
    return found, f"drizzle's {journal.relative_to(folder.parent).as_posix()}"


def _file_date(path: Path) -> dt.date | None:
    match = _DATED.match(path.stem)
    if match:
        try:
            return dt.date.fromisoformat(match.group(1))
        except ValueError:
            return None
    return None


def _core(stem: str) -> str:
    """A file stem without its date and the words rollbacks add or drop."""
    stem = re.sub(r"^(\d{4}-\d{2}-\d{2}|\d+)_", "", stem.lower())
    return _NOISE.sub(r"\1", stem).strip("_")


def pair_rollbacks(found: list[Found], rollbacks: list[Path]) -> list[Path]:
    """Pair each migration with a rollback file; return the rollback files left unpaired."""
    left = list(rollbacks)

    def take(item: Found, path: Path, how: str) -> None:
        item.rollback, item.paired_by = path, how
        left.remove(path)

    for item in found:
        match = _DATED.match(item.path.stem)
        if match:
            expected = f"{match.group(1)}_rollback_{match.group(2)}.sql"
            path = next((p for p in left if p.name == expected), None)
            if path is not None:
                take(item, path, "naming convention")
    for path in list(left):
        try:
            head = path.read_text(encoding="utf-8", errors="replace")[:2000]
        except OSError:
            continue
        named = _HEADER.search(head)
        if named:
            target = Path(named.group(1)).stem
            owner = next((f for f in found if f.path.stem == target and f.rollback is None), None)
            if owner is not None:
                take(owner, path, "header comment")
    for item in found:
        if item.rollback is not None or not left:
            continue
        cores = {_core(p.stem): p for p in left}
        best = difflib.get_close_matches(_core(item.path.stem), list(cores), n=1, cutoff=0.6)
        if best:
            take(item, cores[best[0]], "similar name")
    return left


def _declared(ref: ObjectRef) -> str:
    """How a catalog declares an object: without the default schema."""
    qualified = ref.qualified
    prefix = f"{DEFAULT_SCHEMA}."
    return qualified[len(prefix) :] if qualified.startswith(prefix) else qualified


def _title(stem: str) -> str:
    words = re.sub(r"^(\d{4}-\d{2}-\d{2}|\d+)_", "", stem).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else stem


def find_folder(root: Path) -> Path:
    """The folder of the history's migrations: the first of [FOLDERS][migdocs.adopt.FOLDERS]
    that holds SQL files, else a folder beside them with a drizzle journal.

    Raises:
        MigdocsError: when there is none.
    """
    for name in FOLDERS:
        folder = root / name
        if folder.is_dir() and any(p.is_file() for p in folder.glob("*.sql")):
            return folder
    for journal in sorted(root.glob("*/meta/_journal.json")):
        return journal.parent.parent
    if (root / "migrations").is_dir():
        raise MigdocsError(f"{root / 'migrations'}: no .sql files to adopt")
    looked = ", ".join(f"{name}/" for name in FOLDERS)
    raise MigdocsError(f"{root}: no migrations folder to adopt (looked for {looked})")


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


def build(root: Path, history: dict[str, HistoryEntry] | None = None) -> str:
    """The text of a new catalog for the project folder ``root``."""
    migrations_dir = find_folder(root)
    rollbacks_dir = migrations_dir / "rollbacks"
    found, order = find_migrations(migrations_dir)
    if not found:
        raise MigdocsError(f"{migrations_dir}: no .sql files to adopt")
    history = history or {}
    if history and not order.startswith("drizzle"):
        # The document lists the migrations as they were applied: its order wins over names.
        place = {stem: index for index, stem in enumerate(history)}
        found.sort(key=lambda item: (place.get(item.path.stem, len(place)), item.path.name))
        order = "the history document's order, then file names"
    rollbacks = sorted(rollbacks_dir.glob("*.sql")) if rollbacks_dir.is_dir() else []
    for item in found:
        named = history.get(item.path.stem, HistoryEntry()).rollback
        path = next((p for p in rollbacks if named and p.name == Path(named).name), None)
        if path is not None:
            item.rollback, item.paired_by = path, "the history document"
            rollbacks.remove(path)
    unpaired = pair_rollbacks([item for item in found if item.rollback is None], rollbacks)
    conventions = {
        "migration": infer_convention([item.path.name for item in found], MIGRATION_CONVENTIONS),
        "rollback": infer_convention(
            [item.rollback.name for item in found if item.rollback is not None],
            ROLLBACK_CONVENTIONS,
        ),
    }
    defaults = {"migration": MIGRATION_CONVENTIONS[0], "rollback": ROLLBACK_CONVENTIONS[0]}
    paths: dict[str, str] = {}
    if migrations_dir != root / "migrations":
        paths = {
            "migrations": migrations_dir.relative_to(root).as_posix(),
            "rollbacks": rollbacks_dir.relative_to(root).as_posix(),
        }
    dates = _dates(found, history)

    # A first catalog, in memory, to analyse the SQL in catalog order as `check` does.
    entries: list[dict[str, Any]] = []
    for item, (date, _) in zip(found, dates, strict=True):
        said = history.get(item.path.stem, HistoryEntry())
        entry: dict[str, Any] = {
            "id": item.path.stem,
            "date": date,
            "title": _title(item.path.stem),
            "purpose": said.purpose or TODO,
        }
        if said.changes:
            entry["changes"] = said.changes
        if said.features:
            entry["features"] = said.features
        if item.rollback is not None:
            entry["rollback"] = {
                "file": item.rollback.name,
                "risk": "low",
                "impact": [],
                "summary": said.impact_text or TODO,
            }
        entries.append(entry)
    data: dict[str, Any] = {"version": 1, "project": {"name": root.resolve().name}}
    if paths:
        data["paths"] = paths
    if conventions != defaults:
        data["conventions"] = conventions
    data["migrations"] = entries
    text = dump(_plain(data))
    loaded = LoadedCatalog(
        Catalog.model_validate(data), root / "catalog.yaml", "catalog.yaml", load_yaml(text)
    )
    project = Project(loaded)
    analyses = StaticContext(project).analyses

    document = CommentedMap()
    document["version"] = 1
    document["project"] = CommentedMap(name=root.resolve().name, description=TODO)
    if paths:
        document["paths"] = CommentedMap(paths)
    if conventions != defaults:
        document["conventions"] = CommentedMap(conventions)
    document["migrations"] = items = CommentedSeq()
    for item, entry, analysis, (_, guessed) in zip(found, entries, analyses, dates, strict=True):
        said = history.get(item.path.stem, HistoryEntry())
        out = CommentedMap()
        for key in ("id", "date", "title", "purpose", "changes", "features"):
            if key in entry:
                out[key] = entry[key]
        if guessed:
            out.yaml_set_comment_before_after_key(
                "date",
                before="date unknown (not in the file name, the journal or the document): "
                "the previous entry's, check it",
                indent=4,
            )
        creates = _objects(declarable_creates(analysis), said.tables + said.indexes, analysis)
        drops = _objects(declarable_drops(analysis), said.removed, analysis)
        if creates:
            out["creates"] = creates
        if drops:
            out["drops"] = drops
        if item.rollback is None:
            out["rollback"] = CommentedMap(none=TODO)
            out.yaml_set_comment_before_after_key(
                "rollback",
                before="no rollback file found: write one, or say why there is none",
                indent=4,
            )
        else:
            impacts = analysis.computed_impacts | _said_impacts(said.impact_text)
            risk = minimum_risk(impacts)
            if said.risk is not None and said.risk.rank > risk.rank:
                risk = said.risk
            rollback = CommentedMap()
            rollback["file"] = item.rollback.name
            rollback["risk"] = risk.value
            rollback["impact"] = _flow(sorted(i.value for i in impacts))
            rollback["summary"] = said.impact_text or TODO
            out["rollback"] = rollback
            if item.paired_by not in ("naming convention", "the history document"):
                out.yaml_set_comment_before_after_key(
                    "rollback", before=f"rollback paired by {item.paired_by}: check it", indent=4
                )
        items.append(out)
        if item.note:
            items.yaml_set_comment_before_after_key(len(items) - 1, before=item.note, indent=2)
        elif item.path.stem not in history and history:
            items.yaml_set_comment_before_after_key(
                len(items) - 1, before="not in the history document", indent=2
            )
    header = [
        f"The migration history of {root.resolve().name}, adopted by `migdocs init` on "
        f"{today().isoformat()}.",
        f"Order: {order}. Entries are in the order the migrations are applied.",
        "TODO marks what only people can say; `migdocs check` reports each one (MG604).",
    ]
    if unpaired:
        header.append(
            "Rollback files paired with no migration: " + ", ".join(p.name for p in unpaired)
        )
    absent = [stem for stem in history if stem not in {item.path.stem for item in found}]
    if absent:
        header.append(
            "The history document describes files that are not here: "
            + ", ".join(f"{stem}.sql" for stem in absent)
        )
    document.yaml_set_start_comment("\n".join(header))
    return dump(document)


def _dates(found: list[Found], history: dict[str, HistoryEntry]) -> list[tuple[dt.date, bool]]:
    """Each migration's date, and whether it is a guess: a file that no name, journal or
    document dates takes the date of the entry before it (else after it), so that dates
    never go backwards, and today's only when nothing at all is dated."""
    known = [item.date or history.get(item.path.stem, HistoryEntry()).date for item in found]
    result: list[tuple[dt.date, bool]] = []
    for index, date in enumerate(known):
        if date is not None:
            result.append((date, False))
            continue
        before = next((d for d in reversed(known[:index]) if d is not None), None)
        after = next((d for d in known[index + 1 :] if d is not None), None)
        result.append((before or after or today(), True))
    return result


def _objects(refs: list[ObjectRef], named: list[str], analysis: Any) -> CommentedMap:
    """``creates``/``drops`` from the SQL, plus what a document names that the SQL does not."""
    grouped: dict[str, list[str]] = {}
    for ref in refs:
        key = CATALOG_KEY_OF.get(ref.kind)
        if key is not None:
            grouped.setdefault(key, []).append(_declared(ref))
    known = {name.rsplit(".", 1)[-1] for names in grouped.values() for name in names}
    for name in named:
        if name.rsplit(".", 1)[-1] not in known:
            # The document says so and the SQL does not: kept, so that `check` shows it.
            key = "indexes" if name.endswith("_idx") else "tables"
            grouped.setdefault(key, []).append(name)
    result = CommentedMap()
    for key in CATALOG_KEYS:
        if grouped.get(key):
            result[key] = _flow(grouped[key])
    return result


def _said_impacts(text: str | None) -> set[Impact]:
    lowered = (text or "").lower()
    return {impact for word, impact in _IMPACT_WORDS.items() if word in lowered}


def _flow(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _plain(data: Any) -> Any:
    """Dates as ISO text, for the in-memory catalog's YAML (line numbers only)."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(value) for value in data]
    if isinstance(data, dt.date):
        return data.isoformat()
    return data


def site_files(root: Path, catalog_text: str) -> dict[str, str]:
    """``mkdocs.yml`` and ``docs/index.md`` for the history's site, when the migdocs MkDocs
    plugin is installed (else none: a config that cannot build helps nobody)."""
    import importlib.util

    try:
        if importlib.util.find_spec("migdocs.site.plugin") is None:
            return {}
    except ModuleNotFoundError:
        return {}
    name = root.resolve().name
    config = f"site_name: {json.dumps(name + ' migration history')}\n" + _MKDOCS
    index = f"# {name}\n\nThe migration history of {name}, checked by migdocs.\n"
    return {"mkdocs.yml": config, "docs/index.md": index}


_MKDOCS = """\
theme:
  name: material
  font: false
  features:
    - navigation.sections
    - navigation.prune
    - navigation.indexes
    - content.code.copy
  palette:
    - scheme: default
      toggle: {icon: material/brightness-7, name: Switch to dark mode}
    - scheme: slate
      toggle: {icon: material/brightness-4, name: Switch to light mode}
plugins:
  - search
  - migdocs
markdown_extensions:
  - admonition
  - attr_list
  - tables
  - toc:
      permalink: true
  - pymdownx.highlight
  - pymdownx.superfences:
      custom_fences:
        - name: mermaid
          class: mermaid
          format: !!python/name:pymdownx.superfences.fence_code_format
  - pymdownx.tabbed:
      alternate_style: true
"""
