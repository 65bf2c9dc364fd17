"""goose: one file per migration, ``-- +goose Up`` and ``-- +goose Down`` sections.

Read as goose reads it (pressly/goose ``provider_collect.go`` and ``migrate.go`` for the
files, ``migration.go`` ``NumericComponent`` for the version, ``internal/sqlparser/parser.go``
for the annotations, ``internal/dialects/postgres.go`` and ``migrate.go`` for the ledger):

- a migration is a file ``*.sql`` or ``*.go`` directly in the folder whose name is
  ``<version>_<anything>``: the version is the digits before the first ``_``, a number
  above 0 (``00001`` or a ``20230101120000`` stamp); migrations run in numeric version
  order; two files with one version make goose refuse the folder. goose's command refuses
  a ``.sql`` file whose name has no version; the Go ``Provider`` skips it;
- a ``.go`` migration is compiled into the program that runs goose: it is part of goose's
  order and its version is recorded in the ledger, but migdocs cannot read Go. It is not
  listed (there is no SQL to document, check or replay); each is reported as an MG103
  note, and the ledger's rows of its version are left out of the audit;
- an annotation is a line that starts (after blanks) with ``--`` and holds ``+goose``;
  goose refuses the file when such a line is indented, holds ``+goose`` twice, or names
  anything but ``Up``, ``Down``, ``StatementBegin``, ``StatementEnd``, ``NO TRANSACTION``,
  ``ENVSUB ON`` or ``ENVSUB OFF`` (every ``--`` is removed, then ``+goose`` once, then
  blanks around; the name is compared case-insensitively);
- ``Up`` must come first (only blank lines and comments before it), once; ``Down`` after
  it, at most once and optional; ``StatementBegin``/``StatementEnd`` pair up inside a
  section, and a statement outside them ends at a line whose last word (before a ``--``
  comment) ends with ``;``: a section that ends inside a statement is refused;
- ``NO TRANSACTION`` anywhere runs both sections outside a transaction; else each runs in
  one. ``ENVSUB ON`` replaces ``${VAR}`` from goose's environment in the lines after it:
  migdocs reads those lines as written;
- the ledger is ``goose_db_version(id integer identity, version_id bigint, is_applied
  boolean, tstamp timestamp default now())``, made with a row for version 0. goose adds a
  row ``(version, true)`` per migration applied; rolling back deletes the version's rows
  (goose v3's transactional path), older releases and the non-transactional path of early
  v3 added a row ``(version, false)`` instead. A version is applied when its latest row
  (highest ``id``) says ``is_applied``. There is no checksum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from migdocs.runners.base import (
    CatalogScripts,
    Evidence,
    LayoutProblem,
    LedgerRow,
    Listed,
    Listing,
    Runner,
    Sections,
    date_from_name,
    marker_evidence,
    title_from,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql


_NUMBERED = re.compile(r"^([^_]*)_")
_ANNOTATIONS = {
    name.casefold(): name
    for name in (
        "Up",
        "Down",
        "StatementBegin",
        "StatementEnd",
        "NO TRANSACTION",
        "ENVSUB ON",
        "ENVSUB OFF",
    )
}
_EVIDENCE = re.compile(r"^--\s*\+goose\s+up\s*$", re.IGNORECASE)

Direction = Literal["up", "down"]


def goose_version(name: str) -> int | None:
    """The version goose reads from a file name (``NumericComponent``): the digits before
    the first ``_`` of a ``.sql`` or ``.go`` name, above 0; ``None`` when it has none."""
    if not name.endswith((".sql", ".go")):
        return None
    match = _NUMBERED.match(name)
    if match is None or not re.fullmatch(r"[+-]?[0-9]+", match[1]):
        return None
    version = int(match[1])
    return version if 0 < version < 1 << 63 else None


def annotation(line: str) -> tuple[str | None, str | None]:
    """The annotation a ``-- +goose`` line names, as goose reads it (``extractAnnotation``),
    or why goose refuses it."""
    if line.startswith((" ", "\t")):
        return None, "goose refuses an indented annotation line"
    command = line.replace("--", "").replace("+goose", "", 1)
    if "+goose" in command:
        return None, "goose refuses a line with `+goose` twice"
    command = command.strip()
    if not command:
        return None, "goose refuses `-- +goose` with no annotation"
    known = _ANNOTATIONS.get(command.casefold())
    if known is None:
        names = ", ".join(f"`{name}`" for name in _ANNOTATIONS.values())
        return None, f"goose refuses the file: `{command}` is no goose annotation ({names})"
    return known, None


def _ends_with_semicolon(line: str) -> bool:
    """Whether a line ends a statement for goose: its last word before a ``--`` word ends
    with ``;`` (``endsWithSemicolon``)."""
    last = ""
    for word in line.split():
        if word.startswith("--"):
            break
        last = word
    return last.endswith(";")


@dataclass
class _Parse:
    """What goose's parser makes of a file for one direction."""

    up: int | None = None
    down: int | None = None
    use_tx: bool = True
    problems: list[tuple[int, str]] = field(default_factory=list)


