"""Rules of the MG6xx family: the documentation review that keeps the catalog honest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from migdocs.catalog.models import Severity
from migdocs.checks.base import Rule
from migdocs.clock import today
from migdocs.report.finding import Finding

if TYPE_CHECKING:
    from migdocs.checks.context import StaticContext

_PLACEHOLDER = re.compile(r"^\s*(TODO|TBD|FIXME|XXX)(\b|$)")


class ReviewOverdue(Rule):
    """An entry's review is older than `review.every_days`.

    ## What it does
    Reports entries whose `reviewed.date` is more than `review.every_days` (90 by default)
    before today.

    ## Why is this bad?
    Documentation that nobody re-reads drifts from the system: procedures name tools that
    are gone, impacts no longer hold.

    ## Example
    `reviewed: {date: 2025-01-10, by: ops-team}` on 2025-06-01 with the default of 90 days.

    ## Use instead
    Review the entry and stamp it: `migdocs review --mark <id> --by <name>`.
    """

    code = "MG601"
    name = "review.overdue"
    severity = Severity.WARNING
    summary = "an entry's review is older than review.every_days"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        now = today()
        every = project.catalog.review.every_days
        for entry in project.entries:
            reviewed = entry.migration.reviewed
            if reviewed is None:
                continue
            age = (now - reviewed.date).days
            if age > every:
                yield self.in_entry(
                    f"last reviewed {reviewed.date.isoformat()} by {reviewed.by}, {age} days ago "
                    f"(every {every} days)",
                    project,
                    entry,
                    "reviewed",
                )


class NeverReviewed(Rule):
    """An entry has never been reviewed.

    ## What it does
    Reports entries without a `reviewed` stamp.

    ## Why is this bad?
    Nobody but the author has checked that the purpose, impact and rollback read right.

    ## Example
    An entry with no `reviewed` key.

    ## Use instead
    `migdocs review --mark <id> --by <name>` after reading it.
    """

    code = "MG602"
    name = "review.never"
    severity = Severity.INFO
    summary = "an entry has never been reviewed"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for entry in project.entries:
            if entry.migration.reviewed is None:
                yield self.in_entry(
                    "never reviewed",
                    project,
                    entry,
                )


class ChangedSinceReview(Rule):
    """An entry's forward or rollback SQL changed since its review.

    ## What it does
    Compares the `sha256` recorded by the last review (of the forward file's bytes followed
    by the rollback file's bytes) with the files as they are now.

    ## Why is this bad?
    The review vouched for SQL that is no longer there; the entry may no longer describe it.

    ## Example
    A rollback edited after `migdocs review --mark` stamped its entry.

    ## Use instead
    Review the change and stamp the entry again.
    """

    code = "MG603"
    name = "review.sql-changed"
    severity = Severity.WARNING
    summary = "an entry's forward or rollback SQL changed since its review"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for entry in project.entries:
            reviewed = entry.migration.reviewed
            if reviewed is None or reviewed.sha256 is None:
                continue
            digest = project.review_digest(entry)
            if digest is not None and digest != reviewed.sha256:
                yield self.in_entry(
                    f"the SQL changed since the review of {reviewed.date.isoformat()} by "
                    f"{reviewed.by}",
                    project,
                    entry,
                    "reviewed",
                    "sha256",
                )


class Placeholder(Rule):
    """A required text is a placeholder or empty.

    ## What it does
    Checks `title`, `purpose`, `rollback.summary` and `rollback.none` for texts that are
    empty or start with TODO, TBD, FIXME or XXX (what `migdocs init` writes where it cannot
    know the answer).

    ## Why is this bad?
    The site publishes them as if they were the answer.

    ## Example
    `purpose: TODO`

    ## Use instead
    `purpose: Lets users re-register with the email of a deleted account`
    """

    code = "MG604"
    name = "review.placeholder"
    severity = Severity.WARNING
    summary = "a required text is a placeholder (TODO) or empty"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for entry in project.entries:
            migration = entry.migration
            texts: list[tuple[tuple[str, ...], str | None]] = [
                (("title",), migration.title),
                (("purpose",), migration.purpose),
            ]
            if migration.rollback is not None:
                texts.append((("rollback", "summary"), migration.rollback.summary))
                texts.append((("rollback", "none"), migration.rollback.none))
            for path, text in texts:
                if text is None:
                    continue
                if not text.strip() or _PLACEHOLDER.match(text):
                    yield self.in_entry(
                        f"`{'.'.join(path)}` is {'empty' if not text.strip() else 'a placeholder'}",
                        project,
                        entry,
                        *path,
                    )


#: The rules whose findings make an entry due for review (`migdocs review`).
REVIEW_RULES: tuple[type[Rule], ...] = (
    ReviewOverdue,
    NeverReviewed,
    ChangedSinceReview,
    Placeholder,
)
#: The codes of the findings that make a migration due for review.
DUE_CODES = frozenset(rule.code for rule in REVIEW_RULES)
