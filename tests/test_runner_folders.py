"""The folders runner (a folder per migration, ``up.sql`` and ``down.sql``) on diesel's
layout, as a real project keeps it.

``tests/fixtures/runners/folders-lemmy`` is the start of LemmyNet/lemmy's ``migrations``
and its ``diesel.toml`` (each file names its source): diesel's generated
``00000000000000_diesel_initial_setup``, Lemmy's ``000000000000000_forbid_diesel_cli``
(fifteen zeros, no ``down.sql``), dated ``YYYY-MM-DD-HHMMSS_name`` folders and a down
file with a lone ``;``. The catalog names diesel's ledger; its rows are written as
diesel's migration harness writes them: ``INSERT INTO __diesel_schema_migrations
(version) VALUES ($1)`` with the folder name up to its first ``_``, dashes dropped.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from migdocs.project import Project
from migdocs.runners.folders import Folders, diesel_version
from runner_kit import (
    FIXTURES,
    copy_fixture,
    execute,
    findings_of,
    migdocs,
    migrate,
    static_findings,
)

NAME = "folders-lemmy"
FOLDER = "migrations"
# diesel's order: versions compared as text, so fourteen zeros before fifteen.
IDS = [
    "00000000000000_diesel_initial_setup",
    "000000000000000_forbid_diesel_cli",
    "2019-02-26-002946_create_user",
    "2019-02-27-170003_create_community",
]
VERSIONS = ["00000000000000", "000000000000000", "20190226002946", "20190227170003"]


def test_listing_is_diesels_order_with_up_and_down_files() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == IDS
    assert [m.version for m in listing.migrations] == VERSIONS
    assert [(m.file, m.rollback) for m in listing.migrations] == [
        (f"{IDS[0]}/up.sql", f"{IDS[0]}/down.sql"),
        (f"{IDS[1]}/up.sql", None),
        (f"{IDS[2]}/up.sql", f"{IDS[2]}/down.sql"),
        (f"{IDS[3]}/up.sql", f"{IDS[3]}/down.sql"),
    ]
    assert [m.date for m in listing.migrations] == [
        None,
        None,
        dt.date(2019, 2, 26),
        dt.date(2019, 2, 27),
    ]
    assert [m.title for m in listing.migrations][2:] == ["Create user", "Create community"]
    assert listing.problems == []
    entry = project.entries[3]
    assert entry.forward_path == project.migrations_dir / IDS[3] / "up.sql"
    rollback = project.rollback(entry)
    assert rollback is not None
    assert rollback.parsed  # the real file's lone `;` is an empty statement
    assert [s.line for s in rollback.statements][:2] == [3, 5]


def test_diesel_versions() -> None:
    assert diesel_version("2019-02-26-002946_create_user") == "20190226002946"
    assert diesel_version("20160815133237_create_posts") == "20160815133237"
    assert diesel_version("no_underscore_version") == "no"


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    found = [(f["code"], f["migration"]) for f in findings_of(result) if f["code"] != "MG602"]
    # Lemmy wrote forbid_diesel_cli in 2024; diesel runs it second, so the dates go back.
    assert found == [("MG108", IDS[2])]


def test_catalog_order_against_diesels_is_mg107(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    catalog = root / "catalog.yaml"
    text = catalog.read_text()
    first, second = text.index("  - id: " + IDS[0]), text.index("  - id: " + IDS[1])
    third = text.index("  - id: " + IDS[2])
    catalog.write_text(text[:first] + text[second:third] + text[first:second] + text[third:])
    found = [f for f in static_findings(catalog) if f[0] == "MG107"]
    assert len(found) == 1
    assert f"folders applies {IDS[0]!r} before {IDS[1]!r}" in found[0][3]


def test_verify_replays_up_and_down_files(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(r["forward"], r["rollback"]) for r in report["replay"]] == [
        ("ok", "ok"),
        ("ok", "none"),
        ("ok", "ok"),
        ("ok", "ok"),
    ]


def test_audit_reads_diesels_ledger(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    for version in VERSIONS:
        execute(
            pg_database,
            "INSERT INTO __diesel_schema_migrations (version) VALUES (%s)",
            params=(version,),
        )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.stderr == ""
    findings = findings_of(result)
    assert not [f for f in findings if f["code"].startswith("MG5")], findings

    execute(pg_database, "DELETE FROM __diesel_schema_migrations WHERE version = '20190226002946'")
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    mismatch = [(f["migration"], f["message"]) for f in findings_of(result) if f["code"] == "MG506"]
    assert mismatch == [
        (IDS[2], "the ledger does not list this migration, though later ones are applied")
    ]


def test_diesel_toml_names_diesels_ledger(tmp_path: Path, pg_database: str) -> None:
    # What init writes names no ledger (crates.io's catalog): diesel.toml beside the folder
    # says diesel runs it, so its table is the ledger, and not an object no migration makes.
    root = copy_fixture(NAME, tmp_path)
    catalog = root / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace(", ledger: public.__diesel_schema_migrations", "")
    )
    assert Project.load(catalog).runner.ledger == "public.__diesel_schema_migrations"
    migrate(pg_database, catalog)
    for version in VERSIONS[:3]:
        execute(
            pg_database,
            "INSERT INTO __diesel_schema_migrations (version) VALUES (%s)",
            params=(version,),
        )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    live = [(f["code"], f["message"]) for f in findings_of(result) if f["code"].startswith("MG5")]
    assert not [f for f in live if "__diesel_schema_migrations" in f[1]], live
    # The fourth migration ran but diesel did not record it: the ledger is read.
    assert (
        "MG506",
        "the migration is applied in the database (its objects are there), but "
        "the ledger does not list it: the runner would apply it again",
    ) in live

    (root / "diesel.toml").unlink()
    assert Project.load(catalog).runner.ledger is None


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (
            {"2020-01-01-000000_orphan/down.sql": "select 1;\n"},
            (
                "MG106",
                "2020-01-01-000000_orphan/down.sql",
                "2020-01-01-000000_orphan holds a down.sql but no up.sql",
            ),
        ),
        (
            {"20200101000000_prisma/migration.sql": "select 1;\n"},
            ("MG103", "20200101000000_prisma", "holds no up.sql: it is no migration"),
        ),
        (
            {"2019-02-26-002946_create_user_again/up.sql": "select 1;\n"},
            (
                "MG109",
                "2019-02-26-002946_create_user_again/up.sql",
                "version 20190226002946 is also 2019-02-26-002946_create_user's",
            ),
        ),
        (
            {"schema.sql": "select 1;\n"},
            ("MG103", "schema.sql", "never run"),
        ),
    ],
)
def test_folders_diesel_refuses_or_ignores(
    tmp_path: Path, files: dict[str, str], problem: tuple[str, str, str]
) -> None:
    root = copy_fixture(NAME, tmp_path)
    for name, text in files.items():
        path = root / FOLDER / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    (root / FOLDER / "empty_folder").mkdir()  # diesel skips an empty folder
    code, file, words = problem
    found = [f for f in static_findings(root / "catalog.yaml") if f[0] == code]
    assert [(f[1], f[2]) for f in found] == [(f"{FOLDER}/{file}", None)]
    assert words in found[0][3]
    result = migdocs("check", "--format", "json", cwd=root)
    assert "Traceback" not in result.stderr


def test_evidence_is_up_sql_folders(tmp_path: Path) -> None:
    found = Folders.evidence(FIXTURES / NAME / FOLDER)
    assert found is not None
    assert found.migrations == 4
    assert "diesel.toml beside the folder" in found.reasons
    prisma = tmp_path / "prisma" / "migrations" / "20240101000000_init"
    prisma.mkdir(parents=True)
    (prisma / "migration.sql").write_text("select 1;\n")
    assert Folders.evidence(prisma.parent) is None


SPACED = "2019-11-15-182353_Add email notifications to crate owners"
SPACED_UP = (
    "-- rust-lang/crates.io migrations/2019-11-15-182353_Add email notifications to crate "
    "owners/up.sql\n-- (on Lemmy's community table here)\n"
    "ALTER TABLE community ADD COLUMN email_notifications BOOLEAN NOT NULL DEFAULT TRUE;\n"
)


def test_a_folder_name_with_blanks_is_one_migration(tmp_path: Path, pg_database: str) -> None:
    # crates.io has run this folder since 2019: diesel records only its version, and a
    # catalog id holds no blank, so init --update must still write an entry for it.
    root = copy_fixture(NAME, tmp_path)
    folder = root / FOLDER / SPACED
    folder.mkdir()
    (folder / "up.sql").write_text(SPACED_UP)
    (folder / "down.sql").write_text("ALTER TABLE community DROP COLUMN email_notifications;\n")
    listed = Project.load(root / "catalog.yaml").listing.migrations[-1]
    expected = "2019-11-15-182353_Add_email_notifications_to_crate_owners"
    assert (listed.id, listed.file, listed.rollback) == (
        expected,
        f"{SPACED}/up.sql",
        f"{SPACED}/down.sql",
    )
    assert (listed.version, listed.title) == (
        "20191115182353",
        "Add email notifications to crate owners",
    )

    result = migdocs("init", "--update", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    project = Project.load(root / "catalog.yaml")
    assert [e.id for e in project.entries] == [*IDS, expected]
    assert project.entries[-1].forward_path == root / FOLDER / SPACED / "up.sql"
    codes = [f[0] for f in static_findings(root / "catalog.yaml")]
    assert not {"MG101", "MG102", "MG103", "MG200"} & set(codes), codes

    migrate(pg_database, root / "catalog.yaml")
    for version in [*VERSIONS, "20191115182353"]:
        execute(
            pg_database,
            "INSERT INTO __diesel_schema_migrations (version) VALUES (%s)",
            params=(version,),
        )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert not [f for f in findings_of(result) if f["code"].startswith("MG5")], result.stdout
