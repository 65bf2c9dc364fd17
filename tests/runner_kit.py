"""The tests' shared helpers: the one subprocess runner (``python -m migdocs``, ``mkdocs``),
the one project builder, and, for the runner tests, fixtures copied to a temporary folder
and a live database migrated as the runner would migrate it.

A fixture of a runner lives in ``tests/fixtures/runners/<name>`` (a small excerpt of a real
public history, its source named in the fixture). `migrate` applies its migrations to a
real database statement by statement, in autocommit, the way a deploy leaves it; the test
then writes the ledger rows exactly as that runner writes them (each test knows its
runner's table), so that `migdocs audit` reads what production would hold.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
import yaml

from migdocs.checks import run_static
from migdocs.project import Project
from migdocs.replay import transactional
from migdocs.sql.script import Script

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "runners"
#: ``python -m migdocs`` and ``python -m mkdocs`` of this interpreter.
MIGDOCS = [sys.executable, "-m", "migdocs"]
MKDOCS = [sys.executable, "-m", "mkdocs"]
#: What would point a run elsewhere than the test says: the CI's flag and the user's URLs.
URLS = ("CI", "MIGDOCS_SCRATCH_URL", "MIGDOCS_DATABASE_URL")
#: What a site test sets: no MkDocs 2 banner, and a fixed today for the review dates.
SITE_BUILD = {"NO_MKDOCS_2_WARNING": "1", "MIGDOCS_TODAY": "2025-10-01"}


# -- running a command ------------------------------------------------------------------------


def environment(without: Iterable[str] = (), **extra: str) -> dict[str, str]:
    """This process's environment without the variables named in ``without`` (a name that
    ends in ``*`` stands for every name it starts), with ``extra`` set."""
    prefixes = tuple(name[:-1] for name in without if name.endswith("*"))
    names = {name for name in without if not name.endswith("*")}
    kept = {
        key: value
        for key, value in os.environ.items()
        if key not in names and not (prefixes and key.startswith(prefixes))
    }
    return {**kept, **extra}


def run(
    command: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 300,
    input: str | None = None,
    preexec_fn: Callable[[], Any] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``command`` run to its end, its output captured as text, whatever its exit code;
    ``env`` None inherits this process's environment."""
    return subprocess.run(
        list(command),
        cwd=cwd,
        env=None if env is None else dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
        check=False,
    )


