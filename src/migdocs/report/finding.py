"""A finding: what every check produces, whatever found it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migdocs.catalog.models import Severity


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, located as precisely as migdocs can.

    Attributes:
        code: The rule code (``MG403``).
        severity: error, warning or info.
        message: What is wrong, in words.
        migration: The catalog id it concerns, where one applies.
        file: The file to look at (catalog or SQL), named from where the catalog is named
            (the working directory, unless the catalog was named by an absolute path).
        line: 1-based line in ``file``, where known.
        column: 1-based column in ``file``, where known.
        database: The audited database (redacted URL), for live findings.
    """

    code: str
    severity: Severity
    message: str
    migration: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    database: str | None = None

    def with_severity(self, severity: Severity) -> Finding:
        """The same finding at another severity."""
        return replace(self, severity=severity)

    def to_json(self) -> dict[str, Any]:
        """The JSON report's shape (``database`` only on live findings)."""
        data = asdict(self)
        data["severity"] = self.severity.value
        if self.database is None:
            del data["database"]
        return data

    @property
    def location(self) -> str:
        """``file:line:column`` as far as known."""
        if self.file is None:
            return ""
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"
