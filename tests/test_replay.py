"""Replay: forward, rollback, forward again, on the embedded PostgreSQL 18 and the external server.

Each test builds a small project in a temporary folder, replays it on ``pg_server`` (a real
server: the embedded one, and the one of ``MIGDOCS_TEST_DATABASE_URL`` when set) and checks
the findings and the ``replay`` section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pglast import parser

from migdocs.checks import run_static
from migdocs.pg import ScratchServer, read_snapshot
from migdocs.project import Project
from migdocs.replay import (
    ReplayResult,
    owner_target,
    replay_project,
    statement_timeout_setting,
    transactional,
)
from migdocs.sql.script import parse_text
from runner_kit import make_project


def replay(
    project: Project, server: ScratchServer, *, locks: bool = False, **options: Any
) -> ReplayResult:
    """Replay ``project``; without ``locks``, MG406 is left out of the findings (the
    locks a statement took are test_replay_locks.py's business, not these tests')."""
    context, _ = run_static(project)
    result = replay_project(project, context, server, **options)
    if not locks:
        result.findings = [finding for finding in result.findings if finding.code != "MG406"]
    return result


def codes(result: ReplayResult) -> list[str]:
    """The findings' codes, but MG406's: the locks a statement took are
    test_replay_locks.py's business."""
    return [finding.code for finding in result.findings if finding.code != "MG406"]


def by_id(result: ReplayResult) -> dict[str, dict[str, Any]]:
    return {item["migration"][11:]: item for item in result.to_json()}


USERS = {
    "name": "users",
    "up": """
        CREATE TABLE users (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            email text NOT NULL,
            total numeric(12,3) DEFAULT 0
        );
        """,
    "down": "DROP TABLE users;",
    "creates": {"tables": ["users"]},
}


