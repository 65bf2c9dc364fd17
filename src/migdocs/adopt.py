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
seed's format ([history][migdocs.history]) adds purposes, changes, features, dates,
rollback texts and objects it names. What nobody can know becomes ``TODO``, which MG604
reports until someone writes it. [update][migdocs.update] adds entries to a catalog.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migdocs.catalog.loader import LoadedCatalog
from migdocs.catalog.models import Catalog, Migration, RunnerSettings
from migdocs.catalog.yamlload import load_yaml
from migdocs.checks.context import EntryAnalysis, StaticContext
from migdocs.checks.rollback import minimum_risk
from migdocs.checks.sql import declarable_creates, declarable_drops
from migdocs.clock import today
from migdocs.discovery import Choice, database_filters, project_name
from migdocs.errors import MigdocsError
from migdocs.history import HistoryEntry, said_impacts
from migdocs.objects import CATALOG_KEY_OF, CATALOG_KEYS, ObjectRef
from migdocs.project import Project, convention_pattern
from migdocs.runners.base import Listed, Listing, Runner, masked, title_from
from migdocs.sql.script import parse_text

if TYPE_CHECKING:
    pass

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
    impacts = analysis.computed_impacts | said_impacts(said.impact_text)
    risk = minimum_risk(impacts)
    if said.risk is not None and said.risk.rank > risk.rank:
        risk = said.risk
    rollback = CommentedMap()
    rollback["file"] = draft.rollback
    rollback["risk"] = risk.value
    rollback["impact"] = flow(sorted(i.value for i in impacts))
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
    text = yaml_text(_plain({**head, "migrations": [_plain_entry(e) for e in entries]}))
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
            grouped.setdefault(key, []).append(ref.declared)
    known = {name.rsplit(".", 1)[-1] for names in grouped.values() for name in names}
    for name in named:
        if name.rsplit(".", 1)[-1] not in known:
            # The document says so and the SQL does not: kept, so that `check` shows it.
            key = "indexes" if name.endswith("_idx") else "tables"
            grouped.setdefault(key, []).append(name)
    result = CommentedMap()
    for key in CATALOG_KEYS:
        if grouped.get(key):
            result[key] = flow(grouped[key])
    return result


def flow(items: list[str]) -> CommentedSeq:
    """A list written on one line (``[a, b]``)."""
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


def yaml_text(data: Any) -> str:
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
    unpaired = pair_found(found, rollbacks, history)
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
            "migrations": relative(migrations_dir, root),
            "rollbacks": relative(rollbacks_dir, root),
        }
    drafts = [plain_draft(item, history) for item in found]
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
    return yaml_text(document)


def pair_found(
    found: list[Found], rollbacks: list[Path], history: dict[str, HistoryEntry]
) -> list[Path]:
    """Pair each migration with a rollback file, the one the document names first, then as
    `pair_rollbacks` does; return the rollback files left unpaired."""
    rollbacks = list(rollbacks)
    for item in found:
        named = history.get(item.path.stem, HistoryEntry()).rollback
        path = next((p for p in rollbacks if named and p.name == Path(named).name), None)
        if path is not None:
            item.rollback, item.paired_by = path, "the history document"
            rollbacks.remove(path)
    return pair_rollbacks([item for item in found if item.rollback is None], rollbacks)


def plain_draft(item: Found, history: dict[str, HistoryEntry]) -> Draft:
    """The draft of a plain migration file: its stem as id, its date and title from its
    name or the document, its paired rollback (a pairing by header or likeness marked to
    check)."""
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


def relative(path: Path, root: Path) -> str:
    """``path`` from ``root``, with ``/``."""
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
            "path": relative(folder, root),
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
    if cls.kind == "supabase":
        head["replay"] = {"preset": "supabase"}
    analyses = analyse(root, head, list(drafts))

    document = CommentedMap()
    document["version"] = 1
    document["project"] = CommentedMap(name=name, description=TODO)
    runner_map = CommentedMap()
    for key, value in block.items():
        runner_map[key] = flow(list(value)) if isinstance(value, list) else value
    document["runner"] = runner_map
    if settings.include or settings.exclude:
        document.yaml_set_comment_before_after_key(
            "runner",
            before="The folder holds the files of several databases: only PostgreSQL's are "
            "this history's\n(files named for another database, and generic ones a "
            "PostgreSQL file replaces, are left out).",
        )
    if cls.kind == "supabase":
        document["replay"] = CommentedMap(preset="supabase")
        document.yaml_set_comment_before_after_key(
            "replay",
            before="Supabase: replay starts from what the platform gives every database (its "
            "roles, the auth,\nstorage and extensions schemas), as migdocs ships it.",
        )
        document["replay"].fa.set_flow_style()
    document["migrations"] = _rendered(drafts, analyses)
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
    return yaml_text(document)


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
  - search:
      separator: '[\\s\\-]+|\\.(?!\\d)'   # public.users: public, users
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
