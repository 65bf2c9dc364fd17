"""The locks replay measured, on the site (issue 13, item 4): each migration's "Locks"
table (statement, relation, lock, rewrite, measured or documented, and the server that
measured them), the migrations that blocked writers of existing tables on the overview and
the risk matrix, and a rollback called low risk whose migration rewrote a table.

The project is this repository's example, replayed by ``migdocs verify`` on the embedded
server: its soft-delete migration adds two columns to ``users`` with no ``lock_timeout``
(measured: ``AccessExclusiveLock``) and builds its indexes ``CONCURRENTLY`` (documented).
"""

from __future__ import annotations

import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from runner_kit import migdocs
from site_kit import copy_example

SOFT_DELETE = "2025-08-30_add_username_field"


def _words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _rows(html: str) -> list[str]:
    return [_words(row) for row in re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)]


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    end = page.find("<h2", start + 1)
    return page[start : end if end != -1 else len(page)]


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with the report of its replay, for the site to show."""
    project = copy_example(tmp_path_factory.mktemp("locks"))
    result = migdocs("verify", "--format", "json", "--output", "report.json", cwd=project)
    assert result.returncode == 0, result.stderr
    config = project / "mkdocs.yml"
    config.write_text(
        config.read_text().replace(
            "      prefix: history\n", "      prefix: history\n      report: report.json\n"
        )
    )
    return project


def _build(project: Path) -> Path:
    result = migdocs("build", "--site-dir", "out", cwd=project)
    assert result.returncode == 0, result.stderr
    return project / "out" / "history"


def test_a_migration_page_lists_what_its_statements_locked(verified: Path) -> None:
    site = _build(verified)
    page = (site / f"migrations/{SOFT_DELETE}/index.html").read_text()
    locks = _section(page, "locks")
    said = _words(locks)
    assert "measured in replay's transaction on PostgreSQL 18" in said
    assert _rows(locks) == [
        "statement relation lock rewrite measured or documented",
        "line 7 public.users AccessExclusiveLock measured",
        "line 11 public.users AccessExclusiveLock measured",
        "line 14 public.users ShareUpdateExclusiveLock documented",
        "line 17 public.users ShareUpdateExclusiveLock documented",
    ]
    assert "rewrote a table" not in said  # adding columns rewrites nothing
    # The first migration makes its tables: nothing of it existed before, no Locks section.
    first = (site / "migrations/2025-08-30_initial_schema/index.html").read_text()
    assert 'id="locks"' not in first


def test_the_overview_and_the_matrix_mark_who_blocked_writers(verified: Path) -> None:
    site = _build(verified)
    matrix = (site / "risk-matrix/index.html").read_text()
    section = _section(matrix, "locks-on-existing-tables")
    assert _rows(section)[1:] == [
        "Soft delete for user accounts public.users AccessExclusiveLock measured",
        "Re-registration after account deletion public.users AccessExclusiveLock documented",
    ]
    assert f'href="../migrations/{SOFT_DELETE}/"' in section
    overview = _words((site / "index.html").read_text())
    assert "2 migrations blocked the writers of an existing table on replay" in overview


def test_a_low_risk_rollback_whose_migration_rewrote_a_table_is_called_out(
    verified: Path, tmp_path: Path
) -> None:
    verified = Path(shutil.copytree(verified, tmp_path / "project"))  # the others' stays
    report = json.loads((verified / "report.json").read_text())
    [item] = [i for i in report["replay"] if i["migration"] == SOFT_DELETE]
    item["locks"][1]["rewrite"] = True  # as a volatile default would
    (verified / "report.json").write_text(json.dumps(report))
    catalog = verified / "catalog.yaml"
    text = catalog.read_text()
    entry = text.index(f"  - id: {SOFT_DELETE}")
    risk = text.index("      risk: high", entry)
    catalog.write_text(text[:risk] + "      risk: low" + text[risk + len("      risk: high") :])
    site = _build(verified)
    page = (site / f"migrations/{SOFT_DELETE}/index.html").read_text()
    said = _words(_section(page, "locks"))
    assert "The catalog calls the rollback low risk, but the migration rewrote a table" in said
    assert "line 11 public.users AccessExclusiveLock rewritten measured" in _rows(
        _section(page, "locks")
    )
