"""The static walk: every migration and its rollback applied to the schema model, in catalog order.

It runs once per `migdocs check`; the rules of the SQL and rollback families read its results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property

from migdocs.catalog.models import Impact
from migdocs.objects import (
    CATALOG_KEY_OF,
    Identity,
    ObjectKind,
    ObjectRef,
    lookup_identity,
)
from migdocs.project import Entry, Project
from migdocs.sql.effects import HeavyStep, KeyInfo, Lock, Statement, is_temporary
from migdocs.sql.model import Effect, SchemaModel
from migdocs.sql.script import Script


@dataclass(frozen=True, slots=True)
class ImpactReason:
    """Why a rollback has an impact: what it does and where."""

    impact: Impact
    reason: str
    line: int | None


@dataclass(frozen=True, slots=True)
class NetEffect:
    """What a migration's entry declares: the one answer that `migdocs init` writes, that
    `check` holds the entry to (MG201, MG202) and that `verify` holds replay to (MG405).

    It is the script's net effect, as the schema model sees it: a table renamed and then
    changed is the old table dropped and the new one created; what a script creates and
    drops again, or drops and creates again, is neither; what it drops ``IF EXISTS`` of
    an object the model does not know may be declared, since only replay can tell.

    Attributes:
        creates: What the entry must declare under ``creates`` (a new table's own columns
            and constraints come with it; implicit kinds are not declared).
        drops: What the entry must declare under ``drops`` (what goes with a dropped
            table, view or column is covered by it).
        may_create: What a declaration under ``creates`` may name: all it creates, net.
        may_drop: What a declaration under ``drops`` may name: all it drops, net, and
            what it drops ``IF EXISTS`` unseen.
    """

    creates: list[ObjectRef]
    drops: list[ObjectRef]
    may_create: list[ObjectRef]
    may_drop: list[ObjectRef]
    effect: Effect

    def allows(self, section: str, ref: ObjectRef) -> bool:
        """Whether declaring ``ref`` under ``section`` (``creates``/``drops``) is right."""
        if section == "creates":
            return any(ref.same(other) for other in self.may_create)
        if any(ref.same(other) for other in self.may_drop):
            return True
        return self.effect.covered(ref, {other.identity for other in self.may_drop})

    def shows(self, section: str, ref: ObjectRef) -> bool:
        """Whether static analysis says the script does it (``check`` reports it if the
        entry disagrees, so replay need not)."""
        seen = self.may_create if section == "creates" else self.may_drop
        return any(ref.same(other) for other in seen)


@dataclass
class EntryAnalysis:
    """What the static walk learned about one migration.

    Attributes:
        entry: The migration.
        forward: Its parsed migration file (``None`` if missing).
        rollback: Its parsed rollback file (``None`` if none or missing).
        forward_effect: The migration's net effect (``None`` when it could not be read).
        mentioned_creates: Objects the migration's statements create, net or not.
        mentioned_drops: Objects its statements drop by name.
        unseen_drops: Objects its statements drop that the model does not know of (made
            where static analysis cannot see, a ``DO`` block or a setup): dropped all the
            same, since PostgreSQL refuses to drop what is not there.
        maybe_drops: Objects it drops ``IF EXISTS`` that the model does not know of:
            whether they are there, only replay can tell.
        rollback_effect: The rollback's net effect on top of the migration.
        left_behind: Objects the migration creates that are still there after the rollback.
        not_restored: Objects the migration drops that the rollback does not bring back.
        impacts: The rollback's computed impacts, with reasons.
        heavy: Heavy steps of the migration on tables that existed before it.
        early_uses: ``(statement, object, index of the later migration that creates it)``.
    """

    entry: Entry
    forward: Script | None
    rollback: Script | None
    forward_effect: Effect | None = None
    mentioned_creates: list[ObjectRef] = field(default_factory=list)
    mentioned_drops: list[ObjectRef] = field(default_factory=list)
    unseen_drops: list[ObjectRef] = field(default_factory=list)
    maybe_drops: list[ObjectRef] = field(default_factory=list)
    rollback_effect: Effect | None = None
    left_behind: list[ObjectRef] = field(default_factory=list)
    not_restored: list[ObjectRef] = field(default_factory=list)
    impacts: list[ImpactReason] = field(default_factory=list)
    heavy: list[tuple[Statement, HeavyStep]] = field(default_factory=list)
    early_uses: list[tuple[Statement, ObjectRef, int]] = field(default_factory=list)

    @property
    def opaque(self) -> bool:
        """Whether the migration or its rollback does something static analysis cannot see."""
        return any(script is not None and script.opaque for script in (self.forward, self.rollback))

    @property
    def computed_impacts(self) -> set[Impact]:
        """The impacts the rollback's SQL shows."""
        return {reason.impact for reason in self.impacts}

    @cached_property
    def net(self) -> NetEffect | None:
        """What the entry declares, from the migration's net effect (``None`` when the
        migration could not be read)."""
        effect = self.forward_effect
        if effect is None:
            return None
        created_ids = effect.created_ids()
        # Dropped where the model could not see, and made again: changed, not new.
        remade = created_ids & {ref.identity for ref in self.unseen_drops}
        made = [ref for ref in effect.created if ref.identity not in remade]
        creates = [
            ref
            for ref in made
            if _declarable(ref) and not (ref.kind in _OWN_PARTS and _on_one_of(ref, created_ids))
        ]
        # The model knows a function by its name: `CREATE OR REPLACE` of one it knows may be
        # another overload (new) or the same one again (changed). Declaring it is accepted,
        # not required: only replay can tell.
        may_create = made + [
            ref
            for ref in self.mentioned_creates
            if ref.kind is ObjectKind.FUNCTION
            and not is_temporary(ref)
            and ref.identity not in created_ids
        ]
        still_there = created_ids | {ref.identity for ref in effect.recreated}
        dropped: dict[Identity, ObjectRef] = {}
        for ref in [*effect.dropped, *self.unseen_drops]:
            if ref.identity not in still_there and not effect.covered(ref, created_ids):
                dropped.setdefault(ref.identity, ref)
        dropped_ids = set(dropped)
        drops = [
            ref
            for ref in dropped.values()
            if _declarable(ref) and not effect.covered(ref, dropped_ids)
        ]
        may_drop = [*dropped.values()]
        may_drop += [ref for ref in self.maybe_drops if ref.identity not in still_there]
        return NetEffect(creates, drops, may_create, may_drop, effect)


