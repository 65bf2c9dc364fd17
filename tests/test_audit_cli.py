"""`migdocs audit` against live databases, as CI runs it: the real console script.

The live databases are real: throwaway databases on the embedded PostgreSQL 18 and, when
``MIGDOCS_TEST_DATABASE_URL`` is set, on that server too. The example project at the
repository root is deployed on them as psql would, statement by statement in autocommit.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from migdocs.pg import ScratchServer, read_snapshot
from migdocs.project import Project
from runner_kit import migdocs

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return migdocs(*args, cwd=cwd, timeout=timeout)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example project (tests may edit it)."""
    for name in ("catalog.yaml", "migrations"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


@pytest.fixture
def live_url(pg_server: ScratchServer, example: Path) -> Iterator[str]:
    """A database on each server with the example's migrations deployed."""
    url = pg_server.create_database()
    project = Project.load(example / "catalog.yaml")
    with pg_server.connect(url) as conn:
        for entry in project.entries:
            script = project.forward(entry)
            assert script is not None
            for statement in script.statements:
                conn.execute(script.statement_text(statement).encode())
    yield url
    pg_server.drop_database(url)


def execute(pg_server: ScratchServer, url: str, *statements: str) -> None:
    with pg_server.connect(url) as conn:
        for statement in statements:
            conn.execute(statement.encode())


def test_example_deployed_audits_clean(example: Path, live_url: str) -> None:
    result = run("audit", "--database-url", live_url, "--format", "json", cwd=example)
    report = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert report["summary"]["live"] == "passed"
    assert report["summary"]["replay"] == "passed"
    [section] = report["live"]
    assert section["server"].startswith("PostgreSQL ")
    assert [m["state"] for m in section["migrations"]] == ["applied"] * 4
    # But MG406: the example's ALTER TABLEs on users set no lock_timeout, measured on replay.
    assert [
        (f["code"], f["migration"], f["line"])
        for f in report["findings"]
        if f["severity"] in ("error", "warning")
    ] == [
        ("MG406", "2025-08-30_add_username_field", 7),
        ("MG406", "2025-08-30_add_username_field", 11),
    ]


DRIFT = (
    "DROP INDEX email_active_idx",
    "CREATE INDEX prompts_created_idx ON prompts (created_at)",
    "ALTER TABLE templates ALTER COLUMN name TYPE varchar(200)",
)


def test_drift_is_reported_in_every_format(
    example: Path, live_url: str, pg_server: ScratchServer
) -> None:
    execute(pg_server, live_url, *DRIFT)
    report = json.loads(
        run("audit", "--database-url", live_url, "--format", "json", cwd=example).stdout
    )
    live = {
        (f["code"], f["migration"]): f for f in report["findings"] if f["code"].startswith("MG5")
    }
    assert set(live) == {
        ("MG501", "2025-08-30_add_username_field"),
        ("MG502", None),
        ("MG503", "2025-08-30_initial_schema"),
    }
    assert (
        "index public.email_active_idx is missing"
        in live["MG501", "2025-08-30_add_username_field"]["message"]
    )
    assert "public.prompts_created_idx" in live["MG502", None]["message"]
    assert (
        "column public.templates.name: type"
        in live["MG503", "2025-08-30_initial_schema"]["message"]
    )
    assert report["summary"]["live"] == "failed"
    # The index was dropped by hand from a migration that ran: MG501, and it is applied.
    assert [m["state"] for m in report["live"][0]["migrations"]] == ["applied"] * 4

    text = run("audit", "--database-url", live_url, cwd=example)
    assert text.returncode == 1
    for code in ("MG501", "MG502", "MG503"):
        assert code in text.stdout

    junit = run("audit", "--database-url", live_url, "--format", "junit", cwd=example)
    tree = ET.fromstring(junit.stdout)
    failures = " ".join(
        failure.get("message", "") + (failure.text or "") for failure in tree.iter("failure")
    )
    for code in ("MG501", "MG503"):
        assert code in failures

    sarif = json.loads(
        run("audit", "--database-url", live_url, "--format", "sarif", cwd=example).stdout
    )
    rule_ids = {result["ruleId"] for result in sarif["runs"][0]["results"]}
    assert {"MG501", "MG502", "MG503"} <= rule_ids

    github = run("audit", "--database-url", live_url, "--format", "github", cwd=example)
    assert "::error" in github.stdout
    assert "MG501" in github.stdout


def test_partly_applied_and_pending(example: Path, pg_server: ScratchServer) -> None:
    url = pg_server.create_database()
    try:
        project = Project.load(example / "catalog.yaml")
        with pg_server.connect(url) as conn:
            for entry in project.entries[:3]:
                script = project.forward(entry)
                assert script is not None
                for statement in script.statements:
                    conn.execute(script.statement_text(statement).encode())
        report = json.loads(
            run("audit", "--database-url", url, "--format", "json", cwd=example).stdout
        )
        states = [m["state"] for m in report["live"][0]["migrations"]]
        assert states == ["applied", "applied", "applied", "pending"]
        assert report["summary"]["live"] == "passed"
        # Now the last migration, half done: its table but none of its indexes.
        execute(
            pg_server,
            url,
            "CREATE TABLE user_sessions (sid varchar NOT NULL, sess json NOT NULL, "
            "expire timestamp(6) NOT NULL, CONSTRAINT user_sessions_pkey PRIMARY KEY (sid))",
        )
        report = json.loads(
            run("audit", "--database-url", url, "--format", "json", cwd=example).stdout
        )
        states = [m["state"] for m in report["live"][0]["migrations"]]
        assert states[-1] == "partial"
        assert [f["code"] for f in report["findings"] if f["code"].startswith("MG5")] == ["MG504"]
    finally:
        pg_server.drop_database(url)


def test_a_ledger_that_misses_the_last_applied_migration(
    example: Path, live_url: str, pg_server: ScratchServer
) -> None:
    """All four migrations ran, the ledger lists three: the runner would apply the fourth
    again (and fail), so the audit says so."""
    catalog = example / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace(
            "migrations:\n",
            "ledger: {kind: table, table: public.schema_migrations}\nmigrations:\n",
            1,
        )
    )
    project = Project.load(catalog)
    ids = [entry.id for entry in project.entries]
    execute(
        pg_server,
        live_url,
        "CREATE TABLE public.schema_migrations (version text PRIMARY KEY)",
        *(f"INSERT INTO public.schema_migrations VALUES ('{i}')" for i in ids[:3]),
    )
    result = run("audit", "--database-url", live_url, "--format", "json", cwd=example)
    report = json.loads(result.stdout)
    live = [(f["code"], f["migration"]) for f in report["findings"] if f["code"].startswith("MG5")]
    assert live == [("MG506", ids[3])], report["findings"]
    [finding] = [f for f in report["findings"] if f["code"] == "MG506"]
    assert "the ledger does not list it" in finding["message"]
    execute(pg_server, live_url, f"INSERT INTO public.schema_migrations VALUES ('{ids[3]}')")
    report = json.loads(
        run("audit", "--database-url", live_url, "--format", "json", cwd=example).stdout
    )
    assert not [f for f in report["findings"] if f["code"].startswith("MG5")]


