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

from migdocs.checks.live import (
    DefinitionDiffers,
    MissingObject,
    PartlyApplied,
    UntrackedObject,
)
from migdocs.objects import GLOBAL_KINDS, ObjectRef
from migdocs.pg import Change, Difference, Snapshot, diff
from migdocs.pg.diff import describe_change
from migdocs.project import Project
from migdocs.replay import ReplayResult
from migdocs.report.finding import Finding


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

    In three phases: the two schemas as the audit sees them (`_scoped_pair`), each
    migration's state (`_Evidence.states`), then the findings: MG504 for a migration
    stopped halfway, MG501–MG503 for each difference no pending migration explains.

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
    patterns = [*project.catalog.live.ignore, *skip_objects]
    expected, actual = _scoped_pair(project, replay, live, patterns, set(skip_schemas))
    evidence = _Evidence.of(replay, expected, actual)
    states, half_done = evidence.states(project, replay, patterns, ledger_applied)
    section = LiveSection(database, server)
    section.states = [(entry.id, states[entry.id]) for entry in project.entries]
    pending = {migration for migration, state in states.items() if state == "pending"}
    section.findings += evidence.partly_applied(project, half_done, database)
    section.findings += evidence.drift(half_done, pending, database)
    return section


def _scoped_pair(
    project: Project, replay: ReplayResult, live: Snapshot, patterns: list[str], skip: set[str]
) -> tuple[Snapshot, Snapshot]:
    """What replay built and what the live database holds, as the audit compares them: the
    catalog's schemas, without ignored objects, the runner's schemas or the platform's, and
    what replay's role owns given to the live database's migrating role."""
    schemas = project.catalog.live.schemas
    expected = scoped(replay.schema, schemas, patterns, skip)
    actual = scoped(live, schemas, patterns, skip)
    expected, actual = _without_platform(expected, actual, replay)
    return _as_migrated_here(expected, actual, replay), actual


