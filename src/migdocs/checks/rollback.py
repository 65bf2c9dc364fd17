"""Rules of the MG3xx family: what a rollback really does against what its entry says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migdocs.catalog.models import Impact, Severity
from migdocs.checks.base import Rule
from migdocs.declarations import MINIMUM_RISK, minimum_risk
from migdocs.report.finding import Finding

if TYPE_CHECKING:
    from migdocs.checks.context import StaticContext


class UndeclaredImpact(Rule):
    """The rollback's computed impact is not covered by the declared `impact`.

    ## What it does
    Computes what running the rollback does from its net effect: dropping a table or
    column, `TRUNCATE` or `DELETE` is **data-loss**; adding a validated UNIQUE, CHECK,
    NOT NULL or foreign key (or a unique index) to an existing table **may-fail**; dropping
    an index is a **performance** impact — unless the index goes with its table or column,
    or another index or constraint on the same key remains. Each computed impact must be
    in the entry's `rollback.impact`.

    ## Why is this bad?
    Whoever runs the rollback during an incident decides from the documented impact; an
    understated one means lost data nobody expected.

    ## Example
    ```yaml
    rollback: {file: 2025-08-31_rollback_sessions.sql, risk: medium, impact: [performance], ...}
    ```
    while the rollback says `DROP TABLE user_sessions;` — every session is lost.

    ## Use instead
    ```yaml
    rollback: {file: 2025-08-31_rollback_sessions.sql, risk: high,
               impact: [data-loss, performance], ...}
    ```
    """

    code = "MG301"
    name = "rollback.impact-not-declared"
    severity = Severity.ERROR
    summary = "the rollback's computed impact is not covered by the declared impact"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for analysis in context.analyses:
            rollback = analysis.entry.migration.rollback
            if rollback is None or rollback.file is None or analysis.rollback is None:
                continue
            declared = set(rollback.impact)
            if analysis.computed_impacts <= declared:
                continue
            shown = analysis.rollback.display
            for impact in Impact:
                reasons = [r for r in analysis.impacts if r.impact is impact]
                if not reasons or impact in declared:
                    continue
                first = reasons[0]
                where = f" ({shown}:{first.line})" if first.line else f" ({shown})"
                more = f" and {len(reasons) - 1} more" if len(reasons) > 1 else ""
                yield self.finding(
                    f"the rollback {first.reason}{where}{more}, but `impact` does not "
                    f"declare {impact.value}",
                    migration=analysis.entry.id,
                    file=project.catalog_display,
                    line=project.loaded.line_of(
                        "migrations", analysis.entry.index, "rollback", "impact"
                    ),
                )


class RollbackIncomplete(Rule):
    """The rollback does not undo an object the migration creates or drops.

    ## What it does
    Applies the migration and then its rollback to the schema model and names every object
    the migration creates that the rollback leaves in place, and every object the migration
    drops that the rollback does not bring back. Objects that go with their table are
    counted with it. Opaque statements (DO blocks, function calls) make this unknown, and
    `migdocs verify` decides instead.

    ## Why is this bad?
    After "rolling back", the schema is neither the old one nor the new one: the next
    deployment of the migration fails, or the application meets objects it does not expect.

    ## Example
    The migration creates `idx_users_deleted_at`; the rollback drops only `email_active_idx`.

    ## Use instead
    ```sql
    DROP INDEX IF EXISTS idx_users_deleted_at;
    ```
    """

    code = "MG302"
    name = "rollback.incomplete"
    severity = Severity.ERROR
    summary = "the rollback does not undo an object the migration creates or drops (static)"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        for analysis in context.analyses:
            if analysis.rollback is None:
                continue
            for ref in analysis.left_behind:
                yield self.finding(
                    f"the rollback leaves {ref.kind.value} {ref.qualified} in place, "
                    "which the migration creates",
                    migration=analysis.entry.id,
                    file=analysis.rollback.display,
                )
            for ref in analysis.not_restored:
                yield self.finding(
                    f"the rollback does not restore {ref.kind.value} {ref.qualified}, "
                    "which the migration drops",
                    migration=analysis.entry.id,
                    file=analysis.rollback.display,
                )


class RiskTooLow(Rule):
    """The declared risk is lower than the impact implies.

    ## What it does
    Compares `rollback.risk` with the least risk its impacts (declared or computed) imply:
    data-loss ⇒ at least high; may-fail or downtime ⇒ at least medium.

    ## Why is this bad?
    Risk is what a risk matrix and an on-call engineer sort by; a data-losing rollback
    filed as "medium" gets run without the care it needs.

    ## Example
    ```yaml
    rollback: {file: …, risk: medium, impact: [data-loss], summary: …}
    ```

    ## Use instead
    ```yaml
    rollback: {file: …, risk: high, impact: [data-loss], summary: …}
    ```
    """

    code = "MG303"
    name = "rollback.risk-too-low"
    severity = Severity.WARNING
    summary = "the declared risk is lower than the computed impact implies"

    def check(self, context: StaticContext) -> Iterator[Finding]:
        project = context.project
        for analysis in context.analyses:
            rollback = analysis.entry.migration.rollback
            if rollback is None or rollback.risk is None:
                continue
            impacts = set(rollback.impact) | analysis.computed_impacts
            least = minimum_risk(impacts)
            if rollback.risk.rank < least.rank:
                because = ", ".join(
                    sorted(i.value for i in impacts if MINIMUM_RISK[i].rank >= least.rank)
                )
                yield self.finding(
                    f"risk is {rollback.risk.value}, but {because} implies at least {least.value}",
                    migration=analysis.entry.id,
                    file=project.catalog_display,
                    line=project.loaded.line_of(
                        "migrations", analysis.entry.index, "rollback", "risk"
                    ),
                )