def test_a_fleet_gets_one_section_per_database(
    example: Path, live_url: str, pg_server: ScratchServer, tmp_path: Path
) -> None:
    other = pg_server.create_database()
    try:
        execute(pg_server, other, "CREATE TABLE stray (id int)")
        listing = tmp_path / "fleet.txt"
        listing.write_text(f"# two regions\n{live_url}\n\n{other}\n")
        result = run("audit", "--database-urls", str(listing), "--format", "json", cwd=example)
        report = json.loads(result.stdout)
        assert len(report["live"]) == 2
        names = [section["database"] for section in report["live"]]
        assert len(set(names)) == 2
        stray = [f for f in report["findings"] if f["code"] == "MG502"]
        assert [f["database"] for f in stray] == [names[1]]
        assert [m["state"] for m in report["live"][1]["migrations"]] == ["pending"] * 4
    finally:
        pg_server.drop_database(other)


def with_password(url: str, password: str) -> str:
    """The URL with a user and password (the embedded server trusts its socket: any works)."""
    head, _, rest = url.partition("://")
    rest = rest.split("@", 1)[-1]
    return f"{head}://postgres:{quote(password)}@{rest}"


def test_password_never_appears_in_any_output(
    example: Path, live_url: str, pg_server: ScratchServer, tmp_path: Path
) -> None:
    execute(pg_server, live_url, *DRIFT)
    secret = "Sup3r-s3cret-pw"
    url = with_password(live_url, secret)
    for output_format in ("text", "json", "junit", "sarif", "github"):
        output = tmp_path / f"report.{output_format}"
        result = run(
            "audit",
            "--database-url",
            url,
            "--format",
            output_format,
            "--output",
            str(output),
            cwd=example,
        )
        assert result.returncode == 1, result.stderr
        everything = result.stdout + result.stderr + output.read_text()
        assert secret not in everything, output_format
        assert "MG501" in everything


