"""drizzle: ``NNNN_tag.sql`` files in the order of drizzle-kit's ``meta/_journal.json``.

Read as drizzle-orm reads it (drizzle-team/drizzle-orm ``drizzle-orm/src/migrator.ts``
``readMigrationFiles``, ``drizzle-orm/src/pg-core/dialect.ts`` ``PgDialect.migrate``):

- the folder (drizzle-kit's ``out``, ``drizzle`` by default, ``packages/db/drizzle`` in
  many monorepos) holds ``meta/_journal.json``; drizzle stops when it is missing. Its
  ``entries`` (``idx``, ``version``, ``when`` in milliseconds, ``tag``, ``breakpoints``)
  are the migrations, in the order of the array; each is the file ``<tag>.sql``, and a
  missing one stops drizzle (``No file … found``); ``.sql`` files the journal does not
  name are never run;
- a file's statements are its text split on ``--> statement-breakpoint`` (a line
  comment to PostgreSQL), each run on its own;
- ``migrate`` makes ``CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (id SERIAL
  PRIMARY KEY, hash text NOT NULL, created_at bigint)`` (``migrationsSchema`` and
  ``migrationsTable`` rename it), reads the row with the highest ``created_at``, and runs
  every journal entry whose ``when`` is later than it, all in one transaction, inserting
  ``(hash, created_at)`` = (sha256 hex of the file's text, ``when``) after each. So an
  entry whose ``when`` is not later than an earlier entry's is skipped for good on every
  database that already ran that earlier one;
- there are no rollback scripts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
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
    title_from,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


JOURNAL = "meta/_journal.json"
#: Journal dialects that are not PostgreSQL: such a folder is another database's history.
_OTHER_DIALECTS = frozenset({"sqlite", "mysql", "turso", "singlestore", "gel", "mssql"})
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class JournalError(ValueError):
    """A journal drizzle cannot read, with the line to blame."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def journal_entries(text: str) -> list[tuple[Any, int]]:
    """The ``entries`` of a journal's text, each with the line it starts on.

    Raises:
        JournalError: when the text is not JSON, or not an object with an ``entries`` list.
    """
    decoder = json.JSONDecoder()

    def skip(position: int) -> int:
        match = _WHITESPACE.match(text, position)
        return match.end() if match else position

    def expect(position: int, char: str) -> int:
        position = skip(position)
        if text[position : position + 1] != char:
            raise JournalError(f"expected {char!r}", _line(text, position))
        return position + 1

    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise JournalError(f"not JSON: {error.msg}", error.lineno) from None
    position = expect(0, "{")
    found: list[tuple[Any, int]] | None = None
    while True:
        position = skip(position)
        if text[position : position + 1] == "}":
            break
        key, position = decoder.raw_decode(text, position)
        position = expect(position, ":")
        position = skip(position)
        if key == "entries" and text[position : position + 1] == "[":
            found = []
            position = skip(position + 1)
            while text[position : position + 1] != "]":
                start = position
                value, position = decoder.raw_decode(text, position)
                found.append((value, _line(text, start)))
                position = skip(position)
                if text[position : position + 1] == ",":
                    position = skip(position + 1)
            position += 1
        else:
            _, position = decoder.raw_decode(text, position)
        position = skip(position)
        if text[position : position + 1] == ",":
            position += 1
    if found is None:
        raise JournalError("it has no `entries` list", 1)
    return found


