"""golang-migrate: ``<version>_<name>.up.sql`` and ``<version>_<name>.down.sql``.

Read as golang-migrate reads it (golang-migrate/migrate ``source/parse.go``,
``source/migration.go``, ``source/iofs/iofs.go``, ``migrate.go``,
``database/postgres/postgres.go``):

- a plain file is a migration when its name matches
  ``^([0-9]+)_(.*)\\.(down|up)\\.(.*)$`` and its version fits an unsigned 64-bit number;
  every other file is ignored; two up (or two down) files with one version make it refuse
  the folder (``ErrDuplicateMigration``); versions run in numeric order;
- a version with a down file but no up file is still a step: migrating up through it runs
  nothing and records the version, migrating down runs the down file;
- the up file runs as one multi-statement query, which PostgreSQL runs as one implicit
  transaction (unless it holds its own ``BEGIN``/``COMMIT``);
- the ledger ``schema_migrations (version bigint not null primary key, dirty boolean not
  null)`` holds one row: ``SetVersion`` truncates it and inserts the version it moves to
  with ``dirty = true`` before running a file and ``dirty = false`` after; ``Version``
  reads it with ``LIMIT 1``. A dirty row of version V means V's up file, or the down file
  of the version after V, failed halfway; a dirty row of version -1 means the first
  migration's down file did (``x-migrations-table`` renames the table).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migdocs.runners.base import (
    CatalogScripts,
    Evidence,
    LayoutProblem,
    LedgerRow,
    Listed,
    Listing,
    Runner,
    date_from_name,
    title_from,
    title_of,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


_FILE = re.compile(r"^([0-9]+)_(.*)\.(down|up)\.(.*)$")
_UINT64 = (1 << 64) - 1


class GolangMigrate(Runner):
    """golang-migrate's folder of up and down files."""

    kind = "golang-migrate"
    repair = "`migrate force VERSION`"
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
        versions = [int(m[1]) for n in ups if (m := _FILE.match(n))]
        fitting = sum(1 for version in versions if version <= _UINT64)
        downs = sum(1 for n in names if (m := _FILE.match(n)) and m[3] == "down")
        reasons = [f"{len(ups)} `<version>_<name>.up.sql` files"]
        if downs:
            reasons.append(f"{downs} `.down.sql` files")
        if fitting < len(ups):
            reasons.append(
                f"{len(ups) - fitting} of them with versions beyond 64 bits, which "
                "golang-migrate ignores"
            )
        return Evidence(cls.kind, folder, 40 + (10 if downs else 0), tuple(reasons), len(ups))

    def listing(self) -> Listing:
        out = Listing(order_source="versions, numerically")
        ups: dict[int, tuple[str, re.Match[str]]] = {}
        downs: dict[int, str] = {}
        for name in self.names():
            match = _FILE.match(name)
            if match is None or int(match[1]) > _UINT64:
                if name.endswith(".sql"):
                    why = (
                        "its name is not `<version>_<name>.up.sql` or `.down.sql`"
                        if match is None
                        else "its version does not fit an unsigned 64-bit number"
                    )
                    out.ignored(name, f"golang-migrate ignores it: {why}")
                continue
            version, direction = int(match[1]), match[3]
            if direction == "up":
                if version in ups:
                    out.problems.append(self._twice(name, ups[version][0], version))
                    continue
                ups[version] = (name, match)
            else:
                if version in downs:
                    out.problems.append(self._twice(name, downs[version], version))
                    continue
                downs[version] = name
        for version in sorted(ups):
            name, match = ups[version]
            stem = f"{match[1]}_{match[2]}"
            out.migrations.append(
                Listed(
                    id=stem,
                    file=name,
                    rollback=downs.pop(version, None),
                    order=(version,),
                    version=str(version),
                    date=date_from_name(match[1]),
                    title=title_of(match[2]) if match[2] else title_from(stem),
                )
            )
        for version, name in sorted(downs.items()):
            out.problems.append(
                LayoutProblem(
                    "MG106",
                    name,
                    None,
                    f"no up file has version {version}: golang-migrate records version "
                    f"{version} on the way up without running anything, and runs this "
                    "down file on the way down",
                )
            )
        return out

    @staticmethod
    def _twice(name: str, first: str, version: int) -> LayoutProblem:
        return LayoutProblem(
            "MG109",
            name,
            None,
            f"golang-migrate refuses the folder: {first} has version {version} too "
            "(duplicate migration file)",
        )

    def default_file(self, migration_id: str) -> str:
        return f"{migration_id}.up.sql"

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
    ) -> list[LedgerRow]:
        from psycopg import sql as _sql

        rows = conn.execute(_sql.SQL("SELECT version, dirty FROM {}").format(table)).fetchall()
        if not rows:
            return []
        # golang-migrate keeps one row; of several (written by hand), the highest counts.
        version, dirty = max(rows, key=lambda row: int(row[0]))
        current = int(version)
        keys = project.ledger_keys()
        numbered = sorted((int(key), migration) for key, migration in keys.items() if key.isdigit())
        out: list[LedgerRow] = [
            LedgerRow(f"version {key} (below the current {current})", migration)
            for key, migration in numbered
            if key < current
        ]
        if current < 0:
            if dirty and numbered:
                # SetVersion(-1, true) before the first migration's down file, never cleared.
                first = numbered[0]
                label = f"version {current} as dirty (the down file of version {first[0]} ran)"
                out.append(LedgerRow(label, first[1], applied=False, dirty=True))
            return out
        if str(current) not in keys:
            out.append(LedgerRow(f"version {current}" + (" (marked dirty)" if dirty else ""), None))
        else:
            label = f"version {current}" + (" as dirty" if dirty else "")
            out.append(LedgerRow(label, keys[str(current)], applied=not dirty, dirty=bool(dirty)))
        return out


RUNNER = GolangMigrate
