"""`migdocs init --update`: an entry for every migration file a catalog lacks (MG101),
written into the catalog's text in the runner's order, every byte already there kept.

The new entries are made as `init` makes them ([init][migdocs.init]), with the SQL
analysis of the whole history in its new order; their YAML goes between the lines of the
entries around them, in the list's own indentation, and a comment that heads an entry stays
with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from migdocs.catalog.models import Catalog, Migration
from migdocs.catalog.yamlload import YamlError, load_yaml
from migdocs.clock import today
from migdocs.errors import MigdocsError
from migdocs.history import HistoryEntry
from migdocs.init.listing import Found, file_date
from migdocs.init.pairing import Draft, pair_found, plain_draft, runner_drafts
from migdocs.init.writing import analyse, relative, render, yaml_text
from migdocs.project import Project
from migdocs.runners.base import Listed

if TYPE_CHECKING:
    from migdocs.catalog.yamlload import Document


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
    found = [Found(path, file_date(path)) for path in missing]
    taken = {
        os.path.normpath(e.rollback_path) for e in project.entries if e.rollback_path is not None
    }
    free = [p for p in project.rollback_files if os.path.normpath(p) not in taken]
    pair_found(found, free, history)
    out = []
    for item in found:
        before = [e.index for e in project.entries if e.forward_path.name < item.path.name]
        draft = plain_draft(item, history)
        if item.rollback is not None:
            draft.rollback = relative(item.rollback, project.rollbacks_dir)
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
    text = yaml_text({"migrations": seq}).split("\n", 1)[1]
    shift = dash - 2
    out = []
    for line in text.splitlines(keepends=True):
        if shift >= 0:
            out.append(" " * shift + line if line.strip() else line)
        else:
            out.append(line[-shift:] if line[:-shift].strip() == "" else line)
    return "".join(out)
