"""Outputs that data cannot forge: a catalog, a file name, SQL or a database may hold control
characters, GitHub workflow commands (``::error::…`` at a line start, ``##[error]`` anywhere
in a line), rich markup or XML's end of CDATA; every format prints them inert, and what
parses (JSON, JUnit XML, SARIF) still parses and means the same.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from migdocs.catalog.models import Severity
from migdocs.pg import ScratchServer
from migdocs.report import Report
from migdocs.report.finding import Finding
from migdocs.report.formats import FORMATS, render_text
from runner_kit import environment, run

FIXTURES = Path(__file__).parent / "fixtures"
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.json"
_SCRIPT = shutil.which("migdocs", path=str(Path(sys.executable).parent)) or shutil.which("migdocs")
MIGDOCS = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "migdocs"]

#: What hostile data carries: a workflow command after a newline, and the legacy one that
#: the runner finds anywhere in a line, a colour, a carriage return, NUL, a C1 line break
#: (NEL), a bidi override, a lone surrogate (a file name that is not UTF-8), XML's end of
#: CDATA and rich markup.
PAYLOAD = (
    "a\n::error::pwned ##[error]legacy \x1b[31mred\r\x00nul\x85nel\u202egnp "
    "\udcff]]> [bold]x[/bold] 100%,:"
)
#: Characters no line of text output may hold: C0 but tab, DEL, C1, bidi controls,
#: line separators, surrogates.
UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ud800-\udfff]"
)


def hostile_report() -> Report:
    return Report(
        catalog="catalog.yaml",
        migrations=[f"m{PAYLOAD}", "2025-01-01_ok"],
        findings=[
            Finding(
                "MG401", Severity.ERROR, f"fails: {PAYLOAD}", f"m{PAYLOAD}", f"f{PAYLOAD}.sql", 3, 1
            ),
            Finding("MG502", Severity.WARNING, f"table {PAYLOAD}", None, database=f"db{PAYLOAD}"),
            Finding("MG501", Severity.ERROR, f"{PAYLOAD} missing", "2025-01-01_ok", database="d"),
            Finding("MG101", Severity.ERROR, "not in the catalog", None, f"{PAYLOAD}.sql"),
            Finding("MG202", Severity.INFO, PAYLOAD, f"m{PAYLOAD}"),
        ],
        replay=[],
        replay_status="failed",
        live=[{"database": f"db{PAYLOAD}", "server": "PostgreSQL 18.0", "migrations": []}],
        live_status="failed",
        notes=[f"replayed on {PAYLOAD}"],
        entry_lines={f"m{PAYLOAD}": 7},
    )


def assert_inert_text(text: str) -> None:
    """No line is, or holds, a workflow command, and no line holds a control character."""
    for line in text.split("\n"):
        assert not line.lstrip().startswith("::"), line
        assert "##[" not in line, line
        assert not UNSAFE.search(line), repr(line)
        assert "\r" not in line


@pytest.mark.parametrize("color", [False, True])
def test_text_is_inert(color: bool) -> None:
    text = render_text(hostile_report(), color=color)
    if color:
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # rich's own styles
    assert_inert_text(text)
    # What was there is shown, visibly: the escape as \x1b, the newline as \n.
    assert "\\x1b[31mred" in text
    assert "a\\n::error::pwned" in text
    # Markup from data is text, not style.
    assert "[bold]x[/bold]" in text


def test_the_plain_text_says_what_the_colour_text_says() -> None:
    plain = render_text(hostile_report())
    coloured = re.sub(r"\x1b\[[0-9;]*m", "", render_text(hostile_report(), color=True))
    assert coloured == plain


def _github_unescape(text: str) -> str:
    """What the runner makes of escaped data (actions/runner's ActionCommand.UnescapeData)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_github_commands_are_ours_and_their_data_is_escaped() -> None:
    output = FORMATS["github"](hostile_report())
    lines = output.split("\n")
    assert lines[-1] == ""
    commands = [line for line in lines if line.startswith("::")]
    assert len(commands) == len(hostile_report().findings)
    for line in lines[:-1]:
        assert "\r" not in line
        assert not UNSAFE.search(line), repr(line)
        if not line.startswith("::"):
            assert line.startswith("migdocs: ")
            continue
        found = re.fullmatch(r"::(error|warning|notice) ([^:]*)::(.*)", line)
        assert found, line
        # The data has no "::" the runner could take for the end of the properties, and
        # each property value decodes to what we meant.
        for prop in found.group(2).split(","):
            key, _, value = prop.partition("=")
            assert key in ("file", "line", "col", "title")
            assert ":" not in value
            assert "," not in value
    messages = [_github_unescape(re.sub(r"^::[^:]*::", "", line)) for line in commands]
    # Newlines survive as %0A, decoded by the runner into the annotation: the text is kept.
    assert any("a\n::error::pwned" in message for message in messages)
    assert any("100%,:" in message for message in messages)


def test_json_parses_and_round_trips_inert() -> None:
    report = hostile_report()
    output = FORMATS["json"](report)
    assert "##[" not in output
    assert not UNSAFE.search(output.replace("\n", "")), "raw control characters in JSON"
    # Strict JSON: no control characters raw in strings.
    data = json.loads(output, strict=True)
    assert data == json.loads(json.dumps(report.to_json()))
    assert data["findings"][0]["message"] == f"fails: {PAYLOAD}"
    for line in output.split("\n"):
        assert not line.lstrip().startswith("::")
    output.encode("utf-8")  # a lone surrogate would not encode


def test_sarif_parses_validates_and_is_inert() -> None:
    output = FORMATS["sarif"](hostile_report())
    assert "##[" not in output
    assert not UNSAFE.search(output.replace("\n", ""))
    output.encode("utf-8")
    log = json.loads(output, strict=True)
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    assert [error.message for error in validator.iter_errors(log)] == []
    assert log["runs"][0]["results"][0]["message"]["text"] == f"fails: {PAYLOAD}"


def test_junit_parses_and_is_inert() -> None:
    output = FORMATS["junit"](hostile_report())
    assert "##[" not in output
    for line in output.split("\n"):
        assert not line.lstrip().startswith("::")
    assert not UNSAFE.search(output.replace("\n", ""))
    root = ET.fromstring(output.encode("utf-8"))
    names = [suite.get("name") for suite in root.iter("testsuite")]
    assert any(name and "\\x1b[31mred" in name for name in names)
    failures = " ".join(
        (failure.get("message") or "") + (failure.text or "") for failure in root.iter("failure")
    )
    assert "]]>" in failures
    assert "a\\n::error::pwned" in failures


def test_error_messages_on_stderr_are_inert(tmp_path: Path) -> None:
    """A file name is data too: one with a newline and a workflow command, and an escape."""
    catalog = tmp_path / "x\n::error::pwned \x1b[31m ##[error]y.yaml"
    done = run(
        [*MIGDOCS, "--catalog", str(catalog), "check"],
        cwd=tmp_path,
        timeout=60,
        env=environment(["MIGDOCS_DEBUG"]),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("migdocs: error: ")
    assert done.stderr.count("\n") == 1, done.stderr  # one line: the file name's newline shown
    assert_inert_text(done.stderr.rstrip("\n"))
    assert "x\\n::error::pwned \\x1b[31m ##\\[error]y.yaml" in done.stderr


@pytest.fixture
def hostile_database(embedded_server: ScratchServer) -> str:
    url = embedded_server.create_database()
    with embedded_server.connect(url) as conn:
        conn.execute('CREATE TABLE "x\n::error::pwned" ("\x1b[31mred" int)')
        conn.execute('CREATE TABLE "y ##[error]legacy [bold]z[/bold]" ()')
    yield url
    embedded_server.drop_database(url)


def test_a_hostile_live_database_forges_no_ci_output(hostile_database: str, tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "good", tmp_path, dirs_exist_ok=True)
    env = environment(["CI", "MIGDOCS_DEBUG"])
    outputs = {}
    for output_format in ("text", "github"):
        done = run(
            [
                *MIGDOCS,
                *("audit", "--database-url", hostile_database, "--fail-on", "warning"),
                *("--format", output_format),
            ],
            cwd=tmp_path,
            env=env,
        )
        assert done.returncode == 1, done.stderr
        outputs[output_format] = done.stdout
        assert "##[" not in done.stderr
    text = outputs["text"]
    assert "MG502" in text
    assert_inert_text(text)
    assert "x\\n::error::pwned" in text  # shown, not run
    github = outputs["github"]
    for line in github.rstrip("\n").split("\n"):
        assert not UNSAFE.search(line)
        assert line.startswith(("::warning ", "::error ", "::notice ", "migdocs: ")), line
    assert "x%0A::error::pwned" in github


def test_the_progress_bar_shows_a_migration_id_as_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bar names the migration it replays: markup in an id is text, an escape is shown."""
    from migdocs.cli import _progress

    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws the bar as on a terminal
    monkeypatch.setenv("COLUMNS", "200")
    with _progress(2, enabled=True) as advance:
        assert advance is not None
        advance(1, 2, "[red]m[/red]\x1b]0;title\x07 ##[error]x")
    err = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", capsys.readouterr().err)  # rich's own codes
    assert "[red]m[/red]" in err
    assert "\\x1b]0;title\\x07" in err
    assert "\x07" not in err
    assert "##[" not in err


def test_what_review_and_build_print_is_inert(tmp_path: Path) -> None:
    """The lines of `review --mark`, `review --checklist` and `build` quote a reviewer's name,
    ids, titles and paths: none can be a workflow command."""
    root = Path(__file__).resolve().parents[1]
    for name in ("catalog.yaml", "mkdocs.yml"):
        shutil.copy(root / name, tmp_path / name)
    shutil.copytree(root / "migrations", tmp_path / "migrations")
    shutil.copytree(root / "docs", tmp_path / "docs")
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace("title: Initial schema", 'title: "x\\n::error::title"', 1)
    )
    runs = [
        ["review", "--mark", "2025-08-30_initial_schema", "--by", "ops\n::error::pwned\x1b[31m"],
        ["review", "--checklist"],
        ["build", "--site-dir", "site\n::error::site"],
    ]
    outputs = []
    for args in runs:
        result = run([*MIGDOCS, *args], cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert_inert_text(result.stdout)
        outputs.append(result.stdout)
    assert "reviewed 20" in outputs[0]
    assert "by ops\\n::error::pwned\\x1b[31m" in outputs[0]  # shown, escaped
    assert "site\\n::error::site" in outputs[2]
