"""A hand-written migration history document, read for `migdocs init --from-markdown`.

The common format (the seed's ``MIGRATION_HISTORY.md``): a section per migration headed
``### <file>.sql``, with ``**Purpose**: …``, ``**Changes**:`` and ``**Features**:`` lists,
``**Rollback**: `file```, a rollback impact text, and a "Rollback Risk Assessment" with
risk levels. Mojibake in it is repaired with ftfy.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import ftfy

from migdocs.catalog.models import Impact, Risk
from migdocs.errors import MigdocsError
from migdocs.limits import HISTORY_MAX_BYTES, read_bounded

#: Words of a document's rollback impact text and the impact each one says.
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


def said_impacts(text: str | None) -> set[Impact]:
    """The impacts a document's rollback impact text names (``destructive``, ``may fail``…)."""
    lowered = (text or "").lower()
    return {impact for word, impact in _IMPACT_WORDS.items() if word in lowered}
