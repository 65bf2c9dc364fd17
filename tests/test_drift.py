"""Drift: a live database (a real one: embedded 18, and the external server when set) against
the schema replay builds, each difference named with its code, object and migration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from migdocs.checks import run_static
from migdocs.drift import LiveSection, compare_live
from migdocs.pg import ScratchServer, read_snapshot
from migdocs.project import Project
from migdocs.replay import ReplayResult, replay_project
from test_replay import make_project

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
