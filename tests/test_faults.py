"""Faults are messages: input no file system can hold ends a run with exit 2 and the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner_kit import environment, migdocs

CATALOG = """\
version: 1
project: {name: x}
paths: {migrations: "%(folder)s"}
migrations:
  - id: "%(id)s"
    file: "%(file)s"
    date: 2025-01-01
    title: A
    purpose: a
    rollback: {none: a test}
"""


@pytest.mark.parametrize(
    ("field", "line"),
    [("folder", "catalog.yaml:3:"), ("id", "catalog.yaml:5:"), ("file", "catalog.yaml:6:")],
)
@pytest.mark.parametrize("command", [["check"], ["verify"], ["review", "--mark", "a", "--by", "x"]])
def test_a_nul_byte_in_a_file_name_is_exit_2_naming_the_line(
    tmp_path: Path, field: str, line: str, command: list[str]
) -> None:
    values = {"folder": "migrations", "id": "a", "file": "a.sql"}
    values[field] = values[field][:1] + "\\0" + values[field][1:]
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "a.sql").write_text("CREATE TABLE t (id int);\n")
    catalog = tmp_path / "catalog.yaml"
    text = CATALOG % values
    if field == "id":  # the file is then named after the id
        text = text.replace('    file: "a.sql"\n', "")
    catalog.write_text(text)
    before = catalog.read_bytes()
    result = migdocs(*command, cwd=tmp_path, env=environment())
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"migdocs: error: {line}")
    assert "NUL byte" in result.stderr
    assert "internal error" not in result.stderr
    assert catalog.read_bytes() == before


def test_a_file_name_too_long_for_the_file_system_is_exit_2_naming_the_line(
    tmp_path: Path,
) -> None:
    """Found by tests/test_fuzz.py: ENAMETOOLONG was an internal error."""
    values = {"folder": "migrations", "id": "a", "file": ":" * 300 + "a.sql"}
    (tmp_path / "migrations").mkdir()
    (tmp_path / "catalog.yaml").write_text(CATALOG % values)
    result = migdocs("check", cwd=tmp_path, env=environment())
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("migdocs: error: catalog.yaml:6:")
    assert "File name too long" in result.stderr
