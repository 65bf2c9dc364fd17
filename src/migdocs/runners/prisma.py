"""Prisma Migrate: ``prisma/migrations/<timestamp>_<name>/migration.sql``, no rollbacks.

Read as Prisma reads it (``prisma/prisma``: ``packages/migrate/src/utils/listMigrations.ts``;
``prisma/prisma-engines``: ``schema-engine/connectors/schema-connector/src/checksum.rs``,
``migrations_directory.rs``, ``sql-schema-connector/src/flavour/postgres.rs``,
``flavour/postgres/connection.rs``, ``sql_migration_persistence.rs``):

- every folder directly in ``prisma/migrations`` is a migration, named by the folder
  (``20210605225044_init``; ``prisma migrate dev`` writes a timestamp and a name, but any name
  is taken), its script the folder's ``migration.sql``; folders run in name order; a folder
  without ``migration.sql`` makes Prisma fail; files beside the folders are ignored, but
  ``migration_lock.toml``, whose ``provider = "…"`` line names the database the history is
  for (Prisma refuses a history written for another provider);
- the script is sent as one simple query, which PostgreSQL runs as one implicit transaction
  (unless it holds its own ``BEGIN``/``COMMIT``); there are no down scripts;
- the ledger ``_prisma_migrations`` (in the schema of the connection URL, ``public`` by
  default) gets a row when a migration starts: a random id, the migration's name and the
  sha256 (hex) of its script; ``applied_steps_count`` is incremented and ``finished_at`` set
  when it succeeds; ``prisma migrate resolve --rolled-back`` sets ``rolled_back_at``. A row
  counts as applied when it finished and was not rolled back. A checksum matches a script
  when it is the script's, or that of the script with CRLF line ends made LF or LF made
  CRLF, or (for rows of an early engine) the same digest written without zero padding.
"""

from __future__ import annotations

import hashlib
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
    catalog_positions,
    date_from_name,
    title_from,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


SCRIPT = "migration.sql"
LOCK = "migration_lock.toml"
#: The providers whose migrations are PostgreSQL's (``postgres`` is the schema's alias).
POSTGRES_PROVIDERS = frozenset({"postgresql", "postgres"})

_STAMPED = re.compile(r"^\d{14}_")


def lock_provider(folder: Path) -> str | None:
    """The provider ``migration_lock.toml`` names, as Prisma reads it (the first line that
    starts with ``provider``); ``None`` without a lock file."""
    try:
        text = (folder / LOCK).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("provider"):
            return line.removeprefix("provider = ").strip('"')
    return "<PROVIDER NOT FOUND>"


def prisma_checksums(raw: bytes) -> tuple[str, ...]:
    """Every checksum Prisma takes as this script's (``script_matches_checksum``): the
    script's, then with CRLF made LF, then with LF made CRLF."""
    text = raw.decode("utf-8", errors="replace")
    variants = (text, text.replace("\r\n", "\n"), text.replace("\n", "\r\n"))
    return tuple(dict.fromkeys(hashlib.sha256(v.encode("utf-8")).hexdigest() for v in variants))


def _unpadded(checksum: str) -> str:
    """A checksum as an early schema engine wrote it: each byte in hex without zero padding."""
    return "".join(f"{byte:x}" for byte in bytes.fromhex(checksum))


