"""Files written as users expect (issue 11, item 8): everything migdocs writes follows the
umask, as ``mkdocs build`` does, and what it rewrites keeps its mode (and owner).

Each test runs the real command line in a subprocess under a umask set around that run
only (022, a team's usual; 077, a private one), on a copy of the example project at the
repository root, and reads the modes the files got.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from runner_kit import URLS, environment, migdocs

ROOT = Path(__file__).resolve().parent.parent
UMASKS = [0o022, 0o077]


def run(cwd: Path, umask: int, *args: str) -> subprocess.CompletedProcess[str]:
    """``migdocs ARGS`` in ``cwd`` under ``umask`` (this process's is restored after)."""
    previous = os.umask(umask)
    try:
        return migdocs(*args, cwd=cwd, env=environment(URLS, NO_MKDOCS_2_WARNING="1"))
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def file_mode(umask: int) -> int:
    return 0o666 & ~umask


def folder_mode(umask: int) -> int:
    return 0o777 & ~umask


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example project: its catalog and its migrations."""
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(ROOT / "catalog.yaml", root / "catalog.yaml")
    shutil.copytree(ROOT / "migrations", root / "migrations")
    return root


@pytest.fixture
def adopted(tmp_path: Path) -> Path:
    """The example's migrations alone, as a project that has never seen migdocs."""
    root = tmp_path / "adopted"
    root.mkdir()
    shutil.copytree(ROOT / "migrations", root / "migrations")
    return root


@pytest.mark.parametrize("umask", UMASKS, ids=["022", "077"])
def test_init_writes_its_files_with_the_umask_mode(adopted: Path, umask: int) -> None:
    result = run(adopted, umask, "init")
    assert result.returncode == 0, result.stderr
    for name in ("catalog.yaml", "mkdocs.yml", "docs/index.md"):
        assert mode(adopted / name) == file_mode(umask), name
    assert mode(adopted / "docs") == folder_mode(umask)
    assert not [p.name for p in adopted.iterdir() if p.name.startswith(".")]


def test_init_update_keeps_the_catalog_mode(adopted: Path) -> None:
    assert run(adopted, 0o022, "init").returncode == 0
    catalog = adopted / "catalog.yaml"
    catalog.chmod(0o604)
    (adopted / "migrations" / "2025-09-01_add_notes.sql").write_text(
        "ALTER TABLE users ADD COLUMN notes text;\n"
    )
    result = run(adopted, 0o077, "init", "--update")
    assert result.returncode == 0, result.stderr
    assert "2025-09-01_add_notes" in catalog.read_text()
    assert mode(catalog) == 0o604


@pytest.mark.parametrize("umask", UMASKS, ids=["022", "077"])
def test_an_output_report_gets_the_umask_mode(example: Path, umask: int) -> None:
    result = run(example, umask, "check", "--format", "json", "--output", "report.json")
    assert result.returncode in (0, 1), result.stderr
    report = example / "report.json"
    assert isinstance(json.loads(report.read_text()), dict)
    assert mode(report) == file_mode(umask)


@pytest.mark.parametrize("umask", UMASKS, ids=["022", "077"])
def test_an_output_report_written_over_keeps_its_mode(example: Path, umask: int) -> None:
    report = example / "report.json"
    report.write_text("old\n")
    report.chmod(0o604)  # neither mode a umask gives here
    result = run(example, umask, "check", "--format", "json", "--output", "report.json")
    assert result.returncode in (0, 1), result.stderr
    assert report.read_text() != "old\n"
    assert mode(report) == 0o604


@pytest.mark.parametrize("umask", UMASKS, ids=["022", "077"])
def test_a_built_site_gets_the_umask_mode(adopted: Path, umask: int) -> None:
    assert run(adopted, umask, "init").returncode == 0
    result = run(adopted, umask, "build")
    assert result.returncode == 0, result.stderr
    site = adopted / "site"
    assert (site / "index.html").is_file()
    assert (site / "history" / "index.html").is_file()
    assert mode(site) == folder_mode(umask)
    found = {
        str(path.relative_to(site)): mode(path)
        for path in site.rglob("*")
        if mode(path) != (folder_mode(umask) if path.is_dir() else file_mode(umask))
    }
    assert found == {}
    assert len(list(site.rglob("*"))) > 10
    # Nothing of the build (staging folder, previous site) is left beside it.
    assert sorted(p.name for p in adopted.iterdir() if p.name.startswith(".")) == []


def test_a_rebuilt_site_keeps_its_folder_mode_and_owner(adopted: Path) -> None:
    """As ``mkdocs build`` empties a site folder and keeps it: a folder opened to a web
    server stays open; the files in it are new, with the umask's mode."""
    assert run(adopted, 0o022, "init").returncode == 0
    assert run(adopted, 0o022, "build").returncode == 0
    site = adopted / "site"
    site.chmod(0o751)
    owner = (1234, 1234) if os.geteuid() == 0 else (os.geteuid(), os.getegid())
    os.chown(site, *owner)
    result = run(adopted, 0o077, "build")
    assert result.returncode == 0, result.stderr
    status = site.stat()
    assert stat.S_IMODE(status.st_mode) == 0o751
    assert (status.st_uid, status.st_gid) == owner
    assert mode(site / "index.html") == 0o600
    assert mode(site / "history") == 0o700


@pytest.mark.parametrize("umask", UMASKS, ids=["022", "077"])
def test_review_mark_keeps_a_0640_catalog_0640(example: Path, umask: int) -> None:
    catalog = example / "catalog.yaml"
    catalog.chmod(0o640)
    before = catalog.read_text().count("reviewed: {date: ")
    result = run(example, umask, "review", "--mark", "2025-08-30_initial_schema", "--by", "Ann")
    assert result.returncode == 0, result.stderr
    assert "stamped 2025-08-30_initial_schema" in result.stdout
    assert catalog.read_text().count("reviewed: {date: ") == before + 1
    assert mode(catalog) == 0o640
    assert sorted(p.name for p in example.iterdir()) == ["catalog.yaml", "migrations"]
