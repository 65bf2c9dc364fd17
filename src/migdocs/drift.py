"""Drift: a live database against the schema its migrations build, explained by migration.

Replay gives the expected schema and, for each of its objects, the migration that made it
(provenance). [compare_live][migdocs.drift.compare_live] reads the live database with the
same snapshot queries and names every difference in terms of that history:

- MG501: an object the migrations make is missing;
- MG502: the database has an object no migration makes (or one a migration drops);
- MG503: an object exists with another definition (its owner too: what replay's role owns
  because it ran the migrations is expected to belong to the role that ran them on the
  live database, the owner of most of what they made there);
- MG504: a migration is only partly applied.

Each migration gets a state, and its state and its findings agree: ``partial`` (MG504) is a
migration that may have stopped halfway — the last one of which something is there, or,
with a ledger, one the ledger does not list — with only some of what it makes there (and
what it drops gone); ``pending`` is one that did not run, of which nothing is there;
``applied`` is one that ran. Missing objects of a migration that ran and finished (an
earlier one, or one the ledger lists) were dropped by hand since: they are MG501, and the
migration is ``applied``, even when none of its objects is left.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from migdocs.checks.registry import rule_by_code
from migdocs.objects import GLOBAL_KINDS, ObjectRef
from migdocs.pg import Change, Difference, Snapshot, diff
from migdocs.pg.diff import describe_change
from migdocs.project import Entry, Project
from migdocs.replay import ReplayResult
from migdocs.report.finding import Finding


def _finding(code: str, message: str, **where: Any) -> Finding:
    """A finding of the live rule ``code`` (documented in ``checks/live.py``)."""
    rule = rule_by_code(code)
    if rule is None:  # pragma: no cover - the registry lists every MG5xx rule
        raise LookupError(code)
    return rule.finding(message, **where)


@dataclass
class LiveSection:
    """What the audit of one live database found (one item of the JSON report's ``live``).

    Attributes:
        database: The database's URL, redacted.
        server: Its server's version, e.g. ``PostgreSQL 15.19``.
        states: Each migration's state, in catalog order.
        findings: MG5xx findings (default severities), each naming ``database``.
    """

    database: str
    server: str
    states: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The contract's shape."""
        return {
            "database": self.database,
            "server": self.server,
            "migrations": [{"migration": m, "state": state} for m, state in self.states],
        }


def ignored(ref: ObjectRef, patterns: Iterable[str]) -> bool:
    """Whether a ``live.ignore`` glob matches the object (``schema.name``, ``kind:schema.name``,
    and for a table's part, also its table's name)."""
    names = [ref.qualified, ref.key]
    if ref.parent is not None:
        names.append(ref.parent.qualified)
    if ref.kind.value == "schema":
        names.append(ref.name + ".")  # "tool.*" ignores the schema with all it holds
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names)


def scoped(
    snapshot: Snapshot, schemas: Iterable[str] | None, patterns: list[str], skip: set[str]
) -> Snapshot:
    """The part of a snapshot the audit looks at: its schemas, without ignored objects.

    Its objects stay as they were read (no state is made to decide what is kept).
    """
    wanted = set(schemas) if schemas is not None else None
    if wanted is None and not patterns and not skip:
        return snapshot
    kept = []
    for key in snapshot.key_set():
        ref = snapshot.ref(key)
        if ref.kind in GLOBAL_KINDS:
            if wanted is not None and ref.kind.value == "schema" and ref.name not in wanted:
                continue
        elif wanted is not None and ref.schema not in wanted:
            continue
        if ref.schema in skip or (ref.kind.value == "schema" and ref.name in skip):
            continue
        if ignored(ref, patterns):
            continue
        kept.append(key)
    return snapshot.subset(kept)


