"""A strict site build fails on the findings of the report it shows: `migdocs build --strict`
exits 1, `mkdocs build --strict` exits 1 the MkDocs way (a PluginError), and either leaves
the previous site byte for byte as it was; without findings at or above ``fail_on``, or
without strict mode, the site is built.

The project is this repository's example (PromptSculptor's history), broken in two ways
DESIGN.md and issue 12 name: a migration file the catalog lacks (MG101, a static error),
and a rollback that leaves one of the migration's indexes behind (MG302, then MG403 and
MG404 on replay: "3 errors and a failed replay").
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from migdocs.catalog.models import Severity
from migdocs.report.report import Report
from migdocs.site.plugin import SHOWN_FINDINGS, findings_stop
from runner_kit import migdocs, mkdocs
from site_kit import copy_example

ROOT = Path(__file__).resolve().parent.parent

# DESIGN.md's example of MG101, by name: a file in migrations/ that the catalog does not
# list. What it does is what its name says, to the example's (PromptSculptor's) templates.
STRAY = "migrations/2025-09-03_add_template_slugs.sql"
STRAY_SQL = "ALTER TABLE templates ADD COLUMN slug varchar(100);\n"

ROLLBACK = "migrations/rollbacks/2025-08-31_rollback_session_storage_indexes.sql"
LEFT_BEHIND = "DROP INDEX CONCURRENTLY IF EXISTS user_api_keys_user_id_idx;\n"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example project, its mkdocs.yml not strict (each test says so)."""
    project = copy_example(tmp_path)
    config = project / "mkdocs.yml"
    text = config.read_text()
    assert "\nstrict: true\n" in text
    config.write_text(text.replace("\nstrict: true\n", "\n"))
    return project