def _is_annotation(line: str) -> bool:
    return line.strip().startswith("--") and "+goose" in line


#: The parser's state after ``StatementBegin`` and ``StatementEnd``, by its state before
#: (goose refuses the annotation in any other state), and why goose refuses it.
_BLOCKS: dict[str, tuple[dict[str, str], str]] = {
    "StatementBegin": (
        {"up": "begin-up", "end-up": "begin-up", "down": "begin-down", "end-down": "begin-down"},
        "goose refuses the file: `-- +goose StatementBegin` outside an Up or Down section, or "
        "inside another StatementBegin block",
    ),
    "StatementEnd": (
        {"begin-up": "end-up", "begin-down": "end-down"},
        "goose refuses the file: `-- +goose StatementEnd` without a `-- +goose StatementBegin`",
    ),
}


def _parse(lines: list[str], direction: Direction) -> _Parse:
    """goose's ``ParseSQLMigration`` for one direction, line by line: where its sections
    start, whether it uses a transaction, and the first reason it refuses the file (plus
    a statement left unfinished, which goose finds only at the end)."""
    out = _Parse()
    state = "start"
    begin_line = 0
    pending: int | None = None  # the line an unfinished statement of this direction starts on
    buffered = False
    unfinished: list[str] = []

    def refuse(number: int, message: str) -> _Parse:
        out.problems.append((number, message))
        return out

    for number, line in enumerate(lines, start=1):
        if state == "start" and not line.strip():
            continue
        if _is_annotation(line):
            name, error = annotation(line)
            if error is not None or name is None:
                return refuse(number, error or "not a goose annotation")
            if name == "Up":
                if state != "start":
                    return refuse(number, "goose refuses the file: a second `-- +goose Up`")
                state, out.up = "up", number
                continue
            if name == "Down":
                if state not in ("up", "end-up"):
                    return refuse(
                        number,
                        "goose refuses the file: `-- +goose Down` before `-- +goose Up`"
                        if state == "start"
                        else "goose refuses the file: `-- +goose Down` inside a "
                        "StatementBegin/StatementEnd block, or a second `-- +goose Down`",
                    )
                # Only this direction's lines are buffered: for the down direction, the up
                # section left nothing.
                if buffered and "".join(unfinished).strip():
                    return refuse(pending or number, _unfinished("up"))
                state, out.down = "down", number
                buffered, unfinished, pending = False, [], None
                continue
            if name in _BLOCKS:
                after, refused = _BLOCKS[name]
                if state not in after:
                    return refuse(number, refused)
                state = after[state]
                if name == "StatementBegin":
                    begin_line = number
                    continue
                # No `continue` after StatementEnd: goose goes on with this line (to store
                # the statement).
            elif name == "NO TRANSACTION":
                out.use_tx = False
                continue
            else:  # ENVSUB ON / OFF
                continue
        if not buffered and (line.strip().startswith("--") or line == ""):
            continue
        if state not in ("end-up", "end-down"):
            if not buffered:
                pending = number
            buffered = True
            unfinished.append(line + "\n")
        if state == "start":
            return refuse(number, "goose refuses the file: a statement before `-- +goose Up`")
        section: Direction = "up" if state in ("up", "begin-up", "end-up") else "down"
        if section != direction:
            buffered, unfinished, pending = False, [], None
            continue
        if state in ("up", "down"):
            if _ends_with_semicolon(line):
                buffered, unfinished, pending = False, [], None
        elif state in ("end-up", "end-down"):
            buffered, unfinished, pending = False, [], None
            state = "up" if state == "end-up" else "down"
    if state == "start":
        return refuse(1, "goose refuses the file: there is no `-- +goose Up` line")
    if state in ("begin-up", "begin-down"):
        return refuse(
            begin_line,
            "goose refuses the file: this `-- +goose StatementBegin` has no "
            "`-- +goose StatementEnd`",
        )
    if buffered and "".join(unfinished).strip():
        out.problems.append((pending or len(lines), _unfinished(direction)))
    return out


def _unfinished(direction: Direction) -> str:
    return (
        f"goose refuses the file: the {direction} section ends inside a statement that starts "
        "here (no line ends it with `;`; wrap a statement with `;` inside in "
        "`-- +goose StatementBegin`/`StatementEnd`)"
    )


