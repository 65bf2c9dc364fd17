"""The catalog: models of catalog v1 and their loading with line numbers."""

from __future__ import annotations

from migdocs.catalog.loader import LoadedCatalog, load_catalog
from migdocs.catalog.models import (
    Catalog,
    Impact,
    Migration,
    Objects,
    Reviewed,
    Risk,
    Rollback,
    RuleSetting,
    Severity,
)

__all__ = [
    "Catalog",
    "Impact",
    "LoadedCatalog",
    "Migration",
    "Objects",
    "Reviewed",
    "Risk",
    "Rollback",
    "RuleSetting",
    "Severity",
    "load_catalog",
]
