"""`migdocs init`: a catalog for an existing history, from its runner's files, a journal or
plan, and a hand-written history document.

What it can know it fills in. For a history a runner applies (dbmate, golang-migrate,
Flyway… found by [discovery][migdocs.discovery]), the runner's own reading: its order, each
migration's id, date and title, its rollback script (or a section of the same file). For
plain SQL files (``paths`` and ``conventions``): the order of a drizzle
``meta/_journal.json``, else file names, and rollback files paired by the naming
convention, else a ``-- Rollback for X.sql`` header, else the most similar name. For both:
each migration's ``creates`` and ``drops`` (the SQL analysis, as `migdocs check` reads it),
the rollback's computed impact and the least risk it implies. A history document in the
seed's format (``### <file>.sql``, ``**Purpose**: …``, ``**Changes**:`` lists …) adds
purposes, changes, features, dates, rollback texts and objects it names; mojibake in it is
repaired with ftfy. What nobody can know becomes ``TODO``, which MG604 reports until someone
writes it. `update` adds entries for the files a catalog lacks, changing no byte of the rest.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ftfy
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migdocs.catalog.loader import LoadedCatalog
from migdocs.catalog.models import Catalog, Impact, Migration, Risk, RunnerSettings
from migdocs.catalog.yamlload import YamlError, load_yaml
from migdocs.checks.context import EntryAnalysis, StaticContext
from migdocs.checks.rollback import minimum_risk
from migdocs.checks.sql import declarable_creates, declarable_drops
from migdocs.clock import today
from migdocs.discovery import Choice, database_filters
from migdocs.errors import MigdocsError
from migdocs.limits import HISTORY_MAX_BYTES, read_bounded
from migdocs.objects import (
    CATALOG_KEY_OF,
    CATALOG_KEYS,
    CHILD_KINDS,
    DEFAULT_SCHEMA,
    GLOBAL_KINDS,
    ObjectRef,
    split_name,
)
from migdocs.project import Project, convention_pattern
from migdocs.runners.base import Listed, Listing, Runner, masked, title_from
from migdocs.sql.script import parse_text

if TYPE_CHECKING:
    from migdocs.catalog.yamlload import Document

TODO = "TODO"
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
    """How a catalog declares an object: without the default schema, each part as
    PostgreSQL stores it, quoted where reading it back would change it (``"Users"``)."""
    if ref.kind in GLOBAL_KINDS:
        parts = [ref.name]
    elif ref.kind in CHILD_KINDS:
        parts = [ref.schema or DEFAULT_SCHEMA, ref.table or "", ref.name]
    else:
        parts = [ref.schema or DEFAULT_SCHEMA, ref.name]
    if ref.kind not in GLOBAL_KINDS and parts[0] == DEFAULT_SCHEMA:
        parts = parts[1:]
    return ".".join(_identifier(part) for part in parts)


def _identifier(name: str) -> str:
    """One part of a declared name: as it is when the catalog reads it back so, else quoted."""
    if '"' not in name and split_name(name) == [name]:
        return name
    return '"' + name.replace('"', '""') + '"'


def _title(stem: str) -> str:
    words = re.sub(r"^(\d{4}-\d{2}-\d{2}|\d+)_", "", stem).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else stem


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


# -- the project ----------------------------------------------------------------------------------

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


# -- entries ------------------------------------------------------------------------------------


@dataclass
class Draft:
    """One catalog entry before the SQL analysis fills in its objects and rollback risk.

    Attributes:
        id: The migration's id.
        date: Its date, or ``None`` until a neighbour's is taken.
        title: Its title.
        said: What the history document says about it.
        file: Its forward file, written only where it is not where its runner lists its id.
        rollback: Its rollback file, relative to the rollbacks (or runner's) folder.
        none: Why it has no rollback file (a ``TODO`` for people to replace).
        paired_by: How its rollback file was found, when that needs checking.
        note: A comment to write before the entry.
        guessed: Whether its date is a neighbour's.
    """

    id: str
    date: dt.date | None
    title: str
    said: HistoryEntry
    file: str | None = None
    rollback: str | None = None
    none: str | None = None
    paired_by: str | None = None
    note: str | None = None
    guessed: bool = False

    def data(self) -> dict[str, Any]:
        """The entry as catalog data, for the in-memory catalog the analysis reads."""
        entry: dict[str, Any] = {"id": self.id, "date": self.date, "title": self.title}
        entry["purpose"] = self.said.purpose or TODO
        if self.file is not None:
            entry["file"] = self.file
        if self.rollback is not None:
            entry["rollback"] = {"file": self.rollback, "risk": "low", "summary": TODO}
        else:
            entry["rollback"] = {"none": self.none or TODO}
        return entry


def fill_dates(drafts: list[Draft], known_before: dt.date | None = None) -> None:
    """Date each draft that no name, journal, plan or document dates: the date of the entry
    before it (else after it), so that dates never go backwards; today's only when nothing
    at all is dated. Such dates are marked as guessed."""
    known = [draft.date for draft in drafts]
    for index, draft in enumerate(drafts):
        if draft.date is not None:
            continue
        before = next((d for d in reversed(known[:index]) if d is not None), known_before)
        after = next((d for d in known[index + 1 :] if d is not None), None)
        draft.date, draft.guessed = before or after or today(), True


def render(draft: Draft, analysis: EntryAnalysis) -> CommentedMap:
    """The entry as ``init`` writes it: facts, objects from the SQL, the rollback's computed
    impact and the least risk it implies (what the document says can only raise them)."""
    said = draft.said
    out = CommentedMap()
    out["id"] = draft.id
    if draft.file is not None:
        out["file"] = draft.file
    out["date"] = draft.date
    out["title"] = draft.title
    out["purpose"] = said.purpose or TODO
    if said.changes:
        out["changes"] = list(said.changes)
    if said.features:
        out["features"] = list(said.features)
    if draft.guessed:
        out.yaml_set_comment_before_after_key(
            "date",
            before="date unknown (not in the file name, the journal or the document): "
            "a neighbouring entry's, check it",
            indent=4,
        )
    creates = _objects(declarable_creates(analysis), said.tables + said.indexes)
    drops = _objects(declarable_drops(analysis), said.removed)
    if creates:
        out["creates"] = creates
    if drops:
        out["drops"] = drops
    if draft.rollback is None:
        out["rollback"] = CommentedMap(none=draft.none or TODO)
        if draft.none is None:
            out.yaml_set_comment_before_after_key(
                "rollback",
                before="no rollback file found: write one, or say why there is none",
                indent=4,
            )
        return out
    impacts = analysis.computed_impacts | _said_impacts(said.impact_text)
    risk = minimum_risk(impacts)
    if said.risk is not None and said.risk.rank > risk.rank:
        risk = said.risk
    rollback = CommentedMap()
    rollback["file"] = draft.rollback
    rollback["risk"] = risk.value
    rollback["impact"] = _flow(sorted(i.value for i in impacts))
    rollback["summary"] = said.impact_text or TODO
    out["rollback"] = rollback
    if draft.paired_by is not None:
        out.yaml_set_comment_before_after_key(
            "rollback", before=f"rollback paired by {draft.paired_by}: check it", indent=4
        )
    return out


def analyse(
    root: Path, head: dict[str, Any], drafts: list[Draft | Migration]
) -> list[EntryAnalysis]:
    """The SQL analysis of every entry, in catalog order, as `migdocs check` makes it: an
    in-memory catalog of ``head`` (version, project, paths or runner) and the entries.

    Raises:
        MigdocsError: when an entry cannot be written (an id the catalog refuses).
    """
    entries = [d.data() if isinstance(d, Draft) else d for d in drafts]
    try:
        catalog = Catalog.model_validate({**head, "migrations": entries})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MigdocsError(
            f"{root}: cannot write a catalog entry: {where}: {first['msg']}"
        ) from None
    text = _yaml_text(_plain({**head, "migrations": [_plain_entry(e) for e in entries]}))
    loaded = LoadedCatalog(catalog, root / "catalog.yaml", "catalog.yaml", load_yaml(text))
    return StaticContext(Project(loaded)).analyses


def _plain_entry(entry: dict[str, Any] | Migration) -> Any:
    if isinstance(entry, Migration):
        return entry.model_dump(mode="json", exclude_defaults=True)
    return entry


def _objects(refs: list[ObjectRef], named: list[str]) -> CommentedMap:
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


def _yaml_text(data: Any) -> str:
    """YAML text of ``data`` in ruamel's round-trip style, comments kept. No anchors or
    aliases, even where two values are one object: a catalog is read by people."""
    stream = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    yaml.representer.ignore_aliases = lambda data: True
    yaml.dump(data, stream)
    return stream.getvalue()


def _header(lines: list[str]) -> str:
    return "\n".join(lines)


# -- plain SQL files ------------------------------------------------------------------------------


def build(
    root: Path, history: dict[str, HistoryEntry] | None = None, folder: Path | None = None
) -> str:
    """The text of a new plain catalog (``paths`` and ``conventions``) for the migrations in
    ``folder`` (default ``root/migrations``), the project folder being ``root``.

    Raises:
        MigdocsError: when the folder holds no SQL file, or its journal cannot be read.
    """
    migrations_dir = folder if folder is not None else root / "migrations"
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
    unpaired = _pair(found, rollbacks, history)
    conventions = {
        "migration": infer_convention([item.path.name for item in found], MIGRATION_CONVENTIONS),
        "rollback": infer_convention(
            [item.rollback.name for item in found if item.rollback is not None],
            ROLLBACK_CONVENTIONS,
        ),
    }
    defaults = {"migration": MIGRATION_CONVENTIONS[0], "rollback": ROLLBACK_CONVENTIONS[0]}
    paths: dict[str, str] = {}
    if migrations_dir.resolve() != (root / "migrations").resolve():
        paths = {
            "migrations": _relative(migrations_dir, root),
            "rollbacks": _relative(rollbacks_dir, root),
        }
    drafts = [_plain_draft(item, history) for item in found]
    for draft, item in zip(drafts, found, strict=True):
        if draft.note is None and item.path.stem not in history and history:
            draft.note = "not in the history document"
    fill_dates(drafts)
    name = project_name(root)
    head: dict[str, Any] = {"version": 1, "project": {"name": name}}
    if paths:
        head["paths"] = paths
    if conventions != defaults:
        head["conventions"] = conventions
    analyses = analyse(root, head, list(drafts))

    document = CommentedMap()
    document["version"] = 1
    document["project"] = CommentedMap(name=name, description=TODO)
    if paths:
        document["paths"] = CommentedMap(paths)
    if conventions != defaults:
        document["conventions"] = CommentedMap(conventions)
    document["migrations"] = _rendered(drafts, analyses)
    header = [
        f"The migration history of {name}, adopted by `migdocs init` on {today().isoformat()}.",
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
    document.yaml_set_start_comment(_header(header))
    return _yaml_text(document)


def _pair(
    found: list[Found], rollbacks: list[Path], history: dict[str, HistoryEntry]
) -> list[Path]:
    """Pair rollback files: those the document names first, then by `pair_rollbacks`."""
    rollbacks = list(rollbacks)
    for item in found:
        named = history.get(item.path.stem, HistoryEntry()).rollback
        path = next((p for p in rollbacks if named and p.name == Path(named).name), None)
        if path is not None:
            item.rollback, item.paired_by = path, "the history document"
            rollbacks.remove(path)
    return pair_rollbacks([item for item in found if item.rollback is None], rollbacks)


def _plain_draft(item: Found, history: dict[str, HistoryEntry]) -> Draft:
    said = history.get(item.path.stem, HistoryEntry())
    checked = item.paired_by not in (None, "naming convention", "the history document")
    return Draft(
        id=item.path.stem,
        date=item.date or said.date,
        title=_title(item.path.stem),
        said=said,
        rollback=item.rollback.name if item.rollback is not None else None,
        paired_by=item.paired_by if checked else None,
        note=item.note,
    )


def _rendered(drafts: list[Draft], analyses: list[EntryAnalysis]) -> CommentedSeq:
    items = CommentedSeq()
    for draft, analysis in zip(drafts, analyses, strict=True):
        items.append(render(draft, analysis))
        if draft.note:
            items.yaml_set_comment_before_after_key(len(items) - 1, before=draft.note, indent=2)
    return items


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


# -- a runner's history ---------------------------------------------------------------------------


def adopt(root: Path, choice: Choice, history: dict[str, HistoryEntry] | None = None) -> str:
    """The text of a new catalog for the history ``choice`` names, the project folder being
    ``root``: a plain catalog for plain SQL files, else one that names its runner.

    Raises:
        MigdocsError: when the runner lists no migration there, or cannot read its journal
            or plan.
    """
    if choice.runner.kind == "plain":
        return build(root, history, choice.folder)
    return build_runner(root, choice, history or {})


def runner_settings(root: Path, runner: type[Runner], folder: Path) -> RunnerSettings:
    """The catalog's ``runner`` block for ``folder``: its kind, its path from the catalog's
    folder, and the globs of PostgreSQL's files where the folder holds several databases'."""
    probe = runner(folder)
    include, exclude = database_filters(runner.kind, probe.names())
    return RunnerSettings.model_validate(
        {
            "kind": runner.kind,
            "path": _relative(folder, root),
            "include": include,
            "exclude": exclude,
        }
    )


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


#: Files that give a runner its order or settings (a journal, a plan, a lock file): a
#: problem in one of them leaves the whole history unreadable.
_ORDER_FILES = frozenset({".json", ".plan", ".toml", ".conf", ".yaml", ".yml"})


def runner_drafts(
    runner: Runner, items: list[Listed], listing: Listing, history: dict[str, HistoryEntry]
) -> list[Draft]:
    """A draft per migration the runner lists: its id, date and title as the runner reads
    them, its rollback script (or why there is none)."""
    by_id = listing.by_id()
    drafts = []
    for listed in items:
        said = history.get(listed.id, history.get(Path(listed.file).stem, HistoryEntry()))
        draft = Draft(
            id=listed.id,
            date=listed.date or said.date,
            title=listed.title or title_from(listed.id),
            said=said,
            file=listed.file if by_id[listed.id].file != listed.file else None,
        )
        if not runner.has_rollbacks:
            draft.none = f"TODO: {runner.kind} has no rollback scripts; say how to undo it"
        elif listed.rollback is None:
            draft.none = "TODO: no rollback script; write one, or say why there is none"
        elif runner.sectioned and listed.rollback == listed.file and _empty_down(runner, listed):
            draft.none = "TODO: the down section is empty; write it, or say why there is none"
        else:
            draft.rollback = listed.rollback
        drafts.append(draft)
    return drafts


def _empty_down(runner: Runner, listed: Listed) -> bool:
    """Whether the down section of a file that holds both scripts has no statement."""
    try:
        text = (runner.folder / listed.file).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return False
    sections = runner.sections(text)
    if sections.down is None:
        return True
    script = parse_text(masked(text, sections.down))
    return script.parsed and not script.statements


def build_runner(root: Path, choice: Choice, history: dict[str, HistoryEntry]) -> str:
    """The text of a new catalog for a runner's history: ``runner: {kind, path}``, the
    entries in the runner's order."""
    cls, folder = choice.runner, choice.folder
    settings = runner_settings(root, cls, folder)
    runner = cls(folder, settings)
    listing = read_listing(runner)
    drafts = runner_drafts(runner, listing.migrations, listing, history)
    fill_dates(drafts)
    name = project_name(root)
    block = settings.model_dump(exclude_defaults=True)
    block = {"kind": cls.kind, **block}
    head: dict[str, Any] = {"version": 1, "project": {"name": name}, "runner": block}
    analyses = analyse(root, head, list(drafts))

    document = CommentedMap()
    document["version"] = 1
    document["project"] = CommentedMap(name=name, description=TODO)
    runner_map = CommentedMap()
    for key, value in block.items():
        runner_map[key] = _flow(list(value)) if isinstance(value, list) else value
    document["runner"] = runner_map
    if settings.include or settings.exclude:
        document.yaml_set_comment_before_after_key(
            "runner",
            before="The folder holds the files of several databases: only PostgreSQL's are "
            "this history's\n(files named for another database, and generic ones a "
            "PostgreSQL file replaces, are left out).",
        )
    document["migrations"] = _rendered(drafts, analyses)
    if cls.kind == "supabase":
        document.yaml_set_comment_before_after_key(
            "migrations",
            before="Supabase: replay needs what the platform gives every database (roles, the "
            "auth and storage\nschemas); give them in `replay.setup` until migdocs ships a "
            "Supabase preset.",
        )
    header = [
        f"The migration history of {name}, adopted by `migdocs init` on {today().isoformat()}.",
        f"Runner: {cls.kind}, in {settings.path}/"
        + (f" ({'; '.join(choice.evidence.reasons)})." if choice.evidence else "."),
        f"Order: {listing.order_source}, as {cls.kind} applies them; entries are in that order.",
        "TODO marks what only people can say; `migdocs check` reports each one (MG604).",
    ]
    if listing.problems:
        header.append(
            f"{cls.kind} would refuse or ignore some files here: `migdocs check` names them."
        )
    document.yaml_set_start_comment(_header(header))
    return _yaml_text(document)


# -- --update -------------------------------------------------------------------------------------


@dataclass
class Update:
    """What `update` added to a catalog.

    Attributes:
        text: The catalog's new text.
        added: The ids of the entries added, in catalog order.
    """

    text: str
    added: list[str]


def update(path: Path, display: str, history: dict[str, HistoryEntry] | None = None) -> Update:
    """The catalog at ``path`` with an entry for every migration file it lacks (MG101), each
    placed in the runner's order (file-name order for plain SQL files); every byte of the
    text that is there is kept.

    Raises:
        MigdocsError: when the catalog cannot be loaded, or its ``migrations`` list is not
            one the new entries can be written into.
    """
    history = history or {}
    project = Project.load(path, display)
    named = {os.path.normpath(entry.forward_path) for entry in project.entries}
    missing = [p for p in project.migration_files if os.path.normpath(p) not in named]
    if not missing:
        return Update(_read_text(path, display), [])
    positions: list[tuple[int, Draft]]
    if project.layout is not None:
        positions = _runner_positions(project, missing, history)
    else:
        positions = _plain_positions(project, missing, history)
    merged: list[Draft | Migration] = []
    after: dict[int, list[Draft]] = {}
    for place, draft in positions:
        after.setdefault(place, []).append(draft)
    for place in [-1, *range(len(project.entries))]:
        if place >= 0:
            merged.append(project.entries[place].migration)
        merged.extend(after.get(place, []))
    for index, item in enumerate(merged):
        if isinstance(item, Draft) and item.date is None:
            before = next((m.date for m in reversed(merged[:index]) if m.date is not None), None)
            following = next((m.date for m in merged[index + 1 :] if m.date is not None), None)
            item.date, item.guessed = before or following or today(), True
    raw = project.loaded.document.data
    head = {key: value for key, value in raw.items() if key != "migrations"}
    analyses = analyse(project.root, head, merged)
    rendered = {
        id(item): render(item, analysis)
        for item, analysis in zip(merged, analyses, strict=True)
        if isinstance(item, Draft)
    }
    blocks = {place: [rendered[id(d)] for d in drafts] for place, drafts in after.items()}
    notes = {id(rendered[id(d)]): d.note for drafts in after.values() for d in drafts if d.note}
    text = _read_text(path, display)
    new = splice(text, project.loaded.document, display, blocks, notes)
    try:
        Catalog.model_validate(load_yaml(new).data)
    except (YamlError, ValidationError) as error:  # a bug: say so rather than write it
        raise MigdocsError(f"{display}: the updated catalog would not load: {error}") from None
    return Update(new, [d.id for item in merged if isinstance((d := item), Draft)])


def _read_text(path: Path, display: str) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise MigdocsError(f"{display}: cannot read: {error}") from None


def _runner_positions(
    project: Project, missing: list[Path], history: dict[str, HistoryEntry]
) -> list[tuple[int, Draft]]:
    """Each new migration with the catalog index it follows (-1: before the first), in the
    runner's order."""
    runner = project.layout
    assert runner is not None
    listing = project.listing
    missing_files = {os.path.normpath(p) for p in missing}
    index_of = {os.path.normpath(e.forward_path): e.index for e in project.entries}
    new_items: list[tuple[int, Listed]] = []
    last = -1
    for listed in listing.migrations:
        key = os.path.normpath(project.migrations_dir / listed.file)
        if key in missing_files:
            new_items.append((last, listed))
        elif key in index_of:
            last = index_of[key]
    drafts = runner_drafts(runner, [listed for _, listed in new_items], listing, history)
    return [(place, draft) for (place, _), draft in zip(new_items, drafts, strict=True)]


def _plain_positions(
    project: Project, missing: list[Path], history: dict[str, HistoryEntry]
) -> list[tuple[int, Draft]]:
    """Each new file with the catalog index it follows: after the last entry whose file
    name sorts before its name; its rollback paired among the rollback files no entry
    names."""
    found = [Found(path, _file_date(path)) for path in missing]
    taken = {
        os.path.normpath(e.rollback_path) for e in project.entries if e.rollback_path is not None
    }
    free = [p for p in project.rollback_files if os.path.normpath(p) not in taken]
    _pair(found, free, history)
    out = []
    for item in found:
        before = [e.index for e in project.entries if e.forward_path.name < item.path.name]
        draft = _plain_draft(item, history)
        if item.rollback is not None:
            draft.rollback = _relative(item.rollback, project.rollbacks_dir)
        out.append((max(before, default=-1), draft))
    return out


def splice(
    text: str,
    document: Document,
    display: str,
    blocks: dict[int, list[CommentedMap]],
    notes: dict[int, str],
) -> str:
    """``text`` with the entries of ``blocks`` written after the entry of each index (-1:
    before the first), as YAML in the list's own indentation; every line already there is
    kept as it is.

    Raises:
        MigdocsError: when the catalog's ``migrations`` is empty or a flow list.
    """
    data = document.data
    entries = data.get("migrations") if isinstance(data, dict) else None
    key_mark = document.mark(("migrations",))
    if not isinstance(entries, list) or not entries or key_mark is None:
        raise MigdocsError(
            f"{display}: `migrations` has no entries to add to; write the catalog again "
            "with `migdocs init --force`"
        )
    lines = text.splitlines(keepends=True)
    starts = []
    for index in range(len(entries)):
        mark = document.mark(("migrations", index))
        assert mark is not None
        starts.append(mark.line)
    first = lines[starts[0] - 1]
    dash = first.rfind("-", 0, (document.mark(("migrations", 0)) or key_mark).column - 1)
    if dash < 0 or first[:dash].strip() or starts[0] == key_mark.line:
        raise MigdocsError(
            f"{display}:{key_mark.line}: `migrations` is a flow list; --update writes "
            "block entries: write the catalog again with `migdocs init --force`"
        )
    later = [
        mark.line
        for key in data
        if (mark := document.mark((key,))) is not None and mark.line > starts[-1]
    ]
    end = min(later, default=len(lines) + 1)
    inserts: dict[int, str] = {}
    for place, maps in blocks.items():
        boundary = starts[place + 1] if place + 1 < len(starts) else end
        floor = starts[place] + 1 if place >= 0 else key_mark.line + 1
        while boundary > floor and _loose(lines[boundary - 2], dash):
            boundary -= 1
        inserts[boundary] = inserts.get(boundary, "") + _entries_text(maps, dash, notes)
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        if number in inserts:
            _newline(out)
            out.append(inserts.pop(number))
        out.append(line)
    for block in inserts.values():  # at the end of the file
        _newline(out)
        out.append(block)
    return "".join(out)


def _loose(line: str, dash: int) -> bool:
    """Whether a line is blank, or a comment no deeper than the list's dashes (it belongs
    to what follows, not to the entry before)."""
    stripped = line.strip()
    if not stripped:
        return True
    return stripped.startswith("#") and len(line) - len(line.lstrip()) <= dash


def _newline(out: list[str]) -> None:
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n"


def _entries_text(maps: list[CommentedMap], dash: int, notes: dict[int, str]) -> str:
    """Entries as YAML list items whose dashes stand in column ``dash``."""
    seq = CommentedSeq()
    for item in maps:
        seq.append(item)
        note = notes.get(id(item))
        if note:
            seq.yaml_set_comment_before_after_key(len(seq) - 1, before=note, indent=2)
    text = _yaml_text({"migrations": seq}).split("\n", 1)[1]
    shift = dash - 2
    out = []
    for line in text.splitlines(keepends=True):
        if shift >= 0:
            out.append(" " * shift + line if line.strip() else line)
        else:
            out.append(line[-shift:] if line[:-shift].strip() == "" else line)
    return "".join(out)


# -- the site -----------------------------------------------------------------------------------


def site_files(root: Path, catalog_text: str) -> dict[str, str]:
    """``mkdocs.yml`` and ``docs/index.md`` for the history's site, when the migdocs MkDocs
    plugin is installed (else none: a config that cannot build helps nobody)."""
    import importlib.util

    try:
        if importlib.util.find_spec("migdocs.site.plugin") is None:
            return {}
    except ModuleNotFoundError:
        return {}
    name = project_name(root)
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
