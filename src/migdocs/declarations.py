"""What a migration's catalog entry should declare, from its static reading.

The objects it creates and drops are its net effect (see
[NetEffect][migdocs.checks.context.NetEffect]), and its rollback's impacts set the least
risk it may declare. The rules compare an entry with these (MG201, MG202, MG303).
`migdocs init` writes them into a new catalog, and the site's risk matrix shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migdocs.catalog.models import Impact, Risk

if TYPE_CHECKING:
    from migdocs.checks.context import EntryAnalysis
    from migdocs.objects import ObjectRef

#: The least risk each impact implies.
MINIMUM_RISK = {
    Impact.DATA_LOSS: Risk.HIGH,
    Impact.DOWNTIME: Risk.MEDIUM,
    Impact.MAY_FAIL: Risk.MEDIUM,
    Impact.PERFORMANCE: Risk.LOW,
}


def minimum_risk(impacts: set[Impact]) -> Risk:
    """The least risk a rollback with these impacts can honestly declare."""
    return max((MINIMUM_RISK[impact] for impact in impacts), key=lambda r: r.rank, default=Risk.LOW)


def declarable_creates(analysis: EntryAnalysis) -> list[ObjectRef]:
    """What a migration creates that its entry must declare under ``creates`` (its net
    effect). `migdocs init` writes these."""
    net = analysis.net
    return net.creates if net is not None else []


def declarable_drops(analysis: EntryAnalysis) -> list[ObjectRef]:
    """What a migration drops that its entry must declare under ``drops`` (its net effect:
    what goes with a dropped table or column is covered by it)."""
    net = analysis.net
    return net.drops if net is not None else []
