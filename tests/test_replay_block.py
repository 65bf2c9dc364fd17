"""Scripts a runner runs outside a transaction, replayed in replay's own block (issue 13,
item 1): ``CONCURRENTLY`` run as its plain form, a script's own ``BEGIN``/``COMMIT`` given
way to the block's, with no copy of the database; what PostgreSQL refuses in a block
whatever the lock still replayed as psql runs it, on a copy. What the user sees (findings,
lines, columns, the server's words) is what the script as written gives.

The scripts are the real ones of goose (Permify's ``NO TRANSACTION`` files) and dbmate
(pmantra/e1's ``transaction:false``), and the two mistakes that real teams make with
``CONCURRENTLY``: inside their own ``BEGIN`` … ``COMMIT``, and ``DROP INDEX CONCURRENTLY``
of two indexes. Each replays on the embedded PostgreSQL 18 and on the external server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from migdocs.project import Project
from migdocs.replay import block_form
from migdocs.sql.script import parse_text
from runner_kit import copy_fixture, make_project
from test_replay import USERS, by_id, codes, replay

if TYPE_CHECKING:
    from migdocs.pg import ScratchServer
    from migdocs.replay import ReplayResult


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # CONCURRENTLY becomes as many spaces: the server's positions stay the file's.
        (
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (id);",
            ["CREATE INDEX              IF NOT EXISTS i ON t (id)"],
        ),
        ("drop index concurrently if exists i;", ["drop index              if exists i"]),
        ("REINDEX TABLE CONCURRENTLY t;", ["REINDEX TABLE              t"]),
        # A name that is only spelled so stays.
        ('CREATE INDEX "concurrently" ON t (a);', ['CREATE INDEX "concurrently" ON t (a)']),
        # REFRESH … CONCURRENTLY runs in a block as it is.
        (
            "REFRESH MATERIALIZED VIEW CONCURRENTLY m;",
            ["REFRESH MATERIALIZED VIEW CONCURRENTLY m"],
        ),
        # The script's own BEGIN and COMMIT give way to the block's; savepoints nest in it.
        (
            "BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;",
            [None, "CREATE TABLE t (id int)", None],
        ),
        ("START TRANSACTION; SELECT 1; END;", [None, "SELECT 1", None]),
        ("SAVEPOINT a; ROLLBACK TO a; RELEASE a;", ["SAVEPOINT a", "ROLLBACK TO a", "RELEASE a"]),
        (
            "BEGIN; CREATE TABLE t (id int); COMMIT;\nCREATE INDEX CONCURRENTLY i ON t (id);",
            [None, "CREATE TABLE t (id int)", None, "CREATE INDEX              i ON t (id)"],
        ),
        # What a block cannot stand in for: replayed as written, outside a block.
        ("BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (id);\nCOMMIT;", None),
        ("DROP INDEX CONCURRENTLY a, b;", None),
        ("DROP INDEX CONCURRENTLY a CASCADE;", None),
        ("REINDEX (CONCURRENTLY) TABLE t;", None),
        ("VACUUM t;", None),
        ("CREATE TABLE t (id int); ROLLBACK;", None),
        ("PREPARE TRANSACTION 'x';", None),
    ],
)
def test_the_block_form_of_a_script(sql: str, expected: list[str | None] | None) -> None:
    assert block_form(parse_text(sql)) == expected


def _counting(server: ScratchServer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The databases replay creates on ``server`` from now on (the replay's, the copies)."""
    made: list[str] = []
    create = server.create_database

    def recording(*args: Any, **kwargs: Any) -> str:
        url = create(*args, **kwargs)
        made.append(url)
        return url

    monkeypatch.setattr(server, "create_database", recording)
    return made


