"""The golang-migrate runner on a real history, checked against golang-migrate's own rules.

``tests/fixtures/runners/golang-migrate-simplebank`` is techschool/simplebank's
``db/migration`` (each file names its source): ``<version>_<name>.up.sql`` and
``.down.sql`` pairs with quoted identifiers, unnamed indexes and a down file that guesses
a foreign key's generated name. The live ledger is written as golang-migrate's postgres
driver writes it (``SetVersion``): the table truncated, then one row
``(version, dirty)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from migdocs.project import Project
from migdocs.runners.golang_migrate import GolangMigrate
from runner_kit import (
    FIXTURES,
    copy_fixture,
    execute,
    findings_of,
    migdocs,
    migrate,
    static_findings,
)

NAME = "golang-migrate-simplebank"
FOLDER = "db/migration"
IDS = [
    "000001_init_schema",
    "000002_add_users",
    "000003_add_sessions",
    "000004_add_verify_emails",
    "000005_add_role_to_users",
]


def test_listing_pairs_up_and_down_files_by_version() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == IDS
    assert [(m.file, m.rollback) for m in listing.migrations] == [
        (f"{i}.up.sql", f"{i}.down.sql") for i in IDS
    ]
    assert [m.version for m in listing.migrations] == ["1", "2", "3", "4", "5"]
    assert listing.problems == []
    entry = project.entries[1]
    assert entry.forward_path.name == "000002_add_users.up.sql"
    assert entry.rollback_path is not None
    assert entry.rollback_path.name == "000002_add_users.down.sql"
    forward = project.forward(entry)
    assert forward is not None
    assert forward.transaction
    assert [s.line for s in forward.statements] == [2, 11, 14]


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {f["code"] for f in findings_of(result)} <= {"MG602", "MG205"}


def test_verify_replays_every_pair(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(r["forward"], r["rollback"], r["round_trip"]) for r in report["replay"]] == [
        ("ok", "ok", "ok")
    ] * 5


def _set_version(url: str, version: int, dirty: bool) -> None:
    """golang-migrate's postgres driver ``SetVersion``: truncate, then one row."""
    execute(url, 'TRUNCATE "public"."schema_migrations"')
    if version >= 0 or dirty:
        # golang-migrate's `... VALUES ($1, $2)`, in psycopg's placeholders.
        execute(
            url,
            'INSERT INTO "public"."schema_migrations" (version, dirty) VALUES (%s, %s)',
            params=(version, dirty),
        )


def _audit(url: str, root: Path) -> list[dict[str, Any]]:
    result = migdocs("audit", "--database-url", url, "--format", "json", cwd=root)
    assert result.stderr == ""
    return findings_of(result)


def test_audit_reads_the_current_version(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    # `migrate up` leaves the last version, clean, after a dirty mark per file.
    _set_version(pg_database, 5, True)
    _set_version(pg_database, 5, False)
    findings = _audit(pg_database, root)
    assert not [f for f in findings if f["code"].startswith("MG5")], findings

    # A file that failed halfway: golang-migrate leaves its version dirty.
    _set_version(pg_database, 5, True)
    findings = _audit(pg_database, root)
    partial = [f for f in findings if f["code"] == "MG504"]
    assert [(f["migration"], f["file"]) for f in partial] == [
        (IDS[4], f"{FOLDER}/000005_add_role_to_users.up.sql")
    ]
    assert partial[0]["message"].startswith("the ledger marks version 5 as dirty:")
    assert partial[0]["message"].endswith("(`migrate force VERSION`)")
    # Only that: golang-migrate applies nothing while a version is dirty, so it would not
    # apply this one again (no MG506 "the runner would apply it again").
    assert [f for f in findings if f["code"] == "MG506"] == []

    # A version the catalog lacks (a file deleted after it ran).
    _set_version(pg_database, 6, False)
    unknown = [f["message"] for f in _audit(pg_database, root) if f["code"] == "MG506"]
    assert unknown == ["the ledger lists version 6, which matches no migration of the catalog"]


def test_a_failed_first_rollback_is_version_minus_one_dirty(
    tmp_path: Path, pg_database: str
) -> None:
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml", upto=1)
    _set_version(pg_database, -1, True)
    partial = [f for f in _audit(pg_database, root) if f["code"] == "MG504"]
    assert [f["migration"] for f in partial] == [IDS[0]]
    assert "version -1 as dirty (the down file of version 1 ran)" in partial[0]["message"]


def test_a_version_twice_is_mg109(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / "000003_add_sessions_v2.up.sql").write_text("select 1;\n")
    found = [f for f in static_findings(root / "catalog.yaml") if f[0] == "MG109"]
    assert found == [
        (
            "MG109",
            f"{FOLDER}/000003_add_sessions_v2.up.sql",
            None,
            "golang-migrate refuses the folder: 000003_add_sessions.up.sql has version 3 too "
            "(duplicate migration file)",
        )
    ]


def test_a_down_file_without_its_up_file_is_mg106(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / "000006_drop_legacy.down.sql").write_text("select 1;\n")
    found = [f for f in static_findings(root / "catalog.yaml") if f[0] == "MG106"]
    assert [(f[1], f[2]) for f in found] == [(f"{FOLDER}/000006_drop_legacy.down.sql", None)]
    assert "no up file has version 6" in found[0][3]


@pytest.mark.parametrize(
    ("names", "listed", "problems"),
    [
        # Numeric order, not text order; the identifier may hold dots; any extension.
        (
            ["10_b.up.sql", "9_a.up.sql", "2_x.y.up.sql", "3_c.up.json"],
            [("2_x.y", "2"), ("3_c", "3"), ("9_a", "9"), ("10_b", "10")],
            [],
        ),
        # Files the regex does not match, and a version beyond uint64, are ignored.
        (
            ["1_a.up.sql", "2-b.up.sql", "1_a.sql", "18446744073709551616_big.up.sql"],
            [("1_a", "1")],
            [
                ("MG103", "18446744073709551616_big.up.sql"),
                ("MG103", "1_a.sql"),
                ("MG103", "2-b.up.sql"),
            ],
        ),
    ],
)
def test_names_as_golang_migrate_parses_them(
    tmp_path: Path, names: list[str], listed: list[tuple[str, str]], problems: list[Any]
) -> None:
    for name in names:
        (tmp_path / name).write_text("select 1;\n")
    listing = GolangMigrate(tmp_path).listing()
    assert [(m.id, m.version) for m in listing.migrations] == listed
    assert sorted((p.code, p.file) for p in listing.problems) == problems
