"""The supabase runner on an excerpt of a real Supabase CLI history.

``tests/fixtures/runners/supabase-cache-helpers`` is psteinroe/supabase-cache-helpers's
``supabase/migrations`` (each file names its source): a ten-digit first version beside
``YYYYMMDDHHMMSS`` stamps, an insert into the platform's ``storage.buckets`` (made by the
catalog's ``replay.setup``), ``supabase db diff`` output. The live database gets the same
setup, is migrated statement by statement, and its ``supabase_migrations.schema_migrations``
rows are written with the CLI's own ``INSERT_MIGRATION_VERSION``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import psycopg
import pytest

from migdocs.project import Project
from migdocs.runners.base import LedgerRow
from migdocs.runners.supabase import Supabase
from runner_kit import (
    FIXTURES,
    copy_fixture,
    execute,
    findings_of,
    migdocs,
    migrate,
    static_findings,
)

NAME = "supabase-cache-helpers"
FOLDER = "supabase/migrations"
IDS = [
    "1660333326_test_schema",
    "20230912094327_add_serial_pk_table",
    "20231114093521_add_multi_pk_table",
    "20240229212226_add_many_to_many_test_tables",
    "20240311151146_add_multi_fkeys",
    "20240311151148_add_rpcs",
]
# pkg/migration/history.go: INSERT_MIGRATION_VERSION.
INSERT = (
    "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) "
    "VALUES(%s, %s, %s)"
)


def _deploy(url: str, root: Path) -> Project:
    """The platform's schemas (the catalog's replay.setup), then every migration."""
    setup = (root / "supabase-platform.sql").read_text()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(setup.encode())
    return migrate(url, root / "catalog.yaml")


def _record(url: str, project: Project, ids: list[str]) -> None:
    """The row the CLI inserts in the batch of each migration: version, name, statements."""
    for entry in project.entries:
        if entry.id not in ids:
            continue
        script = project.forward(entry)
        assert script is not None
        version, _, name = entry.id.partition("_")
        statements = [script.statement_text(s).strip() for s in script.statements]
        execute(url, INSERT, params=(version, name, statements))


def test_the_cli_reads_the_folder_in_name_order() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == IDS
    assert [m.file for m in listing.migrations] == [f"{i}.sql" for i in IDS]
    assert [m.version for m in listing.migrations] == [i.partition("_")[0] for i in IDS]
    assert [m.rollback for m in listing.migrations] == [None] * 6
    # A ten-digit Unix time is no date; the stamps are.
    assert [m.date for m in listing.migrations][:2] == [None, dt.date(2023, 9, 12)]
    assert listing.problems == []
    assert project.ledger_keys() == {i.partition("_")[0]: i for i in IDS}
    assert not Supabase.has_rollbacks
    assert Supabase(FIXTURES / NAME / FOLDER).checksum(b"SELECT 1;") is None


def test_evidence_is_supabase_migrations_beside_config_toml(tmp_path: Path) -> None:
    found = Supabase.evidence(FIXTURES / NAME / FOLDER)
    assert found is not None
    assert (found.score, found.migrations) == (90, 6)
    bare = tmp_path / "supabase" / "migrations"
    bare.mkdir(parents=True)
    (bare / "20240101000000_init.sql").write_text("SELECT 1;\n")
    alone = Supabase.evidence(bare)
    assert alone is not None
    assert alone.score == 70
    other = tmp_path / "db" / "migrations"
    other.mkdir(parents=True)
    (other / "20240101000000_init.sql").write_text("SELECT 1;\n")
    assert Supabase.evidence(other) is None


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    codes = {f["code"] for f in findings_of(result)}
    # MG202: the unique indexes `supabase db diff` turns into primary keys (see the report).
    assert codes <= {"MG602", "MG202", "MG205"}, codes
    assert not [code for code in codes if code.startswith("MG1")]


def test_verify_replays_the_history(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    replay = json.loads(result.stdout)["replay"]
    assert [(item["forward"], item["rollback"]) for item in replay] == [("ok", "none")] * 6


def test_audit_reads_the_cli_history(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    project = _deploy(pg_database, root)
    _record(pg_database, project, IDS)
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    findings = findings_of(result)
    assert not [f for f in findings if f["code"] in ("MG504", "MG505", "MG506")], findings
    # The CLI's own schema (with its seed_files table) is no drift either.
    assert not [f for f in findings if "supabase_migrations" in f["message"]], findings
    [section] = json.loads(result.stdout)["live"]
    assert {m["state"] for m in section["migrations"]} == {"applied"}

    # A version no file has (the repository's next one), and a middle row deleted.
    execute(pg_database, INSERT, params=("20240311151149", "add_boolean_rpc", ["select 1"]))
    execute(
        pg_database,
        "DELETE FROM supabase_migrations.schema_migrations WHERE version = '20231114093521'",
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    mismatches = {
        (f["migration"], f["message"]) for f in findings_of(result) if f["code"] == "MG506"
    }
    assert mismatches == {
        (
            None,
            "the ledger lists version 20240311151149, which matches no migration of the catalog",
        ),
        (
            "20231114093521_add_multi_pk_table",
            "the ledger does not list this migration, though later ones are applied",
        ),
    }


def test_ledger_rows_are_versions(pg_database: str) -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    runner = project.runner
    assert runner.ledger == "supabase_migrations.schema_migrations"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        # An older CLI's table (version only), brought up to date as CreateMigrationTable does.
        conn.execute(
            b"CREATE SCHEMA supabase_migrations; CREATE TABLE "
            b"supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)"
        )
        conn.execute(b"INSERT INTO supabase_migrations.schema_migrations VALUES ('1660333326')")
        table = '"supabase_migrations"."schema_migrations"'
        ddl = runner.ledger_ddl.format(table=table, schema='"supabase_migrations"')
        conn.execute(ddl.encode())
        conn.execute(INSERT, ("20230912094327", "add_serial_pk_table", ["create table …"]))
        columns = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = "
            "'supabase_migrations' ORDER BY ordinal_position"
        ).fetchall()
        assert [c for (c,) in columns] == ["version", "statements", "name"]
        from psycopg import sql

        rows = runner.read_ledger(
            conn, sql.Identifier("supabase_migrations", "schema_migrations"), project
        )
    assert rows == [
        LedgerRow("version 1660333326", IDS[0]),
        LedgerRow("version 20230912094327", IDS[1]),
    ]


# -- bad input ------------------------------------------------------------------------------------


def test_two_files_with_one_version_are_mg109(tmp_path: Path) -> None:
    """The repository's next file, written one second too early."""
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / "20240311151148_add_boolean_rpc.sql").write_text("SELECT 1;\n")
    found = static_findings(root / "catalog.yaml")
    assert [f for f in found if f[0] == "MG109"] == [
        (
            "MG109",
            f"{FOLDER}/20240311151148_add_rpcs.sql",
            None,
            "version 20240311151148 is also 20240311151148_add_boolean_rpc.sql's: the Supabase "
            "CLI fails on the second (schema_migrations has one row per version)",
        )
    ]
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1


