"""`migdocs verify` and `migdocs audit` as a user runs them: the real console script."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXTERNAL_URL
from runner_kit import environment, make_project, migdocs
from test_replay import USERS

MIGDOCS = [sys.executable, "-m", "migdocs"]
ROOT = Path(__file__).resolve().parent.parent


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return migdocs(
        *args,
        cwd=cwd,
        env=environment(["CI", "MIGDOCS_SCRATCH_URL"], **(env or {})),
        timeout=timeout,
    )


LEAKY = {
    "name": "indexes",
    "up": "CREATE INDEX users_email_idx ON users (email);\n",
    "down": "SELECT 1;\n",
    "creates": {"indexes": ["users_email_idx"]},
}


def test_verify_clean_project_exits_0(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS])
    result = run("verify", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no findings" in result.stdout
    assert "replay passed" in result.stdout
    assert "Traceback" not in result.stderr


def test_verify_reports_round_trip_problems_in_json(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS, LEAKY])
    result = run("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["replay"] == "failed"
    assert report["summary"]["live"] == "skipped"
    found = {f["code"]: f for f in report["findings"] if f["code"] != "MG406"}
    assert sorted(found) == ["MG403", "MG404"]  # the index left behind stops a re-apply
    assert found["MG403"]["file"] == "migrations/rollbacks/2025-01-02_rollback_indexes.sql"
    assert (found["MG404"]["file"], found["MG404"]["line"]) == (
        "migrations/2025-01-02_indexes.sql",
        1,
    )
    assert report["live"] == []
    second = report["replay"][1]
    assert set(second) >= {"migration", "forward", "rollback", "round_trip", "ms", "changes"}
    assert second["round_trip"] == "differs"
    assert second["changes"] == {
        "added": ["index:public.users_email_idx"],
        "removed": [],
        "changed": [],
    }
    assert isinstance(second["ms"], int)


def test_verify_severity_settings_and_since_apply(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        [USERS, LEAKY],
        rules={
            "MG403": {"severity": "warning"},
            "MG404": {"severity": "info"},
            "MG406": {"severity": "off", "reason": "the test's tables are empty"},
        },
    )
    result = run("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0
    assert sorted((f["code"], f["severity"]) for f in json.loads(result.stdout)["findings"]) == [
        ("MG403", "warning"),
        ("MG404", "info"),
    ]
    since = run("verify", "--since", "2025-01-02_indexes", "--fail-on", "info", cwd=tmp_path)
    assert since.returncode == 0, since.stdout


def test_audit_is_check_plus_verify(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS, LEAKY])
    result = run("audit", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    found = {f["code"] for f in report["findings"]}
    assert "MG403" in found  # replay
    assert "MG302" in found  # static: the rollback does not drop the index
    assert report["summary"]["live"] == "skipped"
    assert result.returncode == 1


TABLE_B = {
    "name": "b",
    "up": "CREATE TABLE b (id int);\n",
    "down": "DROP TABLE b;\n",
    "creates": {"tables": ["b"]},
}
FORWARD = "migrations/2025-01-02_b.sql"
ROLLBACK = "migrations/rollbacks/2025-01-02_rollback_b.sql"


def _break(root: Path, how: str) -> None:
    forward, rollback = root / FORWARD, root / ROLLBACK
    if how == "does-not-parse":
        forward.write_text("-- b\nCREATE TABLE b (id int,);\n")
    elif how == "not-utf8":
        forward.write_bytes(b"-- caf\xe9\nCREATE TABLE b (id int);\n")
    elif how == "migration-missing":
        forward.unlink()
    elif how == "rollback-missing":
        rollback.unlink()
    elif how == "rollback-does-not-parse":
        rollback.write_text("DROP TABLE b,;\n")


#: How a migration can be left unreplayed, and the static finding that must say so.
UNREPLAYED = [
    ("does-not-parse", "MG200", FORWARD, 2, "does not parse"),
    ("not-utf8", "MG200", FORWARD, 1, "not UTF-8"),
    ("migration-missing", "MG102", "catalog.yaml", 21, f"migration file {FORWARD} does not exist"),
    ("rollback-missing", "MG104", "catalog.yaml", 30, f"rollback file {ROLLBACK} does not exist"),
    ("rollback-does-not-parse", "MG200", ROLLBACK, 1, "does not parse"),
]


@pytest.mark.parametrize(
    ("how", "code", "file", "line", "message"), UNREPLAYED, ids=[u[0] for u in UNREPLAYED]
)
def test_verify_fails_when_it_could_not_replay_a_migration(
    tmp_path: Path, how: str, code: str, file: str, line: int, message: str
) -> None:
    make_project(tmp_path, [USERS, TABLE_B])
    _break(tmp_path, how)
    result = run("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["replay"] == "failed"
    [finding] = report["findings"]
    assert (finding["code"], finding["migration"], finding["file"], finding["line"]) == (
        code,
        "2025-01-02_b",
        file,
        line,
    )
    assert message in finding["message"]
    assert "skipped" in (report["replay"][1]["forward"], report["replay"][1]["rollback"])
    text = run("verify", cwd=tmp_path)
    assert text.returncode == 1
    assert "✓" not in text.stdout
    assert f"{file}:{line}" in text.stdout
    assert "note: 2025-01-02_b: the " in text.stdout  # and why it was not replayed


def test_what_kept_a_migration_from_replay_is_settled_as_any_finding(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS, TABLE_B], rules={"MG200": {"severity": "warning"}})
    _break(tmp_path, "does-not-parse")
    result = run("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert [f["severity"] for f in json.loads(result.stdout)["findings"]] == ["warning"]
    assert run("verify", "--fail-on", "warning", cwd=tmp_path).returncode == 1
    assert run("verify", "--since", "2025-01-02_b", cwd=tmp_path).returncode == 0


def test_audit_reports_what_kept_a_migration_from_replay_once(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS, TABLE_B])
    _break(tmp_path, "does-not-parse")
    (tmp_path / ROLLBACK).unlink()
    result = run("audit", "--format", "json", cwd=tmp_path)
    assert result.returncode == 1
    findings = [(f["code"], f["file"], f["line"]) for f in json.loads(result.stdout)["findings"]]
    assert len(findings) == len(set(findings)), findings
    assert ("MG200", FORWARD, 2) in findings
    assert ("MG104", "catalog.yaml", 30) in findings


#: A migration that needs the table of ``TABLE_B``.
USES_B = {
    "name": "c",
    "up": "ALTER TABLE b ADD COLUMN c int;\n",
    "down": "ALTER TABLE b DROP COLUMN c;\n",
    "creates": {"columns": ["b.c"]},
}


def test_a_later_migration_blocked_by_a_failed_one_adds_nothing(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS, TABLE_B, USES_B])
    (tmp_path / FORWARD).write_text("CREATE TABLE b (id int REFERENCES nowhere (id));\n")
    result = run("verify", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    # the failure of b says why c was not replayed
    assert [(f["code"], f["migration"]) for f in report["findings"]] == [("MG401", "2025-01-02_b")]
    assert report["replay"][2]["forward"] == "skipped"
    assert result.returncode == 1


def test_a_later_migration_that_needs_an_unparsed_one_is_held_back(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS, TABLE_B, USES_B])
    _break(tmp_path, "does-not-parse")
    result = run("verify", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    # MG200 says why b was not replayed; c, which needs b's table, is not run to fail.
    assert [(f["code"], f["migration"]) for f in report["findings"]] == [("MG200", "2025-01-02_b")]
    assert report["replay"][2]["forward"] == "skipped"
    assert "which 2025-01-02_b should have made" in report["replay"][2]["reason"]
    assert result.returncode == 1


def test_a_setup_script_that_is_missing_stops_verify(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS], replay={"setup": ["roles.sql"]})
    for command in ("verify", "check"):
        result = run(command, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr == (
            "migdocs: error: catalog.yaml:6:5: replay.setup[0]: roles.sql does not exist\n"
        )
    (tmp_path / "roles.sql").write_text("CREATE ROLE;\n")
    result = run("verify", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        "migdocs: error: catalog.yaml:6:5: replay.setup[0]: roles.sql:1:12: does not parse"
    )


@pytest.mark.parametrize("content", ["", "\n  \n", "# the fleet\n# postgresql://x@h/db\n"])
def test_a_fleet_file_without_a_url_is_exit_2(tmp_path: Path, content: str) -> None:
    make_project(tmp_path, [USERS])
    (tmp_path / "fleet.txt").write_text(content)
    result = run("audit", "--database-urls", "fleet.txt", cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "migdocs: error: fleet.txt: no database URL in it\n"


def test_bad_statement_timeout_is_exit_2(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS])
    result = run("verify", "--statement-timeout", "soon", cwd=tmp_path)
    assert result.returncode == 2
    assert "statement timeout 'soon'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_scratch_url_is_exit_2_without_password(tmp_path: Path) -> None:
    make_project(tmp_path, [USERS])
    url = "postgresql://someone:s3cret-pw@127.0.0.1:1/postgres"
    result = run("verify", "--scratch-url", url, cwd=tmp_path)
    assert result.returncode == 2
    assert "127.0.0.1" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not EXTERNAL_URL, reason="MIGDOCS_TEST_DATABASE_URL is not set")
def test_scratch_url_creates_and_drops_only_its_own_database(tmp_path: Path) -> None:
    import psycopg

    assert EXTERNAL_URL is not None
    make_project(tmp_path, [USERS])

    def databases() -> set[str]:
        with psycopg.connect(EXTERNAL_URL, autocommit=True) as conn:
            return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}

    before = databases()
    # Two runs at once must not collide.
    runs = [
        subprocess.Popen(
            [
                *MIGDOCS,
                "verify",
                "--scratch-url",
                EXTERNAL_URL,
                "--scratch-superuser",
                "--format",
                "json",
            ],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in runs:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        report = json.loads(out)
        assert any(note.startswith("replayed on PostgreSQL") for note in report["notes"])
        assert [item["round_trip"] for item in report["replay"]] == ["ok"]
    assert databases() == before


def _postgres_children(pid: int) -> list[tuple[int, str]]:
    """(pid, data directory) of every postgres postmaster whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), 0
        )
        if ppid == pid and b"-D" in cmdline:
            found.append((int(entry.name), cmdline[cmdline.index(b"-D") + 1].decode()))
    return found