def test_goose_no_transaction_files_replay_in_the_block_without_a_copy(
    tmp_path: Path, pg_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_fixture("goose-permify", tmp_path)
    project = Project.load(root / "catalog.yaml")
    made = _counting(pg_server, monkeypatch)
    result = replay(project, pg_server, locks=True)
    assert {f.code for f in result.findings} == {"MG406"}  # ALTER TABLE on existing tables
    assert all(item["round_trip"] == "ok" for item in result.to_json())
    assert len(made) == 1  # the replay's database, and no copy
    # The indexes the concurrent statements make are there, as written.
    assert "index:public.idx_tuples_entity" in result.schema
    assert "index:public.idx_tuples_subject" in result.schema


def test_dbmate_transaction_false_replays_in_the_block_without_a_copy(
    tmp_path: Path, pg_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_fixture("dbmate-e1", tmp_path)
    project = Project.load(root / "catalog.yaml")
    made = _counting(pg_server, monkeypatch)
    result = replay(project, pg_server)
    drop = next(item for item in result.to_json() if item["migration"].startswith("20231031"))
    assert (drop["forward"], drop["rollback"], drop["round_trip"]) == ("ok", "ok", "ok")
    assert len(made) == 1


def _failure(result: ReplayResult, code: str = "MG401") -> tuple[str, int, int | None, str]:
    [finding] = [f for f in result.findings if f.code == code]
    return finding.file or "", finding.line or 0, finding.column, finding.message


def test_a_failing_concurrent_migration_in_the_middle_leaves_the_database_as_before_it(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "audit_and_index",
                "up": (
                    "CREATE TABLE audit_log (id int);\n"
                    "CREATE INDEX CONCURRENTLY users_nope_idx ON users ((nope || ''));\n"
                ),
                "down": "DROP INDEX CONCURRENTLY users_nope_idx;\nDROP TABLE audit_log;\n",
                "creates": {"tables": ["audit_log"], "indexes": ["users_nope_idx"]},
            },
            {
                "name": "email_index",
                "up": "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);",
                "down": "DROP INDEX CONCURRENTLY users_email_idx;",
                "creates": {"indexes": ["users_email_idx"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    file, line, column, message = _failure(result)
    # The line and column of `nope` in the file, as the script as written gives them.
    assert (file, line, column) == ("migrations/2025-01-02_audit_and_index.sql", 2, 53)
    assert 'column "nope" does not exist' in message
    items = by_id(result)
    assert items["audit_and_index"]["forward"] == "failed"
    # Nothing of the failed migration stays (its table neither), the next one replays.
    assert "table:public.audit_log" not in result.schema
    assert items["email_index"]["round_trip"] == "ok"
    assert "index:public.users_email_idx" in result.schema


@pytest.mark.parametrize(
    ("up", "words"),
    [
        # Inside the script's own BEGIN … COMMIT, PostgreSQL refuses CONCURRENTLY.
        (
            "BEGIN;\nCREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nCOMMIT;\n",
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
        ),
        # Its plain form could drop both; the concurrent form refuses.
        (
            "CREATE INDEX users_a_idx ON users (email);\n"
            "CREATE INDEX users_b_idx ON users (total);\n"
            "DROP INDEX CONCURRENTLY users_a_idx, users_b_idx;\n",
            "DROP INDEX CONCURRENTLY does not support dropping multiple objects",
        ),
    ],
    ids=["in-its-own-transaction", "two-indexes"],
)
def test_what_only_the_concurrent_form_refuses_is_still_refused(
    tmp_path: Path, pg_server: ScratchServer, up: str, words: str
) -> None:
    project = make_project(tmp_path, [USERS, {"name": "indexes", "up": up, "down": "SELECT 1;"}])
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    _, _, _, message = _failure(result)
    assert words in message


def test_a_concurrent_index_on_a_partitioned_table_is_refused_as_postgresql_refuses_it(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            {
                "name": "events",
                "up": "CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);",
                "down": "DROP TABLE events;",
                "creates": {"tables": ["events"]},
            },
            {
                "name": "events_at",
                "up": "CREATE INDEX CONCURRENTLY events_at_idx ON events (at);",
                "down": "DROP INDEX events_at_idx;",
                "creates": {"indexes": ["events_at_idx"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    _, line, _, message = _failure(result)
    assert line == 1
    assert "cannot create index on partitioned table" in message
    assert "concurrently" in message


#: A migration that must run outside a transaction whatever its locks (VACUUM), made after
#: goose's test of the same case (a NO TRANSACTION file whose second statement fails:
#: pressly/goose, TestNoTransactionFailureKeepsDatabaseEffectWithoutVersion).
SURVIVES = {
    "name": "survives",
    "up": (
        "CREATE TABLE survives (id integer);\n"
        "VACUUM users;\n"
        "INSERT INTO missing_table VALUES (1);\n"
    ),
    "down": "DROP TABLE survives;",
    "creates": {"tables": ["survives"]},
}


def test_a_failing_script_outside_a_transaction_in_the_middle_changes_nothing_after_it(
    tmp_path: Path, pg_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = {
        "name": "email_index",
        "up": "CREATE INDEX users_email_idx ON users (email);",
        "down": "DROP INDEX users_email_idx;",
        "creates": {"indexes": ["users_email_idx"]},
    }
    # The same history without the failing migration: what everything after it must give.
    without = replay(make_project(tmp_path / "without", [USERS, email]), pg_server)
    project = make_project(tmp_path / "with", [USERS, SURVIVES, email])
    made = _counting(pg_server, monkeypatch)
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    file, line, _, message = _failure(result)
    assert (file, line) == ("migrations/2025-01-02_survives.sql", 3)
    assert 'relation "missing_table" does not exist' in message
    items = by_id(result)
    assert items["survives"]["forward"] == "failed"
    # Run as psql runs it, the table was made before the failure; replay's database is as
    # it was before the migration all the same, and the next migration replays as without.
    assert "table:public.survives" not in result.schema

    def seen(item: dict[str, Any]) -> tuple[object, ...]:
        locks = [(lock["relation"], lock["mode"], lock["rewrite"]) for lock in item["locks"]]
        return (item["forward"], item["rollback"], item["round_trip"], item["changes"], locks)

    assert seen(items["email_index"]) == seen(by_id(without)["email_index"])
    assert result.schema.key_set() == without.schema.key_set()
    assert len(made) == 2  # the replay's database, made again once after the failure


def test_a_round_trip_outside_a_transaction_that_does_not_come_back_is_reported_and_repaired(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    leaves = {
        "name": "vacuumed_index",
        "up": "CREATE INDEX users_total_idx ON users (total);\nVACUUM users;\n",
        "down": "VACUUM users;\n",  # forgets the index: the re-apply fails on it
        "creates": {"indexes": ["users_total_idx"]},
    }
    after = {
        "name": "email_index",
        "up": "CREATE INDEX users_email_idx ON users (email);",
        "down": "DROP INDEX users_email_idx;",
        "creates": {"indexes": ["users_email_idx"]},
    }
    result = replay(make_project(tmp_path, [USERS, leaves, after]), pg_server)
    assert sorted(codes(result)) == ["MG403", "MG404"]
    items = by_id(result)
    assert items["vacuumed_index"]["round_trip"] == "differs"
    assert items["email_index"]["round_trip"] == "ok"
    assert items["email_index"]["changes"]["added"] == ["index:public.users_email_idx"]
    assert "index:public.users_total_idx" in result.schema


def test_making_the_database_again_takes_the_roles_the_first_run_made(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # Roles belong to the whole server: made by the setup script and by a migration, they
    # are still there when the database is made again, and that is no failure.
    (tmp_path / "setup.sql").write_text("CREATE ROLE app_reader_setup NOLOGIN;\n")
    readers = {
        "name": "readers",
        "up": (
            "CREATE ROLE app_reader_migration NOLOGIN;\n"
            "GRANT SELECT ON users TO app_reader_migration;\n"
        ),
        "down": (
            "REVOKE SELECT ON users FROM app_reader_migration;\nDROP ROLE app_reader_migration;\n"
        ),
    }
    project = make_project(tmp_path, [USERS, readers, SURVIVES], replay={"setup": ["setup.sql"]})
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    items = by_id(result)
    assert items["readers"]["round_trip"] == "ok"
    assert items["survives"]["forward"] == "failed"
