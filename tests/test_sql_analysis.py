"""SQL analysis with pglast: what each statement creates, drops, alters, renames, locks, risks."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from migdocs.sql import KeyInfo, Statement, parse_text, read_script
from migdocs.sql.analysis import HANDLERS
from migdocs.sql.registry import Handlers, Reading

LISTS = ("creates", "drops", "alters", "renames", "heavy", "validations")


def effects(statement: Statement) -> dict[str, Any]:
    """A statement's effects as plain values."""
    return {
        "command": statement.command,
        "creates": [ref.key for ref in statement.creates],
        "drops": [ref.key for ref in statement.drops],
        "alters": [ref.key for ref in statement.alters],
        "renames": [(old.key, new.key) for old, new in statement.renames],
        "data": statement.data_change,
        "tx": statement.transaction,
        "opaque": statement.opaque,
        "lock": statement.lock.value if statement.lock is not None else None,
        "heavy": [step.reason for step in statement.heavy],
        "validations": [step.reason for step in statement.validations],
        "cascade": statement.cascade,
        "concurrently": statement.concurrently,
    }


def last(sql: str) -> Statement:
    script = parse_text(sql)
    assert script.problems == []
    assert script.parsed
    return script.statements[-1]


UT = "table:public.users"
SQL_EFFECTS = [
    # -- tables: a table's columns and constraints, with PostgreSQL's generated names
    (
        "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE)",
        {
            "command": "CREATE TABLE",
            "creates": [
                UT,
                "column:public.users.id",
                "constraint:public.users.users_pkey",
                "column:public.users.email",
                "constraint:public.users.users_email_key",
            ],
        },
    ),
    (
        "CREATE TABLE users (id int, org_id int REFERENCES orgs, "
        "CONSTRAINT users_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id), "
        "CHECK (id > 0), CHECK (id > org_id))",
        {
            "creates": [
                UT,
                "column:public.users.id",
                "column:public.users.org_id",
                "constraint:public.users.users_org_id_fkey",
                "constraint:public.users.users_org_fk",
                "constraint:public.users.users_id_check",
                "constraint:public.users.users_check",
            ]
        },
    ),
    (
        "CREATE TABLE t (a int, b int, PRIMARY KEY (a, b), UNIQUE (b, a), "
        "EXCLUDE USING gist (a WITH =))",
        {
            "creates": [
                "table:public.t",
                "column:public.t.a",
                "column:public.t.b",
                "constraint:public.t.t_pkey",
                "constraint:public.t.t_b_a_key",
                "constraint:public.t.t_a_excl",
            ]
        },
    ),
    ("CREATE TABLE IF NOT EXISTS app.t (id int)", {"creates": ["table:app.t", "column:app.t.id"]}),
    ("CREATE UNLOGGED TABLE t (id int)", {"creates": ["table:public.t", "column:public.t.id"]}),
    ("CREATE TEMP TABLE t (id int)", {"command": "CREATE TABLE"}),
    ("CREATE TABLE child () INHERITS (parent)", {"creates": ["table:public.child"]}),
    (
        "CREATE TABLE t AS SELECT * FROM users",
        {"command": "CREATE TABLE AS", "creates": ["table:public.t"]},
    ),
    (
        "SELECT * INTO archive FROM users",
        {"command": "SELECT INTO", "creates": ["table:public.archive"]},
    ),
    (
        "CREATE MATERIALIZED VIEW mv AS SELECT count(*) FROM users",
        {"command": "CREATE MATERIALIZED VIEW", "creates": ["matview:public.mv"]},
    ),
    (
        "CREATE VIEW v AS SELECT id FROM users",
        {"command": "CREATE VIEW", "creates": ["view:public.v"]},
    ),
    ("CREATE OR REPLACE VIEW app.v AS SELECT 1", {"creates": ["view:app.v"]}),
    # -- indexes
    (
        "CREATE INDEX ON users (email)",
        {
            "command": "CREATE INDEX",
            "creates": ["index:public.users_email_idx"],
            "lock": "SHARE",
            "heavy": [
                "creates index users_email_idx without CONCURRENTLY, "
                "blocking writes while it builds"
            ],
        },
    ),
    (
        "CREATE INDEX ON users (org_id, created_at)",
        {
            "creates": ["index:public.users_org_id_created_at_idx"],
            "lock": "SHARE",
            "heavy": [
                "creates index users_org_id_created_at_idx without CONCURRENTLY, blocking "
                "writes while it builds"
            ],
        },
    ),
    (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_idx ON users USING btree "
        "(lower(email)) WHERE deleted_at IS NULL",
        {
            "creates": ["index:public.users_email_idx"],
            "lock": "SHARE UPDATE EXCLUSIVE",
            "concurrently": True,
        },
    ),
    (
        "CREATE UNIQUE INDEX users_email_key ON users (email)",
        {
            "command": "CREATE UNIQUE INDEX",
            "creates": ["index:public.users_email_key"],
            "lock": "SHARE",
            "heavy": [
                "creates index users_email_key without CONCURRENTLY, "
                "blocking writes while it builds"
            ],
            "validations": ["creates unique index users_email_key"],
        },
    ),
    (
        "CREATE UNIQUE INDEX CONCURRENTLY email_unique_active_idx ON users (email) "
        "WHERE is_deleted = false",
        {
            "creates": ["index:public.email_unique_active_idx"],
            "lock": "SHARE UPDATE EXCLUSIVE",
            "validations": ["creates unique index email_unique_active_idx"],
            "concurrently": True,
        },
    ),
    # -- drops
    (
        "DROP INDEX CONCURRENTLY IF EXISTS users_email_idx",
        {
            "command": "DROP INDEX",
            "drops": ["index:public.users_email_idx"],
            "lock": "SHARE UPDATE EXCLUSIVE",
            "concurrently": True,
        },
    ),
    (
        "DROP INDEX app.i1, i2",
        {"drops": ["index:app.i1", "index:public.i2"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "DROP TABLE IF EXISTS a, app.b CASCADE",
        {
            "command": "DROP TABLE",
            "drops": ["table:public.a", "table:app.b"],
            "lock": "ACCESS EXCLUSIVE",
            "cascade": True,
        },
    ),
    ("DROP VIEW v", {"drops": ["view:public.v"], "lock": "ACCESS EXCLUSIVE"}),
    ("DROP MATERIALIZED VIEW mv", {"drops": ["matview:public.mv"], "lock": "ACCESS EXCLUSIVE"}),
    ("DROP SEQUENCE s", {"drops": ["sequence:public.s"]}),
    ("DROP TYPE mood", {"drops": ["type:public.mood"]}),
    ("DROP DOMAIN email", {"drops": ["type:public.email"]}),
    ("DROP FUNCTION f(int, text)", {"command": "DROP FUNCTION", "drops": ["function:public.f"]}),
    ("DROP PROCEDURE p", {"drops": ["function:public.p"]}),
    ("DROP TRIGGER t ON users", {"drops": ["trigger:public.users.t"]}),
    ("DROP POLICY p ON app.users", {"drops": ["policy:app.users.p"]}),
    ("DROP SCHEMA app CASCADE", {"drops": ["schema:app"], "cascade": True}),
    ("DROP EXTENSION pgcrypto", {"drops": ["extension:pgcrypto"]}),
    # -- ALTER TABLE
    (
        "ALTER TABLE users ADD COLUMN deleted_at timestamptz",
        {
            "command": "ALTER TABLE",
            "creates": ["column:public.users.deleted_at"],
            "lock": "ACCESS EXCLUSIVE",
        },
    ),
    (
        "ALTER TABLE users ADD COLUMN IF NOT EXISTS is_deleted boolean NOT NULL DEFAULT false",
        {"creates": ["column:public.users.is_deleted"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users ADD COLUMN at timestamptz DEFAULT now()",
        {"creates": ["column:public.users.at"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users ADD COLUMN n int NOT NULL",
        {
            "creates": ["column:public.users.n"],
            "lock": "ACCESS EXCLUSIVE",
            "validations": ["adds NOT NULL column n without a default"],
        },
    ),
    (
        "ALTER TABLE users ADD COLUMN at timestamptz DEFAULT clock_timestamp()",
        {
            "creates": ["column:public.users.at"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["adds column at with a volatile default (clock_timestamp())"],
        },
    ),
    (
        "ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()",
        {
            "creates": ["column:public.users.token"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["adds column token with a volatile default (gen_random_uuid())"],
        },
    ),
    (
        "ALTER TABLE users ADD COLUMN id2 bigserial",
        {
            "creates": ["column:public.users.id2"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["adds bigserial column id2, which fills every row from a sequence"],
        },
    ),
    (
        "ALTER TABLE users ADD COLUMN n int GENERATED ALWAYS AS IDENTITY",
        {
            "creates": ["column:public.users.n"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["adds identity column n, which fills every row"],
        },
    ),
    (
        "ALTER TABLE users ADD COLUMN total int GENERATED ALWAYS AS (a + b) STORED",
        {
            "creates": ["column:public.users.total"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["adds stored generated column total, computed for every row"],
        },
    ),
    (
        "ALTER TABLE users DROP COLUMN email",
        {"drops": ["column:public.users.email"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users DROP COLUMN IF EXISTS email CASCADE",
        {"drops": ["column:public.users.email"], "lock": "ACCESS EXCLUSIVE", "cascade": True},
    ),
    (
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(320)",
        {"alters": ["column:public.users.email"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
        {
            "alters": ["column:public.users.email"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["sets email NOT NULL, scanning every row while reads and writes wait"],
            "validations": ["sets email NOT NULL"],
        },
    ),
    (
        "ALTER TABLE users ALTER COLUMN email DROP NOT NULL",
        {"alters": ["column:public.users.email"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users ALTER COLUMN email SET DEFAULT 'x'",
        {"alters": ["column:public.users.email"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email)",
        {
            "creates": ["constraint:public.users.users_email_unique"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": [
                "adds UNIQUE constraint users_email_unique, building its index while writes wait"
            ],
            "validations": ["adds UNIQUE constraint users_email_unique"],
        },
    ),
    (
        "ALTER TABLE users ADD PRIMARY KEY (id)",
        {
            "creates": ["constraint:public.users.users_pkey"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": [
                "adds PRIMARY KEY constraint users_pkey, building its index while writes wait"
            ],
            "validations": ["adds PRIMARY KEY constraint users_pkey"],
        },
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0)",
        {
            "creates": ["constraint:public.users.c"],
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["adds CHECK constraint c, scanning every row while writes wait"],
            "validations": ["adds CHECK constraint c"],
        },
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT c CHECK (age > 0) NOT VALID",
        {"creates": ["constraint:public.users.c"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users ADD FOREIGN KEY (org_id) REFERENCES orgs (id)",
        {
            "creates": ["constraint:public.users.users_org_id_fkey"],
            "lock": "SHARE ROW EXCLUSIVE",
            "heavy": [
                "adds FOREIGN KEY constraint users_org_id_fkey, "
                "scanning every row while writes wait"
            ],
            "validations": ["adds FOREIGN KEY constraint users_org_id_fkey"],
        },
    ),
    (
        "ALTER TABLE users ADD CONSTRAINT fk FOREIGN KEY (org_id) REFERENCES orgs (id) NOT VALID",
        {"creates": ["constraint:public.users.fk"], "lock": "SHARE ROW EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users VALIDATE CONSTRAINT fk",
        {
            "alters": ["constraint:public.users.fk"],
            "lock": "SHARE UPDATE EXCLUSIVE",
            "validations": ["validates constraint fk"],
        },
    ),
    (
        "ALTER TABLE users DROP CONSTRAINT users_email_unique",
        {"drops": ["constraint:public.users.users_email_unique"], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE users DROP CONSTRAINT IF EXISTS c CASCADE",
        {"drops": ["constraint:public.users.c"], "lock": "ACCESS EXCLUSIVE", "cascade": True},
    ),
    (
        "ALTER TABLE users SET LOGGED",
        {"alters": [UT], "lock": "ACCESS EXCLUSIVE", "heavy": ["SET LOGGED rewrites the table"]},
    ),
    ("ALTER TABLE users ENABLE ROW LEVEL SECURITY", {"alters": [UT], "lock": "ACCESS EXCLUSIVE"}),
    (
        "ALTER INDEX i SET (fillfactor = 70)",
        {"command": "ALTER INDEX", "alters": ["index:public.i"], "lock": "ACCESS EXCLUSIVE"},
    ),
    # -- renames: what hangs on an object moves with it (the model's job); here, the pair
    (
        "ALTER TABLE users RENAME TO accounts",
        {"renames": [(UT, "table:public.accounts")], "lock": "ACCESS EXCLUSIVE"},
    ),
    (
        "ALTER TABLE app.users RENAME COLUMN email TO mail",
        {
            "renames": [("column:app.users.email", "column:app.users.mail")],
            "lock": "ACCESS EXCLUSIVE",
        },
    ),
    (
        "ALTER TABLE users RENAME CONSTRAINT c1 TO c2",
        {
            "renames": [("constraint:public.users.c1", "constraint:public.users.c2")],
            "lock": "ACCESS EXCLUSIVE",
        },
    ),
    (
        "ALTER INDEX users_email_idx RENAME TO users_mail_idx",
        {
            "renames": [("index:public.users_email_idx", "index:public.users_mail_idx")],
            "lock": "ACCESS EXCLUSIVE",
        },
    ),
    (
        "ALTER VIEW v RENAME TO w",
        {"renames": [("view:public.v", "view:public.w")], "lock": "ACCESS EXCLUSIVE"},
    ),
    ("ALTER SCHEMA app RENAME TO core", {"renames": [("schema:app", "schema:core")]}),
    (
        "ALTER TYPE mood RENAME TO feeling",
        {"renames": [("type:public.mood", "type:public.feeling")]},
    ),
    ("ALTER FUNCTION f() RENAME TO g", {"renames": [("function:public.f", "function:public.g")]}),
    (
        "ALTER TRIGGER t ON users RENAME TO u",
        {
            "renames": [("trigger:public.users.t", "trigger:public.users.u")],
            "lock": "ACCESS EXCLUSIVE",
        },
    ),
    ("ALTER TABLE users SET SCHEMA archive", {"renames": [(UT, "table:archive.users")]}),
    # -- other objects
    ("ALTER TYPE mood ADD VALUE 'meh'", {"alters": ["type:public.mood"]}),
    ("ALTER SEQUENCE s RESTART WITH 10", {"alters": ["sequence:public.s"]}),
    ("CREATE SEQUENCE s", {"creates": ["sequence:public.s"]}),
    ("CREATE TYPE mood AS ENUM ('ok')", {"creates": ["type:public.mood"]}),
    ("CREATE TYPE pair AS (a int, b int)", {"creates": ["type:public.pair"]}),
    ("CREATE TYPE r AS RANGE (subtype = int4)", {"creates": ["type:public.r"]}),
    (
        "CREATE DOMAIN email AS text CHECK (VALUE ~ '@')",
        {"command": "CREATE DOMAIN", "creates": ["type:public.email"]},
    ),
    (
        "CREATE FUNCTION app.f(a int) RETURNS int LANGUAGE sql AS $$ SELECT a; $$",
        {"command": "CREATE FUNCTION", "creates": ["function:app.f"]},
    ),
    (
        "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$",
        {"command": "CREATE PROCEDURE", "creates": ["function:public.p"]},
    ),
    (
        "CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION f()",
        {"creates": ["trigger:public.users.t"], "lock": "SHARE ROW EXCLUSIVE"},
    ),
    ("CREATE POLICY p ON users USING (true)", {"creates": ["policy:public.users.p"]}),
    ("CREATE SCHEMA IF NOT EXISTS app", {"creates": ["schema:app"]}),
    ("CREATE SCHEMA AUTHORIZATION alice", {"creates": ["schema:alice"]}),
    ('CREATE EXTENSION IF NOT EXISTS "uuid-ossp"', {"creates": ["extension:uuid-ossp"]}),
    ("COMMENT ON TABLE users IS 'x'", {"command": "COMMENT", "alters": [UT]}),
    ("COMMENT ON COLUMN users.email IS 'x'", {"alters": ["column:public.users.email"]}),
    ("GRANT SELECT ON users TO app", {"command": "GRANT", "alters": [UT]}),
    # -- data
    ("INSERT INTO users (id) VALUES (1)", {"data": "INSERT", "lock": "ROW EXCLUSIVE"}),
    ("INSERT INTO users SELECT * FROM old_users", {"data": "INSERT", "lock": "ROW EXCLUSIVE"}),
    ("UPDATE users SET is_deleted = false", {"data": "UPDATE", "lock": "ROW EXCLUSIVE"}),
    (
        "UPDATE users SET token = gen_token()",
        {"data": "UPDATE", "lock": "ROW EXCLUSIVE", "opaque": True},
    ),
    (
        "DELETE FROM users WHERE is_deleted",
        {"command": "DELETE", "data": "DELETE", "lock": "ROW EXCLUSIVE"},
    ),
    ("TRUNCATE users, sessions", {"data": "TRUNCATE", "lock": "ACCESS EXCLUSIVE"}),
    ("COPY users FROM STDIN", {"data": "COPY", "lock": "ROW EXCLUSIVE"}),
    ("COPY users TO STDOUT", {"command": "COPY"}),
    (
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
        {"data": "MERGE", "lock": "ROW EXCLUSIVE"},
    ),
    # -- opaque: effects static analysis cannot see
    ("SELECT 1", {"command": "SELECT"}),
    ("SELECT set_config('lock_timeout', '5s', false)", {"command": "SELECT"}),
    ("SELECT pg_catalog.pg_sleep(1)", {"command": "SELECT"}),
    ("SELECT create_partitions('users')", {"command": "SELECT", "opaque": True}),
    ("DO $$ BEGIN EXECUTE 'CREATE TABLE x ()'; END $$", {"command": "DO", "opaque": True}),
    ("CALL refresh_all()", {"command": "CALL", "opaque": True}),
    ("EXECUTE prepared_stmt", {"command": "EXECUTE", "opaque": True}),
    # -- transaction control and session
    ("BEGIN", {"command": "BEGIN", "tx": True}),
    ("START TRANSACTION", {"tx": True}),
    ("COMMIT", {"command": "COMMIT", "tx": True}),
    ("ROLLBACK", {"command": "ROLLBACK", "tx": True}),
    ("SAVEPOINT s", {"tx": True}),
    ("SET search_path TO app", {"command": "SET"}),
    ("SET lock_timeout = '5s'", {"command": "SET"}),
    # -- maintenance
    (
        "VACUUM FULL users",
        {
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["VACUUM FULL rewrites users while reads and writes wait"],
        },
    ),
    ("VACUUM users", {"command": "VACUUM"}),
    (
        "CLUSTER users USING users_pkey",
        {
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["CLUSTER rewrites users while reads and writes wait"],
        },
    ),
    (
        "REINDEX TABLE users",
        {"lock": "SHARE", "heavy": ["REINDEX of users without CONCURRENTLY blocks writes"]},
    ),
    ("REINDEX TABLE CONCURRENTLY users", {"command": "REINDEX"}),
    (
        "REFRESH MATERIALIZED VIEW mv",
        {
            "lock": "ACCESS EXCLUSIVE",
            "heavy": ["refreshes mv without CONCURRENTLY, blocking its readers"],
        },
    ),
    ("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", {"lock": "EXCLUSIVE", "concurrently": True}),
    ("LOCK TABLE users IN SHARE MODE", {"command": "LOCK", "lock": "SHARE"}),
    ("LOCK TABLE users", {"lock": "ACCESS EXCLUSIVE"}),
    ("ANALYZE users", {"command": "ANALYZE"}),
    ("VACUUM users", {"command": "VACUUM"}),
]


#: The command each kind of statement is: from the handler's ``@handles``, made more
#: precise by the handler, or the node tag where no handler reads it.
COMMANDS = [
    ("CREATE INDEX i ON t (a)", "CREATE INDEX"),
    ("CREATE UNIQUE INDEX i ON t (a)", "CREATE UNIQUE INDEX"),
    ("ALTER TABLE t ADD COLUMN a int", "ALTER TABLE"),
    ("ALTER INDEX i SET TABLESPACE x", "ALTER INDEX"),
    ("ALTER MATERIALIZED VIEW mv SET (fillfactor = 70)", "ALTER MATERIALIZED VIEW"),
    ("DROP TABLE t", "DROP TABLE"),
    ("DROP COLLATION c", "Drop"),
    ("ALTER EXTENSION pgcrypto UPDATE", "ALTER EXTENSION"),
    ("CREATE TYPE r AS RANGE (subtype = int)", "CREATE TYPE"),
    ("ALTER DOMAIN d SET NOT NULL", "ALTER DOMAIN"),
    ("ALTER TYPE e ADD VALUE 'b'", "ALTER TYPE"),
    ("CREATE PROCEDURE p() AS 'select 1' LANGUAGE sql", "CREATE PROCEDURE"),
    ("CREATE MATERIALIZED VIEW mv AS SELECT 1", "CREATE MATERIALIZED VIEW"),
    ("SELECT 1 INTO t", "SELECT INTO"),
    ("CALL p()", "CALL"),
    ("EXECUTE s", "EXECUTE"),
    ("BEGIN", "BEGIN"),
    ("ROLLBACK TO SAVEPOINT x", "ROLLBACK TO"),
    ("COMMIT PREPARED 'x'", "COMMIT PREPARED"),
    ("ANALYZE t", "ANALYZE"),
    ("VACUUM FULL t", "VACUUM"),
    ("COPY t TO stdout", "COPY"),
    ("CREATE ROLE r", "CreateRole"),
    ("LISTEN x", "Listen"),
    (
        "DO $$ BEGIN CREATE TYPE g AS ENUM ('a');"
        " EXCEPTION WHEN duplicate_object THEN null; END $$",
        "DO",
    ),
]


@pytest.mark.parametrize(("sql", "command"), COMMANDS)
def test_command_names(sql: str, command: str) -> None:
    assert last(sql).command == command


@pytest.mark.parametrize(
    ("sql", "node"),
    [
        ("CREATE TABLE t (id int)", "CreateStmt"),
        ("CREATE INDEX CONCURRENTLY i ON t (id)", "IndexStmt"),
        ("ALTER TABLE t RENAME TO u", "RenameStmt"),
        ("UPDATE t SET id = 1", "UpdateStmt"),
        ("LISTEN x", "ListenStmt"),
    ],
)
def test_a_statement_knows_its_node_in_the_grammar(sql: str, node: str) -> None:
    assert last(sql).node == node


def test_a_tag_has_one_handler() -> None:
    handles = Handlers()

    @handles("IndexStmt", command="CREATE INDEX")
    def create_index(reading: Reading, statement: Statement, body: dict[str, Any]) -> None:
        """Nothing."""

    with pytest.raises(ValueError, match="two handlers for IndexStmt"):
        handles("IndexStmt")(create_index)
    other = Handlers()
    other("IndexStmt")(create_index)
    with pytest.raises(ValueError, match="two handlers for IndexStmt"):
        Handlers.joined(handles, other)
    assert HANDLERS["IndexStmt"].command_of() == "CREATE INDEX"
    assert HANDLERS["DropStmt"].command_of() == "Drop"


@pytest.mark.parametrize(("sql", "expected"), SQL_EFFECTS)
def test_statement_effects(sql: str, expected: dict[str, Any]) -> None:
    actual = effects(last(sql))
    wanted = {
        **{key: [] for key in LISTS},
        "data": None,
        "tx": False,
        "opaque": False,
        "cascade": False,
        "concurrently": False,
        **expected,
    }
    for optional in ("command", "lock"):  # compared where the row names them
        if optional not in expected:
            del actual[optional]
    assert actual == wanted


@pytest.mark.parametrize(
    ("sql", "uses"),
    [
        ("CREATE TABLE p (user_id int REFERENCES users (id))", ["table:public.users"]),
        ("CREATE TABLE p (m app.mood)", ["type:app.mood"]),
        ("CREATE TABLE child () INHERITS (parent)", ["table:public.parent"]),
        ("CREATE TABLE copy (LIKE users INCLUDING ALL)", ["table:public.users"]),
        ("CREATE INDEX i ON app.users (email)", ["table:app.users"]),
        (
            "CREATE TRIGGER t BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION app.touch()",
            [UT, "function:app.touch"],
        ),
        ("CREATE POLICY p ON users USING (true)", [UT]),
        (
            "CREATE VIEW v AS WITH recent AS (SELECT * FROM orders) "
            "SELECT * FROM recent JOIN users USING (id)",
            ["table:public.orders", UT],
        ),
        ("INSERT INTO audit SELECT * FROM users", ["table:public.audit", UT]),
        ("UPDATE users SET x = 1", [UT]),
        ("DELETE FROM users", [UT]),
        ("TRUNCATE users, sessions", [UT, "table:public.sessions"]),
        ("ALTER TABLE users ADD COLUMN x int", [UT]),
        ("ALTER TABLE IF EXISTS users ADD COLUMN x int", []),
        ("ALTER TABLE users RENAME TO accounts", [UT]),
        ("ALTER TYPE mood ADD VALUE 'x'", ["type:public.mood"]),
        ("CREATE TABLE t (id int, n bigint, v varchar(10), b boolean)", []),
        (
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x JOIN other ON true",
            ["table:public.t", "table:public.other"],
        ),
        (
            "WITH x AS (SELECT * FROM src) INSERT INTO t SELECT * FROM x",
            ["table:public.t", "table:public.src"],
        ),
    ],
)
def test_uses(sql: str, uses: list[str]) -> None:
    used = [ref.key for ref in last(sql).uses]
    assert sorted(used) == sorted(uses)


@pytest.mark.parametrize(
    ("sql", "keys"),
    [
        (
            "CREATE TABLE users "
            "(id int PRIMARY KEY, email text UNIQUE, org_id int REFERENCES orgs)",
            {
                "users_pkey": (("id",), True),
                "users_email_key": (("email",), True),
                "users_org_id_fkey": (("org_id",), False),
            },
        ),
        ("CREATE INDEX ON users (email)", {"users_email_idx": (("email",), False)}),
        ("CREATE UNIQUE INDEX u ON users (a, b)", {"u": (("a", "b"), True)}),
        ("ALTER TABLE users ADD UNIQUE (b, a)", {"users_b_a_key": (("b", "a"), True)}),
        (
            "ALTER TABLE users ADD FOREIGN KEY (org_id, team_id) REFERENCES teams",
            {"users_org_id_team_id_fkey": (("org_id", "team_id"), False)},
        ),
        ("ALTER TABLE users ADD CHECK (age > 0)", {"users_age_check": (("age",), False)}),
        ("ALTER TABLE users ADD CHECK (a > b)", {"users_check": (("a", "b"), False)}),
    ],
)
def test_keys_of_indexes_and_constraints(sql: str, keys: dict[str, tuple[Any, bool]]) -> None:
    statement = last(sql)
    actual = {identity[3]: (key.columns, key.unique) for identity, key in statement.keys.items()}
    assert actual == keys
    assert all(key.table.key == UT for key in statement.keys.values())


def key_of(sql: str) -> KeyInfo:
    (key,) = last(sql).keys.values()
    return key


def test_expression_keys_are_the_expression_however_written() -> None:
    lower = key_of("CREATE INDEX a ON users (lower(email))")
    assert lower.columns == key_of("CREATE INDEX b ON public.users ( LOWER (email) )").columns
    assert lower.columns != key_of("CREATE INDEX c ON users (md5(email))").columns
    assert lower.columns[0].startswith("expr:")
    assert lower.reads == {"email"}
    assert key_of("CREATE INDEX d ON users ((a + b), c)").reads == {"a", "b", "c"}


def test_partial_keys_and_what_serves_what() -> None:
    full = key_of("CREATE INDEX a ON users (email)")
    active = key_of("CREATE INDEX b ON users (email) WHERE NOT is_deleted")
    again = key_of("CREATE INDEX c ON users (email) WHERE (NOT  is_deleted)")
    other = key_of("CREATE INDEX d ON users (email) WHERE is_deleted")
    assert (full.partial, active.partial) == (False, True)
    assert active.predicate == again.predicate != other.predicate
    assert active.reads == {"email", "is_deleted"}
    assert full.serves(active)
    assert active.serves(again)
    assert not active.serves(full)
    assert not other.serves(active)
    unique = key_of("ALTER TABLE users ADD CONSTRAINT u UNIQUE (email)")
    assert unique.serves(full)
    assert full.serves(unique)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX x ON users USING gin (email)",
        "CREATE INDEX x ON users (email text_pattern_ops)",
        'CREATE INDEX x ON users (email COLLATE "C")',
        "ALTER TABLE users ADD CONSTRAINT f FOREIGN KEY (email) REFERENCES other (email)",
        "ALTER TABLE users ADD CONSTRAINT c CHECK (email <> '')",
        "CREATE INDEX x ON other (email)",
    ],
)
def test_keys_that_do_not_serve_a_plain_btree_index(sql: str) -> None:
    plain = key_of("CREATE INDEX a ON users (email)")
    assert not key_of(sql).serves(plain)


def test_long_generated_names_are_cut_to_63_bytes() -> None:
    table = "t" * 40
    column = "c" * 40
    (index,) = last(f"CREATE INDEX ON {table} ({column})").creates
    assert len(index.name.encode()) == 63
    assert index.name == "t" * 29 + "_" + "c" * 29 + "_idx"


def test_column_types() -> None:
    statement = last(
        "CREATE TABLE t (a int, b varchar(255), c numeric(12,2), d app.mood[], e timestamptz)"
    )
    assert {identity[3]: text for identity, text in statement.column_types.items()} == {
        "a": "int4",
        "b": "varchar(255)",
        "c": "numeric(12,2)",
        "d": "app.mood[]",
        "e": "timestamptz",
    }
    (retype,) = last("ALTER TABLE t ALTER COLUMN b TYPE text").retypes
    assert (retype.column.key, retype.new_type) == ("column:public.t.b", "text")


# -- search_path ----------------------------------------------------------------------------------


def test_search_path_decides_where_unqualified_names_go() -> None:
    script = parse_text(
        "SET search_path TO app, public;\n"
        "CREATE TABLE a (id int);\n"
        "CREATE INDEX ON a (id);\n"
        "RESET search_path;\n"
        "CREATE TABLE b (id int);\n"
        'SET LOCAL search_path = "$user", billing;\n'
        "CREATE TABLE c (id int);\n"
        "SET search_path TO DEFAULT;\n"
        "CREATE TABLE d (id int);\n"
        "CREATE TABLE other.e (id int);\n"
    )
    created = [st.creates[0].key for st in script.statements if st.creates]
    assert created == [
        "table:app.a",
        "index:app.a_id_idx",
        "table:public.b",
        "table:billing.c",
        "table:public.d",
        "table:other.e",
    ]


@pytest.mark.parametrize(
    ("sql", "key"),
    [
        ("SELECT set_config('search_path', 'app', false)", "table:app.t"),
        (
            "SELECT pg_catalog.set_config('search_path', '\"$user\", billing', true)",
            "table:billing.t",
        ),
        ("SELECT set_config('statement_timeout', '5s', false)", "table:public.t"),
        ("SELECT set_config('search_path', current_setting('x'), false)", "table:public.t"),
    ],
)
def test_set_config_search_path(sql: str, key: str) -> None:
    script = parse_text(f"{sql};\nCREATE TABLE t (id int);")
    assert script.statements[1].creates[0].key == key


def test_create_schema_with_elements() -> None:
    script = parse_text(
        "CREATE SCHEMA billing\n"
        "  CREATE TABLE invoices (id int PRIMARY KEY)\n"
        "  CREATE INDEX invoices_id_idx ON invoices (id)\n"
        "  CREATE VIEW open_invoices AS SELECT * FROM invoices;\n"
        "CREATE TABLE after_it (id int);\n"
    )
    first, second = script.statements
    assert [ref.key for ref in first.creates] == [
        "schema:billing",
        "table:billing.invoices",
        "column:billing.invoices.id",
        "constraint:billing.invoices.invoices_pkey",
        "index:billing.invoices_id_idx",
        "view:billing.open_invoices",
    ]
    assert "constraint:billing.invoices.invoices_pkey" in {
        f"constraint:{key.table.schema}.{key.table.name}.{identity[3]}"
        for identity, key in first.keys.items()
    }
    # the schema's own path ends with the statement
    assert second.creates[0].key == "table:public.after_it"


# -- scripts: statements, lines, and what stops parsing -------------------------------------------


@pytest.mark.parametrize(
    ("sql", "positions"),
    [
        ("SELECT 1;", [(1, 1, 1)]),
        (
            "CREATE TABLE t (\n  id int\n);\n\n\nSELECT 1;  SELECT 2;\n",
            [(1, 1, 3), (6, 1, 6), (6, 12, 6)],
        ),
        ("-- header\n/* block\n comment */\n  SELECT 1;", [(4, 3, 4)]),
        ("SELECT 1;\r\n\r\nSELECT 2;\r\n", [(1, 1, 1), (3, 1, 3)]),
        ("SELECT 'ééé'; SELECT '日本語';\n  SELECT 3;", [(1, 1, 1), (1, 15, 1), (2, 3, 2)]),
        (
            'CREATE TABLE "users" (\n  "id" serial PRIMARY KEY\n);\n--> statement-breakpoint\n'
            'CREATE INDEX "users_id_idx" ON "users" ("id");--> statement-breakpoint\n'
            'ALTER TABLE "users" ADD COLUMN "name" text;\n',
            [(1, 1, 3), (5, 1, 5), (6, 1, 6)],
        ),
        (
            "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $fn$ SELECT 'a;b' $fn$;\n"
            "CREATE FUNCTION g() RETURNS text LANGUAGE plpgsql AS $$\nBEGIN\n"
            "  -- ; is no statement end here\n  RETURN $q$x;y$q$;\nEND\n$$;\nSELECT 1;",
            [(1, 1, 1), (2, 1, 7), (8, 1, 8)],
        ),
        ("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n", [(1, 1, 1), (2, 1, 2), (3, 1, 3)]),
        ("SELECT 1;\x00\nSELECT 2;", [(1, 1, 1), (2, 1, 2)]),
    ],
)
def test_statement_positions(sql: str, positions: list[tuple[int, int, int]]) -> None:
    script = parse_text(sql)
    assert script.problems == []
    assert [(st.line, st.column, st.end_line) for st in script.statements] == positions
    assert [st.index for st in script.statements] == list(range(len(positions)))


def test_drizzle_breakpoints_are_comments() -> None:
    script = parse_text(
        'CREATE TABLE "users" ("id" serial PRIMARY KEY);\n--> statement-breakpoint\n'
        'CREATE TABLE "prompts" ("id" serial PRIMARY KEY, "user_id" integer);\n'
        "--> statement-breakpoint\n"
        'ALTER TABLE "prompts" ADD CONSTRAINT "prompts_user_id_users_id_fk" FOREIGN KEY '
        '("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;'
    )
    assert [st.command for st in script.statements] == [
        "CREATE TABLE",
        "CREATE TABLE",
        "ALTER TABLE",
    ]
    assert (
        script.statements[2].creates[0].key
        == "constraint:public.prompts.prompts_user_id_users_id_fk"
    )


@pytest.mark.parametrize("sql", ["", "   \n\t\n", "-- only a comment\n", "/* a */ -- b\n", ";\n;"])
def test_files_without_statements(sql: str) -> None:
    script = parse_text(sql)
    assert script.empty
    assert script.parsed
    assert script.statements == []
    assert script.problems == []
    assert not script.opaque


def test_parse_error_has_line_and_column() -> None:
    script = parse_text(
        "-- users\nCREATE TABLE a (id int);\nCREATE TABLE users (id serial PRIMARY KEY,);\n"
    )
    assert not script.parsed
    assert script.opaque  # what it does is unknown
    assert not script.empty
    assert script.statements == []
    (problem,) = script.problems
    assert (problem.code, problem.line, problem.column) == ("MG200", 3, 43)
    assert problem.message == 'does not parse: syntax error at or near ")"'


def test_parse_error_column_after_non_ascii() -> None:
    (problem,) = parse_text("SELECT '😀😀'; CREATE TABLE b (x int,);").problems
    assert (problem.line, problem.column) == (1, 36)


@pytest.mark.parametrize(
    ("sql", "problems", "statements", "opaque"),
    [
        (
            "\\set ON_ERROR_STOP on\nCREATE TABLE a (id int);\n",
            [("MG206", 1, 1, "\\set")],
            [2],
            False,
        ),
        (
            "CREATE TABLE a (id int);\n  \\i other.sql\nCREATE TABLE b (id int);\n",
            [("MG206", 2, 3, "\\i")],
            [1, 3],
            True,
        ),
        ("\\i other.sql\n", [("MG206", 1, 1, "\\i")], [], True),
        (
            "\\connect app\nSELECT 1;\n\\echo done\n",
            [("MG206", 1, 1, "\\connect"), ("MG206", 3, 1, "\\echo")],
            [2],
            False,
        ),
        ("\\i 2025-08-30_initial_schema.sql\n", [("MG206", 1, 1, "\\i")], [], True),
        (
            "SELECT 1;\n\\echo it's done\nSELECT 'it''s';\n",
            [("MG206", 2, 1, "\\echo")],
            [1, 3],
            False,
        ),
        ("SELECT $$\n\\echo in a body\n$$;\n\\q\n", [("MG206", 4, 1, "\\q")], [1], False),
    ],
)
def test_psql_meta_commands(
    sql: str, problems: list[tuple[str, int, int, str]], statements: list[int], opaque: bool
) -> None:
    script = parse_text(sql)
    actual = [(p.code, p.line, p.column, p.message.split("`")[1]) for p in script.problems]
    assert actual == problems
    assert [st.line for st in script.statements] == statements
    assert script.opaque is opaque
    for problem in script.problems:
        assert "migdocs reads SQL only" in problem.message


@pytest.mark.parametrize(
    ("sql", "suppressed"),
    [
        ("-- migdocs: ignore MG205 (small table)\nCREATE INDEX i ON t (x);", [{"MG205"}]),
        (
            "CREATE INDEX i ON t (x); -- migdocs: ignore MG205 (small)\nCREATE INDEX j ON t (x);",
            [{"MG205"}, set()],
        ),
        ("/* migdocs: ignore MG205, MG202 (x) */\nCREATE INDEX i ON t (x);", [{"MG205", "MG202"}]),
        ("-- MIGDOCS: IGNORE mg205\n\n-- another comment\nCREATE INDEX i ON t (x);", [{"MG205"}]),
        ("CREATE INDEX i\n  -- migdocs: ignore MG205 (x)\n  ON t (x);", [{"MG205"}]),
        ("SELECT '-- migdocs: ignore MG205 (x)';\nCREATE INDEX i ON t (x);", [set(), set()]),
        ("CREATE INDEX i ON t (x);\n-- migdocs: ignore MG205 (after everything)\n", [set()]),
        ("-- migdocs: ignore everything\nCREATE INDEX i ON t (x);", [set()]),
        (
            "SELECT 'ünïcödé';\n-- migdocs: ignore MG205 (ça)\nCREATE INDEX i ON t (x);",
            [set(), {"MG205"}],
        ),
        ("\\echo it's\n-- migdocs: ignore MG205\nCREATE INDEX i ON t (x);", [{"MG205"}]),
    ],
)
def test_ignore_directives(sql: str, suppressed: list[set[str]]) -> None:
    assert [set(st.suppressed) for st in parse_text(sql).statements] == suppressed


# -- files -----------------------------------------------------------------------------------------


def test_byte_order_mark_and_crlf_in_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a.sql"
    raw = b"\xef\xbb\xbfCREATE TABLE a (id int);\r\n\r\nCREATE TABLE b (id int);\r\n"
    path.write_bytes(raw)
    script = read_script(path, "migrations/a.sql")
    assert script.problems == []
    assert [(st.line, st.column) for st in script.statements] == [(1, 1), (3, 1)]
    assert script.raw == raw
    assert script.sha256 == hashlib.sha256(raw).hexdigest()
    assert script.display == "migrations/a.sql"


def test_byte_order_mark_before_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "a.sql"
    path.write_bytes(b"\xef\xbb\xbfCREATE TABLE a (id int);\r\nCREATE TABLE b (x int,);\r\n")
    (problem,) = read_script(path, "a.sql").problems
    assert (problem.code, problem.line, problem.column) == ("MG200", 2, 23)


def test_byte_order_mark_in_text() -> None:
    script = parse_text("\ufeffCREATE TABLE a (id int);\n")
    assert script.problems == []
    assert [(st.line, st.column, st.command) for st in script.statements] == [
        (1, 1, "CREATE TABLE")
    ]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.sql"
    path.write_bytes(b"-- ok\nSELECT 'caf\xe9';\n")
    script = read_script(path, "migrations/latin1.sql")
    assert script.text is None
    assert not script.parsed
    (problem,) = script.problems
    assert (problem.code, problem.line, problem.column) == ("MG200", 2, 12)
    assert problem.message == "not UTF-8 text (byte 0xe9); save the file as UTF-8"


STATEMENTS_BY_LINE = """\
-- a comment
CREATE TABLE a (
  id int
); CREATE TABLE b (id int);

SELECT 1; SELECT 2;
-- trailing
INSERT INTO a
VALUES (1)"""


def test_statement_at_every_line() -> None:
    script = parse_text(STATEMENTS_BY_LINE)
    first = [
        next((s for s in script.statements if s.line <= line <= s.end_line), None)
        for line in range(12)
    ]
    assert [script.statement_at(line) for line in range(12)] == first
    assert [None if s is None else s.index for s in first] == [
        None, None, 0, 0, 0, None, 2, None, 4, 4, None, None,
    ]  # fmt: skip


def test_statement_at() -> None:
    script = parse_text("SELECT 1;\n\nCREATE TABLE t (\n  id int\n);\n")
    assert script.statement_at(1) is script.statements[0]
    assert script.statement_at(4) is script.statements[1]
    assert script.statement_at(2) is None


def test_a_do_block_guarding_a_create_does_what_the_create_does() -> None:
    # drizzle-kit's guard before it wrote IF NOT EXISTS (dokploy, 57 of them).
    script = parse_text(
        """DO $$ BEGIN
 CREATE TYPE "public"."role" AS ENUM('admin', 'user');
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
--> statement-breakpoint
DO $$ BEGIN
 ALTER TABLE "users" ADD CONSTRAINT "users_org_fk" FOREIGN KEY ("org") REFERENCES "orgs"("id");
EXCEPTION
 WHEN duplicate_object THEN null;
END $$;
DO $$ BEGIN PERFORM set_up(); EXCEPTION WHEN duplicate_object THEN null; END $$;
DO $$ BEGIN CREATE TYPE mood AS ENUM ('ok'); EXCEPTION WHEN others THEN null; END $$;
DO LANGUAGE plperl $$ BEGIN CREATE TYPE x AS ENUM ('a');
EXCEPTION WHEN duplicate_object THEN null; END $$;
"""
    )
    first, second, call, other, perl = script.statements
    assert (first.command, first.opaque) == ("DO", False)
    assert [ref.key for ref in first.creates] == ["type:public.role"]
    assert [ref.key for ref in second.creates] == ["constraint:public.users.users_org_fk"]
    assert {ref.key for ref in second.uses} >= {"table:public.users", "table:public.orgs"}
    # Anything else in a DO block stays unknown.
    assert call.opaque
    assert other.opaque
    assert perl.opaque
