"""golang-migrate: ``<version>_<name>.up.sql`` and ``<version>_<name>.down.sql``.

Read as golang-migrate reads it (``source/parse.go``, ``database/postgres/postgres.go``):

- a file is a migration when its name matches ``^([0-9]+)_(.*)\\.(down|up)\\.(.*)$``; every
  other file is ignored; two up (or two down) files with one version make it refuse the
  folder; migrations run in numeric version order;
- the up file runs as one multi-statement query, which PostgreSQL runs as one implicit
  transaction (unless it holds its own ``BEGIN``/``COMMIT``);
- the ledger ``schema_migrations(version bigint primary key, dirty boolean)`` holds one
  row: the current version, and ``dirty`` when the last migration failed halfway
  (``x-migrations-table`` renames it).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdocs.runners.base import (
    Evidence,
    LayoutProblem,
    LedgerRow,
    Listed,
    Listing,
    Runner,
    date_from_name,
    title_from,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from migdocs.project import Project

_FILE = re.compile(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$")


class GolangMigrate(Runner):
    """golang-migrate's folder of up and down files."""

    kind = "golang-migrate"
    default_path = "migrations"
    default_ledger = "public.schema_migrations"
    ledger_ddl = (
        "CREATE TABLE IF NOT EXISTS {table} (version bigint NOT NULL PRIMARY KEY, "
        "dirty boolean NOT NULL)"
    )

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        runner = cls(folder)
        names = runner.names()
        ups = [n for n in names if (m := _FILE.match(n)) and m[3] == "up" and n.endswith(".sql")]
        if not ups:
            return None
        downs = sum(1 for n in names if (m := _FILE.match(n)) and m[3] == "down")
        reasons = [f"{len(ups)} `<version>_<name>.up.sql` files"]
        if downs:
            reasons.append(f"{downs} `.down.sql` files")
        return Evidence(cls.kind, folder, 40 + (10 if downs else 0), tuple(reasons), len(ups))

    def listing(self) -> Listing:
        out = Listing(order_source="versions, numerically")
        ups: dict[int, tuple[str, str]] = {}
        downs: dict[int, str] = {}
        for name in self.names():
            match = _FILE.match(name)
            if match is None:
                if name.endswith(".sql"):
                    out.problems.append(
                        LayoutProblem(
                            "MG103",
                            name,
                            None,
                            "golang-migrate ignores it: its name is not "
                            "`<version>_<name>.up.sql` or `.down.sql`",
                        )
                    )
                continue
            version, direction = int(match[1]), match[3]
            taken = ups if direction == "up" else downs
            if version in taken:
                first = taken[version][0] if direction == "up" else taken[version]
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        name,
                        None,
                        f"golang-migrate refuses the folder: {first} has "
                        f"version {version} too (duplicate migration file)",
                    )
                )
                continue
            if direction == "up":
                ups[version] = (name, match[1])
            else:
                downs[version] = name
        for version in sorted(ups):
            name, written = ups[version]
            stem = re.sub(r"\.up\.[^.]*$", "", name)
            out.migrations.append(
                Listed(
                    id=stem,
                    file=name,
                    rollback=downs.pop(version, None),
                    order=(version,),
                    version=str(version),
                    date=date_from_name(written),
                    title=title_from(stem),
                )
            )
        for version, name in sorted(downs.items()):
            out.problems.append(
                LayoutProblem(
                    "MG106",
                    name,
                    None,
                    f"no up file has version {version}: golang-migrate never runs this down file",
                )
            )
        return out

    def default_file(self, migration_id: str) -> str:
        return f"{migration_id}.up.sql"

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: Project
    ) -> list[LedgerRow]:
        from psycopg import sql as _sql

        rows = conn.execute(_sql.SQL("SELECT version, dirty FROM {}").format(table)).fetchall()
        if not rows:
            return []
        version, dirty = max(rows, key=lambda row: int(row[0]))
        current = int(version)
        keys = project.ledger_keys()
        out: list[LedgerRow] = []
        if str(current) not in keys and current >= 0:
            out.append(LedgerRow(f"version {current}", None))
        for key, migration in keys.items():
            if key.isdigit() and int(key) < current:
                out.append(LedgerRow(f"version {key} (below the current {current})", migration))
        if str(current) in keys:
            out.append(
                LedgerRow(
                    f"version {current}" + (" (dirty)" if dirty else ""),
                    keys[str(current)],
                    applied=not dirty,
                    dirty=bool(dirty),
                )
            )
        return out


RUNNER = GolangMigrate