#: What declaring a table covers when the same migration creates it.
_OWN_PARTS = frozenset({ObjectKind.COLUMN, ObjectKind.CONSTRAINT})


def _on_one_of(ref: ObjectRef, ids: set[Identity]) -> bool:
    """Whether ``ref`` hangs on a table, view or materialized view among ``ids``."""
    parent = ref.parent
    return parent is not None and any(
        (kind, parent.schema, None, parent.name) in ids
        for kind in (ObjectKind.TABLE, ObjectKind.MATVIEW, ObjectKind.VIEW)
    )


def _declarable(ref: ObjectRef) -> bool:
    return CATALOG_KEY_OF.get(ref.kind) is not None and not is_temporary(ref)


_WIDENING = re.compile(r"^(?P<base>varchar|bpchar|varbit|numeric)(?:\((?P<mods>[\d,]+)\))?$")


def retype_rewrites(old: str | None, new: str) -> bool:
    """Whether changing a column from ``old`` to ``new`` rewrites the table."""
    if old is None:
        return True
    if old == new:
        return False
    if (old.startswith("varchar") or old == "text") and new in ("text", "varchar"):
        return False
    if old == "cidr" and new == "inet":
        return False
    old_match, new_match = _WIDENING.match(old), _WIDENING.match(new)
    if old_match is None or new_match is None or old_match["base"] != new_match["base"]:
        return True
    if old_match["base"] == "bpchar":
        return True
    if new_match["mods"] is None:
        return False
    if old_match["mods"] is None:
        return True
    old_mods = [int(x) for x in old_match["mods"].split(",")]
    new_mods = [int(x) for x in new_match["mods"].split(",")]
    if old_match["base"] == "numeric":
        old_scale = old_mods[1] if len(old_mods) > 1 else 0
        new_scale = new_mods[1] if len(new_mods) > 1 else 0
        return new_scale != old_scale or new_mods[0] < old_mods[0]
    return new_mods[0] < old_mods[0]


