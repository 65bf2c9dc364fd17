"""Project: which SQL files a folder holds, how paths are shown, and reading a file's bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from migdocs.errors import CatalogError
from migdocs.project import Project
from migdocs.sql.script import read_bytes

H = "version: 1\nproject: {name: P}\n"


def project_at(root: Path, extra: str = "") -> Project:
    (root / "catalog.yaml").write_text(H + extra, encoding="utf-8")
    return Project.load(root / "catalog.yaml", "catalog.yaml")


def sql_files_by_glob(folder: Path) -> list[Path]:
    """What `Project` listed before it read each folder once: glob, then `is_file`, sorted."""
    return sorted(path for path in folder.glob("*.sql") if path.is_file())


def make_folder(folder: Path, outside: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("b.sql", "a.sql", "A.sql", ".hidden.sql", ".sql", "x.SQL", "notes.txt", "c.sqlx"):
        (folder / name).write_text("SELECT 1;\n", encoding="utf-8")
    (folder / "sub.sql").mkdir()  # a folder is not a file
    (folder / "link.sql").symlink_to(folder / "a.sql")  # a link to a file is one
    (folder / "dangling.sql").symlink_to(folder / "gone.sql")
    (folder / "far.sql").symlink_to(outside / "far.sql")


def test_sql_files_are_what_glob_finds(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "far.sql").write_text("SELECT 1;\n", encoding="utf-8")
    root = tmp_path / "project"
    make_folder(root / "migrations", outside)
    make_folder(root / "migrations" / "rollbacks", outside)
    project = project_at(root)
    assert project.migration_files == sql_files_by_glob(project.migrations_dir)
    assert project.rollback_files == sql_files_by_glob(project.rollbacks_dir)
    names = [path.name for path in project.migration_files]
    assert names == [".hidden.sql", ".sql", "A.sql", "a.sql", "b.sql", "far.sql", "link.sql"]


def test_rollbacks_kept_beside_the_migrations(tmp_path: Path) -> None:
    folder = tmp_path / "sql"
    folder.mkdir()
    for name in ("2025-01-01_a.sql", "2025-01-01_rollback_a.sql", "2025-01-02_b.sql"):
        (folder / name).write_text("SELECT 1;\n", encoding="utf-8")
    project = project_at(tmp_path, "paths: {migrations: sql, rollbacks: sql}\n")
    assert [p.name for p in project.migration_files] == ["2025-01-01_a.sql", "2025-01-02_b.sql"]
    assert [p.name for p in project.rollback_files] == ["2025-01-01_rollback_a.sql"]


def test_no_folder_no_files(tmp_path: Path) -> None:
    project = project_at(tmp_path)
    assert project.migration_files == []
    assert project.rollback_files == []


@pytest.mark.parametrize(
    ("paths", "name", "shown"),
    [
        ("", "migrations/a.sql", "migrations/a.sql"),
        ("", "migrations/rollbacks/r.sql", "migrations/rollbacks/r.sql"),
        ("", "setup.sql", "setup.sql"),
        ("paths: {migrations: sql/../migrations}\n", "sql/../migrations/a.sql", None),
        ("paths: {migrations: ./db/./forward}\n", "db/forward/a.sql", "db/forward/a.sql"),
    ],
)
def test_display_is_relative_to_the_project(
    tmp_path: Path, paths: str, name: str, shown: str | None
) -> None:
    for folder in ("sql", "migrations/rollbacks", "db/forward"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    project = project_at(tmp_path, paths)
    path = project.root / name
    expected = shown if shown is not None else path.relative_to(project.root).as_posix()
    assert project.display(path) == expected
    assert project.display(path) == expected  # the folder is known now: the same answer


def test_display_of_a_path_outside_the_project(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    project = project_at(tmp_path / "p")
    outside = tmp_path / "elsewhere" / "x.sql"
    assert project.display(outside) == outside.as_posix()
    linked = tmp_path / "p" / "link"
    linked.symlink_to(tmp_path / "p")
    assert project.display(linked / "y.sql") == "link/y.sql"  # as the user wrote it


@pytest.mark.parametrize("size", [0, 1, 100, 65535, 65536, 65537, 3 * 65536 + 7, 2_000_000])
def test_read_bytes_reads_the_whole_file(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f.sql"
    data = os.urandom(size)
    path.write_bytes(data)
    assert read_bytes(path) == data


def test_read_bytes_of_a_folder_or_nothing(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_bytes(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "missing.sql")


@pytest.mark.parametrize(
    ("catalog", "shown"),
    [
        ("catalog.yaml", "migrations/a.sql"),
        ("p/catalog.yaml", "p/migrations/a.sql"),
        ("./p/catalog.yaml", "p/migrations/a.sql"),
        ("../p/catalog.yaml", "../p/migrations/a.sql"),
        ("/srv/p/catalog.yaml", "/srv/p/migrations/a.sql"),
    ],
)
def test_display_starts_where_the_catalog_was_named(
    tmp_path: Path, catalog: str, shown: str
) -> None:
    # A report names the catalog as the user did: its files the same way, from the same place.
    (tmp_path / "catalog.yaml").write_text(H, encoding="utf-8")
    project = Project.load(tmp_path / "catalog.yaml", catalog)
    path = project.root / "migrations" / "a.sql"
    assert project.display(path) == shown
    assert project.display(path) == shown  # the folder is known now: the same answer
    assert project.display(project.root / "x.sql") == shown.replace("migrations/a.sql", "x.sql")


SETUP = H + "replay:\n  setup:\n    - roles.sql\n    - setup.sql\n"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "catalog.yaml:6:7: replay.setup[1]: setup.sql does not exist"),
        (
            "CREATE ROLE app LOGIN,;\n",
            "catalog.yaml:6:7: replay.setup[1]: setup.sql:1:22: does not parse: syntax error at "
            'or near ","',
        ),
        (
            b"-- caf\xe9\nCREATE ROLE app;\n",
            "catalog.yaml:6:7: replay.setup[1]: setup.sql:1:7: not UTF-8 text (byte 0xe9); save "
            "the file as UTF-8",
        ),
        ("folder", "catalog.yaml:6:7: replay.setup[1]: setup.sql is a folder, not a SQL file"),
    ],
    ids=["missing", "does-not-parse", "not-utf8", "folder"],
)
def test_a_setup_script_that_cannot_be_run_stops_the_run(
    tmp_path: Path, content: str | bytes | None, problem: str
) -> None:
    (tmp_path / "roles.sql").write_text("CREATE ROLE app;\n", encoding="utf-8")
    if content == "folder":
        (tmp_path / "setup.sql").mkdir()
    elif isinstance(content, bytes):
        (tmp_path / "setup.sql").write_bytes(content)
    elif content is not None:
        (tmp_path / "setup.sql").write_text(content, encoding="utf-8")
    (tmp_path / "catalog.yaml").write_text(SETUP, encoding="utf-8")
    project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
    with pytest.raises(CatalogError) as caught:
        project.setup_scripts()
    assert caught.value.problems == [problem]


def test_setup_scripts_that_parse(tmp_path: Path) -> None:
    for name in ("roles.sql", "setup.sql"):
        (tmp_path / name).write_text("CREATE ROLE app;\n", encoding="utf-8")
    (tmp_path / "catalog.yaml").write_text(SETUP, encoding="utf-8")
    project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
    assert [script.display for script in project.setup_scripts()] == ["roles.sql", "setup.sql"]


def test_a_project_let_go_is_freed_as_it_is_dropped(tmp_path: Path) -> None:
    """A project, with every script it read, holds no reference cycle through itself: when
    the last reference goes, it is freed at once, not by a pass of the garbage collector
    over everything it holds (a build's history, let go as the build ends, is millions of
    objects at 10,000 migrations)."""
    import gc
    import shutil
    import weakref

    root = Path(__file__).resolve().parent.parent
    shutil.copy(root / "catalog.yaml", tmp_path / "catalog.yaml")
    shutil.copytree(root / "migrations", tmp_path / "migrations")
    was = gc.isenabled()
    gc.disable()
    try:
        project = Project.load(tmp_path / "catalog.yaml", "catalog.yaml")
        scripts = [project.forward(entry) for entry in project.entries]
        assert len(scripts) >= 4
        assert all(script is not None for script in scripts)
        freed = weakref.ref(project)
        del project, scripts
        assert freed() is None
    finally:
        if was:
            gc.enable()
