"""Schema snapshots: what a PostgreSQL database holds, object by object, as values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, KeysView, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeAlias

from migdocs.objects import ObjectKind, ObjectRef
from migdocs.pg.attributes import SET_ATTRIBUTES
from migdocs.pg.normalize import function_body, squeeze, unqualified
from migdocs.pg.queries import LAYOUTS, Layout

__all__ = [
    "CAPTURE_SCHEMA",
    "AttrValue",
    "ObjectId",
    "ObjectState",
    "Row",
    "Snapshot",
    "Touched",
]


#: One attribute's value: text, a flag, a number, nothing, or a list of texts.
AttrValue: TypeAlias = str | bool | int | tuple[str, ...] | None

#: The private schema of migdocs' own objects in a scratch database; never in a snapshot.
CAPTURE_SCHEMA = "migdocs_capture"

#: A row of a catalog query, as it arrived: ``queries.META``, then the attributes.
Row: TypeAlias = tuple[Any, ...]


class ObjectId(NamedTuple):
    """A catalog row: the system catalog it lives in (``pg_class``…) and its oid."""

    catalog: str
    oid: int


@dataclass(frozen=True, slots=True)
class ObjectState:
    """One object of a snapshot: what it is and how it is defined.

    Attributes:
        ref: The object.
        attrs: Its definition, attribute by attribute (``type``, ``default``, ``owner``…),
            normalized so that equal definitions compare equal on any server version.
    """

    ref: ObjectRef
    attrs: dict[str, AttrValue]


@dataclass(frozen=True, slots=True)
class Touched:
    """Catalog rows that DDL created, changed or dropped: what a partial read re-reads.

    Attributes:
        objects: Every touched row (dropped ones included).
        altered: Those among them that were altered (renamed, moved…): objects that refer
            to them are re-read too, since their definitions name them.
    """

    objects: frozenset[ObjectId] = frozenset()
    altered: frozenset[ObjectId] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.objects)

    def __or__(self, other: Touched) -> Touched:
        return Touched(self.objects | other.objects, self.altered | other.altered)


class _Index(NamedTuple):
    """Where a snapshot's states come from, for patching: the keys each scope holds (a
    table: its columns, indexes…) and the key of each object's own row."""

    by_scope: dict[ObjectId, tuple[str, ...]]
    by_own: dict[ObjectId, str]


