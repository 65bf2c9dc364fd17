"""Drift: a live database (a real one: embedded 18, and the external server when set) against
the schema replay builds, each difference named with its code, object and migration."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from migdocs.checks import run_static
from migdocs.drift import LiveSection, compare_live, migrating_role
from migdocs.pg import ScratchServer, Snapshot, read_snapshot
from migdocs.project import Project
from migdocs.replay import ReplayResult, replay_project
from runner_kit import make_project

HISTORY: list[dict[str, Any]] = [
    {
        "name": "users",
        "up": "CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL, "
        "deleted_at timestamptz);",
        "down": "DROP TABLE users;",
        "creates": {"tables": ["users"]},
    },
    {
        "name": "email_index",
        "up": "CREATE INDEX users_email_idx ON users (email);",
        "down": "DROP INDEX users_email_idx;",
        "creates": {"indexes": ["users_email_idx"]},
    },
    {
        "name": "sessions",
        "up": """
            CREATE TABLE sessions (sid varchar PRIMARY KEY, expire timestamp(6) NOT NULL);
            CREATE INDEX sessions_expire_idx ON sessions (expire);
            """,
        "down": "DROP TABLE sessions;",
        "creates": {"tables": ["sessions"], "indexes": ["sessions_expire_idx"]},
    },
    {
        "name": "drop_deleted_at",
        "up": "ALTER TABLE users DROP COLUMN deleted_at;",
        "down": "ALTER TABLE users ADD COLUMN deleted_at timestamptz;",
        "drops": {"columns": ["users.deleted_at"]},
    },
]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(
        tmp_path,
        HISTORY,
        live={"ignore": ["tool.*", "public.pg_stat_*"]},
    )


@pytest.fixture
def replayed(project: Project, embedded_server: ScratchServer) -> ReplayResult:
    context, _ = run_static(project)
    return replay_project(project, context, embedded_server)


@pytest.fixture
def live(pg_server: ScratchServer) -> Iterator[psycopg.Connection[Any]]:
    """A live database on each server: applied by hand below, as a deploy would."""
    url = pg_server.create_database()
    with pg_server.connect(url) as conn:
        yield conn
    pg_server.drop_database(url)


def deploy(conn: psycopg.Connection[Any], project: Project, upto: int | None = None) -> None:
    for entry in project.entries[:upto]:
        script = project.forward(entry)
        assert script is not None
        for statement in script.statements:
            conn.execute(script.statement_text(statement).encode())


def audit(
    project: Project, replayed: ReplayResult, conn: psycopg.Connection[Any], **options: Any
) -> LiveSection:
    return compare_live(
        project,
        replayed,
        read_snapshot(conn),
        database="postgresql://auditor@db.example/app",
        server="PostgreSQL",
        **options,
    )


def states(section: LiveSection) -> list[str]:
    return [state for _, state in section.states]


def messages(section: LiveSection) -> list[tuple[str, str | None, str]]:
    return [(f.code, f.migration and f.migration[11:], f.message) for f in section.findings]


def test_a_database_built_from_the_migrations_is_clean(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project)
    section = audit(project, replayed, live)
    assert section.findings == []
    assert states(section) == ["applied"] * 4
    assert section.to_json()["migrations"][0] == {
        "migration": "2025-01-01_users",
        "state": "applied",
    }


def test_hand_dropped_index(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project)
    live.execute("DROP INDEX users_email_idx")
    section = audit(project, replayed, live)
    assert messages(section) == [
        (
            "MG501",
            "email_index",
            "index public.users_email_idx is missing (made by 2025-01-02_email_index)",
        )
    ]
    assert section.findings[0].database == "postgresql://auditor@db.example/app"
    # The migration ran, and its only object was dropped since: applied, with MG501.
    assert states(section) == ["applied"] * 4


def test_an_object_dropped_by_hand_from_an_earlier_migration_is_mg501_not_partial(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project)
    live.execute("DROP INDEX sessions_expire_idx")  # sessions also makes its table: kept
    section = audit(project, replayed, live)
    assert messages(section) == [
        (
            "MG501",
            "sessions",
            "index public.sessions_expire_idx is missing (made by 2025-01-03_sessions)",
        )
    ]
    # A partial state would say MG504; the migration ran, so it is applied.
    assert states(section) == ["applied"] * 4


def test_hand_made_index_and_tools_schema(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project)
    live.execute("CREATE INDEX users_lower_email_idx ON users (lower(email))")
    # Another tool's schema and objects, ignored by the catalog's live.ignore patterns.
    live.execute("CREATE SCHEMA tool")
    live.execute("CREATE TABLE tool.jobs (id int)")
    live.execute("CREATE VIEW pg_stat_fake AS SELECT 1 AS one")
    section = audit(project, replayed, live)
    assert messages(section) == [
        (
            "MG502",
            None,
            "index public.users_lower_email_idx exists, but no migration makes it",
        )
    ]


def test_changed_column_type(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project)
    live.execute("ALTER TABLE users ALTER COLUMN email TYPE varchar(320)")
    section = audit(project, replayed, live)
    assert messages(section) == [
        (
            "MG503",
            "users",
            "column public.users.email: type text → character varying(320) "
            "(migrations → live) (last changed by 2025-01-01_users)",
        )
    ]
    assert states(section) == ["applied"] * 4


def test_partly_applied_migration(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project, upto=2)
    live.execute("CREATE TABLE sessions (sid varchar PRIMARY KEY, expire timestamp(6) NOT NULL)")
    section = audit(project, replayed, live)
    assert states(section) == ["applied", "applied", "partial", "pending"]
    assert messages(section) == [
        (
            "MG504",
            "sessions",
            "the migration is only partly applied: missing index public.sessions_expire_idx",
        )
    ]


def test_migration_never_applied_is_pending_not_drift(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project, upto=3)
    section = audit(project, replayed, live)
    assert states(section) == ["applied", "applied", "applied", "pending"]
    assert section.findings == []


def test_ledger_says_applied_so_missing_objects_are_drift(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    deploy(live, project, upto=2)
    live.execute("CREATE TABLE sessions (sid varchar PRIMARY KEY, expire timestamp(6) NOT NULL)")
    applied = {entry.id for entry in project.entries[:3]}
    section = audit(project, replayed, live, ledger_applied=applied)
    assert [code for code, _, _ in messages(section)] == ["MG501"]
    assert "sessions_expire_idx" in section.findings[0].message


def test_a_migration_skipped_in_the_middle(
    project: Project, replayed: ReplayResult, live: psycopg.Connection[Any]
) -> None:
    for index in (0, 2, 3):
        entry = project.entries[index]
        script = project.forward(entry)
        assert script is not None
        for statement in script.statements:
            live.execute(script.statement_text(statement).encode())
    # Without a ledger, the objects say it ran before later ones: its index was dropped.
    section = audit(project, replayed, live)
    assert states(section) == ["applied"] * 4
    assert [(code, migration) for code, migration, _ in messages(section)] == [
        ("MG501", "email_index")
    ]
    # A ledger that does not list it says it never ran: pending, and nothing of it is drift
    # (the ledger's gap is MG506, the ledger's finding).
    ledger = {entry.id for entry in project.entries} - {project.entries[1].id}
    section = audit(project, replayed, live, ledger_applied=ledger)
    assert states(section) == ["applied", "pending", "applied", "applied"]
    assert section.findings == []


# -- owners: the role that ran the migrations ---------------------------------------------------


@pytest.fixture
def roles(pg_server: ScratchServer, embedded_server: ScratchServer) -> Iterator[dict[str, str]]:
    """Throwaway roles on the replay's server and the live one: ``app``, which runs the
    migrations in production, ``reporting``, which a migration names as an owner, and
    ``other``, which a DBA gives a table to by hand."""
    suffix = secrets.token_hex(4)
    names = {role: f"migdocs_drift_{role}_{suffix}" for role in ("app", "reporting", "other")}
    servers = list({id(s): s for s in (embedded_server, pg_server)}.values())
    try:
        for server in servers:
            with server.connect(server.url("postgres")) as admin:
                for name in names.values():
                    admin.execute(f"CREATE ROLE {name}")
        yield names
    finally:
        for server in servers:
            with server.connect(server.url("postgres")) as admin:
                for name in names.values():
                    admin.execute(f"DROP ROLE IF EXISTS {name}")


def owned_history(roles: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "name": "users",
            "up": """
                CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);
                -- The owner's own ACL items name the owner: it may update emails only.
                REVOKE TRUNCATE, UPDATE ON users FROM CURRENT_USER;
                GRANT UPDATE (email) ON users TO CURRENT_USER;
                CREATE SCHEMA app;
                CREATE FUNCTION app.answer() RETURNS int LANGUAGE sql AS 'SELECT 42';
                CREATE TYPE app.mood AS ENUM ('ok');
                CREATE VIEW active_users AS SELECT id FROM users;
                """,
            "down": "DROP VIEW active_users; DROP SCHEMA app CASCADE; DROP TABLE users;",
            "creates": {
                "tables": ["users"],
                "schemas": ["app"],
                "functions": ["app.answer"],
                "types": ["app.mood"],
                "views": ["active_users"],
            },
        },
        {
            "name": "reports",
            "up": f"""
                CREATE TABLE reports (id int);
                ALTER TABLE reports OWNER TO {roles["reporting"]};
                CREATE TABLE audit (id int);
                -- By name: the replay's role (postgres), as production's superuser.
                ALTER TABLE audit OWNER TO postgres;
                """,
            "down": "DROP TABLE reports; DROP TABLE audit;",
            "creates": {"tables": ["reports", "audit"]},
        },
    ]


@pytest.fixture
def owned(
    tmp_path: Path,
    roles: dict[str, str],
    embedded_server: ScratchServer,
    pg_server: ScratchServer,
) -> Iterator[tuple[Project, ReplayResult, psycopg.Connection[Any]]]:
    """The history replayed as ``postgres``, and deployed on a live database as ``app``
    (which owns the database, as an application's role does), but for the statements that
    give a table away, which a DBA runs as a superuser."""
    # Giving a table away needs a superuser, as production's DBA is (or CREATE on the
    # schema for the new owner, which PostgreSQL asks of anyone else).
    project = make_project(tmp_path, owned_history(roles), replay={"superuser": True})
    context, _ = run_static(project)
    replayed = replay_project(project, context, embedded_server)
    assert replayed.findings == []
    assert replayed.role == "postgres"
    url = pg_server.create_database()
    try:
        with pg_server.connect(url) as admin, pg_server.connect(url) as app:
            admin.execute(f"ALTER DATABASE {admin.info.dbname} OWNER TO {roles['app']}")
            app.execute(f"SET ROLE {roles['app']}")
            for entry in project.entries:
                script = project.forward(entry)
                assert script is not None
                for statement in script.statements:
                    text = script.statement_text(statement)
                    (admin if "OWNER TO " in text else app).execute(text.encode())
            yield project, replayed, admin
    finally:
        pg_server.drop_database(url)


def test_what_the_migrating_role_owns_is_not_drift(
    owned: tuple[Project, ReplayResult, psycopg.Connection[Any]], roles: dict[str, str]
) -> None:
    project, replayed, live = owned
    snapshot = read_snapshot(live)
    assert snapshot["table:public.users"].attrs["owner"] == roles["app"]
    assert snapshot["table:public.users"].attrs["revoked"] == (
        f"{roles['app']}:TRUNCATE",
        f"{roles['app']}:UPDATE",
    )
    assert snapshot["column:public.users.email"].attrs["grants"] == (f"{roles['app']}:UPDATE",)
    assert replayed.schema["table:public.users"].attrs["owner"] == "postgres"
    section = audit(project, replayed, live)
    assert section.findings == []
    assert states(section) == ["applied", "applied"]


def test_an_object_given_to_another_role_by_hand_is_mg503(
    owned: tuple[Project, ReplayResult, psycopg.Connection[Any]], roles: dict[str, str]
) -> None:
    project, replayed, live = owned
    live.execute(f"ALTER TABLE users OWNER TO {roles['other']}")
    live.execute(f"ALTER TABLE reports OWNER TO {roles['app']}")
    live.execute(f"ALTER TABLE audit OWNER TO {roles['app']}")
    section = audit(project, replayed, live)
    assert [message for _, _, message in messages(section)] == [
        f"table public.audit: owner postgres → {roles['app']} (migrations → live) "
        "(last changed by 2025-01-02_reports)",
        f"table public.reports: owner {roles['reporting']} → {roles['app']} "
        "(migrations → live) (last changed by 2025-01-02_reports)",
        f"table public.users: owner {roles['app']} → {roles['other']} (migrations → live) "
        "(last changed by 2025-01-01_users)",
        # Its ACL follows its owner: what the owner took from itself names the new owner.
        f"table public.users: revoked +{roles['other']}:TRUNCATE +{roles['other']}:UPDATE "
        f"−{roles['app']}:TRUNCATE −{roles['app']}:UPDATE "
        "(migrations → live) (last changed by 2025-01-01_users)",
        f"column public.users.email: grants +{roles['other']}:UPDATE −{roles['app']}:UPDATE "
        "(migrations → live) (last changed by 2025-01-01_users)",
    ]


def test_the_migrating_role_is_the_owner_of_most_of_what_the_migrations_made(
    owned: tuple[Project, ReplayResult, psycopg.Connection[Any]], roles: dict[str, str]
) -> None:
    _, replayed, live = owned
    expected, actual = replayed.schema, read_snapshot(live)
    assert migrating_role(expected, actual, replayed) == roles["app"]
    for table in ("users", "active_users"):
        live.execute(f"ALTER TABLE {table} OWNER TO {roles['other']}")
    # Five objects owned by whoever ran the migrations: two given away leave app the most.
    assert migrating_role(expected, read_snapshot(live), replayed) == roles["app"]
    live.execute(f"ALTER SCHEMA app OWNER TO {roles['other']}")
    assert migrating_role(expected, read_snapshot(live), replayed) == roles["other"]
    # Nothing of the migrations in the database: nothing to tell.
    empty = Snapshot()
    assert migrating_role(expected, empty, replayed) is None


def test_what_replay_setup_made_is_owned_as_the_live_database_has_it(
    tmp_path: Path, embedded_server: ScratchServer, pg_server: ScratchServer
) -> None:
    # A platform's own objects (Supabase's `storage.buckets`, made by `replay.setup` here)
    # belong to the platform's role in production, to replay's role in the scratch database.
    (tmp_path / "setup.sql").write_text(
        "CREATE SCHEMA storage;\nCREATE TABLE storage.buckets (id text);\n"
    )
    project = make_project(
        tmp_path,
        [
            {
                "name": "avatars",
                "up": "CREATE TABLE avatars (bucket text);",
                "down": "DROP TABLE avatars;",
                "creates": {"tables": ["avatars"]},
            },
            {
                "name": "banners",
                "up": "CREATE TABLE banners (bucket text); CREATE TABLE logos (bucket text);",
                "down": "DROP TABLE banners; DROP TABLE logos;",
                "creates": {"tables": ["banners", "logos"]},
            },
        ],
        replay={"setup": ["setup.sql"]},
    )
    context, _ = run_static(project)
    replayed = replay_project(project, context, embedded_server)
    assert replayed.schema["table:storage.buckets"].attrs["owner"] == "postgres"
    url = pg_server.create_database()
    try:
        with pg_server.connect(url) as conn:
            platform = f"platform_{secrets.token_hex(4)}"
            conn.execute(f"CREATE ROLE {platform}")
            try:
                conn.execute("CREATE SCHEMA storage")
                conn.execute("CREATE TABLE storage.buckets (id text)")
                conn.execute(f"ALTER TABLE storage.buckets OWNER TO {platform}")
                conn.execute(f"ALTER SCHEMA storage OWNER TO {platform}")
                deploy(conn, project)
                section = audit(project, replayed, conn)
                assert section.findings == []
                # A migration's own object given away by hand is still drift.
                conn.execute(f"ALTER TABLE avatars OWNER TO {platform}")
                section = audit(project, replayed, conn)
                assert [code for code, _, _ in messages(section)] == ["MG503"]
            finally:
                conn.execute("DROP SCHEMA storage CASCADE")
                conn.execute("DROP TABLE IF EXISTS avatars, banners, logos")
                conn.execute(f"DROP ROLE {platform}")
    finally:
        pg_server.drop_database(url)
