"""The quarterly documentation review: what is due, a checklist, and stamping entries.

The whole workflow of `migdocs review` is here (the command only parses its options); the
rules that say what is due are MG601–MG604 (``checks/review.py``).

Stamping edits ``catalog.yaml`` in place. ruamel.yaml reads the file as a round-trip
document, which knows where every entry and key sits; the new ``reviewed`` line replaces
the old one there (or goes after the entry's last line), so that every other byte of the
file — comments, order, quoting, blank lines — stays as it was. The new text is validated as
a catalog before it replaces the file, atomically (through a symlink to its target, with its
mode and owner; a read-only catalog is refused). Reviewers stamping at the same time each
hold an exclusive lock on the catalog from reading it to replacing it, so no stamp is lost.

A stamp says the entry was read and is true; an entry whose texts are still placeholders
(what MG604 reports: a TODO or an empty purpose, title or rollback text) cannot be, so it is
refused unless the reviewer says otherwise (``--allow-todo``). The MG604 rule itself decides
what a placeholder is, whatever the catalog sets its severity to.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import YAMLError

from migdocs.atomic import replace_file, writable_target
from migdocs.catalog import load_catalog
from migdocs.checks.context import StaticContext
from migdocs.checks.review import DUE_CODES, Placeholder
from migdocs.clock import today
from migdocs.errors import CatalogError, MigdocsError
from migdocs.limits import CATALOG_MAX_BYTES
from migdocs.project import Entry, Project
from migdocs.report.finding import Finding
from migdocs.report.report import Report

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.@/+-]*$")


@dataclass(frozen=True, slots=True)
class Stamp:
    """A review stamp to write on one entry."""

    migration: str
    date: str
    by: str
    sha256: str | None

    def flow(self) -> str:
        """The stamp as a YAML flow mapping, the catalog's style for it."""
        parts = [f"date: {self.date}", f"by: {_scalar(self.by)}"]
        if self.sha256:
            parts.append(f"sha256: {self.sha256}")
        return "{" + ", ".join(parts) + "}"


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when safe, else double-quoted (JSON's escapes)."""
    if _PLAIN.match(text) and text.lower() not in ("true", "false", "null", "yes", "no"):
        return text
    import json

    return json.dumps(text, ensure_ascii=False)


def report(project: Project, since: str | None = None) -> Report:
    """What is due: the findings of MG601–MG604, settled as `check` settles them."""
    from migdocs.checks import run_static, settle
    from migdocs.runs import project_report

    _, findings = run_static(project)
    return project_report(
        project, findings=settle(project, [f for f in findings if f.code in DUE_CODES], since)
    )


def mark(
    project: Project, ids: list[str], by: str, *, allow_todo: bool = False
) -> list[tuple[Stamp, int]]:
    """Stamp the entries ``ids`` (all when empty) reviewed today by ``by``, in the catalog
    file; each stamp with the number of placeholders its entry still has (``allow_todo``).

    Raises:
        MigdocsError: an unknown id, an entry with placeholders (without ``allow_todo``),
            or a catalog that cannot be written; nothing is written then.
    """
    new = stamps(project, ids, by, allow_todo=allow_todo)
    stamp_catalog(project.loaded.path, new)
    left = placeholders(project) if allow_todo else {}
    return [(stamp, len(left.get(stamp.migration, []))) for stamp in new]


def due(findings: list[Finding]) -> dict[str, list[Finding]]:
    """The review findings by migration, in catalog order (as the findings come)."""
    result: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.code in DUE_CODES and finding.migration is not None:
            result.setdefault(finding.migration, []).append(finding)
    return result


def checklist(project: Project, findings: list[Finding]) -> str:
    """A Markdown checklist for the review meeting (an issue or pull-request body)."""
    items = due(findings)
    every = project.catalog.review.every_days
    name = project.catalog.project.name
    lines = [
        f"## Documentation review of {name}: {today().isoformat()}",
        "",
        f"{len(items)} of {len(project.entries)} migrations are due "
        f"(reviews expire after {every} days).",
        "",
    ]
    for entry in project.entries:
        if entry.id not in items:
            continue
        migration = entry.migration
        reasons = "; ".join(f"{f.code} {f.message}" for f in items[entry.id])
        lines.append(f"- [ ] **{entry.id}**: {migration.title} ({reasons})")
        files = [f"`{project.display(entry.forward_path)}`"]
        if entry.rollback_path is not None:
            files.append(f"`{project.display(entry.rollback_path)}`")
        lines.append(f"  - files: {', '.join(files)}")
        rollback = migration.rollback
        if rollback is not None and rollback.file is not None and rollback.risk is not None:
            impact = ", ".join(i.value for i in rollback.impact or []) or "none"
            lines.append(f"  - rollback: risk {rollback.risk.value}, impact {impact}")
        lines.append("  - [ ] purpose, changes and features still true")
        lines.append("  - [ ] rollback summary, risk and impact still true")
    if not items:
        lines.append("Nothing is due.")
    else:
        ids = " ".join(entry.id for entry in project.entries if entry.id in items)
        lines += [
            "",
            "When an entry is reviewed, stamp it:",
            "",
            "```console",
            f"$ migdocs review --mark {ids} --by NAME",
            "```",
        ]
    return "\n".join(lines) + "\n"


def placeholders(project: Project) -> dict[str, list[Finding]]:
    """The MG604 findings of each entry that has any, by migration id, in catalog order."""
    result: dict[str, list[Finding]] = {}
    for finding in Placeholder().check(StaticContext(project)):
        if finding.migration is not None:
            result.setdefault(finding.migration, []).append(finding)
    return result


def stamps(project: Project, ids: list[str], by: str, *, allow_todo: bool = False) -> list[Stamp]:
    """Stamps for the entries ``ids`` (all when empty), dated today, with their digest.

    Raises:
        MigdocsError: naming each id the catalog does not have; or, unless ``allow_todo``,
            each placeholder (MG604) of the chosen entries, at its catalog line.
    """
    known = {entry.id: entry for entry in project.entries}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise MigdocsError(
            f"{project.catalog_display}: no migration with id "
            + ", ".join(repr(i) for i in unknown)
        )
    chosen: list[Entry] = [known[i] for i in dict.fromkeys(ids)] if ids else project.entries
    if not allow_todo:
        _refuse_placeholders(project, chosen)
    date = today().isoformat()
    return [Stamp(entry.id, date, by, project.review_digest(entry)) for entry in chosen]


def _refuse_placeholders(project: Project, chosen: list[Entry]) -> None:
    """Raise when one of the ``chosen`` entries still has a placeholder, naming each one.

    Raises:
        MigdocsError: one line per placeholder (``catalog.yaml:31: <id>: `purpose` is a
            placeholder (MG604)``), then what to do.
    """
    found = placeholders(project)
    refused = [entry for entry in chosen if entry.id in found]
    if not refused:
        return
    count = f"{len(refused)} entr{'y' if len(refused) == 1 else 'ies'}"
    lines = [f"nothing stamped: {count} still with placeholders (MG604)"]
    for entry in refused:
        for finding in found[entry.id]:
            where = f"{finding.file}:{finding.line}" if finding.line else f"{finding.file}"
            lines.append(f"{where}: {entry.id}: {finding.message} ({finding.code})")
    lines.append("write those texts, then stamp; or stamp anyway with --allow-todo")
    raise MigdocsError("\n".join(lines))


def stamp_catalog(path: Path, new_stamps: list[Stamp]) -> None:
    """Write the stamps into the catalog file, changing nothing else in it.

    Raises:
        MigdocsError: when the file cannot be read, edited or written, is read-only or not
            a regular file, or no longer has an entry to stamp; it is then unchanged.
    """
    writable_target(path)  # refused before waiting for the lock
    with _locked(path) as handle:
        try:
            with open(handle, "rb", closefd=False) as stream:
                data = stream.read(CATALOG_MAX_BYTES + 1)
            if len(data) > CATALOG_MAX_BYTES:  # it grew past the limit since it was loaded
                raise MigdocsError(f"{path}: larger than the catalog size migdocs reads")
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise MigdocsError(f"{path}: cannot read: {error}") from None
        lines = text.splitlines(keepends=True)
        newline = "\r\n" if "\r\n" in text else "\n"
        try:
            document = _positions().load(text)
        except YAMLError as error:
            raise MigdocsError(f"{path}: {error}") from None
        migrations = document.get("migrations") if isinstance(document, CommentedMap) else None
        if not isinstance(migrations, CommentedSeq):
            raise MigdocsError(f"{path}: no migrations list to stamp")
        edits: list[tuple[int, int, list[str]]] = []  # (first line, end line, replacement)
        by_id = {str(item.get("id")): index for index, item in enumerate(migrations)}
        for stamp in new_stamps:
            index = by_id.get(stamp.migration)
            if index is None:  # removed by someone else since this run loaded the catalog
                raise MigdocsError(f"{path}: no migration with id {stamp.migration!r}")
            try:
                edits.append(_edit(lines, migrations, index, migrations[index], stamp, newline))
            except MigdocsError as error:
                raise MigdocsError(f"{path}:{error}") from None
        for first, end, replacement in sorted(edits, reverse=True):
            lines[first:end] = replacement
        replace_file(path, "".join(lines), newline="", validate=_validator(path))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[int]:
    """The catalog, open for reading and locked against other stamping runs until the end.

    The lock is on the file itself, which a stamp replaces: a run that waited on the old
    file gets it once the file is already another, so it locks the new one instead.
    """
    while True:
        try:
            handle = os.open(path, os.O_RDONLY)
        except OSError as error:
            raise MigdocsError(f"{path}: cannot read: {error.strerror}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            locked, now = os.fstat(handle), os.stat(path)
            if (locked.st_dev, locked.st_ino) == (now.st_dev, now.st_ino):
                break
        except OSError as error:
            os.close(handle)
            raise MigdocsError(f"{path}: cannot lock: {error.strerror}") from None
        os.close(handle)
    try:
        yield handle
    finally:
        os.close(handle)  # releases the lock


class _TextDates(RoundTripConstructor):
    """ruamel's round-trip constructor, with dates left as text: the catalog is YAML 1.2,
    whose core schema has no timestamps, and only positions are read from this load (a title
    such as ``2025-13-45`` would otherwise fail as a date that does not exist)."""


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", RoundTripConstructor.construct_yaml_str)


def _positions() -> YAML:
    """A round-trip loader that keeps where every key and entry is, for editing the text."""
    yaml = YAML(typ="rt")
    yaml.Constructor = _TextDates
    return yaml


def _validator(path: Path) -> Callable[[Path], None]:
    """A check that a stamped text is still a catalog, before it replaces ``path``."""

    def validate(written: Path) -> None:
        try:
            load_catalog(written, path.name)
        except CatalogError as error:  # pragma: no cover - a bug in the splice
            raise MigdocsError(f"{path}: stamping would break the catalog: {error}") from None

    return validate


def _edit(
    lines: list[str],
    migrations: CommentedSeq,
    index: int,
    entry: CommentedMap,
    stamp: Stamp,
    newline: str,
) -> tuple[int, int, list[str]]:
    """The lines to replace (or the place to insert) for one entry's stamp.

    Raises:
        MigdocsError: when the entry is a flow mapping (``- {id: …, …}``), whose text a new
            line cannot extend.
    """
    if entry.fa.flow_style():
        raise MigdocsError(
            f"{entry.lc.line + 1}: the entry {stamp.migration!r} is written in flow "
            "style ({id: …, …}); to stamp it, write it in block style, one key per line"
        )
    keys = list(entry.keys())
    indent = entry.lc.key(keys[0])[1]
    new_line = " " * indent + f"reviewed: {stamp.flow()}" + newline
    entry_end = _entry_end(lines, migrations, index)
    if "reviewed" in entry:
        first = entry.lc.key("reviewed")[0]
        position = keys.index("reviewed")
        end = entry.lc.key(keys[position + 1])[0] if position + 1 < len(keys) else entry_end
        end = _trim_back(lines, first + 1, end)
        comment = _trailing_comment(lines[first]) if end == first + 1 else ""
        if comment:
            new_line = new_line.rstrip("\r\n") + "  " + comment + newline
        return first, end, [new_line]
    at = _trim_back(lines, entry.lc.line + 1, entry_end)
    if at > 0 and not lines[at - 1].endswith(("\n", "\r")):
        lines[at - 1] += newline
    return at, at, [new_line]


def _entry_end(lines: list[str], migrations: CommentedSeq, index: int) -> int:
    """The line after the entry's last line (the next entry's dash, or the list's end)."""
    if index + 1 < len(migrations):
        return int(migrations.lc.item(index + 1)[0])
    # The last entry runs to the next line indented no more than the list's dash.
    dash_column = migrations.lc.item(index)[1] - 2 if migrations.lc.item(index)[1] >= 2 else 0
    start = int(migrations.lc.item(index)[0]) + 1
    for number in range(start, len(lines)):
        line = lines[number]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            column = len(line) - len(line.lstrip(" "))
            if column <= dash_column and not stripped.startswith("- "):
                return number
    return len(lines)


def _trim_back(lines: list[str], floor: int, end: int) -> int:
    """Move ``end`` back over blank and comment-only lines (they belong to what follows)."""
    while end > floor and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")):
        end -= 1
    return end


def _trailing_comment(line: str) -> str:
    """A ``# comment`` at the end of a flow-style line, kept when the line is replaced."""
    match = re.search(r"\s#\s.*$", line.rstrip("\r\n"))
    return match.group(0).strip() if match and "}" in line[: match.start() + 1] else ""
