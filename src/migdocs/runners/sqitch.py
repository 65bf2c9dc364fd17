"""sqitch: ``sqitch.plan``, and ``deploy/``, ``revert/`` and ``verify/`` scripts per change.

Read as sqitch reads it (sqitchers/sqitch ``lib/App/Sqitch/Plan.pm`` for the plan,
``Plan/Change.pm`` and ``Plan/Depend.pm`` for files, ids and hashes,
``Engine/pg.sql`` and ``Role/DBIEngine.pm`` for the registry):

- the plan starts with pragmas (``%syntax-version=1.0.0``, ``%project=name``, ``%uri=…``)
  up to the first blank line; ``%project`` is required. Then each line is a change
  ``name [deps] 2013-12-31T18:26:59Z Planner Name <email> # note`` or a tag
  ``@name date planner # note`` that marks the change before it; ``#`` lines are
  comments. sqitch refuses the whole plan on a line it cannot read, a change named twice
  between two tags, a tag named twice, or a required change that is not planned before;
- changes deploy in plan order: ``deploy/<name>.sql``, reverted by ``revert/<name>.sql``;
  ``verify/<name>.sql`` only checks a deploy and is no rollback. A name may hold ``/``
  (``table/users`` is ``deploy/table/users.sql``). A change planned again after a tag is
  *reworked*: the later one keeps ``deploy/<name>.sql``, the earlier one reads
  ``deploy/<name>@<tag>.sql`` (the first of the tags after it, latest first, whose file
  exists);
- sqitch runs each script with psql, as it is: the script brings its own ``BEGIN``/
  ``COMMIT``;
- the registry is the schema ``sqitch``; its table ``changes`` has a row per deployed
  change (deleted on revert), with ``change_id`` (SHA-1 of the change's plan entry, its
  parent's id included), ``script_hash`` (SHA-1 of the deploy script's bytes) and the
  ``project``.

migdocs ids: a change's id is its name, with ``/`` written ``.`` (a catalog id has no
``/``: ``table/users`` is ``table.users``); the earlier instance of a reworked change is
``<name>@<tag>``, after its file ``deploy/<name>@<tag>.sql``. The ledger matches rows to
changes by ``change_id`` as sqitch does, so a row whose change's plan line (or one before
it) was edited since the deploy matches nothing: sqitch itself then stops with "Cannot
find change … in sqitch.plan".

A plan line sqitch cannot read is reported under MG102 ("a plan naming a missing file"):
the rule of a plan entry that names nothing sqitch can deploy, an error as sqitch refusing
the plan is, and reported at the plan's line; a change named twice between tags is MG109.
``sqitch.conf`` is not read: ``runner.path`` is the folder holding ``sqitch.plan``, with
the default ``deploy``/``revert`` folders and the ``.sql`` extension.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from migdocs.runners.base import (
    CatalogScripts,
    Evidence,
    LayoutProblem,
    LedgerRow,
    Listed,
    Listing,
    Runner,
    catalog_positions,
    title_from,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

    from migdocs.catalog.models import RunnerSettings

PLAN = "sqitch.plan"

# The regular expressions of Plan.pm, with [[:blank:]] as [ \t] and [[:digit:]] as [0-9].
_PUNCT = "".join(re.escape(c) for c in "-!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~")
NAME = (
    rf"(?![{_PUNCT}])"
    r"(?:(?![~/=%^\[\]][0-9]+(?:$|[ \t]))[^ \t:@#\\])+"
    rf"(?<![{_PUNCT}])\b"
)
_BLANK = re.compile(r"\A[ \t]*(?:#[ \t]*(?P<note>.+)|$)")
_NOTE = re.compile(r"[ \t]*(?:#[ \t]*(?P<note>.*))?$")
_PRAGMA = re.compile(
    rf"\A[ \t]*%[ \t]*(?P<name>[^{_PUNCT}](?:[^ \t=]*?[^{_PUNCT} \t])?)"
    r"(?:[ \t]*=[ \t]*(?P<value>.+))?\Z"
)
_TS = (
    r"(?P<yr>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<dy>[0-9]{2})"
    r"T(?P<hr>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<sc>[0-9]{2})Z"
)
_TS_ANYWHERE = re.compile(_TS)
_LINE = re.compile(
    r"^[ \t]*(?:@|[ \t]*(?P<operator>[+-])[ \t]*)?"
    rf"(?P<name>{NAME})[ \t]*"
    r"(?:\[(?P<dependencies>[^\]]+)\][ \t]*)?"
    rf"(?:{_TS}[ \t]*)?"
    r"(?:(?P<planner_name>[^<]+)[ \t]+<(?P<planner_email>[^>]+)>)?$"
)
_DEPEND = re.compile(
    rf"\A(?P<conflicts>!?)(?:(?P<project>{NAME}):)?"
    rf"(?:(?P<id>[0-9a-f]{{40}})|(?P<change>{NAME})(?:@(?P<tag>{NAME}))?|(?:@(?P<only_tag>{NAME}))?)\Z"
)
_RESERVED = frozenset({"ROOT", "HEAD"})
_UNESCAPE = {"\\n": "\n", "\\r": "\r", "\\\\": "\\"}
_NAME_RULE = (
    'names must not begin with punctuation, contain "@", ":", "#", "\\", "[", "]", or '
    "blanks, or end in punctuation or digits following punctuation"
)


@dataclass(frozen=True)
class Dependency:
    """A change a planned change requires or conflicts with (``Plan/Depend.pm``)."""

    conflicts: bool
    project: str | None
    change: str | None
    tag: str | None
    id: str | None

    @property
    def key_name(self) -> str:
        """``change@tag``, ``change``, ``@tag`` or the id, as sqitch keys it."""
        parts = (self.change or "") + (f"@{self.tag}" if self.tag is not None else "")
        return parts or (self.id or "")


@dataclass
class PlannedChange:
    """A change as ``sqitch.plan`` plans it."""

    name: str
    line: int
    stamp: str
    planned_at: dt.datetime
    planner_name: str
    planner_email: str
    note: str
    requires: list[Dependency] = field(default_factory=list)
    conflicts: list[Dependency] = field(default_factory=list)
    parent: PlannedChange | None = None
    tags: list[str] = field(default_factory=list)
    rework_tags: list[str] = field(default_factory=list)
    id: str = ""
    path: str = ""
    """The scripts' path under ``deploy/`` and ``revert/`` (``table/users.sql``)."""