class Snapshot(Mapping[str, ObjectState]):
    """A database's schema: an immutable mapping from [ObjectRef.key][] to [ObjectState][].

    Read one with [read_snapshot][migdocs.pg.reader.read_snapshot]; compare two with
    [diff][migdocs.pg.diff.diff]. Iteration is in key order.

    A read keeps each object as the row the server sent, and makes its state when it is
    first looked up: comparing two snapshots compares rows first, so objects that did not
    change are never made.
    """

    __slots__ = ("_cache", "_entries", "_index", "_order", "covered", "selection")

    def __init__(self, states: Iterable[ObjectState] = ()) -> None:
        """A complete snapshot of the given states (tests build expected ones this way)."""
        self._entries: dict[str, Row | ObjectState] = {state.ref.key: state for state in states}
        self._cache: dict[str, ObjectState] = {}
        self._index: _Index | None = None
        self._order: list[str] | None = None
        self.selection: Touched | None = None
        """For a partial snapshot, what it was asked to re-read; ``None`` for a full one."""
        self.covered: frozenset[ObjectId] = frozenset()
        """For a partial snapshot, the scopes (tables, types…) it re-read entirely."""

    @classmethod
    def from_rows(
        cls,
        rows: dict[str, Row | ObjectState],
        selection: Touched | None = None,
        covered: frozenset[ObjectId] = frozenset(),
    ) -> Snapshot:
        """A snapshot of the rows a read fetched (or states), by key; with ``selection``, a
        partial one that re-read the scopes ``covered``."""
        snapshot = cls()
        snapshot._entries = rows
        snapshot.selection = selection
        snapshot.covered = covered
        return snapshot

    def __getitem__(self, key: str) -> ObjectState:
        entry = self._entries[key]
        if type(entry) is not tuple:
            return entry  # type: ignore[return-value]
        state = self._cache.get(key)
        if state is None:
            state = self._cache[key] = _state(entry)
        return state

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        if self._order is None:
            self._order = sorted(self._entries)
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Snapshot):
            return self._entries.keys() == other._entries.keys() and all(
                self.unchanged(key, other) for key in self._entries
            )
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        partial = ", partial" if self.partial else ""
        return f"<Snapshot of {len(self)} objects{partial}>"

    def key_set(self) -> KeysView[str]:
        """The keys as a set view, unordered (set operations on it run at C speed)."""
        return self._entries.keys()

    def ref(self, key: str) -> ObjectRef:
        """The object of ``key``, without making its state.

        Raises:
            KeyError: when the snapshot has no such object.
        """
        entry = self._entries[key]
        if type(entry) is not tuple:
            return entry.ref  # type: ignore[union-attr]
        return _ref(entry, LAYOUTS[entry[3]])

    def unchanged(self, key: str, other: Snapshot) -> bool:
        """Whether the object of ``key`` has the same state here and in ``other``.

        Rows that arrived alike are alike without making their states.

        Raises:
            KeyError: when either snapshot has no such object.
        """
        mine = self._entries[key]
        theirs = other._entries[key]
        if mine is theirs:
            return True
        # Past the oids (which differ between databases), a row is its state's source.
        if type(mine) is tuple and type(theirs) is tuple and mine[3:] == theirs[3:]:
            return True
        return self[key] == other[key]

    def subset(self, keys: Iterable[str]) -> Snapshot:
        """A complete snapshot of the objects of ``keys`` that this one holds."""
        entries = self._entries
        return Snapshot.from_rows({key: entries[key] for key in keys if key in entries})

    def attribute(self, key: str, name: str) -> AttrValue:
        """One attribute of the object of ``key`` as read, without making its state (a list
        as a tuple, in the order it arrived); ``None`` when the object has no such attribute.

        Raises:
            KeyError: when the snapshot has no such object.
        """
        entry = self._entries[key]
        if type(entry) is not tuple:
            return entry.attrs.get(name)  # type: ignore[union-attr]
        position = _POSITIONS[entry[3]].get(name)
        if position is None:
            return None
        value = entry[position]
        return tuple(value) if isinstance(value, list) else value

    def owned_by(self, role: str, owner: str, keys: Iterable[str]) -> Snapshot:
        """This snapshot with the objects of ``keys`` that ``role`` owns owned by ``owner``.

        Their ``owner``, and the items of their own ACLs that name ``role`` — which are the
        owner's (``revoked``: what the owner took away from itself; ``grants``; the
        ``grants`` of a table's columns) — name ``owner`` instead. Everything else is kept
        as it was: an object another role owns, and any other mention of ``role``.
        """
        entries = dict(self._entries)
        tables: set[str] = set()
        for key in keys:
            entry = entries.get(key)
            if entry is None or self.attribute(key, "owner") != role:
                continue
            entries[key] = _renamed(entry, role, owner, ("owner", "grants", "revoked"))
            if self.ref(key).kind is ObjectKind.TABLE:
                tables.add(key)
        if tables:
            for key, entry in self._entries.items():
                if self.attribute(key, "grants") is None:
                    continue  # only columns and owned objects have grants; most have none
                ref = self.ref(key)
                if ref.kind is ObjectKind.COLUMN and ref.parent and ref.parent.key in tables:
                    entries[key] = _renamed(entry, role, owner, ("grants",))
        return Snapshot.from_rows(entries)

    @property
    def partial(self) -> bool:
        """Whether this holds only what a read with ``only=`` re-read."""
        return self.selection is not None

    def patched(self, partial: Snapshot) -> Snapshot:
        """This snapshot, brought up to date with a partial one read after it.

        Every object within what ``partial`` re-read is replaced by its new state, and
        every touched object that no longer exists is gone; the rest is kept as it was.
        It costs what ``partial`` holds, plus copying this snapshot's tables of keys.

        Raises:
            ValueError: when ``partial`` is not a partial snapshot.
        """
        if partial.selection is None:
            raise ValueError("patched() needs a snapshot read with only=…")
        index = self._indexed()
        entries = dict(self._entries)
        by_scope = dict(index.by_scope)
        by_own = dict(index.by_own)

        def drop(key: str) -> None:
            entry = entries.pop(key)
            if type(entry) is tuple and (own := LAYOUTS[entry[3]].own) is not None:
                row = ObjectId(own, entry[2])
                if by_own.get(row) == key:
                    del by_own[row]

        touched = partial.selection.objects
        for scope in partial.covered | touched:
            for key in by_scope.pop(scope, ()):
                entry = entries.get(key)
                if type(entry) is tuple and (LAYOUTS[entry[3]].scope, entry[1]) == scope:
                    drop(key)
        for own in touched:
            if (gone := by_own.get(own)) is not None and gone in entries:
                drop(gone)  # its scope's list keeps the key: entries are checked when used
        for key, entry in partial._entries.items():
            if key in entries:
                drop(key)
            entries[key] = entry
        fresh = partial._indexed()
        by_own.update(fresh.by_own)
        by_scope.update(fresh.by_scope)
        snapshot = Snapshot.from_rows(entries)
        snapshot._index = _Index(by_scope, by_own)
        return snapshot

    def _indexed(self) -> _Index:
        """The tables of keys by scope and own row (made once, when first patched)."""
        if self._index is None:
            by_scope: dict[ObjectId, list[str]] = {}
            by_own: dict[ObjectId, str] = {}
            for key, entry in self._entries.items():
                if type(entry) is not tuple:
                    continue  # a state made by hand comes from no catalog row
                layout = LAYOUTS[entry[3]]
                by_scope.setdefault(ObjectId(layout.scope, entry[1]), []).append(key)
                if layout.own is not None:
                    by_own[ObjectId(layout.own, entry[2])] = key
            self._index = _Index({scope: tuple(keys) for scope, keys in by_scope.items()}, by_own)
        return self._index


