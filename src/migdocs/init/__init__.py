"""`migdocs init`: a catalog for an existing history, from its runner's files, a journal or
plan, and a hand-written history document.

What it can know it fills in. For a history a runner applies (dbmate, golang-migrate,
Flyway… found by [discovery][migdocs.discovery]), the runner's own reading: its order, each
migration's id, date and title, its rollback script (or a section of the same file). For
plain SQL files (``paths`` and ``conventions``): the order of a drizzle
``meta/_journal.json``, else file names, and rollback files paired by the naming
convention, else a ``-- Rollback for X.sql`` header, else the most similar name
([listing][migdocs.init.listing], [pairing][migdocs.init.pairing]). For both: each
migration's ``creates`` and ``drops`` (the SQL analysis, as `migdocs check` reads it), the
rollback's computed impact and the least risk it implies ([writing][migdocs.init.writing]).
A history document in the seed's format ([history][migdocs.history]) adds purposes,
changes, features, dates, rollback texts and objects it names. What nobody can know becomes
``TODO``, which MG604 reports until someone writes it. [update][migdocs.update] adds entries
to a catalog.
"""

from __future__ import annotations

from pathlib import Path

from migdocs.discovery import Choice
from migdocs.history import HistoryEntry
from migdocs.init.site import site_files
from migdocs.init.writing import plain_catalog, runner_catalog

__all__ = ["adopt", "site_files"]


def adopt(root: Path, choice: Choice, history: dict[str, HistoryEntry] | None = None) -> str:
    """The text of a new catalog for the history ``choice`` names, the project folder being
    ``root``: a plain catalog for plain SQL files, else one that names its runner.

    Raises:
        MigdocsError: when the runner lists no migration there, or cannot read its journal
            or plan.
    """
    if choice.runner.kind == "plain":
        return plain_catalog(root, history, choice.folder)
    return runner_catalog(root, choice, history or {})
