"""What replayed SQL — a pull request's migrations and setup scripts — can reach.

Replay runs the SQL of whoever opened the pull request, on a machine that may hold a live
database's credentials. These tests run the attacks of issue 16 for real: a migration that
looks for database URLs in every process's command line and environment and writes to the
database it finds with dblink, one that drops other databases, roles left behind on a shared
scratch server, and a scratch server that dies or fills its disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from conftest import EXTERNAL_URL
from migdocs.pg import ScratchServer
from runner_kit import MIGDOCS, environment
from runner_kit import migdocs as kit_migdocs

#: Finds every PostgreSQL URL in any process's arguments or environment, and writes with
#: each into the database it names; then fails, with what it found in its message.
STEAL = """\
CREATE TABLE loot (line text);
COPY loot FROM PROGRAM 'cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null |
    tr "\\000" "\\n" | grep -a "postgresql://" || true'
    WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02');
CREATE EXTENSION IF NOT EXISTS dblink;
DO $$
DECLARE
    url text;
BEGIN
    FOR url IN
        SELECT DISTINCT substring(line FROM 'postgresql://[^ ]+') FROM loot
        WHERE line LIKE '%postgresql://%'
    LOOP
        BEGIN
            PERFORM dblink_exec(url, 'CREATE TABLE pwned (url text)');
        EXCEPTION WHEN others THEN NULL;
        END;
    END LOOP;
    RAISE EXCEPTION 'found: %', (SELECT string_agg(line, ' | ') FROM loot);