@dataclass
class Plan:
    """A parsed ``sqitch.plan``: its project, changes in order, and what sqitch refuses."""

    project: str = ""
    uri: str | None = None
    changes: list[PlannedChange] = field(default_factory=list)
    problems: list[LayoutProblem] = field(default_factory=list)


def unescape_note(note: str) -> str:
    """A plan note as sqitch keeps it: trimmed, ``\\n``, ``\\r`` and ``\\\\`` unescaped."""
    note = note.strip()
    return re.sub(r"\\[\\nr]", lambda m: _UNESCAPE[m[0]], note)


def _canonical_uri(uri: str) -> str:
    """The ``%uri`` as Perl's ``URI->canonical`` writes it, for the common cases: scheme and
    host in lower case, no default port, ``/`` for an empty http path."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return uri
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    path = parts.path
    if netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        host, _, port = hostport.partition(":")
        default = {"http": "80", "https": "443", "ftp": "21"}.get(scheme)
        hostport = host.lower() + (f":{port}" if port and port != default else "")
        netloc = f"{userinfo}@{hostport}" if userinfo else hostport
        if scheme in ("http", "https") and not path:
            path = "/"
    return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))


def parse_dependency(text: str, project: str) -> Dependency | None:
    """A dependency of a plan line (``proj:change@tag``, ``!change``, an id), or ``None``
    when sqitch would refuse it."""
    match = _DEPEND.match(text)
    if match is None:
        return None
    change, tag, ident = match["change"], match["tag"] or match["only_tag"], match["id"]
    if not (change or tag or ident):
        return None
    return Dependency(bool(match["conflicts"]), match["project"], change, tag, ident)


def parse_plan(text: str) -> Plan:
    """``sqitch.plan`` as sqitch's ``Plan::_parse`` reads it: the project, its changes in
    order (each with its id and script path, rework tags resolved later), and every line
    sqitch would refuse (sqitch stops at the first; migdocs reads on, to list the rest)."""
    plan = Plan()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]

    def refuse(number: int, message: str, code: str = "MG102") -> None:
        plan.problems.append(
            LayoutProblem(code, PLAN, number, f"sqitch refuses the plan: {message}")
        )

    body_from, header_broken = _read_header(plan, lines, refuse)

    changes: list[PlannedChange] = []  # changes before the last tag
    current: list[PlannedChange] = []  # changes since the last tag
    seen: dict[str, int] = {}  # changes before the last tag, and tags (`@name`): their line
    in_section: dict[str, int] = {}
    named: dict[str, PlannedChange] = {}
    previous: PlannedChange | None = None
    for number, line in enumerate(lines[body_from:], start=body_from + 1):
        if _BLANK.match(line):
            continue
        if header_broken and _pragma(plan, number, line, refuse):
            continue  # sqitch stopped at the missing blank line; read on as it was meant
        note_match = _NOTE.search(line)
        assert note_match is not None  # it matches the empty end of any line
        note = unescape_note(note_match["note"] or "")
        rest = line[: note_match.start()]
        is_tag = re.match(r"^[ \t]*@", rest) is not None
        read = _read_line(rest, is_tag)
        if isinstance(read, str):
            refuse(number, read)
            continue
        match, planned_at = read
        name = match["name"]
        if is_tag:
            if "/" in name:
                refuse(number, f'tag "{name}" contains illegal character /')
            elif previous is None:
                refuse(number, f'tag "{name}" declared without a preceding change')
            elif f"@{name}" in seen:
                refuse(
                    number,
                    f'tag "{name}" duplicates earlier declaration on line {seen["@" + name]}',
                    "MG109",
                )
            elif match["dependencies"]:
                refuse(number, "tags may not specify dependencies")
            else:
                _check_dependencies(plan, current, seen)
                changes.extend(current)
                current = []
                previous.tags.append(name)
                seen.update(in_section)
                seen[f"@{name}"] = number
                in_section = {}
            continue
        if name in in_section:
            refuse(
                number,
                f'change "{name}" duplicates earlier declaration on line {in_section[name]}',
                "MG109",
            )
            continue
        dependencies = _read_dependencies(match["dependencies"] or "", plan.project)
        if isinstance(dependencies, str):
            refuse(number, dependencies)
            continue
        requires, conflicts = dependencies
        change = PlannedChange(
            name=name,
            line=number,
            stamp=planned_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            planned_at=planned_at,
            planner_name=match["planner_name"],
            planner_email=match["planner_email"],
            note=note,
            requires=requires,
            conflicts=conflicts,
            parent=previous,
        )
        in_section[name] = number
        current.append(change)
        duped = named.get(name)
        if duped is not None:
            _mark_reworked(duped, changes)
        named[name] = change
        previous = change
    _check_dependencies(plan, current, seen)
    plan.changes = [*changes, *current]
    for change in plan.changes:
        change.id = change_id(plan, change)
    return plan


def _mark_reworked(earlier: PlannedChange, changes: list[PlannedChange]) -> None:
    """Give a change planned again later its rework tags: the tags between it and the end of
    ``changes``, latest first, then its own."""
    rework: list[str] = []
    for later in reversed(changes):
        if later is earlier:
            break
        rework.extend(later.tags)
    earlier.rework_tags.extend([*rework, *earlier.tags])


def _read_header(
    plan: Plan, lines: list[str], refuse: Callable[[int, str], None]
) -> tuple[int, bool]:
    """Read the pragmas into ``plan``: how many lines they take, and whether the blank line
    that ends them is missing (sqitch stops there)."""
    for number, line in enumerate(lines, start=1):
        blank = _BLANK.match(line)
        if blank is not None:
            if not blank["note"]:
                body_from, header_broken = number, False
                break
            continue
        if not _pragma(plan, number, line, refuse):
            refuse(number, "invalid pragma; a blank line must come between pragmas and changes")
            body_from, header_broken = number - 1, True
            break
    else:
        body_from, header_broken = len(lines), False
    if not plan.project:
        refuse(1, "there is no `%project` pragma")
    return body_from, header_broken


def _read_line(rest: str, is_tag: bool) -> tuple[re.Match[str], dt.datetime] | str:
    """A change or tag line (without its note) as sqitch reads it, with when it was planned;
    or why sqitch refuses it."""
    match = _LINE.search(rest)
    if match is None or (match["yr"] is None and _TS_ANYWHERE.search(rest)):
        return f"invalid name; {_NAME_RULE}"
    name = match["name"]
    if match["yr"] is None and match["planner_name"] is None:
        return "missing timestamp and planner name and email"
    if match["yr"] is None:
        return "missing timestamp"
    if match["planner_name"] is None:
        return "missing planner name and email"
    if name in _RESERVED:
        return f'"{"@" if is_tag else ""}{name}" is a reserved name'
    if re.match(r"^[0-9a-f]{40}", name):
        return f'"{name}" is invalid because it could be confused with a SHA1 ID'
    try:
        year, month, day, hour, minute, second = (
            int(match[key]) for key in ("yr", "mo", "dy", "hr", "mi", "sc")
        )
        return match, dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        return f"{match['yr']}-{match['mo']}-{match['dy']} is not a real date"


def _read_dependencies(text: str, project: str) -> tuple[list[Dependency], list[Dependency]] | str:
    """The changes a change line requires and those it conflicts with, or why sqitch
    refuses them."""
    requires: list[Dependency] = []
    conflicts: list[Dependency] = []
    given: set[str] = set()
    for text_dep in text.split():
        dependency = parse_dependency(text_dep, project)
        if dependency is None:
            return f'"{text_dep}" is not a valid dependency specification'
        if text_dep in given:
            return f'duplicate dependency "{text_dep}"'
        given.add(text_dep)
        (conflicts if dependency.conflicts else requires).append(dependency)
    return requires, conflicts


def _pragma(plan: Plan, number: int, line: str, refuse: Callable[[int, str], None]) -> bool:
    """Read a pragma line (``%project=flipr``) into ``plan``; ``False`` when it is none."""
    pragma = _PRAGMA.match(line[: _NOTE.search(line).start()])  # type: ignore[union-attr]
    if pragma is None:
        return False
    name, value = pragma["name"], pragma["value"]
    if name == "project":
        if value is None or not re.fullmatch(NAME, value):
            refuse(number, f"invalid project name {value!r}: project {_NAME_RULE}")
        else:
            plan.project = value
    elif name == "uri" and value is not None:
        plan.uri = value
    return True


def _check_dependencies(plan: Plan, section: list[PlannedChange], seen: dict[str, int]) -> None:
    """sqitch's ``check_changes``: every change a change requires is planned before it."""
    position: dict[str, int] = {}
    for index, change in enumerate(section, start=1):
        for dependency in change.requires:
            if dependency.project is not None:
                if dependency.project != plan.project:
                    continue
            elif dependency.id is not None:
                continue
            key = dependency.key_name
            if re.search(r".@", key):
                name, _, tag = key.partition("@")
                tag_at, change_at = seen.get(f"@{tag}"), seen.get(name)
                if tag_at is not None and change_at is not None and change_at < tag_at:
                    continue
            elif key in seen or key in position:
                continue
            if key == change.name:
                message = f'change "{change.name}" cannot require itself'
            else:
                message = (
                    f'change "{change.name}" requires "{key}", which the plan does not name '
                    "before it"
                )
            plan.problems.append(
                LayoutProblem("MG102", PLAN, change.line, f"sqitch refuses the plan: {message}")
            )
        position[change.name] = index


