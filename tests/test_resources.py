"""Bounded resources: what a hostile catalog or SQL file cannot make migdocs spend.

Alias bombs, files past the size limits, parse trees deeper than Python's stack, and the
runs of operator characters that PostgreSQL's scanner reads in quadratic time: each is a
clear message or an MG200 finding, never an internal error or a hang.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from migdocs.catalog import load_catalog
from migdocs.catalog.yamlload import YamlError, load_yaml
from migdocs.errors import CatalogError
from migdocs.limits import CATALOG_MAX_BYTES, SQL_MAX_BYTES, FileTooLarge, read_bounded
from migdocs.project import Project
from migdocs.sql.script import MAX_TREE_DEPTH, parse_text
from runner_kit import environment, migdocs

HEAD = "version: 1\nproject: {name: P}\n"
MEMORY_CAP = 2 << 30


def bomb(levels: int = 10, width: int = 9) -> str:
    """A "billion laughs" catalog: each anchor a list of ``width`` aliases of the one above."""
    lines = [HEAD, "migrations: []\n", "x:\n", '  a0: &a0 ["lol"]\n']
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"  a{level}: &a{level} [{aliases}]\n")
    return "".join(lines)


def capped() -> None:
    """In the child: an address-space cap, so that a regression fails instead of swapping."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_check(folder: Path) -> subprocess.CompletedProcess[str]:
    return migdocs("check", cwd=folder, env=environment(), timeout=120, preexec_fn=capped)


def write_project(root: Path, sql: str, catalog_extra: str = "") -> Path:
    (root / "migrations").mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "2025-01-01_a.sql").write_text(sql, encoding="utf-8")
    (root / "catalog.yaml").write_text(
        HEAD
        + catalog_extra
        + "migrations:\n"
        + "  - {id: 2025-01-01_a, date: 2025-01-01, title: A, purpose: P,"
        + " rollback: {none: forward only}}\n",
        encoding="utf-8",
    )
    return root


# -- YAML aliases -----------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_at_its_alias(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").write_text(bomb(), encoding="utf-8")
    done = run_check(tmp_path)
    assert done.returncode == 2, done.stderr
    assert "internal error" not in done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("migdocs: error: catalog.yaml:9:"), line
    assert "alias *a3 makes the aliases repeat" in line
    assert "(an alias bomb?)" in line


def test_the_alias_budget_grows_with_the_document() -> None:
    with pytest.raises(YamlError) as caught:
        load_yaml(bomb(levels=5, width=10))
    assert caught.value.mark is not None
    assert caught.value.mark.line == 9
    assert "alias *a3" in caught.value.message
    # the same aliases are fine once the document itself writes enough values first
    padding = "".join(f"p{index}: [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" for index in range(1_000))
    loaded = load_yaml(padding + bomb(levels=5, width=10)).data["x"]["a4"]
    assert loaded[9][9][9][9] == ["lol"]


def test_a_catalog_that_shares_blocks_with_anchors_loads(tmp_path: Path) -> None:
    entries = [
        "  - id: 2025-01-01_m0\n    date: 2025-01-01\n    title: M\n    purpose: P\n"
        "    rollback: &forward {none: forward only}\n"
        "    changes: &changes [one, two, three]\n"
    ]
    entries += [
        f"  - id: 2025-01-01_m{index}\n    date: 2025-01-01\n    title: M\n    purpose: P\n"
        "    rollback: *forward\n    changes: *changes\n"
        for index in range(1, 2_000)
    ]
    path = tmp_path / "catalog.yaml"
    path.write_text(HEAD + "migrations:\n" + "".join(entries), encoding="utf-8")
    loaded = load_catalog(path, "catalog.yaml")
    assert len(loaded.catalog.migrations) == 2_000
    assert loaded.catalog.migrations[1_999].changes == ["one", "two", "three"]
    assert loaded.line_of("migrations", 1_999, "changes", 2) == 9


def test_an_alias_of_a_deeply_nested_anchor_is_copied_without_recursion() -> None:
    depth = 990  # libyaml refuses 1,000
    document = load_yaml("x: &a " + "[" * depth + "]" * depth + "\ny: *a\n")
    node, levels = document.data["y"], 1
    while node:
        node, levels = node[0], levels + 1
    assert levels == depth
    assert document.data["y"] is not document.data["x"]


# -- file sizes -------------------------------------------------------------------------------


def sparse(path: Path, size: int, start: bytes = b"") -> None:
    path.write_bytes(start)
    with path.open("r+b") as handle:
        handle.truncate(size)


def test_a_catalog_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    sparse(path, CATALOG_MAX_BYTES + 1, HEAD.encode())
    with pytest.raises(CatalogError) as caught:
        load_catalog(path, "catalog.yaml")
    assert str(caught.value) == ("catalog.yaml: is larger than the 16 MiB migdocs reads (16.0 MiB)")


def test_a_sql_file_past_the_limit_is_mg200_and_not_read(tmp_path: Path) -> None:
    write_project(tmp_path, "SELECT 1;\n")
    sql = tmp_path / "migrations" / "2025-01-01_a.sql"
    sparse(sql, SQL_MAX_BYTES + 1, b"SELECT 1;\n")
    project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
    (entry,) = project.entries
    assert project.forward(entry) is None
    problem = project.read_problem(sql)
    assert problem is not None
    assert problem.code == "MG200"
    assert problem.message == "is larger than the 64 MiB migdocs reads (64.0 MiB); not read"
    done = run_check(tmp_path)
    assert done.returncode == 1, done.stderr
    assert "migrations/2025-01-01_a.sql: error MG200 is larger than the 64 MiB" in done.stdout