END
$$;
"""


def write_project(
    root: Path, forward: str, *, rollback: str = "", replay: dict[str, Any] | None = None
) -> Path:
    """A one-migration project in ``root``; returns the catalog."""
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "migrations" / "2025-01-01_attack.sql").write_text(forward)
    entry: dict[str, Any] = {
        "id": "2025-01-01_attack",
        "date": "2025-01-01",
        "title": "Attack",
        "purpose": "What a hostile pull request would add",
        "rollback": {"none": "a test"},
    }
    if rollback:
        (root / "migrations" / "rollbacks" / "2025-01-01_rollback_attack.sql").write_text(rollback)
        entry["rollback"] = {
            "file": "2025-01-01_rollback_attack.sql",
            "risk": "critical",
            "impact": ["data-loss"],
            "summary": "Drops it",
        }
    catalog: dict[str, Any] = {"version": 1, "project": {"name": "Hostile"}}
    if replay:
        catalog["replay"] = replay
    catalog["migrations"] = [entry]
    path = root / "catalog.yaml"
    path.write_text(yaml.safe_dump(catalog, sort_keys=False))
    return path


def migdocs(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return kit_migdocs(
        *args, cwd=cwd, env=environment(["MIGDOCS_*"], **(env or {})), timeout=timeout
    )


@pytest.fixture
def live(pg_server: ScratchServer) -> Iterator[tuple[str, str, str]]:
    """A live database owned by a role with a password: (its URL with the password, the
    password, an admin URL to look at it)."""
    password = "SECRET" + secrets.token_hex(8)
    role = "migdocs_victim_" + secrets.token_hex(4)
    admin_url = pg_server.create_database()
    with pg_server.connect(admin_url) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        admin.execute(f"ALTER DATABASE {admin.info.dbname} OWNER TO {role}")
        admin.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    host, port, dbname = params.get("host", ""), params.get("port", "5432"), params["dbname"]
    if str(host).startswith("/"):
        url = f"postgresql://{role}:{password}@/{dbname}?host={host}&port={port}"
    else:
        url = f"postgresql://{role}:{password}@{host}:{port}/{dbname}"
    try:
        yield url, password, admin_url
    finally:
        pg_server.drop_database(admin_url)
        with pg_server.connect("postgres") as admin:
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def _tables(admin_url: str) -> set[str]:
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT relname FROM pg_class"
            " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        ).fetchall()
    return {str(name) for (name,) in rows}


@pytest.mark.parametrize("given_in", ["argv", "environment"])
@pytest.mark.parametrize("attack_in", ["migration", "setup"])
def test_replayed_sql_cannot_steal_or_use_the_live_credentials(
    tmp_path: Path, live: tuple[str, str, str], given_in: str, attack_in: str
) -> None:
    url, password, admin_url = live
    if attack_in == "migration":
        write_project(tmp_path, STEAL, rollback="DROP TABLE loot;")
    else:
        (tmp_path / "setup.sql").write_text(STEAL)
        write_project(
            tmp_path,
            "CREATE TABLE t (id int);",
            rollback="DROP TABLE t;",
            replay={"setup": ["setup.sql"]},
        )
    args = ["audit", "--format", "json", "--output", "report.json"]
    env = {"PGPASSWORD": password}
    if given_in == "argv":
        args += ["--database-url", url]
    else:
        env["MIGDOCS_DATABASE_URL"] = url
    result = migdocs(*args, cwd=tmp_path, env=env)

    assert "pwned" not in _tables(admin_url)
    outputs = [result.stdout, result.stderr]
    if (tmp_path / "report.json").exists():
        outputs.append((tmp_path / "report.json").read_text())
    assert all(password not in output for output in outputs)
    assert "Traceback" not in result.stderr
    if attack_in == "migration":
        assert result.returncode == 1, result.stderr
        report = json.loads((tmp_path / "report.json").read_text())
        messages = [f["message"] for f in report["findings"] if f["code"] == "MG401"]
        assert messages
        assert "permission denied to COPY" in messages[0]
    else:
        assert result.returncode == 2
        assert "setup.sql:2: replay setup failed: permission denied to COPY" in result.stderr
    if given_in == "argv":
        assert "--database-url holds a password" in result.stderr


def test_the_embedded_server_inherits_nothing_of_migdocs_environment(tmp_path: Path) -> None:
    """Even a superuser replay (an explicit opt-in) finds no credential in the server's own
    environment."""
    write_project(
        tmp_path,
        """\
        CREATE TABLE env (line text);
        COPY env FROM PROGRAM 'cat /proc/self/environ | tr "\\000" "\\n"'
            WITH (FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02');
        DO $$ BEGIN RAISE EXCEPTION 'env: %', (SELECT string_agg(line, ' ') FROM env); END $$;
        """,
        replay={"superuser": True},
    )
    secret = "SECRET" + secrets.token_hex(8)
    result = migdocs(
        "verify",
        "--format",
        "json",
        cwd=tmp_path,
        env={"MIGDOCS_DATABASE_URL": f"postgresql://u:{secret}@db/app", "PGPASSWORD": secret},
    )
    assert result.returncode == 1, result.stderr
    assert "replay.superuser is true" in result.stderr  # the opt-in is warned about
    message = next(f["message"] for f in json.loads(result.stdout)["findings"])
    assert "env: " in message
    assert "PATH=" in message
    assert secret not in result.stdout
    assert "MIGDOCS_DATABASE_URL" not in message
    assert "PGPASSWORD" not in message


def test_a_superuser_replay_beside_live_credentials_is_refused(
    tmp_path: Path, live: tuple[str, str, str]
) -> None:
    url, _, admin_url = live
    write_project(tmp_path, "CREATE TABLE t (id int);", replay={"superuser": True})
    result = migdocs("audit", cwd=tmp_path, env={"MIGDOCS_DATABASE_URL": url})
    assert result.returncode == 2
    assert result.stderr.startswith("migdocs: error: catalog.yaml:5: replay.superuser is true")
    assert "--scratch-url" in result.stderr
    assert "t" not in _tables(admin_url)


def test_replay_cannot_drop_other_databases(tmp_path: Path) -> None:
    write_project(tmp_path, "DROP DATABASE postgres;\n")
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "MG401"
    assert "must be owner of database postgres" in finding["message"]


def test_replay_creates_trusted_and_safe_extensions(tmp_path: Path) -> None:
    """Real histories start with CREATE EXTENSION; replay's role may create those that
    cannot reach out of the scratch server, and no other."""
    write_project(
        tmp_path,
        """\
        CREATE EXTENSION IF NOT EXISTS citext;
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE EXTENSION IF NOT EXISTS vector;
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
        CREATE EXTENSION IF NOT EXISTS moddatetime;
        CREATE TABLE items (id int PRIMARY KEY, name citext, embedding vector(3));
        """,
        rollback="DROP TABLE items;\nDROP EXTENSION moddatetime, pg_stat_statements, vector, "
        "pg_trgm, citext;\n",
    )
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert not [f for f in report["findings"] if f["code"].startswith("MG4")], report["findings"]
    assert report["replay"][0]["forward"] == "ok"
    assert report["replay"][0]["round_trip"] == "ok"

    write_project(tmp_path / "fdw", "CREATE EXTENSION postgres_fdw;\n")
    result = migdocs("verify", "--format", "json", cwd=tmp_path / "fdw")
    (finding,) = json.loads(result.stdout)["findings"]
    assert finding["code"] == "MG401"
    assert 'permission denied to create extension "postgres_fdw"' in finding["message"]


# -- a shared scratch server (--scratch-url) --------------------------------------------------


def _roles(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {str(name) for (name,) in conn.execute("SELECT rolname FROM pg_roles")}


def _databases(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {str(name) for (name,) in conn.execute("SELECT datname FROM pg_database")}


@pytest.mark.skipif(not EXTERNAL_URL, reason="MIGDOCS_TEST_DATABASE_URL is not set")
def test_a_superuser_scratch_url_is_refused_unless_allowed(tmp_path: Path) -> None:
    assert EXTERNAL_URL is not None
    write_project(tmp_path, "CREATE TABLE t (id int);\n", rollback="DROP TABLE t;\n")
    refused = migdocs("verify", "--scratch-url", EXTERNAL_URL, cwd=tmp_path)
    assert refused.returncode == 2
    assert "is a superuser" in refused.stderr
    assert "--scratch-superuser" in refused.stderr
    allowed = migdocs("verify", "--scratch-url", EXTERNAL_URL, "--scratch-superuser", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr


def test_a_shared_scratch_server_keeps_no_role_and_loses_no_database(tmp_path: Path) -> None:
    # A server of its own, standing for a team's shared one: no other test uses it, so its
    # whole lists of roles and databases compare exactly.
    reader = "migdocs_test_reader_" + secrets.token_hex(4)
    victim = "migdocs_test_victim_" + secrets.token_hex(4)
    (tmp_path / "setup.sql").write_text(f"CREATE ROLE {reader};\n")
    write_project(
        tmp_path,
        f"CREATE TABLE t (id int);\nGRANT SELECT ON t TO {reader};\n",
        rollback="DROP TABLE t;\n",
        replay={"setup": ["setup.sql"]},
    )
    write_project(tmp_path / "drop", f"DROP DATABASE {victim};\n")
    with ScratchServer.embedded() as shared:
        admin_url = shared.url("postgres")
        password = secrets.token_hex(12)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            # The least-privilege role the README tells teams to make for --scratch-url.
            admin.execute(f"CREATE ROLE migdocs_ci LOGIN CREATEDB CREATEROLE PASSWORD '{password}'")
            admin.execute(f"CREATE DATABASE {victim}")
        params = psycopg.conninfo.conninfo_to_dict(admin_url)
        params.update(user="migdocs_ci", password=password)
        scratch_role = psycopg.conninfo.make_conninfo("", **params)
        roles, databases = _roles(admin_url), _databases(admin_url)
        for _ in range(2):  # the second run finds the server as the first did
            result = migdocs("verify", "--scratch-url", scratch_role, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
            assert "--scratch-url holds a password" in result.stderr
            assert "give it in MIGDOCS_SCRATCH_URL or PGPASSFILE instead" in result.stderr
            assert _roles(admin_url) == roles
            assert _databases(admin_url) == databases
        dropped = migdocs(
            "verify", "--scratch-url", scratch_role, "--format", "json", cwd=tmp_path / "drop"
        )
        (finding,) = json.loads(dropped.stdout)["findings"]
        assert finding["code"] == "MG401"
        assert "must be owner of database" in finding["message"]
        assert _databases(admin_url) == databases
        assert _roles(admin_url) == roles


# -- a scratch server that fails ---------------------------------------------------------------


def _postmasters_of(pid: int) -> list[int]:
    """The embedded postmasters a migdocs process started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().split(b"\0")
            if parent == pid and command[0].endswith(b"/postgres"):
                found.append(int(entry.name))
    return found


def test_a_scratch_server_that_dies_is_exit_2(tmp_path: Path) -> None:
    write_project(tmp_path, "SELECT pg_sleep(60);\n")
    process = subprocess.Popen(
        [*MIGDOCS, "verify"],
        cwd=tmp_path,
        env=environment(["MIGDOCS_*"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        postmasters: list[int] = []
        while not postmasters and time.monotonic() < deadline:
            postmasters = _postmasters_of(process.pid)
            time.sleep(0.05)
        assert postmasters
        time.sleep(1.5)  # the migration is sleeping by now
        os.kill(postmasters[0], signal.SIGKILL)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 2, err
    assert "internal error" not in err
    assert "Traceback" not in err
    assert err.startswith("migdocs: error: ")
    assert "scratch server" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root")
def test_a_full_disk_is_exit_2_and_says_so(tmp_path: Path) -> None:
    # Under /tmp: the embedded server's user must reach it (pytest's folders are private).
    disk = Path(tempfile.mkdtemp(prefix="migdocs-disk-", dir="/tmp"))
    disk.chmod(0o777)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m,mode=1777", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        write_project(
            tmp_path / "project",
            textwrap.dedent(
                """\
                CREATE TABLE big (filler text);
                INSERT INTO big SELECT repeat(md5(g::text), 40) FROM generate_series(1, 200000) g;
                """
            ),
        )
        result = migdocs("verify", cwd=tmp_path / "project", env={"TMPDIR": str(disk)}, timeout=300)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
        disk.rmdir()
    assert result.returncode == 2, result.stdout + result.stderr
    assert "MG401" not in result.stdout
    assert "migrations/2025-01-01_attack.sql:2: the scratch server ran out of resources" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_verify_reads_a_deeply_nested_statement_without_crashing(tmp_path: Path) -> None:
    """Deep SQL is a finding or nothing, never an internal error: replay reads the owner of
    an ALTER statement that says "owner" with the same bounded tree reader as check."""
    deep = "CASE WHEN true THEN " * 300 + "1" + " END" * 300
    write_project(
        tmp_path,
        f"CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN owner_id int DEFAULT ({deep});\n",
        rollback="DROP TABLE t;\n",
    )
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    assert "internal error" not in result.stderr
    assert result.returncode in (0, 1), result.stderr
    assert json.loads(result.stdout)["replay"][0]["forward"] == "ok"


def test_a_failing_migration_that_set_a_setting_is_mg401(tmp_path: Path) -> None:
    """Its settings go with its transaction's ROLLBACK (resetting them in the failed block was
    an internal error)."""
    write_project(tmp_path, "SET work_mem = '64kB';\nSELECT 1 / 0;\n")
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["code"], finding["line"]) == ("MG401", 2)
    assert "division by zero" in finding["message"]


@pytest.mark.parametrize(
    ("limit", "sql", "message"),
    [
        (
            {"MIGDOCS_SCRATCH_DISK_MB": "150"},
            "CREATE TABLE big (filler text);\n"
            "INSERT INTO big SELECT repeat(md5(g::text), 40) FROM generate_series(1, 400000) g;\n",
            "the scratch server's data passed the 150 MiB it may take (MIGDOCS_SCRATCH_DISK_MB)",
        ),
        (
            {"MIGDOCS_SCRATCH_MEMORY_MB": "600"},
            "SET work_mem = '8GB';\n"
            "SELECT count(*) FROM (SELECT DISTINCT g FROM generate_series(1, 60000000) g) s;\n",
            "the scratch server ran out of resources (embedded PostgreSQL): out of memory",
        ),
    ],
    ids=["disk", "memory"],
)
def test_replayed_sql_cannot_exhaust_the_machine(
    tmp_path: Path, limit: dict[str, str], sql: str, message: str
) -> None:
    write_project(tmp_path, sql)
    result = migdocs("verify", cwd=tmp_path, env=limit)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(
        f"migdocs: error: migrations/2025-01-01_attack.sql:2: {message}"
    )
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_limit_that_is_not_a_number_is_exit_2(tmp_path: Path) -> None:
    write_project(tmp_path, "CREATE TABLE t (id int);\n")
    result = migdocs("verify", cwd=tmp_path, env={"MIGDOCS_SCRATCH_DISK_MB": "8G"})
    assert result.returncode == 2
    assert "MIGDOCS_SCRATCH_DISK_MB: '8G' is not a whole number of MiB" in result.stderr


def test_replay_may_do_what_stays_inside_the_scratch_server(tmp_path: Path) -> None:
    """What 16 public histories needed of a superuser that reaches nothing outside the
    scratch cluster: supabase/storage's BYPASSRLS service_role, supabase/postgres's grants of
    predefined roles, a dump's session_replication_role, a DO block that commits."""
    write_project(
        tmp_path,
        """\
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
        GRANT pg_read_all_data, pg_monitor TO service_role;
        SET session_replication_role = replica;
        CREATE TABLE t (id int);
        DO $$ BEGIN INSERT INTO t VALUES (1); COMMIT; END $$;
        """,
        rollback="DROP TABLE t;\nDROP ROLE service_role;\n",
    )
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert [f for f in report["findings"] if f["code"].startswith("MG4")] == []
    assert report["replay"][0]["forward"] == "ok"
    assert report["replay"][0]["round_trip"] == "ok"


def test_a_role_another_run_made_meanwhile_is_left_to_it(pg_server: ScratchServer) -> None:
    # Two runs at once on one server (CI's parallel jobs on a team's shared server, or two
    # test workers): a server before PostgreSQL 16 does not record who made a role, so a
    # run sees the other run's new roles among "made since I started". One that still owns
    # something once this run's database is gone is the other run's: it stays, and this
    # run does not fail for it.
    other = "migdocs_test_other_run_" + secrets.token_hex(4)
    with pg_server.replay_role() as role:
        database = pg_server.create_database()
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {other}".encode())
            conn.execute(f"CREATE TABLE kept (id int); ALTER TABLE kept OWNER TO {other}".encode())
        assert role
    try:
        assert other in _roles(pg_server.url("postgres"))
    finally:
        pg_server.drop_database(database)
        with psycopg.connect(pg_server.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP ROLE {other}".encode())
