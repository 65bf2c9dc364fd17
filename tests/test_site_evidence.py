"""The site shows how far each migration is proven (issue 12, items 1, 2 and 7): the proof
levels (declared, checked, replayed, live, contradicted) and *no rollback* in the same words
and classes on the timeline, the overview, each migration's header, the risk matrix and the
audit page; a rollback that replay disproves in a red box saying what replay saw; "nothing
needs attention" only once proven; the risk × impact grid; the audit page titled for what ran.

The project is this repository's example (PromptSculptor's history), built whole with
``migdocs build`` — replayed on the embedded server with ``--audit`` — and changed the ways
issue 12 names: a rollback that leaves one of its migration's indexes behind, and a migration
whose rollback is ``none``.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from pglast import split

from migdocs.catalog.models import Severity
from migdocs.report.finding import Finding
from migdocs.site.proof import contradicts, replay_passed
from runner_kit import migdocs, mkdocs
from site_kit import copy_example

if TYPE_CHECKING:
    from migdocs.pg import ScratchServer

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = [
    "2025-08-30_initial_schema",
    "2025-08-30_add_username_field",
    "2025-08-30_add_favorites_system",
    "2025-08-31_add_session_storage_indexes",
]
SESSIONS = "2025-08-31_add_session_storage_indexes"
FAVORITES = "2025-08-30_add_favorites_system"
# What test_build_strict.py takes out of the example: the rollback then leaves this index
# behind, which MG302 sees in the SQL and replay proves (MG403, MG404).
ROLLBACK = "migrations/rollbacks/2025-08-31_rollback_session_storage_indexes.sql"
LEFT_BEHIND = "DROP INDEX CONCURRENTLY IF EXISTS user_api_keys_user_id_idx;\n"
# The favorites migration as a history that cannot roll it back would declare it.
FAVORITES_ROLLBACK = """\
    rollback:
      file: 2025-08-30_rollback_favorites_system.sql
      risk: high
      impact: [may-fail]
      summary: >-
        **May fail**: restoring the global unique constraints fails while a deleted account
        shares its email or username with another account. Resolve the duplicates first
        (the rollback script shows the queries that find them).
"""
FAVORITES_NONE = """\
    rollback:
      none: Accounts deleted since cannot share an email again; restore from a backup.
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    project = copy_example(tmp_path)
    # Not strict: a site publishes a failing replay too (test_build_strict.py has the rest).
    config = project / "mkdocs.yml"
    config.write_text(config.read_text().replace("\nstrict: true\n", "\n"))
    return project


def build(project: Path, *args: str) -> Path:
    result = migdocs("build", *args, "--site-dir", "out", cwd=project)
    assert result.returncode == 0, result.stderr
    return project / "out" / "history"


def article(site: Path, page: str) -> str:
    """The HTML of a page's content."""
    html = (site / page / "index.html").read_text()
    return html[html.index("<article") : html.index("</article>")]


def words(html: str) -> str:
    """What a reader reads of some HTML, whitespace folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def badges(html: str) -> list[str]:
    """The proof states shown in some HTML, in order (by their class)."""
    return re.findall(r'class="migdocs-proof migdocs-proof--([a-z-]+)"', html)


def rows(html: str) -> list[str]:
    """Each table row's text."""
    return [words(row) for row in re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)]


def before_legend(html: str) -> str:
    """A page up to its legend of the proof levels."""
    return html[: html.index('id="proof-levels"')]


def header(site: Path, migration: str) -> str:
    """What a migration's header (under its title) says."""
    html = article(site, f"migrations/{migration}")
    match = re.search(r'<div class="migdocs-header">(.*?)</div>', html, re.DOTALL)
    assert match is not None, html[:2000]
    return match.group(1)


def test_a_checked_history_shows_checked_everywhere_and_claims_no_proof(example: Path) -> None:
    site = build(example)
    timeline = article(site, "timeline")
    assert badges(timeline) == ["checked"] * 4
    assert "✔ checked" in words(timeline)
    overview = article(site, ".")
    assert "Nothing needs attention" not in overview
    assert "Not proven: replay skipped" in words(overview)
    assert "✔ checked 4" in words(overview)  # the proof table's row
    # The header, under the title: risk and impact, proof, outside a transaction.
    sessions = header(site, SESSIONS)
    assert words(sessions) == (
        "rollback risk: high impact: data-loss, performance proof: ✔ checked "
        "runs outside a transaction"
    )
    assert badges(sessions) == ["checked"]
    assert "outside a transaction" not in header(site, MIGRATIONS[0])  # one transaction
    page = article(site, f"migrations/{SESSIONS}")
    assert page.index("migdocs-header") < page.index("<table>")  # above the facts
    assert "proof ✔ checked" in rows(page)
    # Only check ran: the audit page says so.
    audit = article(site, "audit")
    assert re.search(r"<h1[^>]*>Check report", audit)
    assert 'id="replay"' not in audit  # no replay section
    assert badges(before_legend(article(site, "risk-matrix"))) == ["no-rollback"] + ["checked"] * 4


