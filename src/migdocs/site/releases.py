"""The release pages: what changed in each release the catalog names with `release:`.

A release is the migrations whose entries name it, in history order. Its place among the
releases is that of its last migration: the navigation and the index list the newest first.
A release need not be contiguous (a hotfix tagged between two migrations of the next
release): its page lists its own migrations, and its rollback order every migration from
its last back to its first, the other releases' ones included and marked, since PostgreSQL
has to undo them in that order all the same.

Each page says, for whoever upgrades or rolls back:

- the release's migrations, with their rollback risk and proof;
- the schema difference across it: what its migrations create and drop, net (made and
  dropped again within the release is neither; dropped and made again is *remade*), as the
  catalog declares them, grouped by kind; a new table's own columns and constraints come
  with it. Each migration's page shows whether the SQL and replay agree;
- its highest rollback risk, *no rollback* above every risk;
- the rollback order, newest first, stopping where a migration has no rollback.

A long release lists ``PAGE_ROWS`` rows per table, so no page grows with the history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from migdocs.objects import CATALOG_KEYS, ObjectKind, ObjectRef
from migdocs.site.escape import inline, url
from migdocs.site.fragments import Cell, Link, Literal, Text
from migdocs.site.proof import NO_ROLLBACK, badge

if TYPE_CHECKING:
    from migdocs.project import Entry
    from migdocs.site.proof import Proof

#: Rows of one table of a release page: its three tables of this many rows keep the page
#: under the site's 150 kB, whatever the release's length.
PAGE_ROWS = 100
#: Rollback states from the worst: *no rollback* above every risk, an undeclared risk last.
WORST_FIRST = (NO_ROLLBACK, "critical", "high", "medium", "low", "?")
#: The order kinds are listed in, as the catalog's `creates` lists them.
_KIND_ORDER = {kinds[0]: number for number, kinds in enumerate(CATALOG_KEYS.values())}
#: What declaring a table covers when the same release creates it.
_OWN_PARTS = (ObjectKind.COLUMN, ObjectKind.CONSTRAINT)


@dataclass(frozen=True)
class Release:
    """One release: its name and its migrations' positions in the history, in order."""

    name: str
    positions: tuple[int, ...]

    @property
    def stem(self) -> str:
        """Its page's file name without `.md`: its name, but where MkDocs would take the
        page for the folder's index (`index`, `README`), or the name starts with `_`, an `_`
        before it (one name, one page)."""
        special = self.name.startswith("_") or self.name.lower() in ("index", "readme")
        return f"_{self.name}" if special else self.name

    @property
    def uri(self) -> str:
        """Its page, under the site's prefix."""
        return f"releases/{self.stem}.md"


@dataclass(frozen=True)
class ReleaseChange:
    """One object of a release's schema difference."""

    verb: str  # "creates", "drops" or "remakes"
    ref: ObjectRef
    position: int  # the migration that settles it


def releases(entries: list[Entry]) -> list[Release]:
    """The releases the entries name, newest first (by their last migration)."""
    found: dict[str, list[int]] = {}
    for position, entry in enumerate(entries):
        name = entry.migration.release
        if name is not None:
            found.setdefault(name, []).append(position)
    ordered = sorted(found.items(), key=lambda item: item[1][-1], reverse=True)
    return [Release(name, tuple(positions)) for name, positions in ordered]


def net_changes(
    declared: list[tuple[int, list[ObjectRef], list[ObjectRef]]],
) -> list[ReleaseChange]:
    """The schema difference across migrations given as ``(position, creates, drops)`` in
    history order: each object once, by what the last migration that touched it did."""
    state: dict[str, ReleaseChange] = {}
    for position, creates, drops in declared:
        for ref in drops:
            before = state.pop(ref.key, None)
            if before is None or before.verb != "creates":
                state[ref.key] = ReleaseChange("drops", ref, position)
            if ref.kind in (ObjectKind.TABLE, ObjectKind.VIEW, ObjectKind.MATVIEW):
                for key in [key for key, c in state.items() if _on(c.ref, ref)]:
                    if state[key].verb != "drops":  # made and gone within the release
                        del state[key]
        for ref in creates:
            before = state.pop(ref.key, None)
            verb = "remakes" if before is not None and before.verb == "drops" else "creates"
            state[ref.key] = ReleaseChange(verb, ref, position)
    tables = {c.ref.key for c in state.values() if c.verb == "creates"}
    changes = [
        change
        for change in state.values()
        if not (
            change.verb == "creates"
            and change.ref.kind in _OWN_PARTS
            and change.ref.parent is not None
            and change.ref.parent.key in tables
        )
    ]
    return sorted(
        changes,
        key=lambda c: (_KIND_ORDER.get(c.ref.kind, len(_KIND_ORDER)), c.ref.declared, c.verb),
    )


def _on(child: ObjectRef, relation: ObjectRef) -> bool:
    parent = child.parent
    return (
        parent is not None
        and parent.schema == relation.schema
        and parent.name == relation.name
        and child is not relation
    )


def highest_risk(states: list[str]) -> str:
    """The worst of rollback states (``Proof.rollback``): *no rollback*, then the risks."""
    return min(states, key=WORST_FIRST.index) if states else "?"


