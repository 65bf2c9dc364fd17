"""The schema as the migrations build it, statement by statement, without a database.

Static rules read this model rather than single statements: an index goes with its table or
column, a rename moves what hangs on the object, and a script's *net* effect is what differs
between the model before and after it. Changes are journaled so a rollback can be applied on
top of its migration and then undone, keeping the whole walk linear in the history's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from migdocs.objects import RELATION_KINDS, Identity, ObjectKind, ObjectRef
from migdocs.sql.effects import KeyInfo, Statement, is_temporary

_MISSING: Any = object()
#: Journal marks of an element added to, or removed from, a set of children.
_ADDED: Any = object()
_REMOVED: Any = object()
#: Kinds a view can read, and so depend on.
_READABLE = frozenset({ObjectKind.TABLE, ObjectKind.VIEW, ObjectKind.MATVIEW})
#: Kinds an object can hang on: an index on a materialized view is the view's, as a
#: column or index of a table is the table's.
_OWNER_KINDS = (ObjectKind.TABLE, ObjectKind.MATVIEW, ObjectKind.VIEW)


@dataclass
class Effect:
    """What a script changed, net: compared before and after it ran.

    Attributes:
        created: Objects that did not exist before and do after.
        dropped: Objects that existed before and do not after, with what they were.
        recreated: Objects dropped and created again (definition may differ).
        keys_before: Keys of dropped indexes and constraints, for "recreated on the same key".
    """

    created: list[ObjectRef] = field(default_factory=list)
    dropped: list[ObjectRef] = field(default_factory=list)
    recreated: list[ObjectRef] = field(default_factory=list)
    keys_before: dict[Identity, KeyInfo] = field(default_factory=dict)

    def created_ids(self) -> set[Identity]:
        """Identities of the created objects."""
        return {ref.identity for ref in self.created}

    def dropped_ids(self) -> set[Identity]:
        """Identities of the dropped objects."""
        return {ref.identity for ref in self.dropped}

    def covered(self, ref: ObjectRef, ids: set[Identity]) -> bool:
        """Whether ``ref`` goes with an object in ``ids``: its table (or the view or
        materialized view it hangs on), its schema, or its indexed column."""
        parent = ref.parent
        if parent is not None and any(
            (kind, parent.schema, None, parent.name) in ids for kind in _OWNER_KINDS
        ):
            return True
        if ref.schema is not None and (ObjectKind.SCHEMA.value, None, None, ref.schema) in ids:
            return True
        key = self.keys_before.get(ref.identity)
        if key is not None:
            for column in key.reads:
                column_id = (ObjectKind.COLUMN.value, key.table.schema, key.table.name, column)
                if column_id in ids:
                    return True
        return False


class SchemaModel:
    """Objects known to exist, with their parents, keys and column types."""

    def __init__(self) -> None:
        self.objects: dict[Identity, ObjectRef] = {}
        #: What hangs on each object. The sets change in place (journaled element by
        #: element): a new set per change would make a table with many children quadratic.
        self.children: dict[Identity, set[Identity]] = {}
        self.keys: dict[Identity, KeyInfo] = {}
        self.column_types: dict[Identity, str] = {}
        #: What each view reads, by identity: a view goes with them on DROP … CASCADE.
        self.sources: dict[Identity, frozenset[Identity]] = {}
        #: Indexes a constraint took over (``USING INDEX``): gone, but not dropped.
        self.absorbed: dict[Identity, bool] = {}
        self._journal: list[tuple[Any, Any, Any]] = []
        #: Tables (and other owners) whose drop is under way: each child goes in turn, so
        #: neither taking it off its owner's list (a copy of the list each time) nor looking
        #: for what its columns take along (a scan of the list each time) is needed: both
        #: were quadratic in the width of a table.
        self._dropping: set[Identity] = set()

    # -- journaled writes ---------------------------------------------------------------------

    def _set(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        self._journal.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def _delete(self, table: dict[Any, Any], key: Any) -> None:
        if key in table:
            self._journal.append((table, key, table[key]))
            del table[key]

    def _forget(self, identity: Identity) -> None:
        """Take ``identity`` out of every table of the model (undoably)."""
        self._delete(self.objects, identity)
        self._delete(self.keys, identity)
        self._delete(self.column_types, identity)
        self._delete(self.children, identity)
        self._delete(self.sources, identity)

    def _link(self, parent: Identity, child: Identity) -> None:
        siblings = self.children.get(parent)
        if siblings is None:
            self._set(self.children, parent, {child})
        elif child not in siblings:
            siblings.add(child)
            self._journal.append((siblings, child, _ADDED))

    def _unlink(self, parent: Identity, child: Identity) -> None:
        siblings = self.children.get(parent)
        if siblings is not None and child in siblings:
            siblings.remove(child)
            self._journal.append((siblings, child, _REMOVED))

    def mark(self) -> int:
        """A point in the journal to compute effects from or undo to."""
        return len(self._journal)

    def undo(self, mark: int) -> None:
        """Forget every change made since ``mark``."""
        while len(self._journal) > mark:
            table, key, old = self._journal.pop()
            if old is _MISSING:
                table.pop(key, None)
            elif old is _ADDED:
                table.discard(key)
            elif old is _REMOVED:
                table.add(key)
            else:
                table[key] = old

    def commit(self) -> None:
        """Forget the journal (the changes stay)."""
        self._journal.clear()

    # -- queries ------------------------------------------------------------------------------

    def find(self, ref: ObjectRef) -> ObjectRef | None:
        """The object ``ref`` names, if it exists (a table reference also finds views)."""
        found = self.objects.get(ref.identity)
        if found is not None or ref.kind is not ObjectKind.TABLE:
            return found
        for kind in RELATION_KINDS:
            found = self.objects.get((kind.value, ref.schema, None, ref.name))
            if found is not None:
                return found
        return None

    def exists(self, ref: ObjectRef) -> bool:
        """Whether ``ref`` exists now."""
        return self.find(ref) is not None

    def owner(self, ref: ObjectRef) -> Identity | None:
        """The identity of the relation ``ref`` hangs on (a table, or the view or
        materialized view an index is on), or ``None`` when it hangs on nothing."""
        parent = ref.parent
        if parent is None:
            return None
        return self._resolve(parent)

    def children_of(self, table: ObjectRef) -> set[Identity]:
        """What hangs on the relation ``table`` names (a table, view or materialized view)."""
        return self.children.get(self._resolve(table), set())

    def effect_since(self, mark: int) -> Effect:
        """The net effect of every change since ``mark``."""
        before: dict[Identity, ObjectRef | None] = {}
        keys_before: dict[Identity, KeyInfo] = {}
        touched_twice: set[Identity] = set()
        for table, key, old in self._journal[mark:]:
            if table is self.objects:
                if key in before:
                    touched_twice.add(key)
                else:
                    before[key] = None if old is _MISSING else old
            elif table is self.keys and key not in keys_before and old is not _MISSING:
                keys_before[key] = old
        effect = Effect(keys_before=keys_before)
        for identity, old_ref in before.items():
            new_ref = self.objects.get(identity)
            if old_ref is None and new_ref is not None:
                effect.created.append(new_ref)
            elif old_ref is not None and new_ref is None and identity not in self.absorbed:
                effect.dropped.append(old_ref)
            elif old_ref is not None and new_ref is not None and identity in touched_twice:
                effect.recreated.append(new_ref)
        return effect

    # -- applying statements ------------------------------------------------------------------

    def apply(self, statement: Statement) -> None:
        """Apply one statement's effects."""
        for old, new in statement.renames:
            self.rename(old, new)
        for ref in statement.drops:
            self.drop(ref, cascade=statement.cascade)
        # CREATE … IF NOT EXISTS of what is there changes nothing, what it lists on it neither.
        present = (
            {ref.identity for ref in statement.creates if self.exists(ref)}
            if statement.if_not_exists
            else set()
        )
        for ref in statement.creates:
            if present and (
                ref.identity in present
                or (ref.parent is not None and ref.parent.identity in present)
            ):
                continue
            self.create(
                ref,
                key=statement.keys.get(ref.identity),
                column_type=statement.column_types.get(ref.identity),
            )
            if statement.depends_on and ref.kind in (ObjectKind.VIEW, ObjectKind.MATVIEW):
                sources = frozenset(self._resolve(source) for source in statement.depends_on)
                self._set(self.sources, ref.identity, sources)
        for ref in statement.absorbs:
            found = self.find(ref)
            if found is not None:
                self._set(self.absorbed, found.identity, True)
                self.drop(found)
        for retype in statement.retypes:
            if retype.column.identity in self.objects:
                self._set(self.column_types, retype.column.identity, retype.new_type)

    def create(
        self, ref: ObjectRef, *, key: KeyInfo | None = None, column_type: str | None = None
    ) -> None:
        """Add an object (replacing one of the same identity, as CREATE OR REPLACE does);
        a temporary one is no part of the schema."""
        identity = ref.identity
        if (ref.kind is ObjectKind.INDEX and ref.table is None) or is_temporary(ref):
            return
        self._set(self.objects, identity, ref)
        owner = self.owner(ref)
        if owner is not None:
            self._link(owner, identity)
        if key is not None:
            self._set(self.keys, identity, key)
        if column_type is not None:
            self._set(self.column_types, identity, column_type)

    def drop(self, ref: ObjectRef, *, cascade: bool = False) -> None:
        """Remove an object and what goes with it."""
        found = self.find(ref)
        if found is None:
            return
        identity = found.identity
        children = self.children.get(identity)
        if children:
            self._dropping.add(identity)
            try:
                for child in sorted(children):
                    child_ref = self.objects.get(child)
                    if child_ref is not None:
                        self.drop(child_ref, cascade=cascade)
            finally:
                self._dropping.discard(identity)
        if found.kind is ObjectKind.COLUMN:
            self._drop_dependents_of_column(found)
        if found.kind is ObjectKind.SCHEMA:
            for other in [r for r in self.objects.values() if r.schema == found.name]:
                if other.identity in self.objects:
                    self.drop(other, cascade=True)
        if cascade and self.sources and found.kind in _READABLE:
            for view in [v for v, read in self.sources.items() if identity in read]:
                if view in self.objects and view != identity:
                    self.drop(self.objects[view], cascade=True)
        self._forget(identity)
        owner = self.owner(found)
        if owner is not None and owner not in self._dropping:
            self._unlink(owner, identity)

    def _drop_dependents_of_column(self, column: ObjectRef) -> None:
        table = self.owner(column)
        if table is None or table in self._dropping:
            return  # the table goes, and everything on it with it
        for sibling in sorted(self.children.get(table, ())):
            key = self.keys.get(sibling)
            if key is not None and column.name in key.reads and sibling in self.objects:
                self.drop(self.objects[sibling])

    def rename(self, old: ObjectRef, new: ObjectRef) -> None:
        """Rename or move an object; what hangs on it moves along."""
        found = self.find(old)
        if found is None:
            return
        new = replace(new, kind=found.kind, table=found.table if new.table is None else new.table)
        if found.kind is ObjectKind.INDEX:
            new = replace(new, table=found.table)
        key = self.keys.get(found.identity)
        column_type = self.column_types.get(found.identity)
        children = [
            self.objects[c]
            for c in sorted(self.children.get(found.identity, ()))
            if c in self.objects
        ]
        child_state = [
            (c, self.keys.get(c.identity), self.column_types.get(c.identity)) for c in children
        ]
        for child in children:
            self._remove_only(child)
        sources = self.sources.get(found.identity)
        self._remove_only(found)
        self.create(new, key=key, column_type=column_type)
        if sources is not None:
            self._set(self.sources, new.identity, sources)
        if self.sources and found.kind in _READABLE:
            self._retarget_sources(found.identity, new.identity)
        if found.kind is ObjectKind.TABLE or found.kind in RELATION_KINDS:
            for child, child_key, child_type in child_state:
                moved_key = replace(child_key, table=new) if child_key is not None else None
                self.create(
                    replace(child, schema=new.schema, table=new.name),
                    key=moved_key,
                    column_type=child_type,
                )
            self._retarget_keys(found, new)
        if found.kind is ObjectKind.COLUMN and found.table is not None:
            self._rename_key_column(found, new.name)

    def _resolve(self, ref: ObjectRef) -> Identity:
        """The identity of the object ``ref`` names (a table reference may find a view)."""
        found = self.find(ref)
        return found.identity if found is not None else ref.identity

    def _retarget_sources(self, old: Identity, new: Identity) -> None:
        for view, read in list(self.sources.items()):
            if old in read:
                self._set(self.sources, view, (read - {old}) | {new})

    def _remove_only(self, ref: ObjectRef) -> None:
        identity = ref.identity
        self._forget(identity)
        owner = self.owner(ref)
        if owner is not None:
            self._unlink(owner, identity)

    def _retarget_keys(self, old_table: ObjectRef, new_table: ObjectRef) -> None:
        for identity, key in list(self.keys.items()):
            if key.table.identity == old_table.identity:
                self._set(
                    self.keys,
                    identity,
                    replace(key, table=replace(new_table, kind=ObjectKind.TABLE)),
                )

    def _rename_key_column(self, column: ObjectRef, new_name: str) -> None:
        table = self.owner(column)
        if table is None:
            return
        for sibling in self.children.get(table, ()):
            key = self.keys.get(sibling)
            if key is not None and column.name in key.reads:
                renamed = tuple(new_name if c == column.name else c for c in key.columns)
                read = tuple(new_name if c == column.name else c for c in key.expression_columns)
                self._set(
                    self.keys, sibling, replace(key, columns=renamed, expression_columns=read)
                )

    def apply_all(self, statements: Iterable[Statement]) -> None:
        """Apply statements in order."""
        for statement in statements:
            self.apply(statement)