def _depend_string(plan: Plan, dependency: Dependency, known_ids: set[str]) -> str:
    """A dependency as ``Depend->as_string`` writes it into a change's info."""
    project: str | None
    if dependency.project is not None:
        project = dependency.project
    elif dependency.id is None or dependency.id in known_ids:
        project = plan.project
    else:
        project = None
    if project is None or project == plan.project:
        return dependency.key_name
    return f"{project}:{dependency.key_name}"


def change_id(plan: Plan, change: PlannedChange) -> str:
    """sqitch's ``change_id`` of a planned change: SHA-1 of ``change <length>\\0<info>``,
    the info naming the project, uri, change, parent id, planner, date, dependencies and
    note (``Plan/Change.pm``)."""
    known = {other.id for other in plan.changes if other.id}
    requires = "\n  + ".join(_depend_string(plan, d, known) for d in change.requires)
    conflicts = "\n  - ".join(_depend_string(plan, d, known) for d in change.conflicts)
    info = [f"project {plan.project}"]
    if plan.uri:
        info.append(f"uri {_canonical_uri(plan.uri)}")
    info.append(f"change {change.name}")
    if change.parent is not None:
        info.append(f"parent {change.parent.id}")
    info.append(f"planner {change.planner_name} <{change.planner_email}>")
    info.append(f"date {change.stamp}")
    if requires:
        info.append(f"requires\n  + {requires}")
    if conflicts:
        info.append(f"conflicts\n  - {conflicts}")
    if change.note:
        info.extend(["", change.note])
    content = "\n".join(info).encode("utf-8")
    return hashlib.sha1(b"change %d\0" % len(content) + content).hexdigest()