class StaticContext:
    """A project with its static walk, computed once and shared by all static rules."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._declared: dict[tuple[int, str], list[ObjectRef]] = {}

    def declared(self, entry: Entry, section: str) -> list[ObjectRef]:
        """What ``entry`` declares under ``creates`` or ``drops`` (``section``), parsed once."""
        key = (entry.index, section)
        refs = self._declared.get(key)
        if refs is None:
            objects = entry.migration.creates if section == "creates" else entry.migration.drops
            refs = self._declared[key] = objects.refs()
        return refs

    def scripts(self) -> Iterator[tuple[Entry | None, Script]]:
        """Every script read: the setup scripts (of no entry), then each entry's forward
        script and rollback, those that could be read."""
        for setup in self.project.setup_scripts():
            yield None, setup
        for analysis in self.analyses:
            for script in (analysis.forward, analysis.rollback):
                if script is not None:
                    yield analysis.entry, script

    @cached_property
    def analyses(self) -> list[EntryAnalysis]:
        """One analysis per catalog entry, in catalog order."""
        project = self.project
        model = SchemaModel()
        for script in project.setup_scripts():
            model.apply_all(script.statements)
        model.commit()
        scripts = [
            (entry, project.forward(entry), project.rollback(entry)) for entry in project.entries
        ]
        first_creator: dict[Identity, int] = {}
        for entry, forward, _ in scripts:
            if forward is None:
                continue
            for statement in forward.statements:
                for ref in [*statement.creates, *(new for _, new in statement.renames)]:
                    first_creator.setdefault(lookup_identity(ref), entry.index)
        results = []
        for entry, forward, rollback in scripts:
            analysis = EntryAnalysis(entry, forward, rollback)
            if forward is not None and forward.parsed:
                self._walk_forward(model, analysis, forward, first_creator)
                if rollback is not None and rollback.parsed:
                    self._walk_rollback(model, analysis, rollback)
            model.commit()
            results.append(analysis)
        return results

    def _walk_forward(
        self,
        model: SchemaModel,
        analysis: EntryAnalysis,
        forward: Script,
        first_creator: dict[Identity, int],
    ) -> None:
        mark = model.mark()
        index = analysis.entry.index
        created_here: set[Identity] = set()
        for statement in forward.statements:
            for use in statement.uses:
                creator = first_creator.get(lookup_identity(use))
                if creator is not None and creator > index and not model.exists(use):
                    analysis.early_uses.append((statement, use, creator))
            for step in statement.heavy:
                if lookup_identity(step.table) not in created_here:
                    analysis.heavy.append((statement, step))
            for retype in statement.retypes:
                table = retype.column.parent
                old = model.column_types.get(retype.column.identity)
                if table is None or lookup_identity(table) in created_here:
                    continue
                if retype_rewrites(old, retype.new_type):
                    was = f" from {old}" if old else ""
                    analysis.heavy.append(
                        (
                            statement,
                            HeavyStep(
                                table,
                                Lock.ACCESS_EXCLUSIVE,
                                f"changes the type of {retype.column.name}{was} to "
                                f"{retype.new_type}, rewriting the table",
                                rewrites=True,
                                fix="add a new column, backfill it in batches, then swap names",
                            ),
                        )
                    )
            for ref in statement.drops:
                if is_temporary(ref) or model.exists(ref):
                    continue  # the model follows it, and its net effect shows it
                if statement.if_exists or ref in statement.drops_if_exists:
                    analysis.maybe_drops.append(ref)
                else:
                    analysis.unseen_drops.append(ref)
            model.apply(statement)
            for renamed, name in statement.renames:
                # a renamed object is as new as it was under its old name
                if lookup_identity(renamed) in created_here:
                    created_here.add(lookup_identity(name))
            for ref in statement.creates:
                created_here.add(lookup_identity(ref))
            analysis.mentioned_creates.extend(statement.creates)
            analysis.mentioned_drops.extend(statement.drops)
        analysis.forward_effect = model.effect_since(mark)

    def _walk_rollback(self, model: SchemaModel, analysis: EntryAnalysis, rollback: Script) -> None:
        mark = model.mark()
        created_here: set[Identity] = set()
        moved: dict[Identity, ObjectRef] = {}
        impacts = analysis.impacts
        for statement in rollback.statements:
            for old, new in statement.renames:
                moved[lookup_identity(old)] = new
            if statement.data_change in ("DELETE", "TRUNCATE"):
                for table in statement.data_targets:
                    verb = "truncates" if statement.data_change == "TRUNCATE" else "deletes rows of"
                    impacts.append(
                        ImpactReason(Impact.DATA_LOSS, f"{verb} {table.qualified}", statement.line)
                    )
            for validation in statement.validations:
                if lookup_identity(validation.table) not in created_here:
                    impacts.append(ImpactReason(Impact.MAY_FAIL, validation.reason, statement.line))
            model.apply(statement)
            for ref in statement.creates:
                created_here.add(lookup_identity(ref))
        effect = model.effect_since(mark)
        analysis.rollback_effect = effect
        dropped = effect.dropped_ids()
        drop_lines = _drop_lines(rollback)

        def line_of(ref: ObjectRef) -> int | None:
            return drop_lines.get(ref.identity) or drop_lines.get(
                ref.parent.identity if ref.parent else ref.identity
            )

        for ref in effect.dropped:
            kind = ref.kind
            if kind not in _DROPS_WITH_IMPACT:
                continue
            if moved and _renamed_to(model, moved, ref) is not None:
                continue  # renamed (back), not dropped: its rows are still there
            if kind is ObjectKind.TABLE:
                impacts.append(
                    ImpactReason(Impact.DATA_LOSS, f"drops table {ref.qualified}", line_of(ref))
                )
            elif kind is ObjectKind.COLUMN and not effect.covered(ref, dropped):
                impacts.append(
                    ImpactReason(Impact.DATA_LOSS, f"drops column {ref.qualified}", line_of(ref))
                )
            elif kind is ObjectKind.INDEX and not effect.covered(ref, dropped):
                key = effect.keys_before.get(ref.identity)
                if key is None or not _key_still_served(model, key):
                    impacts.append(
                        ImpactReason(
                            Impact.PERFORMANCE, f"drops index {ref.qualified}", line_of(ref)
                        )
                    )
        for ref in effect.recreated:
            if ref.kind is not ObjectKind.INDEX:
                continue
            old_key = effect.keys_before.get(ref.identity)
            if old_key is None:
                continue
            moved_table = _renamed_to(model, moved, old_key.table)
            if moved_table is not None:  # the index moved along with its renamed table
                old_key = replace(old_key, table=moved_table)
            if not _key_still_served(model, old_key):
                impacts.append(
                    ImpactReason(
                        Impact.PERFORMANCE,
                        f"drops index {ref.qualified} and creates it again on another key",
                        drop_lines.get(ref.identity),
                    )
                )
        forward = analysis.forward_effect
        if forward is not None and not analysis.opaque:
            created = forward.created_ids()
            dropped_by_forward = forward.dropped_ids()
            for ref in forward.created:
                if not forward.covered(ref, created) and model.exists(ref):
                    analysis.left_behind.append(ref)
            for ref in forward.dropped:
                if not forward.covered(ref, dropped_by_forward) and not model.exists(ref):
                    analysis.not_restored.append(ref)
        model.undo(mark)


#: What a rollback can drop that has an impact of its own (the rest goes with these).
_DROPS_WITH_IMPACT = frozenset({ObjectKind.TABLE, ObjectKind.COLUMN, ObjectKind.INDEX})


def _renamed_to(
    model: SchemaModel, moved: dict[Identity, ObjectRef], ref: ObjectRef
) -> ObjectRef | None:
    """Where a script's renames took ``ref``, if it still exists there at the end."""
    seen: set[Identity] = set()
    current = ref
    while lookup_identity(current) in moved and lookup_identity(current) not in seen:
        seen.add(lookup_identity(current))
        current = moved[lookup_identity(current)]
    if current is ref:
        return None
    return model.find(replace(current, kind=ref.kind))


def _key_still_served(model: SchemaModel, key: KeyInfo) -> bool:
    """Whether an index or key constraint of the table still serves what ``key`` served.

    It must index the same key the same way (method, operator classes) and be no more
    partial: a full index serves a partial one's lookups, not the reverse.
    """
    for sibling in model.children_of(key.table):
        other = model.keys.get(sibling)
        if other is not None and other.serves(key):
            return True
    return False


def _drop_lines(script: Script) -> dict[Identity, int]:
    lines: dict[Identity, int] = {}
    for statement in script.statements:
        for ref in statement.drops:
            lines.setdefault(ref.identity, statement.line)
    return lines
