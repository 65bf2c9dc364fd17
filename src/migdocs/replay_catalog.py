"""MG405: what replay saw a migration make and drop, against what its catalog entry declares.

Only where static analysis could not tell (a DO block, dynamic SQL) or told otherwise than
the server: where it could, MG201 and MG202 have said it already.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from migdocs.checks.replay import ReplayDisagreesWithCatalog
from migdocs.objects import CATALOG_KEY_OF, ObjectKind, ObjectRef, case_twin, found_among

if TYPE_CHECKING:
    from migdocs.checks.context import StaticContext
    from migdocs.project import Entry
    from migdocs.report.finding import Finding

#: What declaring a table covers when the same migration creates (or drops) it.
_OWN_PARTS = frozenset({ObjectKind.COLUMN, ObjectKind.CONSTRAINT})
#: What an index, a column or a trigger hangs on.
_PARENT_KINDS = frozenset({ObjectKind.TABLE, ObjectKind.VIEW, ObjectKind.MATVIEW})


def undeclared_on_replay(
    context: StaticContext, entry: Entry, added: list[ObjectRef], removed: list[ObjectRef]
) -> list[Finding]:
    """MG405 for a migration that replayed, which ``added`` and ``removed`` those objects
    (parts of tables included): each declared object it did not make or drop, and each
    object it made or dropped that its entry should declare."""
    findings: list[Finding] = []
    analysis = context.analyses[entry.index]
    net = analysis.net
    opaque = analysis.forward is None or analysis.forward.opaque or net is None
    sides = (
        ("creates", "creates", added),
        ("drops", "drops", removed),
    )
    forward = analysis.forward
    absorbed = {
        ref.identity
        for statement in (forward.statements if forward is not None else ())
        for ref in statement.absorbs
    }
    for key, verb, observed in sides:
        declared = context.declared(entry, key)
        dropped = {ref.identity for ref in declared} if key == "drops" else set()
        for ref in declared:
            if found_among(ref, observed) or (ref.parent and found_among(ref.parent, observed)):
                continue
            # What check accepts and replay does not show: check cannot tell, replay can.
            if opaque or net is None or net.allows(key, ref):
                findings.append(
                    ReplayDisagreesWithCatalog.not_done(
                        verb,
                        ref,
                        _case_hint(ref, observed, verb),
                        migration=entry.id,
                        file=context.project.catalog_display,
                        line=context.project.loaded.line_of("migrations", entry.index, key),
                    )
                )
        for ref in observed:
            declared_as = CATALOG_KEY_OF.get(ref.kind)
            if declared_as is None or found_among(ref, declared):
                continue
            if net is not None and not opaque and net.shows(key, ref):
                continue  # check sees it too: MG202 asks to declare it, or it is covered
            if key == "drops" and net is not None and net.effect.covered(ref, dropped):
                continue  # it goes with a declared drop (a column's keys), as in check
            if key == "drops" and ref.identity in absorbed:
                continue  # USING INDEX: the index became the constraint's, as in check
            parent = ref.parent
            if parent and (ref.kind in _OWN_PARTS or key == "drops") and _has(parent, observed):
                # A new table's own columns and constraints come with it, and what hangs
                # on a dropped table, view or materialized view goes with it (as in check).
                continue
            findings.append(
                ReplayDisagreesWithCatalog.undeclared(
                    verb,
                    ref,
                    f"{key}.{declared_as}",
                    migration=entry.id,
                    file=context.project.display(entry.forward_path),
                )
            )
    return findings


def _has(table: ObjectRef, among: Iterable[ObjectRef]) -> bool:
    """Whether the relation that ``table`` (an object's parent) names is among ``among``: a
    table, or the view or materialized view that an index or column hangs on."""
    return any(
        other.kind in _PARENT_KINDS and other.schema == table.schema and other.name == table.name
        for other in among
    )


def _case_hint(ref: ObjectRef, observed: Iterable[ObjectRef], verb: str) -> str:
    """Where replay saw an object whose name differs from the declared one only in case."""
    twin = case_twin(ref, observed)
    if twin is None:
        return ""
    return (
        f" (it {verb[:-1]}s {twin.kind.value} {twin.qualified}: names are written as "
        f"PostgreSQL stores them, case included; declare it as `{twin.declared}`)"
    )