def script_hash(raw: bytes) -> str:
    """sqitch's ``script_hash``: SHA-1 (hex) of the deploy script's bytes."""
    return hashlib.sha1(raw).hexdigest()


#: sqitch's registry (``lib/App/Sqitch/Engine/pg.sql``, release 1.1): the ``sqitch`` schema
#: and its six tables with their comments, ``{table}`` being ``changes``. A real registry
#: holds them all, so replay makes them all and the audit sees them as they are.
_REGISTRY = """\
CREATE SCHEMA IF NOT EXISTS {schema};

COMMENT ON SCHEMA {schema} IS 'Sqitch database deployment metadata v1.1.';

CREATE TABLE {schema}.releases (
    version         REAL        PRIMARY KEY,
    installed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    installer_name  TEXT        NOT NULL,
    installer_email TEXT        NOT NULL
);

COMMENT ON TABLE  {schema}.releases                 IS 'Sqitch registry releases.';
COMMENT ON COLUMN {schema}.releases.version         IS 'Version of the Sqitch registry.';
COMMENT ON COLUMN {schema}.releases.installed_at    IS 'Date the registry release was installed.';
COMMENT ON COLUMN {schema}.releases.installer_name  IS 'Name of the user who installed the registry release.';
COMMENT ON COLUMN {schema}.releases.installer_email IS 'Email address of the user who installed the registry release.';

CREATE TABLE {schema}.projects (
    project         TEXT        PRIMARY KEY,
    uri             TEXT            NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    creator_name    TEXT        NOT NULL,
    creator_email   TEXT        NOT NULL
);

COMMENT ON TABLE  {schema}.projects                IS 'Sqitch projects deployed to this database.';
COMMENT ON COLUMN {schema}.projects.project        IS 'Unique Name of a project.';
COMMENT ON COLUMN {schema}.projects.uri            IS 'Optional project URI';
COMMENT ON COLUMN {schema}.projects.created_at     IS 'Date the project was added to the database.';
COMMENT ON COLUMN {schema}.projects.creator_name   IS 'Name of the user who added the project.';
COMMENT ON COLUMN {schema}.projects.creator_email  IS 'Email address of the user who added the project.';

CREATE TABLE {table} (
    change_id       TEXT        PRIMARY KEY,
    script_hash     TEXT            NULL,
    change          TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES {schema}.projects(project) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    committed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    UNIQUE(project, script_hash)
);

COMMENT ON TABLE  {table}                 IS 'Tracks the changes currently deployed to the database.';
COMMENT ON COLUMN {table}.change_id       IS 'PlannedChange primary key.';
COMMENT ON COLUMN {table}.script_hash     IS 'Deploy script SHA-1 hash.';
COMMENT ON COLUMN {table}.change          IS 'Name of a deployed change.';
COMMENT ON COLUMN {table}.project         IS 'Name of the Sqitch project to which the change belongs.';
COMMENT ON COLUMN {table}.note            IS 'Description of the change.';
COMMENT ON COLUMN {table}.committed_at    IS 'Date the change was deployed.';
COMMENT ON COLUMN {table}.committer_name  IS 'Name of the user who deployed the change.';
COMMENT ON COLUMN {table}.committer_email IS 'Email address of the user who deployed the change.';
COMMENT ON COLUMN {table}.planned_at      IS 'Date the change was added to the plan.';
COMMENT ON COLUMN {table}.planner_name    IS 'Name of the user who planed the change.';
COMMENT ON COLUMN {table}.planner_email   IS 'Email address of the user who planned the change.';

CREATE TABLE {schema}.tags (
    tag_id          TEXT        PRIMARY KEY,
    tag             TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES {schema}.projects(project) ON UPDATE CASCADE,
    change_id       TEXT        NOT NULL REFERENCES {table}(change_id) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    committed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    UNIQUE(project, tag)
);

COMMENT ON TABLE  {schema}.tags                 IS 'Tracks the tags currently applied to the database.';
COMMENT ON COLUMN {schema}.tags.tag_id          IS 'Tag primary key.';
COMMENT ON COLUMN {schema}.tags.tag             IS 'Project-unique tag name.';
COMMENT ON COLUMN {schema}.tags.project         IS 'Name of the Sqitch project to which the tag belongs.';
COMMENT ON COLUMN {schema}.tags.change_id       IS 'ID of last change deployed before the tag was applied.';
COMMENT ON COLUMN {schema}.tags.note            IS 'Description of the tag.';
COMMENT ON COLUMN {schema}.tags.committed_at    IS 'Date the tag was applied to the database.';
COMMENT ON COLUMN {schema}.tags.committer_name  IS 'Name of the user who applied the tag.';
COMMENT ON COLUMN {schema}.tags.committer_email IS 'Email address of the user who applied the tag.';
COMMENT ON COLUMN {schema}.tags.planned_at      IS 'Date the tag was added to the plan.';
COMMENT ON COLUMN {schema}.tags.planner_name    IS 'Name of the user who planed the tag.';
COMMENT ON COLUMN {schema}.tags.planner_email   IS 'Email address of the user who planned the tag.';

CREATE TABLE {schema}.dependencies (
    change_id       TEXT        NOT NULL REFERENCES {table}(change_id) ON UPDATE CASCADE ON DELETE CASCADE,
    type            TEXT        NOT NULL,
    dependency      TEXT        NOT NULL,
    dependency_id   TEXT            NULL REFERENCES {table}(change_id) ON UPDATE CASCADE CONSTRAINT dependencies_check CHECK (
            (type = 'require'  AND dependency_id IS NOT NULL)
         OR (type = 'conflict' AND dependency_id IS NULL)
    ),
    PRIMARY KEY (change_id, dependency)
);

COMMENT ON TABLE  {schema}.dependencies               IS 'Tracks the currently satisfied dependencies.';
COMMENT ON COLUMN {schema}.dependencies.change_id     IS 'ID of the depending change.';
COMMENT ON COLUMN {schema}.dependencies.type          IS 'Type of dependency.';
COMMENT ON COLUMN {schema}.dependencies.dependency    IS 'Dependency name.';
COMMENT ON COLUMN {schema}.dependencies.dependency_id IS 'PlannedChange ID the dependency resolves to.';

CREATE TABLE {schema}.events (
    event           TEXT        NOT NULL CONSTRAINT events_event_check CHECK (
        event IN ('deploy', 'revert', 'fail', 'merge')
    ),
    change_id       TEXT        NOT NULL,
    change          TEXT        NOT NULL,
    project         TEXT        NOT NULL REFERENCES {schema}.projects(project) ON UPDATE CASCADE,
    note            TEXT        NOT NULL DEFAULT '',
    requires        TEXT[]      NOT NULL DEFAULT '{{}}',
    conflicts       TEXT[]      NOT NULL DEFAULT '{{}}',
    tags            TEXT[]      NOT NULL DEFAULT '{{}}',
    committed_at    TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    committer_name  TEXT        NOT NULL,
    committer_email TEXT        NOT NULL,
    planned_at      TIMESTAMPTZ NOT NULL,
    planner_name    TEXT        NOT NULL,
    planner_email   TEXT        NOT NULL,
    PRIMARY KEY (change_id, committed_at)
);

COMMENT ON TABLE  {schema}.events                 IS 'Contains full history of all deployment events.';
COMMENT ON COLUMN {schema}.events.event           IS 'Type of event.';
COMMENT ON COLUMN {schema}.events.change_id       IS 'PlannedChange ID.';
COMMENT ON COLUMN {schema}.events.change          IS 'PlannedChange name.';
COMMENT ON COLUMN {schema}.events.project         IS 'Name of the Sqitch project to which the change belongs.';
COMMENT ON COLUMN {schema}.events.note            IS 'Description of the change.';
COMMENT ON COLUMN {schema}.events.requires        IS 'Array of the names of required changes.';
COMMENT ON COLUMN {schema}.events.conflicts       IS 'Array of the names of conflicting changes.';
COMMENT ON COLUMN {schema}.events.tags            IS 'Tags associated with the change.';
COMMENT ON COLUMN {schema}.events.committed_at    IS 'Date the event was committed.';
COMMENT ON COLUMN {schema}.events.committer_name  IS 'Name of the user who committed the event.';
COMMENT ON COLUMN {schema}.events.committer_email IS 'Email address of the user who committed the event.';
COMMENT ON COLUMN {schema}.events.planned_at      IS 'Date the event was added to the plan.';
COMMENT ON COLUMN {schema}.events.planner_name    IS 'Name of the user who planed the change.';
COMMENT ON COLUMN {schema}.events.planner_email   IS 'Email address of the user who plan planned the change.'
"""  # noqa: E501


