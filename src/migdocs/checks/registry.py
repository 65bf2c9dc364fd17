"""The explicit list of every rule: `migdocs rules`, the site and the engine all read it."""

from __future__ import annotations

from migdocs.checks import files, live, replay, review, rollback, sql
from migdocs.checks.base import Rule

_RULES: tuple[type[Rule], ...] = (
    files.UnlistedMigration,
    files.MissingMigrationFile,
    files.NamingConvention,
    files.MissingRollbackFile,
    files.RollbackNotDeclared,
    files.UnlistedRollback,
    files.SortOrder,
    files.DateMismatch,
    files.DuplicateEntry,
    sql.SqlDoesNotParse,
    sql.UndeclaredObjectMissing,
    sql.UndeclaredObject,
    sql.UsedBeforeCreated,
    sql.EmptyScript,
    sql.HeavyLock,
    sql.MetaCommand,
    sql.BadIgnoreComment,
    rollback.UndeclaredImpact,
    rollback.RollbackIncomplete,
    rollback.RiskTooLow,
    replay.ForwardFails,
    replay.RollbackFails,
    replay.RollbackDiffers,
    replay.ReapplyDiffers,
    replay.ReplayDisagreesWithCatalog,
    replay.LockWithoutTimeout,
    live.MissingObject,
    live.UntrackedObject,
    live.DefinitionDiffers,
    live.PartlyApplied,
    live.LedgerChecksum,
    live.LedgerMismatch,
    review.ReviewOverdue,
    review.NeverReviewed,
    review.ChangedSinceReview,
    review.Placeholder,
)


def all_rules() -> tuple[type[Rule], ...]:
    """Every rule, ordered by code."""
    return tuple(sorted(_RULES, key=lambda rule: rule.code))


def rule_by_code(code: str) -> type[Rule] | None:
    """The rule with this code, if there is one."""
    return next((rule for rule in _RULES if rule.code == code), None)