#: A slow migration that replay runs in its block, and one it runs as psql does, outside.
SLOW = {
    "in-block": "CREATE INDEX CONCURRENTLY users_email_idx ON users (email);\nSELECT pg_sleep(60);",
    "outside-a-transaction": "VACUUM users;\nSELECT pg_sleep(60);",
}


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
@pytest.mark.parametrize(
    ("signum", "wait", "slow"),
    [
        (signal.SIGINT, 1.0, "in-block"),
        (signal.SIGTERM, 1.0, "in-block"),
        (signal.SIGINT, 0.0, "in-block"),
        (signal.SIGTERM, 0.0, "in-block"),
        (signal.SIGINT, 1.0, "outside-a-transaction"),
    ],
    ids=[
        "SIGINT-replaying",
        "SIGTERM-replaying",
        "SIGINT-starting",
        "SIGTERM-starting",
        "SIGINT-replaying-outside-a-block",
    ],
)
def test_interrupted_verify_leaves_no_server_behind(
    tmp_path: Path, signum: int, wait: float, slow: str
) -> None:
    """Interrupted in the slow statement, or while the server is still starting up."""
    make_project(tmp_path, [USERS, {"name": "slow", "up": SLOW[slow], "down": "SELECT 1;"}])
    environment = {k: v for k, v in os.environ.items() if k != "MIGDOCS_SCRATCH_URL"}
    process = subprocess.Popen(
        [*MIGDOCS, "verify"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    servers: list[tuple[int, str]] = []
    deadline = time.monotonic() + 60
    while not servers and time.monotonic() < deadline:
        servers = _postgres_children(process.pid)
        time.sleep(0.05)
    assert servers, "the embedded server never started"
    time.sleep(wait)  # 1 s lets the replay reach the slow statement
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    for server_pid, data in servers:
        assert not Path(data).exists(), f"{data} was left behind"
        assert not Path(f"/proc/{server_pid}").exists() or (
            "zombie" in Path(f"/proc/{server_pid}/status").read_text()
        ), "the postmaster is still running"


@pytest.mark.skipif(not EXTERNAL_URL, reason="MIGDOCS_TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("slow", sorted(SLOW))
def test_interrupted_verify_drops_its_databases_on_the_scratch_url(
    tmp_path: Path, slow: str
) -> None:
    """Interrupted while the slow statement runs, in replay's block or outside one: the
    replay's database is dropped, and so is the role made for the run."""
    import psycopg

    assert EXTERNAL_URL is not None
    token = f"slow {os.getpid()} {slow}"  # this run's statement, among other workers'
    up = SLOW[slow].replace("pg_sleep(60)", f"pg_sleep(60), '{token}'")
    make_project(tmp_path, [USERS, {"name": "slow", "up": up, "down": "SELECT 1;"}])
    process = subprocess.Popen(
        [*MIGDOCS, "verify", "--scratch-url", EXTERNAL_URL, "--scratch-superuser"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sleeping = (
        f"SELECT datname FROM pg_stat_activity WHERE query LIKE '%{token}%'"
        " AND pid <> pg_backend_pid() AND datname LIKE 'migdocs_scratch_%'"
    ).encode()
    ours: set[str] = set()
    deadline = time.monotonic() + 60
    with psycopg.connect(EXTERNAL_URL, autocommit=True) as conn:
        while not ours and time.monotonic() < deadline:
            ours = {row[0] for row in conn.execute(sleeping)}
            time.sleep(0.05)
    assert ours, "the slow statement never ran"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    with psycopg.connect(EXTERNAL_URL, autocommit=True) as conn:
        left = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert not ours & left


def _on_a_terminal(cwd: Path, *args: str, env: dict[str, str]) -> str:
    """Run migdocs with a pseudo-terminal as its standard output and error."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*MIGDOCS, *args], cwd=cwd, stdout=follower, stderr=follower, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal_only(tmp_path: Path) -> None:
    many = [USERS] + [
        {
            "name": f"column_{n}",
            "up": f"ALTER TABLE users ADD COLUMN c{n} int;",
            "down": f"ALTER TABLE users DROP COLUMN c{n};",
            "creates": {"columns": [f"users.c{n}"]},
        }
        for n in range(5)
    ]
    make_project(tmp_path, many)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "MIGDOCS_SCRATCH_URL")}
    env["TERM"] = "xterm"
    shown = _on_a_terminal(tmp_path, "verify", env=env)
    assert "replay" in shown
    assert "6/6" in shown
    # Not in CI, and never in a machine-readable format.
    quiet = _on_a_terminal(tmp_path, "verify", env={**env, "CI": "true"})
    assert "6/6" not in quiet
    as_json = _on_a_terminal(tmp_path, "verify", "--format", "json", env=env)
    assert "6/6" not in as_json
