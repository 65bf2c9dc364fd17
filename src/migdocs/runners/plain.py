"""plain: the catalog's own ``paths`` and ``conventions`` (the default runner).

Nothing is read from a runner's layout: the migrations folder holds ``*.sql`` files, the
rollbacks folder their rollbacks, the catalog's order is the order, and the ``ledger:``
block (none, drizzle, flyway, table) says where the database records what ran. A catalog
without ``runner:`` is read exactly as before runners existed.
"""

from __future__ import annotations

from pathlib import Path

from migdocs.runners.base import Evidence, Listing, Runner


class Plain(Runner):
    """SQL files in a folder, in the catalog's order."""

    kind = "plain"
    default_path = "migrations"

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        names = [name for name in cls(folder).names() if name.endswith(".sql")]
        if not names:
            return None
        return Evidence(cls.kind, folder, 10, (f"{len(names)} .sql files",), len(names))

    def listing(self) -> Listing:
        return Listing(order_source="the catalog")


RUNNER = Plain
