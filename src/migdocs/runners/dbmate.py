"""dbmate: one file per migration, ``-- migrate:up`` and ``-- migrate:down`` sections.

Read as dbmate reads it (``pkg/dbmate/migration.go``, ``migrations.go``):

- a migration is a file ``<digits>…​.sql`` in ``db/migrations``; its version is the leading
  digits (usually a ``YYYYMMDDHHMMSS`` stamp), and files run in version order;
- the up section starts at the first line ``-- migrate:up`` and runs to the first line
  ``-- migrate:down``, which starts the down section; only comments may come before the up
  marker; dbmate refuses a file without both markers or with the down marker first;
- ``transaction:false`` after a marker runs that section outside a transaction;
- the ledger is ``schema_migrations(version varchar(128) primary key)``, one row per
  applied version (``--migrations-table`` renames it).
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
    Sections,
    date_from_name,
    duplicate_versions,
    title_from,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from migdocs.project import Project

_FILE = re.compile(r"^(\d+).*\.sql$")
_UP = re.compile(r"^--\s*migrate:up(\s*$|\s+\S+)")
_DOWN = re.compile(r"^--\s*migrate:down(\s*$|\s+\S+)$")
_ANY = re.compile(r"^--\s*migrate:(\S*)")
_COMMENT_OR_BLANK = re.compile(r"^\s*(--.*)?$")


def _options(line: str) -> dict[str, str]:
    rest = re.sub(r"^--\s*migrate:\S*", "", line).strip()
    pairs = (part.split(":") for part in rest.split()) if rest else ()
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


class Dbmate(Runner):
    """dbmate's ``db/migrations``."""

    kind = "dbmate"
    default_path = "db/migrations"
    sectioned = True
    default_ledger = "public.schema_migrations"
    ledger_ddl = "CREATE TABLE IF NOT EXISTS {table} (version varchar(128) PRIMARY KEY)"

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        runner = cls(folder)
        names = [n for n in runner.names() if _FILE.match(n)]
        if not names:
            return None
        marked = 0
        for name in names[:20]:
            try:
                head = (folder / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if any(_UP.match(line) for line in head.splitlines()):
                marked += 1
        if not marked:
            return None
        reasons = (f"{marked} of the first {min(20, len(names))} files have `-- migrate:up`",)
        return Evidence(cls.kind, folder, 60 + marked, reasons, len(names))

    def listing(self) -> Listing:
        out = Listing(order_source="versions (the leading digits of each name)")
        for name in self.names():
            match = _FILE.match(name)
            if match is None:
                if name.endswith(".sql"):
                    out.problems.append(
                        LayoutProblem(
                            "MG103",
                            name,
                            None,
                            "dbmate ignores it: its name does not start with a version (digits)",
                        )
                    )
                continue
            version = match[1]
            stem = name[: -len(".sql")]
            out.migrations.append(
                Listed(
                    id=stem,
                    file=name,
                    rollback=name,
                    order=(int(version),),
                    version=version,
                    date=date_from_name(version),
                    title=title_from(stem),
                )
            )
        out.migrations.sort(key=lambda item: (item.order, item.file))
        out.problems.extend(duplicate_versions(out.migrations))
        return out

    def sections(self, text: str) -> Sections:
        lines = text.splitlines()
        up = down = None
        problems: list[LayoutProblem] = []
        for number, line in enumerate(lines, start=1):
            if _UP.match(line):
                if up is None:
                    up = number
                elif down is None:
                    problems.append(
                        self._problem(
                            number,
                            "a second `-- migrate:up`: dbmate "
                            "reads it as a comment inside the up section",
                        )
                    )
            elif _DOWN.match(line):
                if down is None:
                    down = number
                else:
                    problems.append(
                        self._problem(
                            number,
                            "a second `-- migrate:down`: dbmate "
                            "runs it as part of the down section",
                        )
                    )
            elif (marker := _ANY.match(line)) is not None:
                problems.append(
                    self._problem(
                        number,
                        f"`-- migrate:{marker[1]}` is no dbmate "
                        "marker (`-- migrate:up`, `-- migrate:down`)",
                    )
                )
        last = max(1, len(lines))
        if up is None:
            problems.append(
                self._problem(
                    1, "dbmate refuses it: there is no `-- migrate:up` line to start the up section"
                )
            )
            return Sections(up=None, down=None, problems=tuple(problems))
        if down is None:
            problems.append(
                self._problem(
                    last,
                    "dbmate refuses it: there is no "
                    "`-- migrate:down` line (an empty down section is fine)",
                )
            )
        elif down < up:
            problems.append(
                self._problem(
                    down, "dbmate refuses it: `-- migrate:down` comes before `-- migrate:up`"
                )
            )
            return Sections(up=None, down=None, problems=tuple(problems))
        for number, line in enumerate(lines[: up - 1], start=1):
            if not _COMMENT_OR_BLANK.match(line):
                problems.append(
                    self._problem(number, "dbmate refuses it: a statement before `-- migrate:up`")
                )
                break
        up_end = (down - 1) if down is not None else last
        return Sections(
            up=(up, max(up, up_end)),
            down=(down, last) if down is not None else None,
            up_transaction=_options(lines[up - 1]).get("transaction") != "false",
            down_transaction=(
                _options(lines[down - 1]).get("transaction") != "false" if down else True
            ),
            problems=tuple(problems),
        )

    @staticmethod
    def _problem(line: int, message: str) -> LayoutProblem:
        return LayoutProblem("MG200", "", line, message)

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: Project
    ) -> list[LedgerRow]:
        return version_rows(conn, table, project, "version::text")


def version_rows(
    conn: psycopg.Connection[Any], table: sql.Composable, project: Project, column: str
) -> list[LedgerRow]:
    """A ledger of one row per applied version (dbmate, Supabase): each matched with the
    catalog entry whose runner version it is."""
    from psycopg import sql as _sql

    rows = conn.execute(
        _sql.SQL("SELECT {} FROM {} ORDER BY 1").format(_sql.SQL(column), table)
    ).fetchall()
    keys = project.ledger_keys()
    return [LedgerRow(f"version {version}", keys.get(str(version))) for (version,) in rows]


RUNNER = Dbmate
