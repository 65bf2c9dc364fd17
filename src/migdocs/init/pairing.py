"""Each migration paired with its rollback and with what the history document says of it:
the draft of its catalog entry, with ``TODO`` where nobody can know."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migdocs.clock import today
from migdocs.history import HistoryEntry
from migdocs.init.listing import DATED_NAME, Found
from migdocs.runners.base import Listed, Listing, Runner, masked, title_from
from migdocs.sql.script import parse_text

TODO = "TODO"
_NOISE = re.compile(r"(^|_)(rollback|revert|undo|down|add|create|drop|remove|update)(?=_|$)")
_HEADER = re.compile(
    r"--\s*(?:rollback|revert|undo)\s+(?:for|of)\s+`?([\w.-]+?)(?:\.sql)?`?\s*$",
    re.IGNORECASE | re.MULTILINE,
)


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
        match = DATED_NAME.match(item.path.stem)
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


def in_history_order(found: list[Found], order: str, history: dict[str, HistoryEntry]) -> str:
    """Sort ``found`` as the history document lists the migrations (the order they were
    applied), unless a drizzle journal gave the order; return where the order comes from."""
    if not history or order.startswith("drizzle"):
        return order
    place = {stem: index for index, stem in enumerate(history)}
    found.sort(key=lambda item: (place.get(item.path.stem, len(place)), item.path.name))
    return "the history document's order, then file names"


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


def _title(stem: str) -> str:
    words = re.sub(r"^(\d{4}-\d{2}-\d{2}|\d+)_", "", stem).replace("_", " ").strip()
    return words[:1].upper() + words[1:] if words else stem


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


def plain_drafts(found: list[Found], history: dict[str, HistoryEntry]) -> list[Draft]:
    """The drafts of plain migration files, each dated, those the history document does not
    describe noted so."""
    drafts = [plain_draft(item, history) for item in found]
    for draft, item in zip(drafts, found, strict=True):
        if draft.note is None and item.path.stem not in history and history:
            draft.note = "not in the history document"
    fill_dates(drafts)
    return drafts


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