class Sqitch(Runner):
    """sqitch's plan and script folders."""

    kind = "sqitch"
    default_path = "."
    default_ledger = "sqitch.changes"
    ledger_ddl = _REGISTRY

    def __init__(self, folder: Path, settings: RunnerSettings | None = None) -> None:
        super().__init__(folder, settings)
        self._plan: Plan | None = None
        self._listing: Listing | None = None

    # -- the plan -------------------------------------------------------------------------------

    def plan(self) -> Plan | None:
        """The folder's ``sqitch.plan``, parsed once; ``None`` when there is none."""
        if self._plan is None:
            try:
                raw = (self.folder / PLAN).read_bytes()
            except OSError:
                return None
            plan_problems: list[LayoutProblem] = []
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                text = raw.decode("utf-8", errors="replace")
                line = raw[: error.start].count(b"\n") + 1
                plan_problems.append(
                    LayoutProblem("MG102", PLAN, line, "sqitch refuses the plan: it is not UTF-8")
                )
            self._plan = parse_plan(text)
            self._plan.problems[:0] = plan_problems
            for change in self._plan.changes:
                change.path = self._script_path(change)
        return self._plan

    def _script_path(self, change: PlannedChange) -> str:
        """The change's scripts under ``deploy/`` (``Change->path_segments``)."""
        if not change.rework_tags:
            return f"{change.name}.sql"
        folder, _, base = change.name.rpartition("/")
        prefix = f"{folder}/" if folder else ""
        candidates = [f"{prefix}{base}@{tag}.sql" for tag in change.rework_tags]
        for candidate in candidates:
            if (self.folder / "deploy" / candidate).exists():
                return candidate
        return candidates[0]

    @staticmethod
    def catalog_id(change: PlannedChange) -> str:
        """The catalog id of a change: its script path without ``.sql``, ``/`` written
        ``.`` (``table/users`` → ``table.users``, ``users@v1.0``)."""
        return change.path.removesuffix(".sql").replace("/", ".")

    # -- the runner -----------------------------------------------------------------------------

    @classmethod
    def evidence(cls, folder: Path) -> Evidence | None:
        if not (folder / PLAN).is_file():
            return None
        plan = cls(folder).plan()
        count = len(plan.changes) if plan is not None else 0
        reasons = (f"{PLAN} plans {count} changes",)
        return Evidence(cls.kind, folder, 95, reasons, count)

    def listing(self) -> Listing:
        if self._listing is not None:
            return self._listing
        out = Listing(order_source=f"the plan {PLAN}")
        plan = self.plan()
        if plan is None:
            out.problems.append(
                LayoutProblem(
                    "MG102", PLAN, None, f"there is no {PLAN} here: sqitch has nothing to deploy"
                )
            )
            self._listing = out
            return out
        out.problems.extend(plan.problems)
        planned_deploys: set[str] = set()
        planned_reverts: set[str] = set()
        ids: dict[str, PlannedChange] = {}
        for index, change in enumerate(plan.changes):
            deploy, revert = f"deploy/{change.path}", f"revert/{change.path}"
            planned_deploys.add(deploy)
            planned_reverts.add(revert)
            if not (self.folder / deploy).is_file():
                out.problems.append(
                    LayoutProblem(
                        "MG102",
                        PLAN,
                        change.line,
                        f'the plan names change "{change.name}", but {deploy} does not '
                        "exist: sqitch deploy stops there",
                        self.catalog_id(change),
                    )
                )
                continue
            identifier = self.catalog_id(change)
            if identifier in ids:
                out.problems.append(
                    LayoutProblem(
                        "MG109",
                        PLAN,
                        change.line,
                        f'change "{change.name}" has the migdocs id {identifier!r} of change '
                        f'"{ids[identifier].name}" (line {ids[identifier].line}): rename one',
                        identifier,
                    )
                )
                continue
            ids[identifier] = change
            out.migrations.append(
                Listed(
                    id=identifier,
                    file=deploy,
                    rollback=revert if (self.folder / revert).is_file() else None,
                    order=(index,),
                    date=change.planned_at.date(),
                    title=change.note.split("\n", 1)[0].strip()
                    or title_from(change.name.rpartition("/")[2]),
                    source=(PLAN, change.line),
                )
            )
        for script in self._scripts("deploy"):
            if script not in planned_deploys:
                out.ignored(script, f"sqitch ignores it: no change of {PLAN} names it")
        for script in self._scripts("revert"):
            if script not in planned_reverts:
                out.problems.append(
                    LayoutProblem(
                        "MG106",
                        script,
                        None,
                        f"no change of {PLAN} has this revert script: sqitch never runs it",
                    )
                )
        self._listing = out
        return out

    def _scripts(self, kind: str) -> list[str]:
        """The ``.sql`` files under ``deploy/`` or ``revert/``, relative to the folder."""
        found: list[str] = []
        top = self.folder / kind
        for root, folders, files in os.walk(top):
            folders[:] = sorted(f for f in folders if not f.startswith("."))
            relative = Path(root).relative_to(self.folder).as_posix()
            for name in sorted(files):
                path = f"{relative}/{name}"
                if name.endswith(".sql") and self.wanted(path):
                    found.append(path)
        return found

    def default_file(self, migration_id: str) -> str:
        plan = self.plan()
        for change in plan.changes if plan is not None else []:
            if self.catalog_id(change) == migration_id:
                return f"deploy/{change.path}"
        return f"deploy/{migration_id}.sql"

    def checksum(self, raw: bytes) -> str | None:
        return script_hash(raw)

    def _change_of(self, listed: Listed) -> PlannedChange | None:
        plan = self.plan()
        if plan is None or listed.source is None:
            return None
        return next((c for c in plan.changes if c.line == listed.source[1]), None)

    def ledger_key(self, listed: Listed) -> str:
        """The change's name (``name@tag`` for the earlier instance of a reworked change)."""
        change = self._change_of(listed)
        if change is None:
            return listed.id
        if change.rework_tags:
            return change.path.removesuffix(".sql")
        return change.name

    def read_ledger(
        self, conn: psycopg.Connection[Any], table: sql.Composable, project: CatalogScripts
    ) -> list[LedgerRow]:
        from psycopg import sql as _sql

        plan = self.plan()
        name = plan.project if plan is not None else ""
        rows = conn.execute(
            _sql.SQL(
                "SELECT change_id, script_hash, change FROM {} WHERE project = %s "
                "ORDER BY committed_at, change_id"
            ).format(table),
            [name],
        ).fetchall()
        planned = {change.id: change for change in plan.changes} if plan is not None else {}
        listed_at = {
            listed.source[1]: listed
            for listed in self.listing().migrations
            if listed.source is not None
        }
        keys = project.ledger_keys()
        positions = catalog_positions(project)
        out: list[LedgerRow] = []
        for identifier, recorded, change_name in rows:
            change = planned.get(identifier)
            if change is None:
                out.append(
                    LedgerRow(
                        f"change {change_name} (change_id {identifier[:12]}…, which no change "
                        f"of {PLAN} has: its plan line, or one before it, changed since the "
                        "deploy)",
                        None,
                    )
                )
                continue
            listed = listed_at.get(change.line)
            migration = keys.get(self.ledger_key(listed)) if listed is not None else None
            expected = None
            raw = project.forward_raw(positions[migration]) if migration in positions else None
            if raw is not None:
                expected = script_hash(raw)
            # Before registry 1.0 sqitch kept no hash: the upgrade copied change_id into it.
            known = recorded if recorded and recorded != identifier else None
            out.append(LedgerRow(f"change {change_name}", migration, known, expected))
        return out


RUNNER = Sqitch