def compare_live(
    project: Project,
    replay: ReplayResult,
    live: Snapshot,
    *,
    database: str,
    server: str,
    skip_schemas: Iterable[str] = (),
    skip_objects: Iterable[str] = (),
    ledger_applied: set[str] | None = None,
) -> LiveSection:
    """Compare a live database's snapshot with what replay built.

    Args:
        project: The project.
        replay: The replay's result (expected schema, provenance, per-migration changes).
        live: The live database's snapshot.
        database: The redacted URL that names the database in findings.
        server: The live server's version.
        skip_schemas: Schemas that belong to a migration runner (``drizzle``).
        skip_objects: Qualified names of tables that are never drift (a ledger's table).
        ledger_applied: Migration ids the ledger records as applied, if there is a ledger.
    """
    settings = project.catalog.live
    patterns = [*settings.ignore, *skip_objects]
    skip = set(skip_schemas)
    expected = scoped(replay.schema, settings.schemas, patterns, skip)
    actual = scoped(live, settings.schemas, patterns, skip)
    expected, actual = _without_platform(expected, actual, replay)
    section = LiveSection(database, server)
    made_by = replay.provenance
    expected = _as_migrated_here(expected, actual, replay)
    dropped_by: dict[str, str] = {}
    # Objects a migration changed but did not make (a column it retypes): that they exist
    # says nothing; that they are as it left them says it ran.
    altered_by: dict[str, str] = {}
    altered_from: dict[str, Snapshot] = {}
    for result in replay.migrations:
        for key in result.removed:
            dropped_by[key] = result.migration
        for key in result.added:
            dropped_by.pop(key, None)
            altered_by.pop(key, None)
        for key in result.changed:
            altered_by[key] = result.migration
            if result.changed_from is not None:
                altered_from[key] = result.changed_from

    # What each migration should have left: its objects there, what it drops gone.
    own: dict[str, list[str]] = {}
    for key in expected.key_set():
        if key in made_by:
            own.setdefault(made_by[key], []).append(key)
    gone: dict[str, list[str]] = {}
    for key, dropper in dropped_by.items():
        if key not in expected:
            gone.setdefault(dropper, []).append(key)

    def _as_left(key: str, migration: str) -> bool:
        """Whether the live database holds ``key`` as ``migration`` left it: there, and, for
        an object it changed, not still as it was before (changed since by hand is MG503)."""
        if key not in actual:
            return False
        if altered_by.get(key) != migration or expected.unchanged(key, actual):
            return True
        before = altered_from.get(key)
        return before is None or key not in before or not before.unchanged(key, actual)

    present: dict[str, tuple[int, int]] = {}
    for entry in project.entries:
        keys = own.get(entry.id, [])
        dropped = [key for key in gone.get(entry.id, []) if not ignored_key(key, patterns)]
        # A dropped object that is gone says the migration ran only where what held it is
        # there (a constraint is also "gone" from a database without its table).
        still_there = [key for key in dropped if key in actual]
        evidence = [
            key
            for key in dropped
            if key not in actual and (parent := _parent_key(key, replay)) and parent in actual
        ]
        holds = sum(_as_left(key, entry.id) for key in keys) + len(evidence)
        present[entry.id] = (holds, len(keys) + len(evidence) + len(still_there))
    states: dict[str, str] = {}
    for entry in project.entries:
        holds, total = present[entry.id]
        if total == 0:
            states[entry.id] = "unknown"
        elif holds == total:
            states[entry.id] = "applied"
        elif holds == 0:
            states[entry.id] = "pending"
        else:
            states[entry.id] = "partial"
    if ledger_applied is not None:
        frontier = max((e.index for e in project.entries if e.id in ledger_applied), default=-1)
    else:
        frontier = max(
            (e.index for e in project.entries if states[e.id] in ("applied", "partial")),
            default=-1,
        )
    # A migration with nothing of its own left to see takes the state of its place in the
    # history: applied before the frontier, pending after it.
    for entry in project.entries:
        if states[entry.id] == "unknown":
            states[entry.id] = "applied" if entry.index <= frontier else "pending"

    def ran(entry: Entry) -> bool:
        """Whether the migration ran: the ledger lists it, or (without a ledger) it is not
        after the last migration of which something is there."""
        if ledger_applied is not None:
            return entry.id in ledger_applied
        return entry.index <= frontier

    # Only a migration that may still be running or have stopped halfway is partly applied
    # (MG504): the last one applied, or one the ledger does not list. One that ran, and
    # finished, is applied: what of it is missing was dropped by hand since (MG501), what
    # it drops and is there again was made by hand (MG502). One that did not run, of which
    # nothing is there, is pending, and its objects are not drift.
    half_done: set[str] = set()
    for entry in project.entries:
        state = states[entry.id]
        if state == "partial" and (
            entry.index == frontier if ledger_applied is None else not ran(entry)
        ):
            half_done.add(entry.id)
        elif state == "partial" or (state == "pending" and ran(entry)):
            states[entry.id] = "applied"
    pending_tail = {entry.id for entry in project.entries if states[entry.id] == "pending"}
    section.states = [(entry.id, states[entry.id]) for entry in project.entries]

    for entry in project.entries:
        if entry.id in half_done:
            missing = [key for key in own.get(entry.id, []) if key not in actual]
            keys = own.get(entry.id, [])
            unaltered = [key for key in keys if key in actual and not _as_left(key, entry.id)]
            left = [key for key in gone.get(entry.id, []) if key in actual]
            parts = []
            if missing:
                parts.append("missing " + ", ".join(_outermost_names(missing, expected)))
            if unaltered:
                parts.append("not changed yet " + ", ".join(_names(unaltered, actual)))
            if left:
                parts.append("still present " + ", ".join(_names(left, actual)))
            section.findings.append(
                _finding(
                    "MG504",
                    f"the migration is only partly applied: {'; '.join(parts)}",
                    migration=entry.id,
                    file=project.display(entry.forward_path),
                    database=database,
                )
            )

    for difference in diff(expected, actual):
        key = difference.ref.key
        if difference.change is Change.REMOVED:
            owner = made_by.get(key) or _owner_migration(difference.ref, made_by)
            if owner in half_done or owner in pending_tail:
                continue
            section.findings.append(
                _finding(
                    "MG501",
                    f"{_name(difference)} is missing{_by(owner, 'made by')}",
                    migration=owner,
                    database=database,
                )
            )
        elif difference.change is Change.ADDED:
            owner = dropped_by.get(key)
            if owner in half_done:
                continue
            message: str | None
            if owner is not None:
                message = (
                    f"{_name(difference)} exists, but migration {owner} drops it"
                    if owner not in pending_tail
                    else None
                )
            else:
                message = f"{_name(difference)} exists, but no migration makes it"
            if message is None:
                continue
            section.findings.append(_finding("MG502", message, migration=owner, database=database))
        else:
            owner = made_by.get(key) or _owner_migration(difference.ref, made_by)
            if owner is not None and altered_by.get(key) == owner and owner in pending_tail:
                continue  # the change a pending migration makes: not made yet, not drift
            if owner in half_done and not _as_left(key, owner):
                continue  # said by MG504
            change = describe_change(difference.attribute, difference.before, difference.after)
            section.findings.append(
                _finding(
                    "MG503",
                    f"{_name(difference)}: {difference.attribute} {change} "
                    f"(migrations → live){_by(owner, 'last changed by')}",
                    migration=owner,
                    database=database,
                )
            )
    return section