def test_without_the_checks_every_fact_is_only_declared(example: Path) -> None:
    config = example / "mkdocs.yml"
    text = config.read_text()
    assert "      prefix: history\n" in text
    config.write_text(
        text.replace("      prefix: history\n", "      prefix: history\n      check: false\n")
    )
    result = mkdocs("build", "--site-dir", "out", cwd=example)
    assert result.returncode == 0, result.stderr
    site = example / "out" / "history"
    assert badges(article(site, "timeline")) == ["declared"] * 4
    assert badges(header(site, SESSIONS)) == ["declared"]
    overview = article(site, ".")
    assert "Nothing needs attention" not in overview
    assert "Not proven: the static checks did not run, replay skipped" in words(overview)


def test_the_risk_matrix_is_a_grid_whose_counts_lead_to_the_migrations(example: Path) -> None:
    site = build(example)
    matrix = article(site, "risk-matrix")
    grid = matrix[matrix.index("<table>") : matrix.index("</table>")]
    assert rows(grid) == [
        "risk data-loss may-fail performance downtime none all",
        "critical 1 — — — — 1",
        "high 2 1 1 — — 3",
        "medium — — — — — —",
        "low — — — — — —",
        "⊘ no rollback — — — — — —",
    ]
    # One migration: its page; several: the list of their risk, below.
    assert f'href="../migrations/{MIGRATIONS[0]}/"' in grid
    assert 'href="#high-risk"' in grid
    assert 'id="high-risk"' in matrix


def test_a_migration_without_rollback_is_its_own_state(example: Path) -> None:
    catalog = (example / "catalog.yaml").read_text()
    assert FAVORITES_ROLLBACK in catalog
    (example / "catalog.yaml").write_text(catalog.replace(FAVORITES_ROLLBACK, FAVORITES_NONE))
    (example / "migrations/rollbacks/2025-08-30_rollback_favorites_system.sql").unlink()
    site = build(example)
    timeline = rows(article(site, "timeline"))
    assert "2025-08-30 Re-registration after account deletion ⊘ no rollback ✔ checked" in timeline
    overview = rows(article(site, "."))
    assert "⊘ no rollback 1" in overview
    assert "high 2" in overview
    matrix = article(site, "risk-matrix")
    grid = matrix[matrix.index("<table>") : matrix.index("</table>")]
    assert "⊘ no rollback — — — — — 1" in rows(grid)
    assert "high 2 — 1 — — 2" in rows(grid)
    assert f'href="../migrations/{FAVORITES}/"' in grid
    assert 'id="no-rollback"' in matrix
    assert "Accounts deleted since cannot share an email again" in words(matrix)
    favorites = header(site, FAVORITES)
    assert badges(favorites) == ["no-rollback", "checked"]
    assert "rollback risk" not in favorites


def test_a_rollback_replay_disproves_is_contradicted_in_red(example: Path) -> None:
    rollback = example / ROLLBACK
    text = rollback.read_text()
    assert LEFT_BEHIND in text
    rollback.write_text(text.replace(LEFT_BEHIND, ""))
    site = build(example, "--audit")
    assert badges(header(site, SESSIONS)) == ["contradicted"]
    page = article(site, f"migrations/{SESSIONS}")
    # The rollback box is red, says it is contradicted and what replay saw.
    box = re.search(r'<div class="admonition failure">(.*?)</div>', page, re.DOTALL)
    assert box is not None
    said = words(box.group(1))
    assert said.startswith("Contradicted · declared risk: high · impact: data-loss, performance")
    assert "replay: MG403" in said
    assert "replay: MG404" in said
    assert "the SQL: MG302" in said
    assert "user_api_keys_user_id_idx" in said
    assert 'class="admonition danger"' not in page
    # The same word on every page.
    timeline = rows(article(site, "timeline"))
    assert "2025-08-31 Session storage and performance indexes high ✘ contradicted" in timeline
    assert badges(article(site, "timeline")) == ["replayed"] * 3 + ["contradicted"]
    matrix = rows(article(site, "risk-matrix"))
    assert any(row.endswith("✘ contradicted") and "Session storage" in row for row in matrix)
    overview = article(site, ".")
    assert "Nothing needs attention" not in overview
    assert "✘ contradicted 1 a finding says otherwise" in rows(overview)
    assert "What needs attention" in overview
    # Replay ran, live did not: a verify report, with its replay table.
    audit = article(site, "audit")
    assert re.search(r"<h1[^>]*>Verify report", audit)
    replay = rows(audit)
    assert f"{MIGRATIONS[0]} ok ok ok" in " | ".join(replay)
    [row] = [row for row in replay if row.startswith(SESSIONS)]
    assert re.fullmatch(rf"{SESSIONS} ok ok differs \d+ ✘ contradicted", row), row


