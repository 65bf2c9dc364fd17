"""The prisma runner on an excerpt of a real Prisma Migrate history.

``tests/fixtures/runners/prisma-calcom`` holds six of calcom/cal.com's
``packages/prisma/migrations`` folders, byte for byte (its README names them), and
``migration_lock.toml``. The live database is migrated statement by statement and its
``_prisma_migrations`` rows written as the schema engine writes them
(``sql_migration_persistence.rs``): an INSERT when a migration starts, then
``applied_steps_count + 1`` and ``finished_at`` when it succeeds; the checksum is the sha256
of ``migration.sql``, computed here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from migdocs.project import Project
from migdocs.runners.base import LedgerRow
from migdocs.runners.prisma import Prisma, lock_provider, prisma_checksums
from runner_kit import (
    FIXTURES,
    copy_fixture,
    execute,
    findings_of,
    migdocs,
    migrate,
    static_findings,
)

NAME = "prisma-calcom"
FOLDER = "packages/prisma/migrations"
IDS = [
    "20210605225044_init",
    "20210615140247_added_selected_calendar",
    "20210615142134_added_custom_event_name",
    "20210615153759_add_email_verification_column",
    "20210628153550_password_reset_request",
    "20220308100145_",
]
TABLE = '"public"."_prisma_migrations"'


def _record(url: str, root: Path, names: list[str], *, finish: bool = True) -> None:
    """What the schema engine writes around each migration it applies."""
    for name in names:
        checksum = hashlib.sha256((root / FOLDER / name / "migration.sql").read_bytes()).hexdigest()
        row = str(uuid.uuid4())
        # record_migration_started
        execute(
            url,
            f"INSERT INTO {TABLE} (id, checksum, started_at, migration_name) "
            "VALUES (%s, %s, now(), %s)",
            params=(row, checksum, name),
        )
        if not finish:
            continue
        # record_successful_step, record_migration_finished
        execute(
            url,
            f"UPDATE {TABLE} SET applied_steps_count = applied_steps_count + 1 WHERE id = %s",
            params=(row,),
        )
        execute(url, f"UPDATE {TABLE} SET finished_at = now() WHERE id = %s", params=(row,))


def test_every_folder_is_a_migration_in_name_order() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == IDS
    assert [m.file for m in listing.migrations] == [f"{i}/migration.sql" for i in IDS]
    assert [m.rollback for m in listing.migrations] == [None] * 6
    assert [m.date for m in listing.migrations][-1] == dt.date(2022, 3, 8)
    assert listing.problems == []
    assert project.ledger_keys() == {i: i for i in IDS}
    assert not Prisma.has_rollbacks
    assert lock_provider(FIXTURES / NAME / FOLDER) == "postgresql"
    # The whole file is one simple query: one implicit transaction.
    script = project.forward(project.entries[0])
    assert script is not None
    assert script.transaction
    assert len(script.statements) == 6


def test_checksum_is_the_sha256_of_the_script() -> None:
    runner = Prisma(FIXTURES / NAME / FOLDER)
    raw = (FIXTURES / NAME / FOLDER / IDS[2] / "migration.sql").read_bytes()
    assert runner.checksum(raw) == hashlib.sha256(raw).hexdigest()
    # Prisma also takes the checksum of the script with other line ends as its own.
    crlf = raw.replace(b"\n", b"\r\n")
    assert prisma_checksums(crlf) == (
        hashlib.sha256(crlf).hexdigest(),
        hashlib.sha256(raw).hexdigest(),
        hashlib.sha256(crlf.replace(b"\n", b"\r\n")).hexdigest(),
    )


def test_evidence_is_migration_lock_toml(tmp_path: Path) -> None:
    found = Prisma.evidence(FIXTURES / NAME / FOLDER)
    assert found is not None
    assert (found.score, found.migrations) == (90, 6)
    sqlite = tmp_path / "prisma" / "migrations"
    (sqlite / "20240101000000_init").mkdir(parents=True)
    (sqlite / "20240101000000_init" / "migration.sql").write_text("CREATE TABLE t (id int);\n")
    unlocked = Prisma.evidence(sqlite)
    assert unlocked is not None
    assert unlocked.score == 50
    (sqlite / "migration_lock.toml").write_text('provider = "sqlite"\n')
    assert lock_provider(sqlite) == "sqlite"
    assert Prisma.evidence(sqlite) is None  # another database's history


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    codes = {f["code"] for f in findings_of(result)}
    assert codes <= {"MG602", "MG205"}, codes


def test_verify_replays_the_history(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    replay = json.loads(result.stdout)["replay"]
    assert [(item["forward"], item["rollback"]) for item in replay] == [("ok", "none")] * 6


def test_audit_reads_prismas_migrations_table(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    _record(pg_database, root, IDS)
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = findings_of(result)
    assert not [f for f in findings if f["code"].startswith("MG5")], findings
    [section] = json.loads(result.stdout)["live"]
    assert {m["state"] for m in section["migrations"]} == {"applied"}

    # The script edited after it ran; a migration of Cal.com's that this catalog lacks.
    edited = root / FOLDER / IDS[2] / "migration.sql"
    edited.write_text(edited.read_text().replace("TEXT;", "TEXT NOT NULL DEFAULT '';"))
    execute(
        pg_database,
        f"INSERT INTO {TABLE} (id, checksum, started_at, finished_at, migration_name, "
        "applied_steps_count) VALUES (%s, %s, now(), now(), %s, 1)",
        params=(str(uuid.uuid4()), "0" * 64, "20210709231256_add_user_theme"),
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    findings = findings_of(result)
    changed = [(f["migration"], f["file"]) for f in findings if f["code"] == "MG505"]
    assert changed == [(IDS[2], f"{FOLDER}/{IDS[2]}/migration.sql")]
    unknown = [f["message"] for f in findings if f["code"] == "MG506"]
    assert unknown == [
        "the ledger lists 20210709231256_add_user_theme, which matches no migration of the catalog"
    ]
    assert result.returncode == 1


def test_a_failed_migration_is_partial(tmp_path: Path, pg_database: str) -> None:
    """Prisma recorded the last migration as started and never finished: it deploys
    nothing more until `prisma migrate resolve`."""
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml", upto=5)
    _record(pg_database, root, IDS[:5])
    _record(pg_database, root, IDS[5:], finish=False)
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    partial = [(f["code"], f["migration"]) for f in findings_of(result) if f["code"] == "MG504"]
    assert partial == [("MG504", IDS[5])]
    assert result.returncode == 1


def _rows(url: str, project: Project, *rows: tuple[str, str, bool, bool]) -> list[LedgerRow]:
    """``read_ledger`` on a ``_prisma_migrations`` holding ``rows`` (name, checksum,
    finished, rolled back), started in that order."""
    runner = project.runner
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(runner.ledger_ddl.format(table=TABLE, schema='"public"').encode())
        for offset, (name, checksum, finished, rolled_back) in enumerate(rows):
            conn.execute(
                f"INSERT INTO {TABLE} (id, checksum, started_at, finished_at, rolled_back_at, "
                "migration_name) VALUES (%s, %s, now() + make_interval(secs => %s), "
                "CASE WHEN %s THEN now() END, CASE WHEN %s THEN now() END, %s)",
                (str(uuid.uuid4()), checksum, offset, finished, rolled_back, name),
            )
        return runner.read_ledger(conn, sql.Identifier("public", "_prisma_migrations"), project)


def test_ledger_rows_as_prisma_counts_them(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    script = root / FOLDER / IDS[1] / "migration.sql"
    lf = hashlib.sha256(script.read_bytes()).hexdigest()
    # Checked out on Windows: CRLF line ends; the ledger holds the LF script's checksum.
    script.write_bytes(script.read_bytes().replace(b"\n", b"\r\n"))
    init = hashlib.sha256((root / FOLDER / IDS[0] / "migration.sql").read_bytes()).digest()
    unpadded = "".join(f"{byte:x}" for byte in init)  # an early engine's rows
    project = Project.load(root / "catalog.yaml")
    rows = _rows(
        pg_database,
        project,
        (IDS[0], unpadded, True, False),
        (IDS[1], lf, True, False),
        (IDS[2], "0" * 64, False, True),
        (IDS[2], "0" * 64, True, True),
        (IDS[3], "0" * 64, False, False),
    )
    assert rows == [
        LedgerRow(IDS[0], IDS[0], unpadded, unpadded),
        LedgerRow(IDS[1], IDS[1], lf, lf),
        LedgerRow(f"{IDS[2]} (rolled back)", IDS[2], applied=False),
        LedgerRow(f"{IDS[2]} (rolled back)", IDS[2], applied=False),
        LedgerRow(
            f"{IDS[3]} as started but not finished (`prisma migrate resolve` clears it)",
            IDS[3],
            applied=False,
            dirty=True,
        ),
    ]


# -- bad input ------------------------------------------------------------------------------------


def test_a_folder_without_migration_sql_is_mg102(tmp_path: Path) -> None:
    """A migration folder left behind when its script was deleted or renamed."""
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / "20210709231256_add_user_theme").mkdir()
    (root / FOLDER / "20210709231256_add_user_theme" / "down.sql").write_text("SELECT 1;\n")
    found = static_findings(root / "catalog.yaml")
    assert [f for f in found if f[0] == "MG102"] == [
        (
            "MG102",
            f"{FOLDER}/20210709231256_add_user_theme/migration.sql",
            None,
            "Prisma fails on folder 20210709231256_add_user_theme: every folder here is a "
            "migration, and this one has no migration.sql",
        )
    ]
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1


@pytest.mark.parametrize("name", ["migration.sql", "20210709231256_add_user_theme.sql"])
def test_a_script_beside_the_folders_is_mg103(tmp_path: Path, name: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / name).write_text('ALTER TABLE "users" ADD COLUMN "theme" TEXT;\n')
    found = static_findings(root / "catalog.yaml")
    assert [f for f in found if f[0] in ("MG101", "MG103")] == [
        (
            "MG103",
            f"{FOLDER}/{name}",
            None,
            "Prisma ignores it: a migration is a folder `<timestamp>_<name>/migration.sql`",
        )
    ]


def test_a_folder_name_with_a_space_is_one_migration(tmp_path: Path) -> None:
    # langfuse/langfuse has `20240126184148_new_models copy`: Prisma records that folder
    # name as the migration's name, space included.
    root = copy_fixture(NAME, tmp_path)
    folder = root / FOLDER
    (folder / "20210628153550_password_reset_request").rename(
        folder / "20210628153550_password_reset_request copy"
    )
    (root / "catalog.yaml").unlink()
    assert migdocs("init", cwd=root).returncode == 0
    ids = [listed.id for listed in Project.load(root / "catalog.yaml").listing.migrations]
    assert "20210628153550_password_reset_request copy" in ids
    result = migdocs("check", "--format", "json", cwd=root)
    codes = {f["code"] for f in findings_of(result)}
    assert codes <= {"MG602", "MG604"}, codes
