"""Scratch servers: embedded and by URL, cleaned up on every way out, passwords never shown."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from migdocs.pg import ScratchServer, ServerError, redact_url
from migdocs.pg.server import SCRATCH_PREFIX

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://auditor:s3cret@db.example:5432/app",
            "postgresql://auditor@db.example:5432/app",
        ),
        ("postgresql://auditor@db.example:5432/app", "postgresql://auditor@db.example:5432/app"),
        ("postgres://u:p%40ss@h/db?sslmode=require", "postgres://u@h/db?sslmode=require"),
        ("postgresql://u:pw@h1:5432,h2:5433/db", "postgresql://u@h1:5432,h2:5433/db"),
        (
            "postgresql://u@h/db?password=s3cret&sslpassword=x&application_name=a",
            "postgresql://u@h/db?application_name=a",
        ),
        ("postgresql://:onlypw@h/db", "postgresql://h/db"),
        ("postgresql:///db?host=/tmp/run", "postgresql:///db?host=/tmp/run"),
        ("host=db password=s3cret dbname=app", "dbname=app host=db"),
        ("host=db password='a b c' user=x", "user=x host=db"),
        ("host=db dbname='unterminated", "<unparseable connection string of host db>"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def _postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(data_dir) in cmdline:
            found.append(process)
    return found


def _root(server: ScratchServer) -> Path:
    assert server._cluster is not None
    assert server._cluster.root is not None
    return server._cluster.root


def test_embedded_server_is_private_and_gone_after() -> None:
    with ScratchServer.embedded() as server:
        root = _root(server)
        assert re.fullmatch(r"PostgreSQL 18\.\d+", server.server_version)
        assert server.version_num >= 180000
        assert _postgres_processes(root / "data")
        with server.connect("postgres") as conn:
            row = conn.execute(
                "SELECT current_setting('listen_addresses'), current_setting('fsync')"
            ).fetchone()
        assert row == ("", "off")
    assert not root.exists()
    assert not _postgres_processes(root / "data")


def test_embedded_server_is_stopped_on_exception() -> None:
    roots = []

    def fail() -> None:
        with ScratchServer.embedded() as server:
            roots.append(_root(server))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail()
    [root] = roots
    assert not root.exists()
    assert not _postgres_processes(root / "data")


def test_two_embedded_servers_at_once() -> None:
    with ScratchServer.embedded() as first, ScratchServer.embedded() as second:
        roots = [_root(first), _root(second)]
        assert roots[0] != roots[1]
        urls = [first.create_database(), second.create_database()]
        for server, url in zip((first, second), urls, strict=True):
            with server.connect(url) as conn:
                conn.execute("CREATE TABLE t (id int)")
        with first.connect(urls[0]) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    for root in roots:
        assert not root.exists()
        assert not _postgres_processes(root / "data")


def test_databases_are_created_cloned_and_dropped(pg_server: ScratchServer) -> None:
    url = pg_server.create_database()
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    assert str(name).startswith(SCRATCH_PREFIX)
    with pg_server.connect(url) as conn:
        assert conn.autocommit
        conn.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1)")
    copy = pg_server.create_database(template=url)
    with pg_server.connect(copy) as conn:
        assert conn.execute("SELECT id FROM kept").fetchall() == [(1,)]
    pg_server.drop_database(copy)
    pg_server.drop_database(str(name))
    with pg_server.connect("postgres") as conn:
        left = conn.execute(
            "SELECT datname FROM pg_database WHERE datname = ANY (%s)",
            ([name, psycopg.conninfo.conninfo_to_dict(copy)["dbname"]],),
        ).fetchall()
    assert left == []


def test_drop_database_drops_with_open_connections(pg_server: ScratchServer) -> None:
    url = pg_server.create_database()
    conn = pg_server.connect(url)
    pg_server.drop_database(url)
    with pytest.raises(psycopg.OperationalError):
        conn.execute("SELECT 1")
    conn.close()


def test_from_url_never_touches_other_databases(embedded_server: ScratchServer) -> None:
    with embedded_server.connect("postgres") as admin:
        admin.execute("CREATE DATABASE migdocs_scratch_not_ours")
        try:
            with ScratchServer.from_url(
                embedded_server.url("postgres"), allow_superuser=True
            ) as server:
                mine = server.create_database()
                with pytest.raises(ValueError, match="not a database this scratch server"):
                    server.drop_database("migdocs_scratch_not_ours")
                with pytest.raises(ValueError, match="not a database this scratch server"):
                    server.create_database(template="postgres")
                with ScratchServer.from_url(
                    embedded_server.url("postgres"), allow_superuser=True
                ) as other:
                    theirs = other.create_database()
                    with pytest.raises(ValueError, match="not a database this scratch server"):
                        server.drop_database(theirs)
                # The inner server dropped its own database on leaving, not ours.
                assert _exists(admin, mine)
                assert not _exists(admin, theirs)
            assert not _exists(admin, mine)
            assert _exists(admin, "migdocs_scratch_not_ours")
            assert _exists(admin, "postgres")
        finally:
            admin.execute("DROP DATABASE migdocs_scratch_not_ours")


def _exists(conn: psycopg.Connection[tuple[object, ...]], database: str) -> bool:
    if "=" in database or "://" in database:
        database = str(psycopg.conninfo.conninfo_to_dict(database)["dbname"])
    query = "SELECT count(*) FROM pg_database WHERE datname = %s"
    return conn.execute(query, (database,)).fetchone() == (1,)


def test_unreachable_server_is_named_without_its_password() -> None:
    server = ScratchServer.from_url("postgresql://auditor:s3cretpw@127.0.0.1:1/app")
    with pytest.raises(ServerError) as caught:
        server.start()
    message = str(caught.value)
    assert "cannot connect to postgresql://auditor@127.0.0.1:1/app" in message
    assert "s3cretpw" not in message


def test_external_server_version(external_server: ScratchServer) -> None:
    assert re.fullmatch(r"PostgreSQL \d+\.\d+", external_server.server_version)


_INTERRUPTED = textwrap.dedent(
    """
    import signal, sys, time
    from migdocs.pg import ScratchServer

    def interrupt(signum, frame):  # what the CLI does with SIGTERM
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        with ScratchServer.embedded() as server:
            server.create_database()
            print(server._cluster.root, flush=True)
            time.sleep(60)
    except KeyboardInterrupt:
        sys.exit(130)
    """
)

_FORGOTTEN = textwrap.dedent(
    """
    from migdocs.pg import ScratchServer

    server = ScratchServer.embedded()
    server.start()
    print(server._cluster.root, flush=True)
    """
)


def _run(script: str) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    process = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line, "the child did not start its server"
    return process, Path(line)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_stops_and_deletes_the_server(signum: int) -> None:
    process, root = _run(_INTERRUPTED)
    assert _postgres_processes(root / "data")
    process.send_signal(signum)
    assert process.wait(30) == 130
    assert not root.exists()
    assert not _wait_gone(root / "data")


def test_atexit_stops_a_server_that_was_never_closed() -> None:
    process, root = _run(_FORGOTTEN)
    assert process.wait(30) == 0
    assert not root.exists()
    assert not _wait_gone(root / "data")


def _wait_gone(data_dir: Path) -> list[psutil.Process]:
    """Postgres processes still running on ``data_dir`` after a moment's grace."""
    deadline = time.monotonic() + 5
    while (left := _postgres_processes(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("password", ["p#w", "p?w=1", "a/b", "x@y", "100%25", "q'uote"])
def test_a_changed_url_keeps_every_part_as_libpq_reads_it(password: str) -> None:
    """Another database or login for a --scratch-url whose password holds what a URL parser
    would split at (``#``, ``?``, ``/``, ``@``): libpq reads the result as it read the URL."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    from migdocs.pg.urls import with_dbname, with_login

    url = make_conninfo("", host="db.example", port=5433, user="ci", password=password)
    url += " dbname=app sslmode=require"
    moved = conninfo_to_dict(with_dbname(url, "migdocs_scratch_1"))
    assert moved == {**conninfo_to_dict(url), "dbname": "migdocs_scratch_1"}
    login = conninfo_to_dict(with_login(url, "migdocs_replay_1", "s3cret"))
    assert login == {**conninfo_to_dict(url), "user": "migdocs_replay_1", "password": "s3cret"}
    # In a URL libpq takes a literal "#" or "?" into the password; urllib would split there.
    as_url = "postgresql://ci:p#w?x@db.example:5433/app"
    assert conninfo_to_dict(with_dbname(as_url, "x")) == {**conninfo_to_dict(as_url), "dbname": "x"}