@dataclass
class _Evidence:
    """What each migration should have left in the live database, and who last touched
    each object: the ground on which a migration's state and each difference are judged.

    Attributes:
        made_by: The migration that made each object (replay's provenance).
        dropped_by: The migration that dropped each object, where one did.
        altered_by: The migration that last changed an object it did not make (a column it
            retypes): that it exists says nothing; that it is as it left it says it ran.
        altered_from: The object as it was before that change.
    """

    expected: Snapshot
    actual: Snapshot
    made_by: dict[str, str]
    dropped_by: dict[str, str] = field(default_factory=dict)
    altered_by: dict[str, str] = field(default_factory=dict)
    altered_from: dict[str, Snapshot] = field(default_factory=dict)

    @classmethod
    def of(cls, replay: ReplayResult, expected: Snapshot, actual: Snapshot) -> _Evidence:
        evidence = cls(expected, actual, replay.provenance)
        for result in replay.migrations:
            for key in result.removed:
                evidence.dropped_by[key] = result.migration
            for key in result.added:
                evidence.dropped_by.pop(key, None)
                evidence.altered_by.pop(key, None)
            for key in result.changed:
                evidence.altered_by[key] = result.migration
                if result.changed_from is not None:
                    evidence.altered_from[key] = result.changed_from
        return evidence

    def own(self) -> dict[str, list[str]]:
        """The objects each migration made that should be there."""
        own: dict[str, list[str]] = {}
        for key in self.expected.key_set():
            if key in self.made_by:
                own.setdefault(self.made_by[key], []).append(key)
        return own

    def gone(self) -> dict[str, list[str]]:
        """The objects each migration dropped that should not be there."""
        gone: dict[str, list[str]] = {}
        for key, dropper in self.dropped_by.items():
            if key not in self.expected:
                gone.setdefault(dropper, []).append(key)
        return gone

    def as_left(self, key: str, migration: str) -> bool:
        """Whether the live database holds ``key`` as ``migration`` left it: there, and, for
        an object it changed, not still as it was before (changed since by hand is MG503)."""
        if key not in self.actual:
            return False
        if self.altered_by.get(key) != migration or self.expected.unchanged(key, self.actual):
            return True
        before = self.altered_from.get(key)
        return before is None or key not in before or not before.unchanged(key, self.actual)

    def states(
        self,
        project: Project,
        replay: ReplayResult,
        patterns: list[str],
        ledger_applied: set[str] | None,
    ) -> tuple[dict[str, str], set[str]]:
        """Each migration's state (applied, partial or pending), and the migrations stopped
        halfway: the last one applied, or one the ledger does not list.

        One that ran, and finished, is applied: what of it is missing was dropped by hand
        since (MG501), what it drops and is there again was made by hand (MG502). One that
        did not run, of which nothing is there, is pending, and its objects are not drift.
        """
        own, gone = self.own(), self.gone()
        states: dict[str, str] = {}
        for entry in project.entries:
            keys = own.get(entry.id, [])
            dropped = [key for key in gone.get(entry.id, []) if not ignored_key(key, patterns)]
            # A dropped object that is gone says the migration ran only where what held it
            # is there (a constraint is also "gone" from a database without its table).
            still_there = [key for key in dropped if key in self.actual]
            evidence = [
                key
                for key in dropped
                if key not in self.actual
                and (parent := _parent_key(key, replay))
                and parent in self.actual
            ]
            holds = sum(self.as_left(key, entry.id) for key in keys) + len(evidence)
            states[entry.id] = _state(holds, len(keys) + len(evidence) + len(still_there))
        if ledger_applied is not None:
            applied = [e.index for e in project.entries if e.id in ledger_applied]
        else:
            applied = [e.index for e in project.entries if states[e.id] in ("applied", "partial")]
        frontier = max(applied, default=-1)
        half_done: set[str] = set()
        for entry in project.entries:
            # A migration with nothing of its own left to see takes the state of its place
            # in the history: applied before the frontier, pending after it.
            if states[entry.id] == "unknown":
                states[entry.id] = "applied" if entry.index <= frontier else "pending"
            ran = (
                entry.id in ledger_applied
                if ledger_applied is not None
                else entry.index <= frontier
            )
            state = states[entry.id]
            stopped = entry.index == frontier if ledger_applied is None else not ran
            if state == "partial" and stopped:
                half_done.add(entry.id)
            elif state == "partial" or (state == "pending" and ran):
                states[entry.id] = "applied"
        return states, half_done

    def partly_applied(self, project: Project, half_done: set[str], database: str) -> list[Finding]:
        """MG504 for each migration stopped halfway, with what of it is and is not there."""
        own, gone = self.own(), self.gone()
        findings = []
        for entry in project.entries:
            if entry.id not in half_done:
                continue
            keys = own.get(entry.id, [])
            missing = [key for key in keys if key not in self.actual]
            unaltered = [
                key for key in keys if key in self.actual and not self.as_left(key, entry.id)
            ]
            left = [key for key in gone.get(entry.id, []) if key in self.actual]
            parts = []
            if missing:
                parts.append("missing " + ", ".join(_outermost_names(missing, self.expected)))
            if unaltered:
                parts.append("not changed yet " + ", ".join(_names(unaltered, self.actual)))
            if left:
                parts.append("still present " + ", ".join(_names(left, self.actual)))
            findings.append(
                PartlyApplied.of(
                    parts,
                    migration=entry.id,
                    file=project.display(entry.forward_path),
                    database=database,
                )
            )
        return findings

    def drift(self, half_done: set[str], pending: set[str], database: str) -> list[Finding]:
        """MG501–MG503 for each difference that no pending or half-done migration explains."""
        findings = []
        for difference in diff(self.expected, self.actual):
            key = difference.ref.key
            if difference.change is Change.REMOVED:
                owner = self.made_by.get(key) or _owner_migration(difference.ref, self.made_by)
                if owner in half_done or owner in pending:
                    continue
                findings.append(
                    MissingObject.of(difference.ref.shown, made_by=owner, database=database)
                )
            elif difference.change is Change.ADDED:
                owner = self.dropped_by.get(key)
                if owner in half_done or owner in pending:
                    continue
                findings.append(
                    UntrackedObject.of(difference.ref.shown, dropped_by=owner, database=database)
                )
            else:
                owner = self.made_by.get(key) or _owner_migration(difference.ref, self.made_by)
                if owner is not None and self.altered_by.get(key) == owner and owner in pending:
                    continue  # the change a pending migration makes: not made yet, not drift
                if owner in half_done and not self.as_left(key, owner):
                    continue  # said by MG504
                change = describe_change(difference.attribute, difference.before, difference.after)
                findings.append(
                    DefinitionDiffers.of(
                        difference.ref.shown,
                        str(difference.attribute),
                        change,
                        changed_by=owner,
                        database=database,
                    )
                )
        return findings


def _state(holds: int, total: int) -> str:
    """A migration's state from how much of what it left is there (``unknown``: nothing of
    its own to see)."""
    if total == 0:
        return "unknown"
    if holds == total:
        return "applied"
    return "pending" if holds == 0 else "partial"


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