class Prisma(Runner):
    """Prisma Migrate's ``prisma/migrations``."""

    kind = "prisma"
    repair = "`prisma migrate resolve --rolled-back NAME`, or `--applied NAME`"
    default_path = "prisma/migrations"
    has_rollbacks = False
    default_ledger = "public._prisma_migrations"
    # PostgresFlavour::create_migrations_table
    ledger_ddl = (
        "CREATE TABLE {table} (\n"
        "    id                      VARCHAR(36) PRIMARY KEY NOT NULL,\n"
        "    checksum                VARCHAR(64) NOT NULL,\n"
        "    finished_at             TIMESTAMPTZ,\n"
        "    migration_name          VARCHAR(255) NOT NULL,\n"
        "    logs                    TEXT,\n"
        "    rolled_back_at          TIMESTAMPTZ,\n"
        "    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),\n"
        "    applied_steps_count     INTEGER NOT NULL DEFAULT 0\n"
        ");"
    )

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        runner = cls(folder)
        provider = lock_provider(folder)
        if provider is not None and provider not in POSTGRES_PROVIDERS:
            return None  # another database's history
        migrations = [n for n in runner.subfolders() if (folder / n / SCRIPT).is_file()]
        if provider is not None:
            reasons: tuple[str, ...] = (
                f"`{LOCK}` names provider {provider}",
                f"{len(migrations)} migration folders",
            )
            return Evidence(cls.kind, folder, 90, reasons, len(migrations))
        stamped = [n for n in migrations if _STAMPED.match(n)]
        if not stamped:
            return None
        reasons = (f"{len(stamped)} `<timestamp>_<name>/{SCRIPT}` folders",)
        return Evidence(cls.kind, folder, 50, reasons, len(migrations))

    def listing(self) -> Listing:
        out = Listing(order_source="folder names")
        for name in self.subfolders():
            relative = f"{name}/{SCRIPT}"
            if not self.wanted(relative):
                continue
            if not (self.folder / relative).is_file():
                out.problems.append(
                    LayoutProblem(
                        "MG102",
                        relative,
                        None,
                        f"Prisma fails on folder {name}: every folder here is a migration, and "
                        f"this one has no {SCRIPT}",
                        name,
                    )
                )
                continue
            out.migrations.append(
                Listed(
                    id=name,
                    file=relative,
                    rollback=None,
                    order=(name,),
                    date=date_from_name(name),
                    title=title_from(name),
                )
            )
        for name in self.names():
            if name.lower().endswith(".sql"):
                out.ignored(
                    name,
                    f"Prisma ignores it: a migration is a folder `<timestamp>_<name>/{SCRIPT}`",
                )
        return out

    def checksum(self, raw: bytes) -> str | None:
        return hashlib.sha256(raw).hexdigest()

    def ledger_key(self, listed: Listed) -> str:
        """The folder name, which ``_prisma_migrations.migration_name`` records."""
        return listed.id

    def default_file(self, migration_id: str) -> str:
        return f"{migration_id}/{SCRIPT}"

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
    ) -> list[LedgerRow]:
        """Every row, in the order the migrations started: applied when it finished and was
        not rolled back, dirty when it started and never finished (Prisma then refuses to
        deploy); its checksum held against the script's where it is applied."""
        from psycopg import sql as _sql

        rows = conn.execute(
            _sql.SQL(
                "SELECT migration_name, checksum, finished_at, rolled_back_at FROM {} "
                "ORDER BY started_at, migration_name"
            ).format(table)
        ).fetchall()
        keys = project.ledger_keys()
        positions = catalog_positions(project)
        out: list[LedgerRow] = []
        for name, checksum, finished_at, rolled_back_at in rows:
            migration = keys.get(str(name))
            if rolled_back_at is not None:
                out.append(LedgerRow(f"{name} (rolled back)", migration, applied=False))
                continue
            if finished_at is None:
                # Prisma applies nothing more until the failed migration is resolved (P3009).
                failed = f"{name} as started but not finished (`prisma migrate resolve` clears it)"
                out.append(LedgerRow(failed, migration, applied=False, dirty=True))
                continue
            recorded = str(checksum)
            expected = None
            raw = project.forward_raw(positions[migration]) if migration in positions else None
            if raw is not None:
                known: tuple[str, ...] = prisma_checksums(raw)
                if len(recorded) != 64:
                    known = tuple(_unpadded(value) for value in known)
                expected = recorded if recorded in known else known[0]
            out.append(LedgerRow(str(name), migration, recorded, expected))
        return out


RUNNER = Prisma
