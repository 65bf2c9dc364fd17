"""The summary's `replay` and `live` agree with the exit code: `failed` exactly when one of
their findings is an error after the catalog's rule settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from runner_kit import make_project, migdocs, migrate

# A table made where static analysis cannot see it: only replay finds it (MG405).
HIDDEN = [
    {
        "name": "hidden_table",
        "up": "DO $$ BEGIN EXECUTE 'CREATE TABLE hidden (id int)'; END $$;",
        "down": "DROP TABLE hidden;",
    }
]
SHOWN = [
    {
        "name": "users",
        "up": "CREATE TABLE users (id int PRIMARY KEY);",
        "down": "DROP TABLE users;",
        "creates": {"tables": ["users"]},
    },
    {
        "name": "orders",
        "up": "CREATE TABLE orders (id int PRIMARY KEY);",
        "down": "DROP TABLE orders;",
        "creates": {"tables": ["orders"]},
    },
]


def _run(*args: str, cwd: Path) -> tuple[int, dict[str, Any]]:
    result = migdocs(*args, "--format", "json", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def test_a_replay_error_fails_the_replay_summary(tmp_path: Path) -> None:
    make_project(tmp_path, HIDDEN)
    code, report = _run("verify", cwd=tmp_path)
    assert [f["code"] for f in report["findings"] if f["severity"] == "error"] == ["MG405"]
    assert (code, report["summary"]["replay"]) == (1, "failed")


def test_a_replay_finding_turned_down_to_a_warning_passes(tmp_path: Path) -> None:
    make_project(tmp_path, HIDDEN, rules={"MG405": {"severity": "warning"}})
    code, report = _run("verify", cwd=tmp_path)
    assert [f["code"] for f in report["findings"] if f["code"] == "MG405"] == ["MG405"]
    assert (code, report["summary"]["replay"]) == (0, "passed")


def test_live_warnings_alone_pass_and_an_error_fails(tmp_path: Path, pg_database: str) -> None:
    make_project(tmp_path, SHOWN)
    migrate(pg_database, tmp_path / "catalog.yaml")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE by_hand (id int)")  # MG502: a warning
    code, report = _run("audit", "--database-url", pg_database, cwd=tmp_path)
    live = [f for f in report["findings"] if f["code"].startswith("MG5")]
    assert {f["severity"] for f in live} == {"warning"}
    assert (code, report["summary"]["live"]) == (0, "passed")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE users")  # MG501: an error (orders, later, is there)
    code, report = _run("audit", "--database-url", pg_database, cwd=tmp_path)
    assert "MG501" in {f["code"] for f in report["findings"]}
    assert (code, report["summary"]["live"]) == (1, "failed")