@dataclass
class ReleaseNotes:
    """The release pages of a site.

    Attributes:
        entries: The history, in order.
        proofs: Each migration's proof, by id.
        declared: What an entry declares under ``creates`` or ``drops``.
        uri_of: The schema reference page of an object, relative to the prefix.
        table: Makes the marker of a table fragment.
        render: Renders a template.
    """

    entries: list[Entry]
    proofs: dict[str, Proof]
    declared: Callable[[Entry, str], list[ObjectRef]]
    uri_of: Callable[[ObjectRef], str | None]
    table: Callable[[tuple[str, ...], list[tuple[Cell, ...]]], str]
    render: Callable[..., str]

    def __post_init__(self) -> None:
        #: The releases, newest first.
        self.items = releases(self.entries)

    def pages(self) -> dict[str, str]:
        """The index and one page per release, by path relative to the prefix (none when
        no entry names a release)."""
        if not self.items:
            return {}
        pages = {"releases.md": self.index()}
        for release in self.items:
            pages[release.uri] = self.page(release)
        return pages

    def index(self) -> str:
        rows: list[tuple[Cell, ...]] = []
        for release in self.items:
            first = self.entries[release.positions[0]].migration.date
            last = self.entries[release.positions[-1]].migration.date
            states = [self.proofs[self.entries[p].id].rollback for p in release.positions]
            rows.append(
                (
                    Link(Text(release.name), f"releases/{url(release.stem)}.md"),
                    Text(str(len(release.positions))),
                    Text(first.isoformat() if first == last else f"{first} – {last}"),
                    self._state(highest_risk(states)),
                )
            )
        return self.render(
            "release.md.j2",
            release=None,
            table=self.table(("release", "migrations", "dates", "highest rollback risk"), rows),
        )

    def page(self, release: Release) -> str:
        positions = release.positions
        entries = [self.entries[p] for p in positions]
        states = [self.proofs[entry.id].rollback for entry in entries]
        highest = highest_risk(states)
        counted = Counter(states)
        risks = self.table(
            ("rollback risk", "migrations"),
            [
                (self._state(state), Text(str(counted[state])))
                for state in WORST_FIRST
                if counted[state]
            ],
        )
        migrations = self.table(
            ("date", "migration", "rollback risk", "proof"),
            [
                (
                    Text(entry.migration.date.isoformat()),
                    self._migration(entry),
                    self._state(self.proofs[entry.id].rollback),
                    badge(self.proofs[entry.id].level),
                )
                for entry in entries[:PAGE_ROWS]
            ],
        )
        changes = net_changes(
            [
                (
                    p,
                    self.declared(self.entries[p], "creates"),
                    self.declared(self.entries[p], "drops"),
                )
                for p in positions
            ]
        )
        difference = self.table(
            ("", "object", "by"),
            [
                (
                    Text(change.verb),
                    self._object(change.ref),
                    self._migration(self.entries[change.position]),
                )
                for change in changes[:PAGE_ROWS]
            ],
        )
        order, others, stop = self._rollback_order(release)
        return self.render(
            "release.md.j2",
            release=release,
            count=len(positions),
            first=entries[0].migration.date.isoformat(),
            last=entries[-1].migration.date.isoformat(),
            highest=highest,
            no_rollback=NO_ROLLBACK,
            undeclared=counted["?"],
            risks=risks,
            migrations=migrations,
            migrations_more=max(0, len(entries) - PAGE_ROWS),
            difference=difference if changes else "",
            difference_more=max(0, len(changes) - PAGE_ROWS),
            order=order,
            order_more=max(0, positions[-1] - positions[0] + 1 - PAGE_ROWS),
            others=others,
            stop=stop,
        )

    def _rollback_order(self, release: Release) -> tuple[str, int, dict[str, Any] | None]:
        """The rollback order's table (newest first, from the release's last migration back
        to its first), how many other releases' migrations it holds, and the first step that
        has no rollback (where rolling back stops)."""
        own = set(release.positions)
        rows: list[tuple[Cell, ...]] = []
        others = 0
        stop = None
        span = range(release.positions[-1], release.positions[0] - 1, -1)
        for step, position in enumerate(span, 1):
            entry = self.entries[position]
            state = self.proofs[entry.id].rollback
            if position not in own:
                others += 1
            if state == NO_ROLLBACK and stop is None:
                stop = {"step": step, "id": entry.id, "title": entry.migration.title}
            if step > PAGE_ROWS:
                continue
            rollback = entry.migration.rollback
            script: Cell = (
                Literal(rollback.file) if rollback is not None and rollback.file else badge(state)
            )
            release_cell = (
                Text("this release")
                if position in own
                else Text(entry.migration.release or "no release")
            )
            rows.append(
                (
                    Text(str(step)),
                    self._migration(entry),
                    release_cell,
                    script,
                    self._state(state),
                    badge(self.proofs[entry.id].level),
                )
            )
        header = ("step", "migration", "release", "rollback script", "risk", "proof")
        return self.table(header, rows), others, stop

    def _migration(self, entry: Entry) -> Link:
        return Link(inline(entry.migration.title), f"../migrations/{url(entry.id)}.md")

    def _object(self, ref: ObjectRef) -> Cell:
        page = self.uri_of(ref)
        name = Literal(ref.declared)
        return (Text(f"{ref.kind.value} "), Link(name, f"../{page}") if page else name)

    @staticmethod
    def _state(state: str) -> Cell:
        return badge(NO_ROLLBACK) if state == NO_ROLLBACK else Text(state)
