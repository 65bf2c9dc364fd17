"""dbmate: one file per migration, ``-- migrate:up`` and ``-- migrate:down`` sections.

Read as dbmate reads it (amacneil/dbmate ``pkg/dbmate/db.go`` ``FindMigrations`` and
``Migrate``, ``pkg/dbmate/migration.go`` ``parseMigrationContents``,
``pkg/driver/postgres/postgres.go``):

- a migration is a plain file directly in ``db/migrations`` whose name matches
  ``^(\\d+).*\\.sql$``; its version is the leading digits as written (``0001`` stays
  ``0001``), and files run in the order of their *names* sorted as strings (not
  numerically: ``10_b.sql`` runs before ``9_a.sql``);
- a section starts at a line matching ``^--\\s*migrate:up(\\s*$|\\s+\\S+)`` and runs to
  the line ``-- migrate:down``, which starts the down section; only blank and ``--``
  comment lines may come before the first up marker; a marker after spaces is no marker
  (``(?m)^--``), so an indented ``    -- migrate:down`` leaves the file without one
  (UPchieve/subway has three such files); dbmate refuses a file without both markers,
  with the down marker first, or (since 2.34) with two down markers after one up; since
  2.29 a second ``-- migrate:up`` starts another up/down pair, each run on its own (migdocs
  reads one pair per file and says so);
- ``transaction:false`` after a marker runs that section outside a transaction (the
  section is still one multi-statement query, which PostgreSQL runs as one implicit
  transaction); options are ``key:value`` words on the marker's line;
- the ledger is ``create table if not exists schema_migrations (version varchar primary
  key)`` in the URL's first ``search_path`` schema or ``current_schema()``
  (``--migrations-table`` renames it); after each section dbmate runs
  ``insert into schema_migrations (version) values ($1)`` in the same transaction, so a
  second file with one version fails there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from migdocs.runners.base import (
    Evidence,
    LayoutProblem,
    Listing,
    Runner,
    Sections,
    marker_evidence,
    one_file,
)

_FILE = re.compile(r"^(\d+).*\.sql$")
_UP = re.compile(r"^--\s*migrate:up(\s*$|\s+\S+)")
_DOWN = re.compile(r"^--\s*migrate:down(\s*$|\s+\S+)")
_ANY = re.compile(r"^--\s*migrate:(\S*)")
# A marker after spaces or tabs: dbmate's ``(?m)^--`` does not see it.
_INDENTED = re.compile(r"^\s+--\s*migrate:(up|down)(\s*$|\s+\S+)")
_COMMENT_OR_BLANK = re.compile(r"^\s*(--.*)?$")
_INDENT_NOTE = (
    "dbmate refuses it: there is no `-- migrate:{kind}` line, as this one is indented and "
    "dbmate reads a marker only at the start of a line"
)


def _options(line: str) -> dict[str, str]:
    """The ``key:value`` options of a marker line, as dbmate's ``parseMigrationOptions``
    reads them (a word with no colon or two is skipped)."""
    rest = re.sub(r"^--\s*migrate:(up|down)", "", line).strip()
    pairs = (part.split(":") for part in rest.split()) if rest else ()
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


@dataclass
class _Markers:
    """The ``-- migrate:`` lines of a file, as dbmate finds them.

    Attributes:
        up: The first ``-- migrate:up`` line.
        down: The first ``-- migrate:down`` line.
        indented: The first indented marker of each kind, by line: no marker for dbmate.
        problems: Markers dbmate reads otherwise than the file means.
    """

    up: int | None = None
    down: int | None = None
    indented: dict[str, int] = field(default_factory=dict)
    problems: list[LayoutProblem] = field(default_factory=list)


def _markers(lines: list[str]) -> _Markers:
    """Where a file's markers are, and the ones dbmate reads as comments or refuses."""
    found = _Markers()
    pair_has_down = False  # the current up/down pair already has its down marker
    for number, line in enumerate(lines, start=1):
        if (shifted := _INDENTED.match(line)) is not None:
            found.indented.setdefault(shifted[1], number)
        if _UP.match(line):
            pair_has_down = False
            if found.up is None:
                found.up = number
            else:
                found.problems.append(
                    _problem(
                        number,
                        "a second `-- migrate:up`: dbmate 2.29 and later run each "
                        "up/down pair of a file on its own, earlier releases read this "
                        "line as a comment; migdocs reads one pair per file: give each "
                        "pair a file of its own",
                    )
                )
        elif _DOWN.match(line):
            if found.down is None:
                found.down = number
            if not pair_has_down:
                pair_has_down = True
            else:
                found.problems.append(
                    _problem(
                        number,
                        "a second `-- migrate:down`: dbmate 2.34 and later refuse the "
                        "file, earlier releases ran both as one down section",
                    )
                )
        elif (marker := _ANY.match(line)) is not None:
            found.problems.append(
                _problem(
                    number,
                    f"`-- migrate:{marker[1]}` is no dbmate marker (`-- migrate:up`, "
                    "`-- migrate:down`): dbmate reads the line as a comment",
                )
            )
    return found