def migrating_role(
    expected: Snapshot, actual: Snapshot, replay: ReplayResult, keys: list[str] | None = None
) -> str | None:
    """The role that ran the migrations on the live database: the one that owns most of
    what the migrations made there without naming an owner (what replay's own role owns;
    ``keys``, when the caller has them already).

    A tie goes to replay's role, then to the first name; ``None`` when none of those
    objects is in the live database.
    """
    votes: Counter[str] = Counter()
    for key in _owned_by_whoever_migrates(expected, replay) if keys is None else keys:
        if key in actual and isinstance(owner := actual.attribute(key, "owner"), str):
            votes[owner] += 1
    if not votes:
        return None
    return min(votes, key=lambda role: (-votes[role], role != replay.role, role))


def _owned_by_whoever_migrates(expected: Snapshot, replay: ReplayResult) -> list[str]:
    """What the migrations made that replay's role owns because it ran them: not what a
    migration gave to that role by name, not what ``replay.setup`` made (production has
    it from someone else)."""
    made = {ref.key for result in replay.migrations for ref in result.added_refs}
    return [
        key
        for key in sorted(made)
        if key in expected
        and expected.attribute(key, "owner") == replay.role
        and not replay.owner_named(expected.ref(key))
    ]


def _as_migrated_here(expected: Snapshot, actual: Snapshot, replay: ReplayResult) -> Snapshot:
    """The expected schema as the live database's migrating role would have made it.

    Replay runs as the scratch server's role (``postgres``), production's migrations as
    an application role: what replay's role owns because it ran the migrations is owned
    by the live database's migrating role instead, and so are the owner's own items of
    its ACL. An owner a migration names (``OWNER TO reporting``) stays as it is.
    """
    if not replay.role:
        return expected
    keys = _owned_by_whoever_migrates(expected, replay)
    role = migrating_role(expected, actual, replay, keys)
    if role is not None and role != replay.role:
        expected = expected.owned_by(replay.role, role, keys)
    return _as_the_platform_made_it(expected, actual, replay, keys)