def test_a_setup_script_past_the_limit_stops_the_run(tmp_path: Path) -> None:
    write_project(tmp_path, "SELECT 1;\n", "replay: {setup: [setup.sql]}\n")
    sparse(tmp_path / "setup.sql", SQL_MAX_BYTES + 1)
    project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
    with pytest.raises(CatalogError) as caught:
        project.setup_scripts()
    assert str(caught.value) == (
        "catalog.yaml:3:18: replay.setup[0]: setup.sql is larger than the 64 MiB migdocs "
        "reads (64.0 MiB); not read"
    )


def test_read_bounded_stops_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100_000)
    assert read_bounded(path, 100_000) == b"x" * 100_000
    with pytest.raises(FileTooLarge) as caught:
        read_bounded(path, 99_999)
    assert caught.value.strerror == "is larger than the 99,999 bytes migdocs reads (100,000 bytes)"
    # a file without end (or one that grows while it is read) is stopped at the limit too
    with pytest.raises(FileTooLarge):
        read_bounded(Path("/dev/zero"), 1 << 20)


# -- deep parse trees -------------------------------------------------------------------------


def nested_case(levels: int) -> str:
    return "SELECT " + "CASE WHEN true THEN " * levels + "1" + " END" * levels


def test_nested_expressions_past_pythons_recursion_limit_are_analysed() -> None:
    limit = sys.getrecursionlimit()
    script = parse_text(f"SELECT 1;\n{nested_case(300)};\n")
    assert script.parsed
    assert not script.problems
    assert [statement.line for statement in script.statements] == [1, 2]
    # an index expression is made canonical by walking it: that walk is deep too
    terms = " || ".join(["a"] * 1_500)
    script = parse_text(f"CREATE TABLE t (a text);\nCREATE INDEX i ON t (({terms}));\n")
    assert script.parsed
    assert not script.problems
    assert [str(ref) for ref in script.statements[1].creates] == ["index:public.i"]
    assert sys.getrecursionlimit() == limit


def test_a_tree_deeper_than_migdocs_reads_is_mg200_at_its_statement() -> None:
    script = parse_text(f"SELECT 1;\n\n{nested_case(1_200)};\nSELECT 2;\n")
    assert not script.parsed
    assert not script.statements
    (problem,) = script.problems
    assert (problem.code, problem.line, problem.column) == ("MG200", 3, 1)
    assert problem.message == (
        f"nested too deeply to analyse: its parse tree is 6,011 levels deep, and migdocs "
        f"reads up to {MAX_TREE_DEPTH:,} (about 1,000 nested CASE expressions)"
    )
    first = parse_text(f"{nested_case(1_200)};\nSELECT 2;\n")
    assert [(p.line, p.column) for p in first.problems] == [(1, 1)]


def test_check_reports_deep_sql_as_a_finding(tmp_path: Path) -> None:
    write_project(tmp_path, f"SELECT 1;\n{nested_case(1_200)};\n")
    done = run_check(tmp_path)
    assert done.returncode == 1, done.stderr
    assert "internal error" not in done.stderr
    assert "migrations/2025-01-01_a.sql:2:1: error MG200 nested too deeply" in done.stdout


# -- runs of operator characters --------------------------------------------------------------


def test_nested_comments_parse_as_postgresql_reads_them() -> None:
    depth = 1_000
    script = parse_text("/*" * depth + " SELECT 2; " + "*/" * depth + "\nSELECT 1;\n")
    assert script.parsed
    assert not script.problems
    assert [(s.line, s.command) for s in script.statements] == [(2, "SELECT")]


@pytest.mark.parametrize(
    ("sql", "length", "column"),
    [
        ("/*" * 40_000 + " x " + "*/" * 40_000 + "\nSELECT 1;\n", 80_000, 1),
        ("SELECT 1 " + "+-" * 20_000 + " 1;\n", 40_000, 10),
    ],
    ids=["nested-comments", "trimmed-operator"],
)
def test_a_run_the_scanner_reads_in_quadratic_time_is_mg200(
    sql: str, length: int, column: int
) -> None:
    script = parse_text("SELECT 0;\n" + sql)
    assert not script.parsed
    assert not script.statements
    (problem,) = script.problems
    assert (problem.code, problem.line, problem.column) == ("MG200", 2, column)
    assert problem.message.startswith(f"{length:,} operator characters in a row")


def test_banners_of_operator_characters_still_parse() -> None:
    banner = "/" + "*" * 100 + "/\n-- " + "=" * 120 + "\n"
    script = parse_text((banner + "SELECT 1;\n") * 5_000)
    assert script.parsed
    assert not script.problems
    assert len(script.statements) == 5_000


def test_meta_command_search_lexes_a_bounded_amount(monkeypatch: pytest.MonkeyPatch) -> None:
    from migdocs.sql import script as module

    lexed = 0
    lexes = module._lexes

    def counting(text: str) -> bool:
        nonlocal lexed
        lexed += len(text)
        return lexes(text)

    monkeypatch.setattr(module, "_lexes", counting)
    # an unterminated string, then thousands of lines that look like meta-commands
    text = "SELECT 'open;\n" + "\\echo one\n" * 20_000
    script = parse_text(text)
    assert not script.parsed
    assert [problem.code for problem in script.problems] == ["MG200"]
    assert lexed <= module._RELEX_PER_CHAR * len(text) + module._RELEX_ALLOWANCE


def test_ignore_comments_attach_to_the_statement_below() -> None:
    count = 3_000
    sql = "SELECT 1;\n" * count + "-- migdocs: ignore MG205 (x)\nSELECT 2;\n" * 3
    sql += "-- migdocs: ignore MG205 (none below)\n"
    script = parse_text(sql)
    assert [statement.suppressed for statement in script.statements[count:]] == [{"MG205"}] * 3
    assert [comment.applies for comment in script.ignores] == [True, True, True, False]