class Goose(Runner):
    """goose's folder of annotated SQL files."""

    kind = "goose"
    default_path = "migrations"
    sectioned = True
    default_ledger = "public.goose_db_version"
    ledger_ddl = (
        "CREATE TABLE IF NOT EXISTS {table} (\n"
        "    id integer PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY,\n"
        "    version_id bigint NOT NULL,\n"
        "    is_applied boolean NOT NULL,\n"
        "    tstamp timestamp NOT NULL DEFAULT now()\n"
        ");\n"
        "INSERT INTO {table} (version_id, is_applied) "
        "SELECT 0, true WHERE NOT EXISTS (SELECT FROM {table})"
    )

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        runner = cls(folder)
        names = [n for n in runner.names() if n.endswith(".sql") and goose_version(n)]
        return marker_evidence(cls.kind, folder, names, _EVIDENCE, "-- +goose Up")

    def listing(self) -> Listing:
        out = Listing(order_source="versions (the number before the first `_`), numerically")
        first: dict[int, str] = {}
        for name in self.names():
            if name.endswith("_test.go"):
                continue
            version = goose_version(name)
            if version is None:
                if name.endswith(".sql"):
                    out.ignored(
                        name,
                        "goose refuses the folder (its command) or skips the file (its Go "
                        "Provider): the name does not start with a version `<number>_`",
                    )
                continue
            if version in first:
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        name,
                        None,
                        f"goose refuses the folder: {first[version]} has version {version} too "
                        "(found duplicate migration version)",
                        name[: -len(".sql")] if name.endswith(".sql") else None,
                    )
                )
                continue
            first[version] = name
            if name.endswith(".go"):
                out.ignored(
                    name,
                    f"a Go migration (version {version}): goose runs it in its order, but "
                    "migdocs cannot read Go, so it is not documented, checked or replayed "
                    "(the ledger's rows of this version are left out of the audit)",
                )
                continue
            stem = name[: -len(".sql")]
            written = _NUMBERED.match(name)
            out.migrations.append(
                Listed(
                    id=stem,
                    file=name,
                    rollback=name,
                    order=(version,),
                    version=str(version),
                    date=date_from_name(written[1]) if written else None,
                    title=title_from(stem),
                )
            )
        out.migrations.sort(key=lambda item: (item.order, item.file))
        return out

    def go_versions(self) -> set[int]:
        """The versions of the Go migrations in the folder (goose records them too)."""
        found: set[int] = set()
        for name in self.names():
            if name.endswith(".go") and not name.endswith("_test.go"):
                version = goose_version(name)
                if version is not None:
                    found.add(version)
        return found

    def sections(self, text: str) -> Sections:
        lines = text.splitlines()
        up = _parse(lines, "up")
        down = _parse(lines, "down")
        problems: list[LayoutProblem] = []
        seen: set[tuple[int, str]] = set()
        for line, message in [*up.problems, *down.problems]:
            if (line, message) not in seen:
                seen.add((line, message))
                problems.append(LayoutProblem("MG200", "", line, message))
        start, rollback = _bounds(lines)
        last = max(1, len(lines))
        if start is None:
            return Sections(up=None, down=None, problems=tuple(problems))
        up_end = rollback - 1 if rollback is not None else last
        return Sections(
            up=(start, max(start, up_end)),
            down=(rollback, last) if rollback is not None else None,
            up_transaction=up.use_tx,
            down_transaction=up.use_tx,
            problems=tuple(problems),
        )

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
    ) -> list[LedgerRow]:
        from psycopg import sql as _sql

        rows = conn.execute(
            _sql.SQL("SELECT version_id, is_applied FROM {} ORDER BY id DESC").format(table)
        ).fetchall()
        latest: dict[int, bool] = {}
        for version, applied in rows:
            latest.setdefault(int(version), bool(applied))
        keys = project.ledger_keys()
        go = self.go_versions()
        out: list[LedgerRow] = []
        for version in sorted(latest):
            if version == 0 or version in go:
                continue  # goose's first row, and Go migrations migdocs cannot read
            migration = keys.get(str(version))
            if latest[version]:
                out.append(LedgerRow(f"version {version}", migration))
            elif migration is not None:
                out.append(LedgerRow(f"version {version} (rolled back)", migration, applied=False))
        return out


def _bounds(lines: list[str]) -> tuple[int | None, int | None]:
    """The lines of the first ``Up`` annotation and the first ``Down`` after it, the way
    a file goose accepts has them (for masking, even in a file goose refuses)."""
    up: int | None = None
    for number, line in enumerate(lines, start=1):
        if not _is_annotation(line):
            continue
        name, _ = annotation(line)
        if name == "Up" and up is None:
            up = number
        elif name == "Down" and up is not None:
            return up, number
    return up, None


RUNNER = Goose
