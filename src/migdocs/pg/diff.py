"""Comparing two schema snapshots: what was added, removed or changed, as a DBA would say it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from migdocs.objects import GLOBAL_KINDS, ObjectKind, ObjectRef
from migdocs.pg.attributes import NOT_COMPARED, SET_ATTRIBUTES

if TYPE_CHECKING:
    from migdocs.pg.snapshot import AttrValue, ObjectState, Snapshot

#: Values longer than this are not quoted in a description, only said to have changed.
_QUOTED_MAX = 80
#: Relations, whose columns, constraints, indexes, triggers and policies come and go with them.
_RELATIONS = frozenset({ObjectKind.TABLE, ObjectKind.VIEW, ObjectKind.MATVIEW})
_KIND_ORDER = {kind: index for index, kind in enumerate(ObjectKind)}


class Change(StrEnum):
    """How an object differs between two snapshots."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class Difference:
    """One difference: an object added or removed, or one attribute of it changed.

    Attributes:
        change: Added, removed or changed.
        ref: The object.
        attribute: For a change, the attribute (``type``, ``default``…); else ``None``.
        before: For a change, the attribute's value in the first snapshot.
        after: For a change, its value in the second.
    """

    change: Change
    ref: ObjectRef
    attribute: str | None = None
    before: AttrValue = None
    after: AttrValue = None

    def describe(self) -> str:
        """One line a DBA reads at a glance.

        ``index public.customers_last_name_idx: added``,
        ``column app.orders.total: type numeric(14,2) → numeric(12,3)``,
        ``table public.users: grants +reader:SELECT``.
        """
        name = self.ref.shown
        if self.change is not Change.CHANGED:
            return f"{name}: {self.change.value}"
        return (
            f"{name}: {self.attribute} {describe_change(self.attribute, self.before, self.after)}"
        )

    def __str__(self) -> str:
        return self.describe()


def diff(before: Snapshot, after: Snapshot) -> list[Difference]:
    """What differs from ``before`` to ``after``, in a stable order.

    An added or removed table, view or materialized view is one difference: its columns,
    constraints, indexes, triggers and policies go with it and are not listed; so do the
    objects of an added or removed schema. Differences are ordered by schema and relation,
    a relation before what hangs on it, an object's attributes in their snapshot's order.
    """
    removed = [before[key] for key in sorted(before.key_set() - after.key_set())]
    added = [after[key] for key in sorted(after.key_set() - before.key_set())]
    found = [Difference(Change.REMOVED, state.ref) for state in _outermost(removed)]
    found += [Difference(Change.ADDED, state.ref) for state in _outermost(added)]
    for key in sorted(before.key_set() & after.key_set()):
        # Objects whose rows arrived alike are alike: only the others are made and compared.
        if not before.unchanged(key, after):
            found += _changes(before[key], after[key])
    return sorted(found, key=_order)


def describe_change(attribute: str | None, before: AttrValue, after: AttrValue) -> str:
    """``before → after`` (``+x −y`` for a set), quoting values only when they are short."""
    if attribute in SET_ATTRIBUTES and isinstance(before, tuple) and isinstance(after, tuple):
        gone = [f"−{item}" for item in before if item not in after]
        new = [f"+{item}" for item in after if item not in before]
        return " ".join(new + gone)
    shown = (_shown(before), _shown(after))
    if any(len(text) > _QUOTED_MAX or "\n" in text for text in shown):
        return "changed"
    return f"{shown[0]} → {shown[1]}"


def _shown(value: AttrValue) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return str(value)


def _outermost(states: list[ObjectState]) -> list[ObjectState]:
    """The states whose schema or relation is not among them too."""
    schemas = {state.ref.name for state in states if state.ref.kind is ObjectKind.SCHEMA}
    relations = {(s.ref.schema, s.ref.name) for s in states if s.ref.kind in _RELATIONS}
    return [
        state
        for state in states
        if state.ref.schema not in schemas
        and (
            state.ref.table is None
            or state.ref.kind not in _HANGING
            or (state.ref.schema, state.ref.table) not in relations
        )
    ]


_HANGING = frozenset(
    {
        ObjectKind.COLUMN,
        ObjectKind.CONSTRAINT,
        ObjectKind.INDEX,
        ObjectKind.TRIGGER,
        ObjectKind.POLICY,
    }
)


def _changes(before: ObjectState, after: ObjectState) -> list[Difference]:
    names = list(before.attrs) + [name for name in after.attrs if name not in before.attrs]
    return [
        Difference(Change.CHANGED, after.ref, name, before.attrs.get(name), after.attrs.get(name))
        for name in names
        if name not in NOT_COMPARED and before.attrs.get(name) != after.attrs.get(name)
    ]


def _order(difference: Difference) -> tuple[str, str, int, int, str, str, str]:
    """Schema, relation, the relation before what hangs on it, kind, name; a sort this
    stable keeps an object's attributes in the order its snapshot lists them."""
    ref = difference.ref
    if ref.kind in GLOBAL_KINDS:
        place = ("", "", 0)
    elif ref.kind in _HANGING and ref.table is not None:
        place = (ref.schema or "", ref.table, 2)
    else:
        place = (ref.schema or "", ref.name, 1)
    return (
        *place,
        _KIND_ORDER[ref.kind],
        ref.name,
        ref.args or "",
        difference.change.value,
    )
