"""The catalog `init` writes: each draft rendered with what the SQL analysis finds (objects,
the rollback's impact and least risk), in a YAML document people read and finish."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migdocs.catalog.loader import LoadedCatalog
from migdocs.catalog.models import Catalog, Migration, RunnerSettings
from migdocs.catalog.yamlload import load_yaml
from migdocs.checks.context import EntryAnalysis, StaticContext
from migdocs.clock import today
from migdocs.declarations import declarable_creates, declarable_drops, minimum_risk
from migdocs.discovery import Choice, database_filters, project_name
from migdocs.errors import MigdocsError
from migdocs.history import HistoryEntry, said_impacts
from migdocs.init.listing import (
    MIGRATION_CONVENTIONS,
    ROLLBACK_CONVENTIONS,
    Found,
    find_migrations,
    infer_convention,
    read_listing,
)
from migdocs.init.pairing import (
    TODO,
    Draft,
    fill_dates,
    in_history_order,
    pair_found,
    plain_drafts,
    runner_drafts,
)
from migdocs.objects import CATALOG_KEY_OF, CATALOG_KEYS, ObjectRef
from migdocs.project import Project
from migdocs.runners.base import Runner

# -- entries ------------------------------------------------------------------------------------


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


def _rendered(drafts: list[Draft], analyses: list[EntryAnalysis]) -> CommentedSeq:
    items = CommentedSeq()
    for draft, analysis in zip(drafts, analyses, strict=True):
        items.append(render(draft, analysis))
        if draft.note:
            items.yaml_set_comment_before_after_key(len(items) - 1, before=draft.note, indent=2)
    return items


# -- YAML -----------------------------------------------------------------------------------------


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


def relative(path: Path, root: Path) -> str:
    """``path`` from ``root``, with ``/``."""
    return Path(os.path.relpath(path.resolve(), root.resolve())).as_posix()


def _header(name: str, about: list[str], notes: list[str]) -> str:
    """The comment that opens a new catalog: who adopted it when, ``about`` its history,
    what TODO means, then ``notes``."""
    lines = [
        f"The migration history of {name}, adopted by `migdocs init` on {today().isoformat()}.",
        *about,
        "TODO marks what only people can say; `migdocs check` reports each one (MG604).",
        *notes,
    ]
    return "\n".join(lines)


# -- plain SQL files ------------------------------------------------------------------------------


def plain_catalog(
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
    order = in_history_order(found, order, history)
    rollbacks = sorted(rollbacks_dir.glob("*.sql")) if rollbacks_dir.is_dir() else []
    unpaired = pair_found(found, rollbacks, history)
    drafts = plain_drafts(found, history)
    name = project_name(root)
    head = _plain_head(root, name, migrations_dir, found)
    analyses = analyse(root, head, list(drafts))

    document = CommentedMap()
    for key, value in head.items():
        document[key] = CommentedMap(value) if isinstance(value, dict) else value
    document["project"]["description"] = TODO
    document["migrations"] = _rendered(drafts, analyses)
    notes = []
    if unpaired:
        notes.append(
            "Rollback files paired with no migration: " + ", ".join(p.name for p in unpaired)
        )
    absent = [stem for stem in history if stem not in {item.path.stem for item in found}]
    if absent:
        notes.append(
            "The history document describes files that are not here: "
            + ", ".join(f"{stem}.sql" for stem in absent)
        )
    about = [f"Order: {order}. Entries are in the order the migrations are applied."]
    document.yaml_set_start_comment(_header(name, about, notes))
    return yaml_text(document)


def _plain_head(root: Path, name: str, migrations_dir: Path, found: list[Found]) -> dict[str, Any]:
    """The catalog's keys before its entries: ``version``, ``project``, and ``paths`` and
    ``conventions`` where they are not the defaults."""
    head: dict[str, Any] = {"version": 1, "project": {"name": name}}
    if migrations_dir.resolve() != (root / "migrations").resolve():
        head["paths"] = {
            "migrations": relative(migrations_dir, root),
            "rollbacks": relative(migrations_dir / "rollbacks", root),
        }
    conventions = {
        "migration": infer_convention([item.path.name for item in found], MIGRATION_CONVENTIONS),
        "rollback": infer_convention(
            [item.rollback.name for item in found if item.rollback is not None],
            ROLLBACK_CONVENTIONS,
        ),
    }
    if conventions != {"migration": MIGRATION_CONVENTIONS[0], "rollback": ROLLBACK_CONVENTIONS[0]}:
        head["conventions"] = conventions
    return head


# -- a runner's history ---------------------------------------------------------------------------


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


def runner_catalog(root: Path, choice: Choice, history: dict[str, HistoryEntry]) -> str:
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

    document = _runner_head(name, block, settings)
    document["migrations"] = _rendered(drafts, analyses)
    about = [
        f"Runner: {cls.kind}, in {settings.path}/"
        + (f" ({'; '.join(choice.evidence.reasons)})." if choice.evidence else "."),
        f"Order: {listing.order_source}, as {cls.kind} applies them; entries are in that order.",
    ]
    notes = []
    if listing.problems:
        notes.append(
            f"{cls.kind} would refuse or ignore some files here: `migdocs check` names them."
        )
    document.yaml_set_start_comment(_header(name, about, notes))
    return yaml_text(document)


def _runner_head(name: str, block: dict[str, Any], settings: RunnerSettings) -> CommentedMap:
    """The catalog's keys before its entries: ``version``, ``project``, ``runner``, and the
    Supabase preset of ``replay`` for a Supabase history, each with what people need to know."""
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
    if block["kind"] == "supabase":
        document["replay"] = CommentedMap(preset="supabase")
        document.yaml_set_comment_before_after_key(
            "replay",
            before="Supabase: replay starts from what the platform gives every database (its "
            "roles, the auth,\nstorage and extensions schemas), as migdocs ships it.",
        )
        document["replay"].fa.set_flow_style()
    return document
