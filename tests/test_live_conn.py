"""Live connections: read-only, least privilege, URLs from flags, files and the environment."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from migdocs.catalog.models import Ledger
from migdocs.errors import MigdocsError
from migdocs.ledger import read_ledger
from migdocs.pg import ScratchServer, read_snapshot
from migdocs.pg.live import connect_live, redact, resolve_live_urls
from migdocs.project import Project
from runner_kit import make_project


@pytest.fixture
def schema_url(pg_server: ScratchServer) -> Iterator[str]:
    url = pg_server.create_database()
    with pg_server.connect(url) as conn:
        conn.execute("CREATE SCHEMA app")
        conn.execute("CREATE TABLE app.orders (id int PRIMARY KEY, total numeric(12,2))")
        conn.execute("CREATE INDEX orders_total_idx ON app.orders (total)")
        conn.execute("CREATE VIEW app.big AS SELECT id FROM app.orders WHERE total > 100")
        conn.execute("CREATE FUNCTION app.double(x int) RETURNS int LANGUAGE sql AS 'SELECT x * 2'")
    yield url
    pg_server.drop_database(url)


def test_live_session_refuses_writes(schema_url: str) -> None:
    with connect_live(schema_url, statement_timeout="7s") as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW application_name").fetchone() == ("migdocs",)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("7s",)
        assert conn.execute("SHOW lock_timeout").fetchone() == ("5s",)
        for statement in (
            "CREATE TABLE app.intruder (id int)",
            "INSERT INTO app.orders VALUES (1, 2)",
            "DROP INDEX app.orders_total_idx",
            "CREATE TEMP TABLE scratch (id int)",
            "UPDATE app.orders SET total = 0",
        ):
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
                conn.execute(statement)


def test_a_role_that_can_only_log_in_reads_the_whole_schema(
    pg_server: ScratchServer, schema_url: str
) -> None:
    """The README's least privileges: CONNECT on the database and nothing else — not even
    USAGE on the application's schema — is enough for the snapshot."""
    role = f"migdocs_auditor_{secrets.token_hex(4)}"
    database = psycopg.conninfo.conninfo_to_dict(pg_server.url(schema_url))["dbname"]
    with pg_server.connect(schema_url) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        admin.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
        admin.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
        admin.execute("REVOKE ALL ON SCHEMA app FROM PUBLIC")
        full = read_snapshot(admin)
    try:
        url = make_conninfo(pg_server.url(schema_url), user=role)
        with connect_live(url) as conn:
            assert read_snapshot(conn) == full
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM app.orders")
    finally:
        with pg_server.connect(schema_url) as admin:
            admin.execute(f'REVOKE ALL ON DATABASE "{database}" FROM {role}')
            admin.execute(f"DROP ROLE {role}")