def migdocs(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 300,
    preexec_fn: Callable[[], Any] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m migdocs ARGS`` in ``cwd``; ``env`` by default this process's without the
    CI's or the user's URLs."""
    return run(
        [*MIGDOCS, *args],
        cwd=cwd,
        env=environment(URLS) if env is None else env,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def mkdocs(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float | None = 300,
    preexec_fn: Callable[[], Any] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``mkdocs ARGS`` as a user runs it, the plugin found through its entry point; ``env``
    by default this process's without MkDocs 2's banner."""
    return run(
        [*MKDOCS, *args],
        cwd=cwd,
        env=environment(NO_MKDOCS_2_WARNING="1") if env is None else env,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


# -- building a project -----------------------------------------------------------------------


def make_project(
    root: Path,
    migrations: Sequence[Mapping[str, Any]] = (),
    *,
    catalog: str | None = None,
    files: Mapping[str, str | bytes] | None = None,
    display: str | None = None,
    **settings: Any,
) -> Project:
    """A project written under ``root`` and loaded.

    Args:
        root: Its folder (made if missing).
        migrations: Dicts with ``name``, ``up``, ``down`` (None: no rollback) and optionally
            ``creates``/``drops``: one dated entry each (2025-01-01, 2025-01-02…), with its
            files, in a catalog that has ``settings`` (``live=``, ``ledger=``, ``replay=``…).
        catalog: Instead of ``migrations``, the catalog's text as it is.
        files: More files, by path under ``root`` (bytes: a file that is not UTF-8).
        display: How the catalog is named in findings (``Project.load``'s).
    """
    assert catalog is None or not (migrations or settings), "the catalog is given twice"
    (root / "migrations" / "rollbacks").mkdir(parents=True, exist_ok=True)
    if catalog is None:
        catalog = _catalog_of(root, migrations, settings)
    (root / "catalog.yaml").write_text(catalog, encoding="utf-8")
    for name, content in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return Project.load(root / "catalog.yaml", display)


def _catalog_of(
    root: Path, migrations: Sequence[Mapping[str, Any]], settings: Mapping[str, Any]
) -> str:
    """The catalog of ``migrations``, their files written under ``root``."""
    entries = []
    for number, migration in enumerate(migrations, 1):
        date = f"2025-01-{number:02d}"
        ident = f"{date}_{migration['name']}"
        (root / "migrations" / f"{ident}.sql").write_text(textwrap.dedent(migration["up"]))
        entry: dict[str, Any] = {
            "id": ident,
            "date": date,
            "title": migration["name"].replace("_", " "),
            "purpose": "test",
            "creates": migration.get("creates", {}),
            "drops": migration.get("drops", {}),
        }
        if migration.get("down") is None:
            entry["rollback"] = {"none": "irreversible on purpose"}
        else:
            rollback = f"{date}_rollback_{migration['name']}.sql"
            (root / "migrations" / "rollbacks" / rollback).write_text(
                textwrap.dedent(migration["down"])
            )
            entry["rollback"] = {
                "file": rollback,
                "risk": "critical",
                "impact": ["data-loss", "may-fail", "performance"],
                "summary": "undo",
            }
        entries.append(entry)
    document = {"version": 1, "project": {"name": "test"}, **settings, "migrations": entries}
    return yaml.safe_dump(document, sort_keys=False)


# -- the runners' fixtures and databases ------------------------------------------------------


def copy_fixture(name: str, tmp_path: Path) -> Path:
    """A copy of ``tests/fixtures/runners/<name>`` that the test may change."""
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def verify(root: Path, server: Any) -> tuple[int, dict[str, Any]]:
    """``migdocs verify`` of the project at ``root`` on ``server`` (a ScratchServer, as
    superuser): its exit code and JSON report, never a traceback."""
    result = migdocs(
        "verify",
        "--scratch-url",
        server.url("postgres"),
        "--scratch-superuser",
        "--format",
        "json",
        cwd=root,
    )
    assert "Traceback" not in result.stderr, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def run_script(conn: psycopg.Connection[object], script: Script) -> None:
    """Every statement of ``script``, one at a time (the connection is in autocommit)."""
    for statement in script.statements:
        conn.execute(script.statement_text(statement).encode())  # type: ignore[call-overload]


def migrate(url: str, catalog: Path, *, upto: int | None = None) -> Project:
    """Apply the forward script of each catalog entry (the first ``upto``) to the database
    at ``url`` — in one transaction where the runner would use one, else statement by
    statement — and create the runner's ledger table empty; returns the project."""
    project = Project.load(catalog)
    with psycopg.connect(url, autocommit=True) as conn:
        runner = project.runner
        if runner.ledger and runner.ledger_ddl:
            schema, _, _ = runner.ledger.rpartition(".")
            table = ".".join(f'"{part}"' for part in runner.ledger.split("."))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema or "public"}"'.encode())
            conn.execute(runner.ledger_ddl.format(table=table, schema=f'"{schema}"').encode())
        for entry in project.entries[:upto]:
            script = project.forward(entry)
            assert script is not None, entry.id
            assert script.parsed, entry.id
            if transactional(script):  # as the runner runs it: one transaction (LOCK TABLE)
                with conn.transaction():
                    run_script(conn, script)
            else:
                run_script(conn, script)
    return project


def execute(url: str, *statements: str, params: tuple[object, ...] = ()) -> None:
    """Run SQL on the database at ``url`` in autocommit (to write ledger rows)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode() if not params else statement, params or None)  # type: ignore[call-overload]


def findings_of(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The findings of a run with ``--format json``."""
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


def static_findings(catalog: Path) -> list[tuple[str, str | None, int | None, str]]:
    """``(code, file, line, message)`` of every static finding but MG602 (never reviewed),
    files named from the catalog's folder."""
    project = Project.load(catalog, "catalog.yaml")
    return [
        (f.code, f.file, f.line, f.message) for f in run_static(project)[1] if f.code != "MG602"
    ]
