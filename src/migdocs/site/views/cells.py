"""What every view's tables share: a migration's proof and rollback risk as cells, the proof
levels' legend, and the marks for yes, no and nothing."""

from __future__ import annotations

from migdocs.site.escape import url
from migdocs.site.fragments import Badge, Text
from migdocs.site.proof import LEVELS, MEANINGS, NO_ROLLBACK, badge
from migdocs.site.state import Site

OK, BAD, NONE = "✔", "✘", "—"
#: The declared rollback risks, the highest first.
RISKS = ("critical", "high", "medium", "low")


def risk_cell(site: Site, migration_id: str) -> Badge | Text:
    """A migration's rollback risk as a cell: *no rollback* is a state of its own."""
    risk = site.proofs[migration_id].rollback
    return badge(NO_ROLLBACK) if risk == NO_ROLLBACK else Text(risk)


def proof_cell(site: Site, migration_id: str) -> Badge:
    """A migration's proof level as a cell."""
    return badge(site.proofs[migration_id].level)


def legend(site: Site) -> str:
    """The proof levels and what each means, as a table."""
    return site.templates.table(
        ("state", "meaning"),
        [(badge(state), Text(MEANINGS[state])) for state in (*LEVELS, NO_ROLLBACK)],
    )


def migration_uri(base: str, migration_id: str) -> str:
    """The link to a migration's page from a page whose way to the section is ``base``."""
    return f"{base}migrations/{url(migration_id)}.md"
