"""migdocs: a checked, replayed and audited history of PostgreSQL migrations."""

from __future__ import annotations

__all__ = ["__version__"]

__version__: str
"""The installed distribution's version (read from its metadata on first use)."""


def __getattr__(name: str) -> str:
    # Read on first use: importlib.metadata costs more to import than most commands need.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("migdocs")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            found = "0.0.0"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module 'migdocs' has no attribute {name!r}")