def test_a_clean_history_replays_clean(tmp_path: Path, pg_server: ScratchServer) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "email_index",
                "up": "CREATE INDEX users_email_idx ON users (email);",
                "down": "DROP INDEX users_email_idx;",
                "creates": {"indexes": ["users_email_idx"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == []
    assert result.status == "passed"
    items = by_id(result)
    assert items["users"]["forward"] == "ok"
    assert items["users"]["rollback"] == "ok"
    assert items["users"]["round_trip"] == "ok"
    assert items["users"]["changes"]["added"] == ["table:public.users"]
    assert items["email_index"]["changes"]["added"] == ["index:public.users_email_idx"]
    assert result.provenance["index:public.users_email_idx"].endswith("email_index")
    assert result.provenance["column:public.users.email"].endswith("users")
    assert "table:public.users" in result.schema


def test_rollback_that_leaves_an_index_behind(tmp_path: Path, pg_server: ScratchServer) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "indexes",
                "up": """
                    CREATE INDEX users_email_idx ON users (email);
                    CREATE INDEX users_total_idx ON users (total);
                    """,
                "down": "DROP INDEX users_email_idx;",
                "creates": {"indexes": ["users_email_idx", "users_total_idx"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG403", "MG404"]
    finding = result.findings[0]
    assert finding.message == (
        "after the rollback, index public.users_total_idx: still present "
        "(the migration makes it; the rollback leaves it)"
    )
    assert finding.file == "migrations/rollbacks/2025-01-02_rollback_indexes.sql"
    # So the migration cannot run again after its rollback: where, and the server's words.
    reapply = result.findings[1]
    assert (reapply.file, reapply.line) == ("migrations/2025-01-02_indexes.sql", 3)
    assert reapply.message.endswith('relation "users_total_idx" already exists')
    assert by_id(result)["indexes"]["round_trip"] == "differs"


def test_rollback_that_restores_the_wrong_precision(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "widen_total",
                "up": "ALTER TABLE users ALTER COLUMN total TYPE numeric(14,2);",
                "down": "ALTER TABLE users ALTER COLUMN total TYPE numeric(12,2);",
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG403"]
    assert result.findings[0].message == (
        "after the rollback, column public.users.total: type numeric(12,3) → numeric(12,2) "
        "(before the migration → after the rollback)"
    )
    assert by_id(result)["widen_total"]["changes"]["changed"] == ["column:public.users.total"]


def test_rollback_that_does_not_restore_what_the_migration_drops(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "drop_total",
                "up": "ALTER TABLE users DROP COLUMN total;",
                "down": "SELECT 1;",
                "drops": {"columns": ["users.total"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert [f.message for f in result.findings] == [
        "after the rollback, column public.users.total: not restored "
        "(the migration drops it; the rollback does not bring it back)",
        "re-applying the migration after its rollback fails (the rollback did not restore "
        'the schema: MG403): column "total" of relation "users" does not exist',
    ]


def test_rollback_that_fails(tmp_path: Path, pg_server: ScratchServer) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "email_index",
                "up": "CREATE INDEX users_email_idx ON users (email);",
                "down": "-- the index has another name in the migration\nDROP INDEX email_idx;\n",
                "creates": {"indexes": ["users_email_idx"]},
            },
            {
                "name": "name_column",
                "up": "ALTER TABLE users ADD COLUMN name text;",
                "down": "ALTER TABLE users DROP COLUMN name;",
                "creates": {"columns": ["users.name"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG402"]
    finding = result.findings[0]
    assert finding.file == "migrations/rollbacks/2025-01-02_rollback_email_index.sql"
    assert finding.line == 2
    assert 'index "email_idx" does not exist' in finding.message
    items = by_id(result)
    assert items["email_index"]["rollback"] == "failed"
    # The replay went on from the state after the migration.
    assert items["name_column"]["round_trip"] == "ok"
    assert "index:public.users_email_idx" in result.schema


def test_migration_that_fails_midway_stops_its_dependents_only(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "orders",
                "up": """
                    CREATE TABLE orders (id int PRIMARY KEY, user_id bigint);
                    ALTER TABLE orders ADD CONSTRAINT orders_user_fk
                        FOREIGN KEY (user_id) REFERENCES customers (id);
                    """,
                "down": "DROP TABLE orders;",
                "creates": {"tables": ["orders"], "constraints": ["orders.orders_user_fk"]},
            },
            {
                "name": "orders_index",
                "up": "CREATE INDEX orders_user_idx ON orders (user_id);",
                "down": "DROP INDEX orders_user_idx;",
                "creates": {"indexes": ["orders_user_idx"]},
            },
            {
                "name": "users_name",
                "up": "ALTER TABLE users ADD COLUMN name text;",
                "down": "ALTER TABLE users DROP COLUMN name;",
                "creates": {"columns": ["users.name"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG401"]
    failure = result.findings[0]
    assert failure.file == "migrations/2025-01-02_orders.sql"
    assert failure.line == 3  # PostgreSQL gives no position for this error: the statement's line
    assert 'relation "customers" does not exist' in failure.message
    items = by_id(result)
    assert items["orders"]["forward"] == "failed"
    assert items["orders_index"]["forward"] == "skipped"
    assert (
        "needs table public.orders, which 2025-01-02_orders should have made"
        in (items["orders_index"]["reason"])
    )
    assert items["users_name"]["round_trip"] == "ok"
    # Nothing of the failed migration is left: its first statement was undone too.
    assert "table:public.orders" not in result.schema
    assert "column:public.users.name" in result.schema


def test_script_with_its_own_transaction_and_concurrent_index(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "own_transaction",
                "up": "BEGIN;\nALTER TABLE users ADD COLUMN name text;\nCOMMIT;\n",
                "down": "BEGIN;\nALTER TABLE users DROP COLUMN name;\nCOMMIT;\n",
                "creates": {"columns": ["users.name"]},
            },
            {
                "name": "concurrent_index",
                "up": "CREATE INDEX CONCURRENTLY users_name_idx ON users (name);",
                "down": "DROP INDEX CONCURRENTLY users_name_idx;",
                "creates": {"indexes": ["users_name_idx"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == []
    assert all(item["round_trip"] == "ok" for item in result.to_json())


def test_enum_value_added_then_used(tmp_path: Path, pg_server: ScratchServer) -> None:
    project = make_project(
        tmp_path,
        [
            {
                "name": "mood",
                "up": """
                    CREATE TYPE mood AS ENUM ('sad', 'ok');
                    CREATE TABLE people (id int PRIMARY KEY, mood mood NOT NULL DEFAULT 'ok');
                    """,
                "down": "DROP TABLE people;\nDROP TYPE mood;\n",
                "creates": {"types": ["mood"], "tables": ["people"]},
            },
            {
                "name": "happy",
                # Uses the new value in the same script: PostgreSQL refuses that inside a
                # transaction block, so replay must run it as psql would, in autocommit.
                "up": """
                    ALTER TYPE mood ADD VALUE 'happy';
                    ALTER TABLE people ALTER COLUMN mood SET DEFAULT 'happy';
                    """,
                "down": "ALTER TABLE people ALTER COLUMN mood SET DEFAULT 'ok';",
            },
        ],
    )
    result = replay(project, pg_server)
    # An enum value cannot be dropped: the rollback really leaves it, and replay says so.
    assert [f.code for f in result.findings] == ["MG403", "MG404"]
    assert "type public.mood" in result.findings[0].message
    assert "happy" in result.findings[0].message
    # And so the migration cannot be applied again (without ADD VALUE IF NOT EXISTS).
    assert 'enum label "happy" already exists' in result.findings[1].message
    assert by_id(result)["happy"]["forward"] == "ok"


def test_identity_generated_trigger_and_dependent_view(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            {
                "name": "invoices",
                "up": """
                    CREATE TABLE invoices (
                        id int GENERATED BY DEFAULT AS IDENTITY (START WITH 100) PRIMARY KEY,
                        net numeric(10,2) NOT NULL,
                        gross numeric(10,2) GENERATED ALWAYS AS (net * 1.2) STORED,
                        updated_at timestamptz
                    );
                    CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        NEW.updated_at := now();
                        RETURN NEW;
                    END
                    $$;
                    CREATE TRIGGER invoices_touch BEFORE UPDATE ON invoices
                        FOR EACH ROW EXECUTE FUNCTION touch();
                    CREATE VIEW big_invoices AS SELECT id, gross FROM invoices WHERE gross > 1000;
                    """,
                "down": """
                    DROP VIEW big_invoices;
                    DROP TABLE invoices;
                    DROP FUNCTION touch();
                    """,
                "creates": {
                    "tables": ["invoices"],
                    "functions": ["touch"],
                    "triggers": ["invoices.invoices_touch"],
                    "views": ["big_invoices"],
                },
            },
            {
                "name": "wider_net",
                # The view depends on the generated column: both are recreated around the change.
                "up": """
                    DROP VIEW big_invoices;
                    ALTER TABLE invoices DROP COLUMN gross;
                    ALTER TABLE invoices ALTER COLUMN net TYPE numeric(14,2);
                    ALTER TABLE invoices ADD COLUMN gross numeric(14,2)
                        GENERATED ALWAYS AS (net * 1.2) STORED;
                    CREATE VIEW big_invoices AS SELECT id, gross FROM invoices WHERE gross > 1000;
                    """,
                "down": """
                    DROP VIEW big_invoices;
                    ALTER TABLE invoices DROP COLUMN gross;
                    ALTER TABLE invoices ALTER COLUMN net TYPE numeric(10,2);
                    ALTER TABLE invoices ADD COLUMN gross numeric(10,2)
                        GENERATED ALWAYS AS (net * 1.2) STORED;
                    CREATE VIEW big_invoices AS SELECT id, gross FROM invoices WHERE gross > 1000;
                    """,
                "creates": {"columns": ["invoices.gross"], "views": ["big_invoices"]},
                "drops": {"columns": ["invoices.gross"], "views": ["big_invoices"]},
            },
            {
                "name": "sloppy_identity",
                "up": "ALTER TABLE invoices ALTER COLUMN id RESTART WITH 500;",
                # Forgets the trigger it dropped along the way: replay names it.
                "down": "DROP TRIGGER invoices_touch ON invoices;",
            },
        ],
    )
    result = replay(project, pg_server)
    items = by_id(result)
    assert items["invoices"]["round_trip"] == "ok"
    assert items["wider_net"]["round_trip"] == "ok", items["wider_net"]
    assert items["sloppy_identity"]["round_trip"] == "differs"
    messages = [f.message for f in result.findings if f.code == "MG403"]
    assert any("trigger public.invoices.invoices_touch" in m for m in messages), messages


def test_do_block_creating_tables_is_judged_by_replay(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            {
                "name": "partitions",
                "up": """
                    DO $$
                    BEGIN
                        FOR i IN 1..2 LOOP
                            EXECUTE format('CREATE TABLE events_%s (id int)', i);
                        END LOOP;
                    END
                    $$;
                    """,
                "down": "DROP TABLE events_1, events_2;",
                # events_2 is not declared, events_3 is declared but never made.
                "creates": {"tables": ["events_1", "events_3"]},
            }
        ],
    )
    result = replay(project, pg_server)
    messages = sorted(f.message for f in result.findings if f.code == "MG405")
    assert messages == [
        "on replay the migration creates table public.events_2, which the catalog does not "
        "declare (add it to creates.tables)",
        "the catalog says the migration creates table public.events_3, but on replay it does not",
    ]
    assert by_id(result)["partitions"]["round_trip"] == "ok"


def test_extension(tmp_path: Path, pg_server: ScratchServer) -> None:
    with pg_server.connect(pg_server.create_database()) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'citext'"
        ).fetchone()
    if available is None:
        pytest.skip("citext is not installed on this server")
    project = make_project(
        tmp_path,
        [
            {
                "name": "citext",
                "up": "CREATE EXTENSION citext;\nCREATE TABLE tags (name citext PRIMARY KEY);\n",
                "down": "DROP TABLE tags;\nDROP EXTENSION citext;\n",
                "creates": {"extensions": ["citext"], "tables": ["tags"]},
            }
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == []
    added = by_id(result)["citext"]["changes"]["added"]
    # The extension's own functions and types belong to it: not listed one by one.
    assert added == ["extension:citext", "table:public.tags"]


def test_statement_timeout_stops_a_runaway_statement(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [{"name": "slow", "up": "SELECT pg_sleep(30);", "down": "SELECT 1;"}],
    )
    result = replay(project, pg_server, statement_timeout="200ms")
    assert codes(result) == ["MG401"]
    assert "statement timeout" in result.findings[0].message


def test_setup_script_runs_first(tmp_path: Path, pg_server: ScratchServer) -> None:
    (tmp_path / "setup.sql").write_text("CREATE SCHEMA billing;\n")
    project = make_project(
        tmp_path,
        [
            {
                "name": "billing",
                "up": "CREATE TABLE billing.accounts (id int);",
                "down": "DROP TABLE billing.accounts;",
                "creates": {"tables": ["billing.accounts"]},
            }
        ],
        replay={"setup": ["setup.sql"]},
    )
    result = replay(project, pg_server)
    assert codes(result) == []


def test_incremental_schema_equals_a_full_read(tmp_path: Path, pg_server: ScratchServer) -> None:
    """The schema replay patches step by step is the one a full read of the database gives."""
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "many",
                "up": """
                    CREATE SCHEMA app;
                    CREATE TABLE app.orders (id int PRIMARY KEY, user_id bigint REFERENCES users);
                    CREATE INDEX orders_user_idx ON app.orders (user_id);
                    ALTER TABLE users RENAME COLUMN email TO mail;
                    COMMENT ON TABLE app.orders IS 'orders';
                    CREATE SEQUENCE app.numbers;
                    ALTER TABLE users ADD CONSTRAINT users_mail_check CHECK (mail <> '');
                    CREATE VIEW app.mails AS SELECT mail FROM users;
                    """,
                "down": """
                    DROP VIEW app.mails;
                    ALTER TABLE users DROP CONSTRAINT users_mail_check;
                    ALTER TABLE users RENAME COLUMN mail TO email;
                    DROP SCHEMA app CASCADE;
                    """,
            },
        ],
    )
    context, _ = run_static(project)
    from migdocs.replay import Replayer

    replayer = Replayer(project, context, pg_server)
    try:
        result = replayer.run()
        assert replayer.conn is not None
        assert result.schema == read_snapshot(replayer.conn)
    finally:
        if replayer.conn is not None:
            replayer.conn.close()
        pg_server.drop_database(replayer.database)
    assert codes(result) == []


def test_replay_drops_its_databases(
    tmp_path: Path, pg_server: ScratchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Other test workers make databases on the same server meanwhile: the names replay
    # itself made (each CREATE DATABASE, copies included) are the ones that must be gone.
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                # VACUUM cannot run in a transaction block: when the script then fails,
                # the replay's database is made again
                "name": "index_then_vacuum",
                "up": "CREATE INDEX users_email_idx ON users (email);\nVACUUM users;\nSELECT 1/0;",
                "down": "DROP INDEX users_email_idx;",
                "creates": {"indexes": ["users_email_idx"]},
            },
        ],
    )
    made: list[str] = []
    create = pg_server.create_database

    def recording(*args: Any, **kwargs: Any) -> str:
        url = create(*args, **kwargs)
        made.append(url.rsplit("/", 1)[-1].split("?", 1)[0])
        return url

    monkeypatch.setattr(pg_server, "create_database", recording)
    admin_url = create()
    with pg_server.connect(admin_url) as conn:
        replay(project, pg_server)
        after = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    pg_server.drop_database(admin_url)
    assert len(made) >= 2  # the replay's database, and the same made again
    assert not after & set(made)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("60s", "60s"), ("500 ms", "500ms"), ("5min", "5min"), ("1500", "1500ms"), ("2h", "2h")],
)
def test_statement_timeout_setting(text: str, expected: str) -> None:
    assert statement_timeout_setting(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "5 days", "-1s"])
def test_statement_timeout_setting_refuses_nonsense(text: str) -> None:
    from migdocs.errors import MigdocsError

    with pytest.raises(MigdocsError, match="statement timeout"):
        statement_timeout_setting(text)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("CREATE TABLE t (id int); CREATE INDEX i ON t (id);", True),
        ("BEGIN; CREATE TABLE t (id int); COMMIT;", False),
        ("CREATE INDEX CONCURRENTLY i ON t (id);", False),
        ("VACUUM t;", False),
        ("DO $$ BEGIN PERFORM 1; END $$;", True),
    ],
)
def test_transactional(sql: str, expected: bool) -> None:
    assert transactional(parse_text(sql)) is expected


def test_psycopg_is_real() -> None:
    """The suite never mocks the driver (a guard against a stray monkeypatch)."""
    assert psycopg.connect.__module__ == "psycopg.connection"


def test_reapply_that_gives_another_schema(tmp_path: Path, pg_server: ScratchServer) -> None:
    project = make_project(
        tmp_path,
        [
            {
                "name": "settings",
                "up": "CREATE TABLE settings (name text PRIMARY KEY);",
                "down": "DROP TABLE settings;",
                "creates": {"tables": ["settings"]},
            },
            {
                "name": "first_run",
                # Branches on data: the rollback restores the schema but not the row.
                "up": """
                    DO $$
                    BEGIN
                        IF NOT EXISTS (SELECT FROM settings) THEN
                            CREATE TABLE audit_log (id int);
                            INSERT INTO settings VALUES ('audited');
                        ELSE
                            CREATE TABLE audit_log_v2 (id int);
                        END IF;
                    END
                    $$;
                    """,
                "down": "DROP TABLE audit_log;",
                "creates": {"tables": ["audit_log"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert sorted(f.message for f in result.findings) == [
        "after rollback and re-apply, table public.audit_log: missing, but the first run made it",
        "after rollback and re-apply, table public.audit_log_v2: present, "
        "but the first run did not make it",
    ]
    assert {f.code for f in result.findings} == {"MG404"}
    assert by_id(result)["first_run"]["round_trip"] == "differs"


def test_reapply_that_fails(tmp_path: Path, pg_server: ScratchServer) -> None:
    project = make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "unique_email",
                "up": "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
                # Restores the schema, but leaves rows the constraint refuses.
                "down": """
                    ALTER TABLE users DROP CONSTRAINT users_email_key;
                    INSERT INTO users (email) VALUES ('a@example.com'), ('a@example.com');
                    """,
                "creates": {"constraints": ["users.users_email_key"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG404"]
    finding = result.findings[0]
    assert finding.message.startswith(
        "re-applying the migration after its rollback fails: could not create unique index"
    )
    assert "DETAIL: Key (email)=(a@example.com) is duplicated." in finding.message
    assert finding.file == "migrations/2025-01-02_unique_email.sql"
    assert finding.line == 1


def test_reapply_that_fails_after_an_incomplete_rollback_is_mg404_too(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project = make_project(
        tmp_path,
        [
            {
                "name": "orders",
                "up": "CREATE TABLE orders (id int);\nCREATE INDEX orders_id_idx ON orders (id);\n",
                # Leaves the table behind: MG403, and the migration cannot run again.
                "down": "DROP INDEX orders_id_idx;",
                "creates": {"tables": ["orders"], "indexes": ["orders_id_idx"]},
            },
        ],
    )
    result = replay(project, pg_server)
    assert codes(result) == ["MG403", "MG404"]
    reapply = result.findings[1]
    assert reapply.message.startswith(
        "re-applying the migration after its rollback fails (the rollback did not restore the "
        'schema: MG403): relation "orders" already exists'
    )
    assert (reapply.file, reapply.line) == ("migrations/2025-01-01_orders.sql", 1)
    assert reapply.migration == "2025-01-01_orders"
    assert by_id(result)["orders"]["round_trip"] == "differs"


@pytest.mark.parametrize("how", ["does-not-parse", "not-utf8", "missing"])
def test_a_migration_that_cannot_be_read_holds_back_what_needs_its_declared_objects(
    tmp_path: Path, pg_server: ScratchServer, how: str
) -> None:
    make_project(
        tmp_path,
        [
            USERS,
            {
                "name": "orders",
                "up": "CREATE TABLE orders (id int PRIMARY KEY, user_id bigint);",
                "down": "DROP TABLE orders;",
                "creates": {"tables": ["orders"]},
            },
            {
                "name": "orders_index",
                "up": "CREATE INDEX orders_user_idx ON orders (user_id);",
                "down": "DROP INDEX orders_user_idx;",
                "creates": {"indexes": ["orders_user_idx"]},
            },
            {
                "name": "users_name",
                "up": "ALTER TABLE users ADD COLUMN name text;",
                "down": "ALTER TABLE users DROP COLUMN name;",
                "creates": {"columns": ["users.name"]},
            },
        ],
    )
    forward = tmp_path / "migrations" / "2025-01-02_orders.sql"
    if how == "does-not-parse":
        forward.write_text("CREATE TABLE orders (id int PRIMARY KEY,);\n")
    elif how == "not-utf8":
        forward.write_bytes(b"-- caf\xe9\nCREATE TABLE orders (id int PRIMARY KEY);\n")
    else:
        forward.unlink()
    result = replay(Project.load(tmp_path / "catalog.yaml"), pg_server)
    assert codes(result) == []  # no MG401 for what could never have run
    items = by_id(result)
    assert items["orders"]["forward"] == "skipped"
    assert items["orders_index"]["forward"] == "skipped"
    assert items["orders_index"]["reason"] == (
        "not replayed: it needs table public.orders, which 2025-01-02_orders should have made"
    )
    assert items["users_name"]["round_trip"] == "ok"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("ALTER TABLE app.t OWNER TO postgres", [(("relation", "app", "t"), "postgres")]),
        ("ALTER VIEW v OWNER TO CURRENT_USER", [(("relation", None, "v"), None)]),
        ("ALTER TABLE t ADD COLUMN a int, OWNER TO x", [(("relation", None, "t"), "x")]),
        ("ALTER FUNCTION app.f(int) OWNER TO x", [(("function", "app", "f"), "x")]),
        ("ALTER PROCEDURE p OWNER TO x", [(("function", None, "p"), "x")]),
        ("ALTER DOMAIN app.d OWNER TO x", [(("type", "app", "d"), "x")]),
        ('ALTER SCHEMA s OWNER TO "Postgres"', [(("schema", None, "s"), "Postgres")]),
        ("CREATE SCHEMA s AUTHORIZATION x", [(("schema", None, "s"), "x")]),
        ("CREATE SCHEMA AUTHORIZATION x", [(("schema", None, "x"), "x")]),
        ("CREATE SCHEMA s", []),
        ("ALTER TABLE t ADD COLUMN owner text", []),
        ("ALTER SERVER s OWNER TO x", []),  # not in a snapshot
    ],
)
def test_owner_target(sql: str, expected: list[tuple[Any, str | None]]) -> None:
    found = owner_target(json.loads(parser.parse_sql_json(sql)))
    assert [(target, spec.get("rolename")) for target, spec in found] == expected
