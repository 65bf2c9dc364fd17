"""Supabase CLI: ``supabase/migrations/<timestamp>_<name>.sql``, no rollbacks.

Read as the Supabase CLI reads it (``pkg/migration/list.go``, ``file.go``, ``history.go``):

- ``ListLocalMigrations`` reads the folder (not its subfolders) in file-name order; a file is
  a migration when its name matches ``^([0-9]+)_(.*)\\.sql$``, the digits being its version
  (a ``YYYYMMDDHHMMSS`` stamp from ``supabase migration new``); every other file is skipped
  with a warning, and so is a first file ``<14 digits>_init.sql`` older than 2021-12-09 (the
  schema dump of early CLI versions);
- a migration's statements are sent as one batch, which PostgreSQL runs as one implicit
  transaction, and the row of the ledger is inserted in that same batch; there are no down
  scripts;
- the ledger is ``supabase_migrations.schema_migrations``: ``version text primary key``, with
  ``statements text[]`` and ``name text`` added by later CLI versions; one row per applied
  version, written ``INSERT … (version, name, statements)``; two files with one version make
  the second insert fail.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from migdocs.runners.base import (
    Evidence,
    LayoutProblem,
    Listing,
    Runner,
    one_file,
)

_FILE = re.compile(r"^([0-9]+)_(.*)\.sql$")
_LEGACY_INIT = re.compile(r"([0-9]{14})_init\.sql")
#: Early CLI versions dumped the whole schema into a first ``<stamp>_init.sql``; current ones
#: skip such a file when it is older than this (``shouldSkip``).
_LEGACY_BEFORE = 20211209000000


class Supabase(Runner):
    """The Supabase CLI's ``supabase/migrations``."""

    kind = "supabase"
    default_path = "supabase/migrations"
    has_rollbacks = False
    default_ledger = "supabase_migrations.schema_migrations"
    # history.go: CREATE_VERSION_SCHEMA, CREATE_VERSION_TABLE, ADD_STATEMENTS_COLUMN,
    # ADD_NAME_COLUMN, run in that order by CreateMigrationTable.
    ledger_ddl = (
        "CREATE SCHEMA IF NOT EXISTS {schema};\n"
        "CREATE TABLE IF NOT EXISTS {table} (version text NOT NULL PRIMARY KEY);\n"
        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS statements text[];\n"
        "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS name text;"
    )
    version_column = "version"

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        if folder.name != "migrations" or folder.parent.name != "supabase":
            return None  # the CLI knows no other place for them
        names = [n for n in cls(folder).names() if _FILE.match(n)]
        if not names:
            return None
        reasons = [f"{len(names)} `<timestamp>_<name>.sql` files in `supabase/migrations`"]
        score = 70
        if (folder.parent / "config.toml").is_file():
            reasons.append("the Supabase CLI's `supabase/config.toml` beside it")
            score = 90
        return Evidence(cls.kind, folder, score, tuple(reasons), len(names))

    def listing(self) -> Listing:
        out = Listing(order_source="file names, as the Supabase CLI reads the folder")
        first = _first_entry(self.folder)
        seen: dict[str, str] = {}
        for name in self.names():
            legacy = _LEGACY_INIT.search(name) if name == first else None
            if legacy is not None and int(legacy[1]) < _LEGACY_BEFORE:
                out.ignored(
                    name,
                    "the Supabase CLI skips it: a first `<timestamp>_init.sql` older "
                    "than 2021-12-09 is taken for an early CLI's schema dump (rename it "
                    "to apply it)",
                )
                continue
            match = _FILE.match(name)
            if match is None:
                if name.lower().endswith(".sql"):
                    out.ignored(
                        name,
                        "the Supabase CLI skips it: its name does not match "
                        "`<timestamp>_<name>.sql`",
                    )
                continue
            version, stem = match[1], name[: -len(".sql")]
            if version in seen:
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        name,
                        None,
                        f"version {version} is also {seen[version]}'s: the Supabase CLI fails "
                        "on the second (schema_migrations has one row per version)",
                        stem,
                    )
                )
                continue
            seen[version] = name
            out.migrations.append(one_file(name, version, None))
        return out


def _first_entry(folder: Path) -> str | None:
    """The first name of the folder as the CLI reads it (files and folders, sorted)."""
    try:
        with os.scandir(folder) as entries:
            return min((entry.name for entry in entries), default=None)
    except OSError:
        return None


RUNNER = Supabase
