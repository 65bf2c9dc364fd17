"""How far each migration's facts are proven, in the words, icons and colours every page of
the site shares (DESIGN.md, "Evidence is the point of the site").

A migration's proof level is the strongest evidence its facts have:

- *declared*: only the catalog says it (no static check in the report, or SQL that static
  analysis cannot read);
- *checked*: the SQL agrees (`migdocs check`);
- *replayed*: a replay on PostgreSQL proved it (forward, rollback and round trip);
- *live*: replayed, and every audited database has it applied;
- *contradicted*: a finding says otherwise (an error, or a warning of the rollback, replay
  or live rules), shown in red whatever else ran.

A migration with no rollback script is its own rollback state, *no rollback*, never a risk
of "low" or "none".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from migdocs.checks.base import Rule
from migdocs.checks.registry import rule_by_code
from migdocs.checks.replay import LockWithoutTimeout
from migdocs.site.fragments import Badge

if TYPE_CHECKING:
    from migdocs.checks.context import EntryAnalysis
    from migdocs.report.finding import Finding

LEVELS = ("declared", "checked", "replayed", "live", "contradicted")
NO_ROLLBACK = "no rollback"
#: Each state's icon: one per word, the same on every page.
ICONS = {
    "declared": "○",
    "checked": "✔",
    "replayed": "↻",
    "live": "◉",
    "contradicted": "✘",
    NO_ROLLBACK: "⊘",
}
#: What each state means, for the legends.
MEANINGS = {
    "declared": "only the catalog says it",
    "checked": "the SQL agrees (static checks)",
    "replayed": "a replay on PostgreSQL proved it, rollback and round trip included",
    "live": "replayed, and every audited database has it applied",
    "contradicted": "a finding says otherwise",
    NO_ROLLBACK: "the migration has no rollback script",
}
#: Findings that contradict a rollback's declared risk, impact or completeness.
ROLLBACK_CODES = frozenset({"MG301", "MG302", "MG303", "MG402", "MG403", "MG404"})
#: Rule families whose warnings contradict a fact (rollback, replay, live).
_FACT_FAMILIES = ("MG3", "MG4", "MG5")


def badge(state: str) -> Badge:
    """The badge of a proof level or of *no rollback*."""
    return Badge(f"migdocs-proof migdocs-proof--{state.replace(' ', '-')}", label(state))


def label(state: str) -> str:
    """A state's icon and word, as every page shows it."""
    return f"{ICONS[state]} {state}"


def contradicts(finding: Finding) -> bool:
    """Whether a finding says a migration's facts are wrong: any error, or a warning of the
    rollback, replay or live rules (a review that is due proves nothing wrong, nor does a
    lock measured on replay: MG406 says how the migration runs, not that a fact is false)."""
    code, severity = finding.code, finding.severity.value
    if code.startswith("MG6") or code == LockWithoutTimeout.code:
        return False
    return severity == "error" or (severity == "warning" and code.startswith(_FACT_FAMILIES))


def _seen_by(code: str) -> str:
    """Who saw what a rollback finding says: replay, or the SQL read statically."""
    rule: type[Rule] | None = rule_by_code(code)
    return "replay" if rule is not None and rule.phase == "replay" else "the SQL"


def replay_passed(replay: dict[str, Any] | None) -> bool:
    """Whether replay ran a migration forward and its rollback and round trip held (a
    migration with no rollback: forward only)."""
    if replay is None or replay.get("forward") != "ok":
        return False
    if replay.get("rollback") == "none":
        return replay.get("round_trip") in ("ok", "skipped")
    return replay.get("rollback") == "ok" and replay.get("round_trip") == "ok"


@dataclass
class Proof:
    """What the site shows of one migration's evidence.

    Attributes:
        level: One of ``LEVELS``.
        rollback: ``NO_ROLLBACK``, or the declared risk (``?`` when undeclared).
        outside_transaction: Whether the migration runs outside a transaction block.
        rollback_contradicted: Whether a finding or the replay disproves the rollback.
        seen: What disproves it, one line each: ``(who saw it, what)``.
    """

    level: str
    rollback: str
    outside_transaction: bool = False
    rollback_contradicted: bool = False
    seen: list[tuple[str, str]] = field(default_factory=list)


def proof(
    analysis: EntryAnalysis,
    findings: list[Finding],
    replay: dict[str, Any] | None,
    live: list[str] | None,
    checked: bool,
) -> Proof:
    """A migration's proof.

    Args:
        analysis: Its static analysis.
        findings: The report's findings of this migration.
        replay: The report's replay item of this migration, if any.
        live: Its state in each audited database (``None`` when live did not run).
        checked: Whether the report comes from the static checks.
    """
    migration = analysis.entry.migration
    rollback = migration.rollback
    if rollback is None or rollback.file is None:
        risk = NO_ROLLBACK
    else:
        risk = rollback.risk.value if rollback.risk is not None else "?"
    seen: list[tuple[str, str]] = []
    for finding in findings:
        if finding.code in ROLLBACK_CODES and contradicts(finding):
            seen.append(
                (_seen_by(finding.code), " ".join(f"{finding.code} {finding.message}".split()))
            )
    # What the round trip saw, where no replay finding says it already (a rule turned off).
    if replay is not None and risk != NO_ROLLBACK and not any(w == "replay" for w, _ in seen):
        if replay.get("rollback") == "failed":
            seen.append(("replay", "the rollback failed"))
        seen += [("replay", " ".join(line.split())) for line in replay.get("differences", [])]
    seen.sort(key=lambda item: item[0] != "replay")  # replay's proof first, stably
    if any(contradicts(f) for f in findings) or seen:
        level = "contradicted"
    elif not checked or analysis.forward is None or analysis.opaque:
        level = "declared"
    elif replay_passed(replay):
        level = "live" if live and all(state == "applied" for state in live) else "replayed"
    else:
        level = "checked"
    forward = analysis.forward
    return Proof(
        level=level,
        rollback=risk,
        outside_transaction=forward is not None and not forward.in_one_transaction,
        rollback_contradicted=bool(seen),
        seen=seen,
    )