def digest(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` (hidden ones too) by its bytes."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def built(example: Path) -> dict[str, str]:
    """A first, clean site in ``out``; its files."""
    result = migdocs("build", "--strict", "--site-dir", "out", cwd=example)
    assert result.returncode == 0, result.stderr
    site = digest(example / "out")
    assert "index.html" in site
    return site


def leftovers(example: Path) -> list[str]:
    """Staging and old folders of a swap that a build left beside the site."""
    return sorted(path.name for path in example.iterdir() if path.name.startswith(".out"))


def test_migdocs_build_strict_exits_1_on_an_error_and_keeps_the_site(example: Path) -> None:
    before = built(example)
    (example / STRAY).write_text(STRAY_SQL)
    result = migdocs("build", "--strict", "--site-dir", "out", cwd=example)
    assert result.returncode == 1, result.stderr
    assert "the report has 1 error, and a strict build fails" in result.stderr
    assert f"{STRAY}: error MG101 migration file is not in the catalog" in result.stderr
    assert "is unchanged" in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(example / "out") == before
    assert leftovers(example) == []
    # fail-on never: strict mode is MkDocs' own (broken links…), the site shows the error.
    result = migdocs("build", "--strict", "--fail-on", "never", "--site-dir", "out", cwd=example)
    assert result.returncode == 0, result.stderr
    assert "MG101" in (example / "out/history/audit/index.html").read_text()


def test_mkdocs_build_strict_fails_before_it_empties_the_site(example: Path) -> None:
    result = mkdocs("build", "--strict", "--site-dir", "out", cwd=example)
    assert result.returncode == 0, result.stderr
    before = digest(example / "out")
    (example / STRAY).write_text(STRAY_SQL)
    result = mkdocs("build", "--strict", "--site-dir", "out", cwd=example)
    assert result.returncode == 1, result.stderr
    assert re.search(r"ERROR\s+-\s+migdocs: the report has 1 error", result.stderr)
    assert "MG101" in result.stderr
    assert "Traceback" not in result.stderr
    assert digest(example / "out") == before


def test_without_strict_mode_the_site_shows_the_errors(example: Path) -> None:
    (example / STRAY).write_text(STRAY_SQL)
    result = migdocs("build", "--site-dir", "out", cwd=example)
    assert result.returncode == 0, result.stderr
    audit = (example / "out/history/audit/index.html").read_text()
    assert "MG101" in audit
    assert mkdocs("build", "--site-dir", "plain", cwd=example).returncode == 0


def test_strict_true_in_mkdocs_yml_is_strict_mode(example: Path) -> None:
    config = example / "mkdocs.yml"
    config.write_text("strict: true\n" + config.read_text())
    before = built(example)
    (example / STRAY).write_text(STRAY_SQL)
    assert migdocs("build", "--site-dir", "out", cwd=example).returncode == 1
    assert mkdocs("build", "--site-dir", "out", cwd=example).returncode == 1
    assert digest(example / "out") == before


@pytest.mark.parametrize(
    ("fail_on", "code"),
    # The example's findings: 4 infos (MG602).
    [("error", 0), ("warning", 0), ("info", 1), ("never", 0)],
)
def test_fail_on_sets_the_severity_that_fails(example: Path, fail_on: str, code: int) -> None:
    result = migdocs("build", "--strict", "--fail-on", fail_on, "--site-dir", "out", cwd=example)
    assert result.returncode == code, result.stderr
    if code:
        assert "the report has 4 infos" in result.stderr
        assert "MG602 never reviewed" in result.stderr
        assert not (example / "out").exists()
    # The plugin's option says the same to `mkdocs build --strict`.
    config = example / "mkdocs.yml"
    config.write_text(
        config.read_text().replace(
            "      prefix: history\n", f"      prefix: history\n      fail_on: {fail_on}\n", 1
        )
    )
    assert mkdocs("build", "--strict", "--site-dir", "plain", cwd=example).returncode == code


def test_fail_on_of_the_command_wins_over_the_plugins(example: Path) -> None:
    config = example / "mkdocs.yml"
    config.write_text(
        config.read_text().replace(
            "      prefix: history\n", "      prefix: history\n      fail_on: info\n", 1
        )
    )
    assert migdocs("build", "--strict", "--site-dir", "out", cwd=example).returncode == 1
    result = migdocs("build", "--strict", "--fail-on", "error", "--site-dir", "out", cwd=example)
    assert result.returncode == 0, result.stderr


def test_a_bad_fail_on_is_bad_input(example: Path) -> None:
    result = migdocs("build", "--strict", "--fail-on", "fatal", "--site-dir", "out", cwd=example)
    assert result.returncode == 2
    assert "--fail-on" in result.stderr
    config = example / "mkdocs.yml"
    config.write_text(
        config.read_text().replace(
            "      prefix: history\n", "      prefix: history\n      fail_on: fatal\n", 1
        )
    )
    result = mkdocs("build", "--strict", "--site-dir", "plain", cwd=example)
    assert result.returncode == 1
    assert "fail_on" in result.stderr
    assert not (example / "plain").exists()


def test_database_url_is_for_audit(example: Path) -> None:
    url = "postgresql://auditor@db.example:5432/app"
    result = migdocs("build", "--database-url", url, "--site-dir", "out", cwd=example)
    assert result.returncode == 2
    assert "--database-url is for --audit" in result.stderr
    assert not (example / "out").exists()


def test_a_failed_replay_fails_a_strict_audited_build(example: Path) -> None:
    """Issue 12's case: `migdocs build --strict --audit` of a history whose rollback leaves
    an index behind (MG302 statically; MG403 and MG404 on replay) exited 0."""
    before = built(example)
    rollback = example / ROLLBACK
    text = rollback.read_text()
    assert LEFT_BEHIND in text
    rollback.write_text(text.replace(LEFT_BEHIND, ""))
    result = migdocs("build", "--strict", "--audit", "--site-dir", "out", cwd=example)
    assert result.returncode == 1, result.stderr
    assert "the report has 3 errors" in result.stderr
    for code in ("MG302", "MG403", "MG404"):
        assert f"error {code} " in result.stderr
    assert digest(example / "out") == before
    assert leftovers(example) == []
    # Without strict mode the same audit is published, failure and all.
    result = migdocs("build", "--audit", "--site-dir", "out", cwd=example)
    assert result.returncode == 0, result.stderr
    assert "MG403" in (example / "out/history/audit/index.html").read_text()


def _finding(severity: str, code: str = "MG101") -> dict[str, object]:
    return {
        "code": code,
        "severity": severity,
        "migration": None,
        "file": STRAY,
        "line": 3,
        "message": "migration file is not in the catalog",
    }


@pytest.mark.parametrize(
    ("severities", "fail_on", "counts"),
    [
        ([], "error", None),
        (["info", "warning"], "error", None),
        (["error"], "error", "1 error"),
        (["error", "error", "warning"], "error", "2 errors"),
        (["error", "warning", "warning", "info"], "warning", "1 error, 2 warnings"),
        (["warning", "info"], "info", "1 warning, 1 info"),
        (["off", "info"], "warning", None),
    ],
)
def test_findings_stop_counts_what_is_at_or_above_fail_on(
    severities: list[str], fail_on: str, counts: str | None
) -> None:
    report = {"catalog": "catalog.yaml", "findings": [_finding(s) for s in severities]}
    stop = findings_stop(Report.from_json(report), Severity(fail_on))
    if counts is None:
        assert stop is None
        return
    assert stop is not None
    first, *listed = str(stop).split("\n")
    assert first.startswith(f"migdocs: the report has {counts}, and a strict build fails")
    assert f"severity {fail_on} or higher" in first
    assert len(listed) == stop.held
    assert all(line.startswith(f"  {STRAY}:3: ") for line in listed)


def test_findings_stop_lists_a_few_and_escapes_them() -> None:
    many = [_finding("error") for _ in range(SHOWN_FINDINGS + 5)]
    many[0]["message"] = "evil\n::error::injected\x1b[31m"
    stop = findings_stop(Report.from_json({"findings": many}), Severity.ERROR)
    assert stop is not None
    lines = str(stop).split("\n")
    assert len(lines) == 1 + SHOWN_FINDINGS + 1
    assert lines[-1] == "  … and 5 more"
    assert "evil\\n::error::injected\\x1b[31m" in lines[1]
