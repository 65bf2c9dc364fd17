"""Helpers for the runner tests: fixtures copied to a temporary folder, the console script,
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
from pathlib import Path
from typing import Any

import psycopg

from migdocs.checks import run_static
from migdocs.project import Project
from migdocs.replay import transactional
from migdocs.sql.script import Script

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "runners"
MIGDOCS = [sys.executable, "-m", "migdocs"]


def copy_fixture(name: str, tmp_path: Path) -> Path:
    """A copy of ``tests/fixtures/runners/<name>`` that the test may change."""
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


def migdocs(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m migdocs ARGS`` in ``cwd``, without the CI's or the user's URLs."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "MIGDOCS_SCRATCH_URL", "MIGDOCS_DATABASE_URL")
    }
    return subprocess.run(
        [*MIGDOCS, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        check=False,
    )


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