def test_the_ledger_needs_the_grants_the_readme_names(
    pg_server: ScratchServer, schema_url: str, tmp_path: Path
) -> None:
    project: Project = make_project(
        tmp_path,
        [{"name": "one", "up": "CREATE TABLE one (id int);\n", "down": "DROP TABLE one;\n"}],
        ledger={"kind": "table", "table": "ops.schema_migrations"},
    )
    role = f"migdocs_auditor_{secrets.token_hex(4)}"
    ledger = Ledger(kind="table", table="ops.schema_migrations")
    with pg_server.connect(schema_url) as admin:
        admin.execute("CREATE SCHEMA ops")
        admin.execute("CREATE TABLE ops.schema_migrations (version text)")
        admin.execute("INSERT INTO ops.schema_migrations VALUES ('2025-01-01_one')")
        admin.execute(f"CREATE ROLE {role} LOGIN")
    url = make_conninfo(pg_server.url(schema_url), user=role)
    try:
        with connect_live(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            read_ledger(conn, ledger, project)
        with pg_server.connect(schema_url) as admin:
            admin.execute(f"GRANT USAGE ON SCHEMA ops TO {role}")
            admin.execute(f"GRANT SELECT ON ops.schema_migrations TO {role}")
        with connect_live(url) as conn:
            [row] = read_ledger(conn, ledger, project)
            assert row.migration == "2025-01-01_one"
    finally:
        with pg_server.connect(schema_url) as admin:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def test_resolve_urls_from_flags_file_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MIGDOCS_DATABASE_URL", raising=False)
    listing = tmp_path / "fleet.txt"
    listing.write_text("# regions\npostgresql://a@eu/app\n\npostgresql://a@us/app\n")
    assert resolve_live_urls(["postgresql://a@eu/app"], str(listing), False) == [
        "postgresql://a@eu/app",
        "postgresql://a@us/app",
    ]
    assert resolve_live_urls([], None, False) == []
    assert resolve_live_urls([], None, True) == [""]  # libpq's PG* variables
    monkeypatch.setenv("MIGDOCS_DATABASE_URL", "postgresql://a@env/app")
    assert resolve_live_urls([], None, True) == ["postgresql://a@env/app"]


def test_a_bad_line_in_the_url_file_names_file_and_line(tmp_path: Path) -> None:
    listing = tmp_path / "fleet.txt"
    listing.write_text("postgresql://a@eu/app\nthis is = not = a url\n")
    with pytest.raises(MigdocsError, match=r"fleet.txt:2: not a PostgreSQL URL"):
        resolve_live_urls([], str(listing), False)


def test_redact_names_the_pg_environment_without_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGHOST", "db.internal")
    monkeypatch.setenv("PGUSER", "auditor")
    monkeypatch.setenv("PGPASSWORD", "never-shown")
    monkeypatch.setenv("PGDATABASE", "app")
    named = redact("")
    assert "db.internal" in named
    assert "app" in named
    assert "never-shown" not in named
    assert redact("postgresql://auditor:never-shown@db/app") == "postgresql://auditor@db/app"
    assert "never-shown" not in redact("host=db password=never-shown dbname=app")


def test_unreachable_server_is_a_clear_error_without_password() -> None:
    url = "postgresql://auditor:never-shown@127.0.0.1:9/app"
    with pytest.raises(MigdocsError) as caught:
        connect_live(url, connect_timeout=2)
    message = str(caught.value)
    assert "127.0.0.1:9/app" in message
    assert "never-shown" not in message


@pytest.mark.parametrize(
    "form",
    [
        "postgresql://auditor:never-shown@127.0.0.1:{port}/app",
        "host=127.0.0.1 port={port} user=auditor password=never-shown dbname=app",
    ],
)
def test_a_server_that_never_answers_fails_within_the_connect_timeout(form: str) -> None:
    """A listening socket that never speaks: the TCP connection opens, libpq waits for the
    server's answer, and the connect timeout ends the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(MigdocsError) as caught:
            connect_live(form.format(port=port), connect_timeout=2)
        elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 6
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert str(port) in message
    assert "app" in message
    assert "timeout" in message
    assert "never-shown" not in message


def test_wrong_password_is_exit_2_material_without_the_password() -> None:
    """A second embedded server that asks for passwords (scram-sha-256) refuses a wrong one."""
    with ScratchServer.embedded() as server:
        url = server.create_database()
        with server.connect(url) as conn:
            conn.execute("ALTER ROLE CURRENT_USER PASSWORD 'the-right-one'")
            data = Path(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
            (data / "pg_hba.conf").write_text("local all all scram-sha-256\n")
            conn.execute("SELECT pg_reload_conf()")
        wrong = make_conninfo(server.url(url), password="a-wrong-secret")
        with pytest.raises(MigdocsError) as caught:
            connect_live(wrong, connect_timeout=5)
        message = str(caught.value)
        assert "password authentication failed" in message
        assert "a-wrong-secret" not in message
        right = make_conninfo(server.url(url), password="the-right-one")
        with connect_live(right) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def _sessions(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The sessions the database has had (PostgreSQL counts one when it ends)."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    row = conn.execute(
        "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
    ).fetchone()
    assert row is not None
    return int(row[0])  # type: ignore[call-overload]


def test_a_big_live_read_takes_its_second_connection_with_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second connection of a big read logs in as the first did, password included, and
    reads in a read-only session too."""
    monkeypatch.setattr("migdocs.pg.reader.SECOND_CONNECTION_CATALOG", 0)
    with ScratchServer.embedded() as server:
        url = server.create_database()
        with server.connect(url) as conn:
            conn.execute("CREATE TABLE orders (id int PRIMARY KEY, total numeric(12,2))")
            conn.execute("CREATE INDEX orders_total_idx ON orders (total)")
            conn.execute("ALTER ROLE CURRENT_USER PASSWORD 'the-right-one'")
            data = Path(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
            (data / "pg_hba.conf").write_text("local all all scram-sha-256\n")
            conn.execute("SELECT pg_reload_conf()")
        right = make_conninfo(server.url(url), password="the-right-one")
        with connect_live(right) as watcher:
            before = _sessions(watcher)
            with connect_live(right) as conn:
                snapshot = read_snapshot(conn)
            deadline = time.monotonic() + 5
            while _sessions(watcher) < before + 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            after = _sessions(watcher)
    assert "index:public.orders_total_idx" in snapshot
    assert "table:public.orders" in snapshot
    assert after == before + 2  # the read's connection and its second one
