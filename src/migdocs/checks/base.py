"""What a rule is: a code, a dotted name, a default severity, a summary and its documentation."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from migdocs.catalog.models import Severity
from migdocs.report.finding import Finding

if TYPE_CHECKING:
    from migdocs.checks.context import StaticContext
    from migdocs.project import Entry, Project

Phase = Literal["static", "replay", "live"]
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead")


@dataclass(frozen=True)
class RuleDocs:
    """A rule's documentation, parsed from its docstring."""

    what: str
    why: str
    example: str
    fix: str

    def markdown(self) -> str:
        """The sections as Markdown (for the site and ``migdocs rules --verbose``)."""
        return (
            f"**What it does.** {self.what}\n\n**Why is this bad?** {self.why}\n\n"
            f"**Example**\n\n{self.example}\n\n**Use instead**\n\n{self.fix}\n"
        )


class Rule:
    """Base of every rule. Subclasses set the class attributes and implement `check`.

    Static rules run in `migdocs check`; replay and live rules are raised by `verify` and
    `audit`, which call `finding` on them, so each code still lives in one place.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    phase: ClassVar[Phase] = "static"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        """Findings of this rule on a project (static rules only)."""
        return iter(())

    @classmethod
    def finding(
        cls,
        message: str,
        *,
        migration: str | None = None,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        database: str | None = None,
    ) -> Finding:
        """A finding of this rule at its default severity."""
        return Finding(
            cls.code,
            cls.severity,
            message,
            migration=migration,
            file=file,
            line=line,
            column=column,
            database=database,
        )

    @classmethod
    def in_entry(cls, message: str, project: Project, entry: Entry, *keys: str) -> Finding:
        """A finding of this rule at ``entry`` in the catalog: at its key ``keys`` (such as
        ``"rollback", "file"``) where given and written, else at the entry itself."""
        return cls.finding(
            message,
            migration=entry.id,
            file=project.catalog_display,
            line=project.loaded.line_of("migrations", entry.index, *keys),
        )

    @classmethod
    def docs(cls) -> RuleDocs:
        """The sections of the rule's docstring.

        Raises:
            ValueError: when a section is missing (a test keeps every rule complete).
        """
        text = inspect.cleandoc(cls.__doc__ or "")
        parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
        sections = {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
        missing = [name for name in SECTIONS if not sections.get(name)]
        if missing:
            raise ValueError(f"{cls.code}: docstring lacks {', '.join(missing)}")
        return RuleDocs(*(sections[name] for name in SECTIONS))
