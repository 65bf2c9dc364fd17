"""The locks each statement really took, measured on replay (issue 13, items 2 and 3): the
replay item's ``locks``, MG406, and how MG205 (the static guess) gives way to them.

Each case replays on the embedded PostgreSQL 18 and on the external server (15 here): the
modes are PostgreSQL's documented ones on both. The statements are the ones the lock guides
(squawk's rules, strong_migrations' list) warn about.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from migdocs.locks import guarded_lines
from migdocs.sql.script import parse_text
from runner_kit import make_project, migdocs
from test_replay import USERS, by_id, replay

if TYPE_CHECKING:
    from migdocs.pg import ScratchServer


def _locks(tmp_path: Path, server: ScratchServer, up: str) -> tuple[list[Any], list[str]]:
    """The second migration's locks, as (line, relation, mode, rewrite, source), and its
    MG406 findings (its rollback does not undo it: MG403 and MG404 are not this test's)."""
    project = make_project(tmp_path, [USERS, {"name": "change", "up": up, "down": "SELECT 1;"}])
    result = replay(project, server, locks=True)
    item = by_id(result)["change"]
    assert item["forward"] == "ok", result.findings
    locks = [
        (lock["line"], lock["relation"], lock["mode"], lock["rewrite"], lock["source"])
        for lock in item["locks"]
    ]
    return locks, [f.code for f in result.findings if f.code == "MG406"]


@pytest.mark.parametrize(
    ("up", "locks", "codes"),
    [
        pytest.param(
            "ALTER TABLE users ALTER COLUMN total TYPE bigint;",
            [(1, "table:public.users", "AccessExclusiveLock", True, "measured")],
            ["MG406"],
            id="type-change-rewrites",
        ),
        pytest.param(
            "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
            [(1, "table:public.users", "AccessExclusiveLock", False, "measured")],
            ["MG406"],
            id="set-not-null",
        ),
        pytest.param(
            "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();",
            [(1, "table:public.users", "AccessExclusiveLock", True, "measured")],
            ["MG406"],
            id="volatile-default-rewrites",
        ),
        pytest.param(
            "CREATE INDEX users_email_idx ON users (email);",
            [(1, "table:public.users", "ShareLock", False, "measured")],
            ["MG406"],
            id="plain-index",
        ),
        pytest.param(
            "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
            [(1, "table:public.users", "ShareUpdateExclusiveLock", False, "documented")],
            [],
            id="concurrent-index",
        ),
        pytest.param(
            "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN nickname text;",
            [(2, "table:public.users", "AccessExclusiveLock", False, "measured")],
            [],
            id="lock-timeout-guards",
        ),
        pytest.param(
            "CREATE TABLE notes (id int PRIMARY KEY, body text);\n"
            "CREATE INDEX notes_body_idx ON notes (body);\n"
            "ALTER TABLE notes ADD COLUMN at timestamptz DEFAULT clock_timestamp();",
            [],
            [],
            id="table-of-the-same-migration",
        ),
        pytest.param(
            "INSERT INTO users (email) VALUES ('a@example.com');",
            [(1, "table:public.users", "RowExclusiveLock", False, "measured")],
            [],
            id="a-row-written",
        ),
    ],
)
def test_what_a_statement_locks(
    tmp_path: Path,
    pg_server: ScratchServer,
    up: str,
    locks: list[Any],
    codes: list[str],
) -> None:
    assert _locks(tmp_path, pg_server, up) == (locks, codes)


def test_mg406_names_the_statement_the_lock_the_table_and_the_fix(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "total_bigint",
                "up": "-- widen\nALTER TABLE users ALTER COLUMN total TYPE bigint;\n",
                "down": "ALTER TABLE users ALTER COLUMN total TYPE numeric(12,3);",
            },
        ],
    )
    [finding] = replay(project, pg_server, locks=True).findings
    assert finding.code == "MG406"
    assert (finding.file, finding.line) == ("migrations/2025-01-02_total_bigint.sql", 2)
    assert "AccessExclusiveLock on public.users, rewriting it" in finding.message
    assert "SET lock_timeout" in finding.message


@pytest.mark.parametrize(
    ("sql", "lines"),
    [
        ("ALTER TABLE t ADD COLUMN a int;", set()),
        ("SET lock_timeout = '5s';\nALTER TABLE t ADD COLUMN a int;", {2}),
        ("SET LOCAL lock_timeout TO 3000;\nALTER TABLE t ADD COLUMN a int;", {2}),
        ("SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN a int;", set()),
        (
            "SET lock_timeout = '1s';\nRESET lock_timeout;\nALTER TABLE t ADD COLUMN a int;",
            {2},
        ),
    ],
)
def test_which_statements_a_lock_timeout_guards(sql: str, lines: set[int]) -> None:
    assert guarded_lines(parse_text(sql), {}) == lines


def test_a_lock_timeout_of_the_replay_session_guards_every_statement() -> None:
    script = parse_text("ALTER TABLE t ADD COLUMN a int;\nALTER TABLE t ADD COLUMN b int;")
    assert guarded_lines(script, {"lock_timeout": "5s"}) == {1, 2}


def test_audit_gives_mg406_or_mg205_for_a_statement_never_both(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "indexes",
                "up": (
                    "CREATE INDEX users_email_idx ON users (email);\n"  # MG406, not MG205
                    "SET lock_timeout = '5s';\n"
                    "CREATE INDEX users_total_idx ON users (total);\n"  # MG205 only
                ),
                "down": "DROP INDEX users_total_idx;\nDROP INDEX users_email_idx;\n",
                "creates": {"indexes": ["users_email_idx", "users_total_idx"]},
            },
        ],
    )
    checked = json.loads(migdocs("check", "--format", "json", cwd=tmp_path).stdout)
    assert sorted((f["code"], f["line"]) for f in checked["findings"] if f["code"] == "MG205") == [
        ("MG205", 1),
        ("MG205", 3),
    ]
    result = migdocs("audit", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    lock_findings = sorted(
        (f["code"], f["line"]) for f in report["findings"] if f["code"] in ("MG205", "MG406")
    )
    assert lock_findings == [("MG205", 3), ("MG406", 1)]
    [item] = [i for i in report["replay"] if i["migration"].endswith("indexes")]
    assert [(lock["line"], lock["mode"]) for lock in item["locks"]] == [
        (1, "ShareLock"),
        (3, "ShareLock"),
    ]