class Drizzle(Runner):
    """drizzle-kit's migrations folder with its journal."""

    kind = "drizzle"
    default_path = "drizzle"
    has_rollbacks = False
    default_ledger = "drizzle.__drizzle_migrations"
    ledger_ddl = (
        "CREATE TABLE IF NOT EXISTS {table} (id SERIAL PRIMARY KEY, hash text NOT NULL, "
        "created_at bigint)"
    )

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        try:
            data = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            return None
        dialect = data.get("dialect")
        if isinstance(dialect, str) and dialect.lower() in _OTHER_DIALECTS:
            return None
        entries = len(data["entries"])
        reasons = (f"{JOURNAL} with {entries} entries",)
        return Evidence(cls.kind, folder, 95, reasons, entries)

    def journal(self) -> list[tuple[Any, int]] | LayoutProblem:
        """The journal's entries, each with its line, or why drizzle cannot read it."""
        try:
            text = (self.folder / JOURNAL).read_text(encoding="utf-8")
            return journal_entries(text)
        except FileNotFoundError:
            return LayoutProblem(
                "MG102", JOURNAL, None, f"drizzle stops: there is no {JOURNAL} in the folder"
            )
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            return LayoutProblem("MG102", JOURNAL, None, f"drizzle cannot read it: {reason}")
        except JournalError as error:
            return LayoutProblem("MG102", JOURNAL, error.line, f"drizzle cannot read it: {error}")

    def listing(self) -> Listing:
        out = Listing(order_source=f"the journal {JOURNAL}")
        entries = self.journal()
        if isinstance(entries, LayoutProblem):
            out.problems.append(entries)
            return out
        names = set(self.names())
        tags: dict[str, int] = {}
        latest: tuple[int, str] | None = None
        for position, (entry, line) in enumerate(entries):
            tag = entry.get("tag") if isinstance(entry, dict) else None
            when = entry.get("when") if isinstance(entry, dict) else None
            if not isinstance(tag, str) or not tag:
                out.problems.append(
                    LayoutProblem(
                        "MG102",
                        JOURNAL,
                        line,
                        f"journal entry {position} has no `tag`: drizzle stops, naming no file",
                    )
                )
                continue
            file = f"{tag}.sql"
            if not self.wanted(file):
                continue
            if not isinstance(when, int) or isinstance(when, bool):
                out.problems.append(
                    LayoutProblem(
                        "MG102",
                        JOURNAL,
                        line,
                        f"journal entry {tag} has no whole-number `when`: drizzle records no "
                        "created_at for it and skips it on every database that ran a migration",
                        tag,
                    )
                )
                when = None
            first = tags.setdefault(tag, line)
            if first != line:
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        JOURNAL,
                        line,
                        f"tag {tag} is also the journal's entry at line {first}: drizzle runs "
                        f"{file} twice",
                        tag,
                    )
                )
                continue
            if file not in names:
                out.problems.append(
                    LayoutProblem(
                        "MG102",
                        JOURNAL,
                        line,
                        f"the journal names {file}, which is not in the folder: drizzle stops "
                        "with `No file … found`",
                        tag,
                    )
                )
            if when is not None:
                if latest is not None and when <= latest[0]:
                    out.problems.append(
                        LayoutProblem(
                            "MG109",
                            JOURNAL,
                            line,
                            f"its `when` ({when}) is not later than {latest[1]}'s "
                            f"({latest[0]}): drizzle applies only entries later than the last "
                            f"one recorded, so a database that ran {latest[1]} never runs "
                            f"{tag}",
                            tag,
                        )
                    )
                if latest is None or when > latest[0]:
                    latest = (when, tag)
            out.migrations.append(
                Listed(
                    id=tag,
                    file=file,
                    rollback=None,
                    order=(position,),
                    version=None if when is None else str(when),
                    date=_date(when),
                    title=title_from(tag),
                    source=(JOURNAL, line),
                )
            )
        for name in sorted(names - {f"{tag}.sql" for tag in tags}):
            if name.endswith(".sql"):
                out.ignored(
                    name,
                    f"drizzle never runs it: {JOURNAL} has no entry with tag "
                    f"{name[: -len('.sql')]}",
                )
        return out

    def checksum(self, raw: bytes) -> str | None:
        # readMigrationFiles hashes the file's text as read, line ends untouched.
        return drizzle_hash(raw, normalize_newlines=False)

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
    ) -> list[LedgerRow]:
        return drizzle_rows(conn, table, project)


def _date(when: int | None) -> dt.date | None:
    """The UTC day of a journal ``when`` (milliseconds since 1970)."""
    if when is None:
        return None
    try:
        return dt.datetime.fromtimestamp(when / 1000, tz=dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def drizzle_hash(raw: bytes, *, normalize_newlines: bool = True) -> str:
    """drizzle-orm's ``hash`` of a migration file: sha256 (hex) of its text as UTF-8, with
    CRLF line ends made LF as current drizzle-orm does (``normalize_newlines=False``: as
    releases before that did)."""
    text = raw.decode("utf-8", errors="replace")
    if normalize_newlines:
        text = text.replace("\r\n", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def drizzle_hashes(raw: bytes) -> tuple[str, ...]:
    """Every ``hash`` a drizzle-orm release may have recorded for this file, current first."""
    return tuple(dict.fromkeys(drizzle_hash(raw, normalize_newlines=n) for n in (True, False)))


def drizzle_rows(
    conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
) -> list[LedgerRow]:
    """drizzle's ledger rows, each matched with a catalog entry: by the journal's ``when``
    (what drizzle itself goes by), else by hash, else (no journal) by position."""
    from psycopg import sql as _sql

    rows = conn.execute(
        _sql.SQL("SELECT hash, created_at FROM {} ORDER BY created_at, id").format(table)
    ).fetchall()
    files = project.forward_files()
    hashes: dict[str, tuple[str, ...]] = {}
    by_hash: dict[str, str] = {}
    for index, (migration, _) in enumerate(files):
        raw = project.forward_raw(index)
        if raw is not None:
            hashes[migration] = drizzle_hashes(raw)
            for value in hashes[migration]:
                by_hash.setdefault(value, migration)
    by_when = _journal_when(project.migrations_dir, files)
    taken: set[str] = set()
    result = []
    for position, (recorded, created_at) in enumerate(rows):
        recorded = str(recorded)
        # The journal's `when` is what drizzle itself goes by; the hash finds a file whose
        # journal is gone; without a journal, drizzle applied the files in order.
        found: str | None = None
        if created_at is not None:
            found = by_when.get(int(created_at))
        if found is None:
            found = by_hash.get(recorded)
        if found is None and not by_when and position < len(files):
            candidate = files[position][0]
            if candidate not in taken:
                found = candidate
        expected = None
        if found is not None:
            taken.add(found)
            known = hashes.get(found, ())
            expected = recorded if recorded in known else (known[0] if known else None)
        label = f"hash {recorded[:12]}… (created_at {created_at})"
        result.append(LedgerRow(label, found, recorded, expected))
    return result


def _journal_when(folder: Path, files: list[tuple[str, Path]]) -> dict[int, str]:
    """Catalog ids by the ``when`` of their drizzle journal entry (tag = file stem)."""
    journal = folder / "meta" / "_journal.json"
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stems = {Path(path).stem: migration for migration, path in files}
    found: dict[int, str] = {}
    for item in data.get("entries", []) if isinstance(data, dict) else []:
        if isinstance(item, dict) and item.get("tag") in stems and "when" in item:
            found[int(item["when"])] = stems[item["tag"]]
    return found


RUNNER = Drizzle