def test_unreachable_port_is_exit_2_within_the_timeout(example: Path) -> None:
    url = "postgresql://auditor:hunter2-secret@127.0.0.1:9/app"
    started = time.monotonic()
    result = run("audit", "--database-url", url, "--connect-timeout", "3", cwd=example)
    assert result.returncode == 2
    assert time.monotonic() - started < 60
    assert "127.0.0.1" in result.stderr
    assert "hunter2-secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def _state(pg_server: ScratchServer, url: str) -> tuple[Any, ...]:
    with pg_server.connect(url) as conn:
        snapshot = read_snapshot(conn)
        stats = conn.execute(
            "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, n_live_tup "
            "FROM pg_stat_user_tables ORDER BY relname"
        ).fetchall()
        prepared = conn.execute("SELECT count(*) FROM pg_prepared_xacts").fetchone()
        classes = conn.execute("SELECT count(*) FROM pg_class").fetchone()
    return snapshot, stats, prepared, classes


def test_audit_changes_nothing_in_the_live_database(
    example: Path, live_url: str, pg_server: ScratchServer
) -> None:
    execute(
        pg_server,
        live_url,
        "INSERT INTO users (email, username, password_hash) VALUES ('a@b.c', 'a', 'x')",
    )
    before = _state(pg_server, live_url)
    result = run("audit", "--database-url", live_url, "--format", "json", cwd=example)
    assert result.returncode == 0, result.stderr
    time.sleep(0.7)  # statistics reach the views with a delay
    assert _state(pg_server, live_url) == before


def test_a_database_migrated_by_an_application_role_audits_clean(
    example: Path, pg_server: ScratchServer
) -> None:
    """Production's migrations run as the application's role, which owns the database;
    replay runs as the scratch server's superuser. What the migrating role owns is what
    the migrations make; an object given to another role by hand is MG503."""
    role = f"migdocs_app_owner_{secrets.token_hex(4)}"
    url = pg_server.create_database()
    try:
        with pg_server.connect(url) as admin:
            admin.execute(f"CREATE ROLE {role}")
            admin.execute(f"ALTER DATABASE {admin.info.dbname} OWNER TO {role}")
        with pg_server.connect(url) as app:
            app.execute(f"SET ROLE {role}")
            project = Project.load(example / "catalog.yaml")
            for entry in project.entries:
                script = project.forward(entry)
                assert script is not None
                for statement in script.statements:
                    app.execute(script.statement_text(statement).encode())
        result = run("audit", "--database-url", url, "--format", "json", cwd=example)
        report = json.loads(result.stdout)
        assert result.returncode == 0, result.stdout + result.stderr
        assert not [f for f in report["findings"] if f["code"].startswith("MG5")]
        assert [m["state"] for m in report["live"][0]["migrations"]] == ["applied"] * 4
        execute(pg_server, url, "ALTER TABLE users OWNER TO postgres")
        result = run("audit", "--database-url", url, "--format", "json", cwd=example)
        live = [f for f in json.loads(result.stdout)["findings"] if f["code"].startswith("MG5")]
        assert [(f["code"], f["migration"], f["message"]) for f in live] == [
            (
                "MG503",
                "2025-08-30_initial_schema",
                f"table public.users: owner {role} → postgres (migrations → live) "
                "(last changed by 2025-08-30_initial_schema)",
            )
        ]
        assert result.returncode == 1
    finally:
        pg_server.drop_database(url)
        execute(pg_server, pg_server.url("postgres"), f"DROP ROLE IF EXISTS {role}")