def test_a_replayed_history_with_its_live_database_is_proven(
    example: Path, external_server: ScratchServer
) -> None:
    heed_mg406(example)
    url = external_server.create_database()
    try:
        # Applied as psql applies a file: a statement at a time, in autocommit (CONCURRENTLY).
        with psycopg.connect(url, autocommit=True) as connection:
            for migration in MIGRATIONS:
                sql = (example / "migrations" / f"{migration}.sql").read_text()
                for statement in split(sql):
                    connection.execute(statement.encode())
        site = build(example, "--audit", "--database-url", url)
    finally:
        external_server.drop_database(url)
    assert badges(article(site, "timeline")) == ["live"] * 4
    assert badges(before_legend(article(site, "risk-matrix"))) == ["no-rollback"] + ["live"] * 4
    assert badges(header(site, SESSIONS)) == ["live"]
    overview = article(site, ".")
    assert "Nothing needs attention" in overview
    assert "the live databases agree" in words(overview)
    audit = article(site, "audit")
    assert re.search(r"<h1[^>]*>Audit report", audit)
    assert "Live databases" in audit
    for migration in MIGRATIONS:
        assert f"{migration} applied ◉ live" in rows(audit)
        assert any(re.fullmatch(rf"{migration} ok ok ok \d+ ◉ live", r) for r in rows(audit))


def heed_mg406(example: Path) -> None:
    """The example's one MG406 (its ALTER TABLE on users waits for the table's lock with no
    lock_timeout), fixed as MG406 says: what is left needs no attention."""
    script = example / "migrations" / f"{MIGRATIONS[1]}.sql"
    text = script.read_text()
    first = "ALTER TABLE users ADD COLUMN deleted_at timestamp;\n"
    assert first in text
    script.write_text(text.replace(first, "SET lock_timeout = '5s';\n" + first))


def test_replay_alone_proves_replayed_not_live(example: Path) -> None:
    heed_mg406(example)
    site = build(example, "--audit")
    assert badges(article(site, "timeline")) == ["replayed"] * 4
    overview = article(site, ".")
    assert "Nothing needs attention" in overview
    assert "live databases agree" not in overview
    assert re.search(r"<h1[^>]*>Verify report", article(site, "audit"))


@pytest.mark.parametrize(
    ("replay", "passed"),
    [
        ({"forward": "ok", "rollback": "ok", "round_trip": "ok"}, True),
        ({"forward": "ok", "rollback": "none", "round_trip": "skipped"}, True),
        ({"forward": "ok", "rollback": "ok", "round_trip": "differs"}, False),
        ({"forward": "ok", "rollback": "ok", "round_trip": "skipped"}, False),
        ({"forward": "ok", "rollback": "failed", "round_trip": "skipped"}, False),
        ({"forward": "skipped", "rollback": "skipped", "round_trip": "skipped"}, False),
        ({"forward": "failed", "rollback": "skipped", "round_trip": "skipped"}, False),
        (None, False),
    ],
)
def test_replayed_means_the_round_trip_held(replay: dict[str, str] | None, passed: bool) -> None:
    assert replay_passed(replay) is passed


@pytest.mark.parametrize(
    ("code", "severity", "contradicted"),
    [
        ("MG101", "error", True),
        ("MG201", "error", True),
        ("MG202", "warning", False),  # an object the catalog does not declare: not a lie
        ("MG301", "warning", True),
        ("MG303", "warning", True),
        ("MG403", "error", True),
        ("MG503", "warning", True),
        ("MG303", "info", False),
        ("MG602", "info", False),
        ("MG601", "error", False),  # a review that is due proves nothing wrong
    ],
)
def test_what_contradicts_a_migration(code: str, severity: str, contradicted: bool) -> None:
    assert contradicts(Finding(code, Severity(severity), "")) is contradicted


# -- in a browser -------------------------------------------------------------------------