#: Each layout's attributes by name: their columns in its rows.
_POSITIONS: list[dict[str, int]] = [dict(layout.attrs) for layout in LAYOUTS]


def _renamed(
    entry: Row | ObjectState, role: str, owner: str, names: tuple[str, ...]
) -> Row | ObjectState:
    """An object's row (or state) with ``role`` as the ``names`` attributes name it (the
    owner; the grantee of an ACL item, ``role:PRIVILEGE``) replaced by ``owner``."""

    def rename(value: Any) -> Any:
        if isinstance(value, str):
            return owner if value == role else value
        if isinstance(value, list | tuple):
            items = []
            for item in value:
                grantee, colon, privilege = str(item).rpartition(":")
                items.append(f"{owner}:{privilege}" if colon and grantee == role else item)
            return type(value)(sorted(items))
        return value

    if type(entry) is not tuple:
        state: ObjectState = entry  # type: ignore[assignment]
        attrs = dict(state.attrs)
        for name in names:
            if name in attrs:
                attrs[name] = rename(attrs[name])
        return ObjectState(state.ref, attrs)
    row = list(entry)
    positions = _POSITIONS[row[3]]
    for name in names:
        if (position := positions.get(name)) is not None:
            row[position] = rename(row[position])
    return tuple(row)


def _ref(row: Row, layout: Layout) -> ObjectRef:
    return ObjectRef(layout.kind, row[4], row[6], row[5], row[7])


def _state(row: Row) -> ObjectState:
    """The state of an object from its row: attributes by name, lists as tuples, and what
    only Python normalises (view definitions, function bodies) normalised."""
    layout = LAYOUTS[row[3]]
    attrs: dict[str, AttrValue] = {name: row[index] for name, index in layout.attrs}
    for name in layout.lists:
        value = attrs[name]
        if value is None:
            attrs[name] = ()
        elif name in SET_ATTRIBUTES:
            # A set, whatever order the server's collation sorted it in.
            attrs[name] = tuple(sorted(value))  # type: ignore[arg-type]
        else:
            attrs[name] = tuple(value)  # type: ignore[arg-type]
    if layout.finish in ("view", "view15"):
        definition = str(attrs["definition"])
        if layout.finish == "view15":
            definition = unqualified(definition)
        attrs["definition"] = squeeze(definition)
    elif layout.finish == "function":
        # A SQL-standard body is PostgreSQL's own rendering: its layout means nothing.
        standard = row[layout.sql_body]
        if isinstance(standard, str):
            attrs["body"] = squeeze(standard)
        elif isinstance(attrs["body"], str):
            attrs["body"] = function_body(attrs["body"])
    return ObjectState(_ref(row, layout), attrs)
