"""folders: a folder per migration, ``<id>/up.sql`` and ``<id>/down.sql`` (diesel's layout).

Read as diesel reads it (diesel-rs/diesel ``diesel_migrations/migrations_internals/src/
lib.rs``, ``diesel_migrations/src/file_based_migrations.rs``, ``migration_harness.rs``,
``diesel/src/migration/setup_migration_table.sql``), the one widely used runner with this
layout:

- every folder directly in ``migrations`` whose name does not start with ``.`` and that is
  not empty is a migration; it must hold ``up.sql`` (else diesel refuses the whole folder:
  ``UnknownMigrationFormat``); ``down.sql`` is its rollback and may be missing (``diesel
  migration revert`` then fails); plain files beside the folders are ignored;
- its version is the folder name up to its first ``_`` with every ``-`` dropped
  (``2019-02-26-002946_create_user`` → ``20190226002946``); migrations run in the order of
  their versions compared as text, so ``00000000000000_x`` runs before
  ``000000000000000_y``; two folders with one version are one migration to diesel (it
  keeps either);
- each ``up.sql`` runs as one multi-statement query, in a transaction unless the folder's
  ``metadata.toml`` says ``run_in_transaction = false`` (a ``metadata.toml`` without the
  key says it too);
- a folder name may hold blanks (crates.io's ``2019-11-15-182353_Add email notifications
  to crate owners``): diesel runs it, and records only its version. A catalog id holds no
  blank, so the migration's id is the folder name with each run of blanks made one ``_``;
  its files stay where they are;
- diesel records each version in ``__diesel_schema_migrations (version VARCHAR(50)
  PRIMARY KEY NOT NULL, run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)`` in the
  current schema. A ``diesel.toml`` beside the folder says diesel runs it, so that table
  (in ``public``) is the ledger unless ``runner.ledger`` names another; other
  folder-per-migration runners record nothing migdocs knows, so without ``diesel.toml``
  there is no ledger unless ``runner.ledger`` names a table of diesel's shape.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from migdocs.runners.base import (
    Evidence,
    LayoutProblem,
    Listed,
    Listing,
    Runner,
    date_from_name,
    title_from,
)

if TYPE_CHECKING:
    from migdocs.catalog.models import RunnerSettings

UP = "up.sql"
DOWN = "down.sql"
DIESEL_TOML = "diesel.toml"
DIESEL_LEDGER = "public.__diesel_schema_migrations"


def diesel_version(name: str) -> str:
    """diesel's version of a migration folder: its name up to the first ``_``, without
    ``-`` (``version_from_string``)."""
    return name.split("_", 1)[0].replace("-", "")


def migration_id(name: str) -> str:
    """The catalog id of a migration folder: its name, each run of blanks made one ``_``
    (a catalog id holds no blank; diesel itself records only the version)."""
    return re.sub(r"\s+", "_", name.strip())


def _contents(folder: Path) -> set[str] | None:
    """The names in a folder that do not start with ``.``, or ``None`` when it cannot be
    read."""
    try:
        with os.scandir(folder) as entries:
            return {entry.name for entry in entries if not entry.name.startswith(".")}
    except OSError:
        return None


class Folders(Runner):
    """A folder per migration holding ``up.sql`` and ``down.sql``."""

    kind = "folders"
    default_path = "migrations"
    ledger_ddl = (
        "CREATE TABLE IF NOT EXISTS {table} (version VARCHAR(50) PRIMARY KEY NOT NULL, "
        "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    version_column = "version::text"

    def __init__(self, folder: Path, settings: RunnerSettings | None = None) -> None:
        super().__init__(folder, settings)
        # diesel's harness and CLI both record what ran; without its table named, audit would
        # check no ledger and report the table itself as an object no migration makes.
        if self.ledger is None and (folder.parent / DIESEL_TOML).is_file():
            self.ledger = DIESEL_LEDGER

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        runner = cls(folder)
        ups = downs = 0
        for name in runner.subfolders():
            inside = _contents(folder / name) or set()
            ups += UP in inside
            downs += UP in inside and DOWN in inside
        if not ups:
            return None
        reasons = [f"{ups} `<id>/up.sql` folders"]
        score = 45 + (10 if downs else 0)
        if downs:
            reasons.append(f"{downs} with `down.sql`")
        if (folder.parent / DIESEL_TOML).is_file():
            reasons.append("diesel.toml beside the folder")
            score += 30
        return Evidence(cls.kind, folder, score, tuple(reasons), ups)

    def listing(self) -> Listing:
        out = Listing(order_source="folder names (diesel's version: the name up to `_`)")
        first_of: dict[str, str] = {}
        for name in self.subfolders():
            if not self.wanted(name):
                continue
            inside = _contents(self.folder / name)
            if not inside:  # empty or unreadable: diesel skips an empty folder
                continue
            has_up, has_down = UP in inside, DOWN in inside
            if not has_up:
                code = "MG106" if has_down else "MG103"
                what = "a down.sql but no up.sql" if has_down else "no up.sql"
                out.problems.append(
                    LayoutProblem(
                        code,
                        f"{name}/{DOWN}" if has_down else name,
                        None,
                        f"{name} holds {what}: it is no migration, and diesel refuses the "
                        "whole migrations folder (UnknownMigrationFormat)",
                    )
                )
                continue
            version = diesel_version(name)
            first = first_of.setdefault(version, name)
            if first != name:
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        f"{name}/{UP}",
                        None,
                        f"version {version} is also {first}'s: diesel keeps one of the two "
                        "and never runs the other",
                        migration_id(name),
                    )
                )
            out.migrations.append(
                Listed(
                    id=migration_id(name),
                    file=f"{name}/{UP}",
                    rollback=f"{name}/{DOWN}" if has_down else None,
                    order=(version, name),
                    version=version,
                    date=date_from_name(name),
                    title=title_from(migration_id(name)),
                )
            )
        out.migrations.sort(key=lambda item: item.order)
        for name in self.names():
            if name.endswith(".sql"):
                out.ignored(name, "never run: a migration is a folder holding up.sql and down.sql")
        return out

    def default_file(self, migration_id: str) -> str:
        return f"{migration_id}/{UP}"


RUNNER = Folders