def _problem(line: int, message: str) -> LayoutProblem:
    return LayoutProblem("MG200", "", line, message)


class Dbmate(Runner):
    """dbmate's ``db/migrations``."""

    kind = "dbmate"
    default_path = "db/migrations"
    sectioned = True
    default_ledger = "public.schema_migrations"
    ledger_ddl = "CREATE TABLE IF NOT EXISTS {table} (version varchar PRIMARY KEY)"
    version_column = "version::text"

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        runner = cls(folder)
        names = [n for n in runner.names() if _FILE.match(n)]
        return marker_evidence(cls.kind, folder, names, _UP, "-- migrate:up")

    def listing(self) -> Listing:
        out = Listing(order_source="file names, sorted as text")
        first_of: dict[str, str] = {}
        for name in self.names():
            match = _FILE.match(name)
            if match is None:
                if name.endswith(".sql"):
                    out.ignored(
                        name, "dbmate ignores it: its name does not start with a version (digits)"
                    )
                continue
            version = match[1]
            stem = name[: -len(".sql")]
            first = first_of.setdefault(version, name)
            if first != name:
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        name,
                        None,
                        f"version {version} is also {first}'s: dbmate runs both, and the "
                        "second fails when it records the version schema_migrations already "
                        "holds",
                        stem,
                    )
                )
            out.migrations.append(one_file(name, version, name))
        out.migrations.sort(key=lambda item: item.order)
        return out

    def sections(self, text: str) -> Sections:
        lines = text.splitlines()
        markers = _markers(lines)
        up, down, indented, problems = markers.up, markers.down, markers.indented, markers.problems
        last = max(1, len(lines))
        if up is None:
            problems.append(
                _problem(
                    indented.get("up", 1),
                    _INDENT_NOTE.format(kind="up")
                    if "up" in indented
                    else "dbmate refuses it: there is no `-- migrate:up` line to start the up "
                    "section",
                )
            )
            return Sections(up=None, down=None, problems=tuple(problems))
        if down is None:
            problems.append(
                _problem(
                    indented.get("down", last),
                    _INDENT_NOTE.format(kind="down")
                    if "down" in indented
                    else "dbmate refuses it: there is no "
                    "`-- migrate:down` line (an empty down section is fine)",
                )
            )
        elif down < up:
            problems.append(
                _problem(down, "dbmate refuses it: `-- migrate:down` comes before `-- migrate:up`")
            )
            return Sections(up=None, down=None, problems=tuple(problems))
        for number, line in enumerate(lines[: up - 1], start=1):
            if not _COMMENT_OR_BLANK.match(line):
                problems.append(
                    _problem(
                        number,
                        "dbmate refuses it: a statement before `-- migrate:up` "
                        "(only blank and `--` comment lines may come first)",
                    )
                )
                break
        for kind, number in sorted(indented.items(), key=lambda item: item[1]):
            if (kind == "up" and up is not None) or (kind == "down" and down is not None):
                problems.append(
                    _problem(
                        number,
                        f"`-- migrate:{kind}` after spaces is no marker for dbmate, which "
                        "reads a marker only at the start of a line: this line stays in the "
                        "section above it, as a comment",
                    )
                )
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


RUNNER = Dbmate