def _as_the_platform_made_it(
    expected: Snapshot, actual: Snapshot, replay: ReplayResult, migrated: list[str]
) -> Snapshot:
    """What replay's role owns only because ``replay.setup`` or the runner's ledger made it
    there — production has those from its platform or its runner, made by whoever made
    them — owned by whoever owns it in the live database: its owner is no drift."""
    made = set(migrated)
    made.update(ref.key for result in replay.migrations for ref in result.added_refs)
    by_owner: dict[str, list[str]] = {}
    for key in expected:
        if key in made or key not in actual or expected.attribute(key, "owner") != replay.role:
            continue
        owner = actual.attribute(key, "owner")
        if isinstance(owner, str) and owner != replay.role:
            by_owner.setdefault(owner, []).append(key)
    for owner, keys in by_owner.items():
        expected = expected.owned_by(replay.role, owner, keys)
    return expected


def _without_platform(
    expected: Snapshot, actual: Snapshot, replay: ReplayResult
) -> tuple[Snapshot, Snapshot]:
    """Both snapshots without the platform's objects: what ``replay.preset`` made, and what
    a live database holds in the preset's schemas that no migration made (a platform's
    newer version of itself: more columns in ``auth.users``, more tables in ``storage``).

    What a migration made, changed or dropped there (a trigger on ``auth.users``, a
    policy on ``storage.objects``) is compared as ever.
    """
    if not replay.platform:
        return expected, actual
    touched = set(replay.provenance)
    touched.update(key for result in replay.migrations for key in result.removed)
    schemas = {
        replay.schema.ref(key).name
        for key in replay.platform
        if key.startswith("schema:") and key in replay.schema
    }

    def platform(snapshot: Snapshot, key: str) -> bool:
        if key in touched:
            return False
        if key in replay.platform:
            return True
        ref = snapshot.ref(key)
        if ref.kind.value == "schema":
            return ref.name in schemas
        if ref.kind.value == "extension":
            return snapshot.attribute(key, "schema") in schemas
        return ref.schema in schemas

    def kept(snapshot: Snapshot) -> Snapshot:
        return snapshot.subset(key for key in snapshot.key_set() if not platform(snapshot, key))

    return kept(expected), kept(actual)


def ignored_key(key: str, patterns: list[str]) -> bool:
    """Whether an object key (``kind:schema.name``) matches an ignore pattern."""
    name = key.partition(":")[2]
    return any(fnmatch.fnmatchcase(text, p) for p in patterns for text in (key, name))


def _parent_key(key: str, replay: ReplayResult) -> str | None:
    """The key of the table a dropped object hung on, from replay's own record of it."""
    ref = replay.dropped_refs.get(key)
    return ref.parent.key if ref is not None and ref.parent is not None else None


def _owner_migration(ref: ObjectRef, made_by: dict[str, str]) -> str | None:
    if ref.parent is not None:
        return made_by.get(ref.parent.key)
    return None


def _name(difference: Difference) -> str:
    return difference.ref.shown


def _by(migration: str | None, verb: str) -> str:
    return f" ({verb} {migration})" if migration else ""


def _names(keys: list[str], snapshot: Snapshot) -> list[str]:
    return [snapshot[key].ref.shown for key in sorted(keys)]


def _outermost_names(keys: list[str], snapshot: Snapshot) -> list[str]:
    """Names of the missing objects, a table's parts left out when the table is missing too."""
    missing = set(keys)
    shown = []
    for key in keys:
        parent = snapshot[key].ref.parent
        if parent is None or parent.key not in missing:
            shown.append(key)
    return _names(shown, snapshot)


def difference_keys(differences: Iterable[Difference]) -> list[str]:
    """The object keys of differences (for tests and the site)."""
    return [difference.ref.key for difference in differences]