def test_files_the_cli_skips_are_mg103(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / "seed.sql").write_text("INSERT INTO public.continent VALUES ('XX', 'x');\n")
    (root / FOLDER / "add_contact_tags.sql").write_text("SELECT 1;\n")
    (root / FOLDER / ".gitkeep").write_text("")
    found = static_findings(root / "catalog.yaml")
    message = "the Supabase CLI skips it: its name does not match `<timestamp>_<name>.sql`"
    assert [f for f in found if f[0] == "MG103"] == [
        ("MG103", f"{FOLDER}/add_contact_tags.sql", None, message),
        ("MG103", f"{FOLDER}/seed.sql", None, message),
    ]
    assert not [f for f in found if f[0] == "MG101"]


@pytest.mark.parametrize(
    ("first", "skipped"),
    [("20211208123456_init.sql", True), ("20211209000000_init.sql", False)],
)
def test_an_early_clis_init_dump_is_skipped(tmp_path: Path, first: str, skipped: bool) -> None:
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / first).write_text("CREATE TABLE t (id int);\n")
    (folder / "20220101000000_more.sql").write_text("SELECT 1;\n")
    listing = Supabase(folder).listing()
    ids = [m.id for m in listing.migrations]
    assert ids == (["20220101000000_more"] if skipped else [first[:-4], "20220101000000_more"])
    problems = [(p.code, p.file) for p in listing.problems]
    assert problems == ([("MG103", first)] if skipped else [])
    if skipped:
        assert re.search(r"older than 2021-12-09", listing.problems[0].message)
