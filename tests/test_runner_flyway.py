"""The flyway runner on excerpts of two real Flyway histories.

- ``tests/fixtures/runners/flyway-kestra``: kestra-io/kestra's PostgreSQL scripts at their
  real location ``jdbc-postgres/src/main/resources/migrations/postgres``, ``V1_1`` to
  ``V1_10`` (``V1_10`` runs after ``V1_9``), two of them ``ALTER TYPE … ADD VALUE``.
- ``tests/fixtures/runners/flyway-pubs``: Phil-Factor/FlywayTeamwork-Pubs's PubsPG branch,
  dotted versions ``1.1.1`` to ``1.1.10``, ``U`` undo scripts, a byte-order mark, an empty
  script and a callback beside the migrations.

Live databases are migrated statement by statement and their ``flyway_schema_history`` rows
written with Flyway's own INSERT (``Database.getInsertStatement``) and a checksum computed
here as ``ChecksumCalculator`` does.
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from migdocs.project import Project
from migdocs.runners.base import LedgerRow
from migdocs.runners.flyway import Flyway, ScriptName, parse_name, version_key
from runner_kit import (
    FIXTURES,
    copy_fixture,
    execute,
    findings_of,
    migdocs,
    migrate,
    static_findings,
)

KESTRA = "flyway-kestra"
KESTRA_FOLDER = "jdbc-postgres/src/main/resources/migrations/postgres"
KESTRA_IDS = [
    "V1_1__initial",
    "V1_2__worker_heartbeat",
    "V1_3__worker_heartbeat",
    "V1_5__multitenant",
    "V1_7__execution_queued",
    "V1_8__execution_cancelled",
    "V1_9__execution_queued",
    "V1_10__multitenant_indices",
]
PUBS = "flyway-pubs"
PUBS_FOLDER = "PubsPG/Branches/Develop/Migrations"
PUBS_IDS = [
    "V1.1.1__Initial_Build",
    "V1.1.8__AddEditions",
    "V1.1.9__AddconditionalVersion",
    "V1.1.10__AddAddressesPhonesEtc",
]
TABLE = '"public"."flyway_schema_history"'
# Database.getInsertStatement, as Flyway runs it after each script.
INSERT = (
    f'INSERT INTO {TABLE} ("installed_rank", "version", "description", "type", "script", '
    '"checksum", "installed_by", "execution_time", "success") '
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def crc(raw: bytes) -> int:
    """ChecksumCalculator: a CRC-32 over the lines ``BufferedReader.readLine`` gives (no line
    breaks; the byte-order mark filtered from the first), as a signed Java int."""
    text = raw.decode("utf-8").removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)
    if lines and lines[-1] == "":
        lines.pop()
    value = 0
    for line in lines:
        value = zlib.crc32(line.encode("utf-8"), value)
    return value - (1 << 32) if value >= 1 << 31 else value


def _record(url: str, root: Path, folder: str, scripts: list[str], kind: str = "SQL") -> None:
    """The rows Flyway inserts after each script it runs, ranks following the last one."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(f'SELECT coalesce(max("installed_rank"), 0) FROM {TABLE}').fetchone()
    rank = row[0] if row else 0
    for script in scripts:
        rank += 1
        parsed = parse_name(script)
        assert isinstance(parsed, ScriptName)
        version = parsed.version if parsed.kind != "R" else None
        checksum = crc((root / folder / script).read_bytes())
        params = (rank, version, parsed.description, kind, script, checksum, "postgres", 12, True)
        execute(url, INSERT, params=params)


# -- how Flyway reads names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "version", "key", "description"),
    [
        ("V1_10__multitenant_indices.sql", "V", "1.10", (1, 10), "multitenant indices"),
        ("V1.1.10__AddAddressesPhonesEtc.sql", "V", "1.1.10", (1, 1, 10), "AddAddressesPhonesEtc"),
        (
            "V1.1.4__RenameConstraintsAdd tables.sql",
            "V",
            "1.1.4",
            (1, 1, 4),
            "RenameConstraintsAdd tables",
        ),
        ("V2017.02__AddSampleData.sql", "V", "2017.02", (2017, 2), "AddSampleData"),
        ("V1.0__init.SQL", "V", "1.0", (1,), "init"),
        ("V3__.sql", "V", "3", (3,), ""),
        # IQSS/dataverse names its scripts since 6.1 with no `__` and no description.
        ("V6.8.0.4.sql", "V", "6.8.0.4", (6, 8, 0, 4), ""),
        ("V6.10.1.1.sql", "V", "6.10.1.1", (6, 10, 1, 1), ""),
        (
            "U1.1.12.1__Search_Functionality_Undo.sql",
            "U",
            "1.1.12.1",
            (1, 1, 12, 1),
            "Search Functionality Undo",
        ),
        ("R__Adventureworks_Kill_and_Build.sql", "R", None, (), "Adventureworks Kill and Build"),
    ],
)
def test_names_flyway_runs(
    name: str, kind: str, version: str | None, key: tuple[int, ...], description: str
) -> None:
    parsed = parse_name(name)
    assert isinstance(parsed, ScriptName)
    assert (parsed.kind, parsed.version, parsed.key, parsed.description) == (
        kind,
        version,
        key,
        description,
    )


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("NotYetV1.1.15__SearchFunctionality.sql", "does not start with `V`, `U` or `R`"),
        ("old V1.1.16__AddStoreAndSalesData.sql", "does not start with `V`, `U` or `R`"),
        ("v1__lower_case_prefix.sql", "does not start with `V`, `U` or `R`"),
        (
            "V1_add_users.sql",
            "'1_add_users' is not a version (digits separated by `.` or `_`); "
            "is `__` missing between the version and the description?",
        ),
        ("V__no_version.sql", "it has no version before `__`"),
        ("Rno_separator.sql", "a repeatable script has no version (`R__no_separator.sql`)"),
        ("V1a__typo.sql", "'1a' is not a version"),
        ("V1..2__double_dot.sql", "'1..2' is not a version"),
        ("R1__versioned_repeatable.sql", "a repeatable script has no version"),
        ("dontdoafterInfo__ServerVersioncheck.sql", "does not start with `V`, `U` or `R`"),
    ],
)
def test_names_flyway_ignores(name: str, why: str) -> None:
    parsed = parse_name(name)
    assert isinstance(parsed, str)
    assert why in parsed


@pytest.mark.parametrize(
    "name",
    [
        "afterMigrate.sql",
        "afterEachMigrate__ApplyTableDescriptions.sql",
        "beforeMigrate__x.sql",
        "README.md",
        "afterMigrate__Build.ps1",
    ],
)
def test_callbacks_and_other_files_are_not_migrations(name: str) -> None:
    assert parse_name(name) is None


def test_versions_compare_as_numbers_without_trailing_zeros() -> None:
    assert version_key("1_10") == (1, 10)
    assert version_key("1.10") > version_key("1.9")  # type: ignore[operator]
    assert version_key("1.0") == version_key("1") == version_key("1.0.0")
    assert version_key("1.a") is None
    assert version_key("") is None


# -- the fixtures ---------------------------------------------------------------------------------


def test_kestra_runs_v1_10_after_v1_9() -> None:
    project = Project.load(FIXTURES / KESTRA / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == KESTRA_IDS
    assert [m.version for m in listing.migrations][-3:] == ["1.8", "1.9", "1.10"]
    # As names, V1_10__… sorts first of all; Flyway runs it last.
    assert min(m.file for m in listing.migrations) == "V1_10__multitenant_indices.sql"
    assert [m.rollback for m in listing.migrations] == [None] * 8
    assert listing.problems == []
    assert project.migrations_dir == (FIXTURES / KESTRA / KESTRA_FOLDER).resolve()
    assert project.ledger_keys() == {
        m.version: m.id for m in listing.migrations if m.version is not None
    }
    # Flyway runs each script in one transaction; ALTER TYPE … ADD VALUE may run in one.
    last = project.forward(project.entries[6])
    assert last is not None
    assert last.parsed
    assert last.transaction


def test_pubs_pairs_each_version_with_its_undo_script() -> None:
    project = Project.load(FIXTURES / PUBS / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == PUBS_IDS
    assert [(m.file, m.rollback) for m in listing.migrations] == [
        ("V1.1.1__Initial_Build.sql", "U1.1.1__Initial_Build.sql"),
        ("V1.1.8__AddEditions.sql", "U1.1.8__AddEditions.sql"),
        ("V1.1.9__AddconditionalVersion.sql", None),
        ("V1.1.10__AddAddressesPhonesEtc.sql", "U1.1.10__AddAddressesPhonesEtc.sql"),
    ]
    # The callback afterEachMigrate__ApplyTableDescriptions.sql is neither a migration nor
    # a file Flyway ignores.
    assert listing.problems == []
    assert [path.name for path in project.rollback_files] == [
        "U1.1.1__Initial_Build.sql",
        "U1.1.8__AddEditions.sql",
        "U1.1.10__AddAddressesPhonesEtc.sql",
    ]


def test_checksum_is_flyways_crc_of_the_lines() -> None:
    runner = Flyway(FIXTURES / PUBS / PUBS_FOLDER)
    raw = (FIXTURES / PUBS / PUBS_FOLDER / "V1.1.1__Initial_Build.sql").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert runner.checksum(raw) == str(crc(raw))
    # The byte-order mark and the kind of line break do not count; the text does.
    assert runner.checksum(raw[3:].replace(b"\n", b"\r\n")) == str(crc(raw))
    assert runner.checksum(raw + b"SELECT 1;\n") != str(crc(raw))
    # Known value: CRC-32 of "SELECT 1;" as a signed int.
    assert runner.checksum(b"SELECT 1;\n") == str(crc(b"SELECT 1;"))


def test_repeatables_run_after_the_versions_by_description(tmp_path: Path) -> None:
    root = copy_fixture(PUBS, tmp_path)
    folder = root / PUBS_FOLDER
    (folder / "views").mkdir()
    (folder / "views" / "R__titleview.sql").write_text("CREATE OR REPLACE VIEW v AS SELECT 1;\n")
    (folder / "R__Add_Tags.sql").write_text("SELECT 1;\n")
    listing = Flyway(folder).listing()
    assert [m.id for m in listing.migrations] == [*PUBS_IDS, "R__Add_Tags", "R__titleview"]
    assert listing.migrations[-1].file == "views/R__titleview.sql"
    assert listing.migrations[-1].version is None
    runner = Flyway(folder)
    assert runner.ledger_key(listing.migrations[-1]) == "views/R__titleview.sql"
    assert runner.ledger_key(listing.migrations[0]) == "1.1.1"


def test_versions_without_a_description_run_in_their_place(tmp_path: Path) -> None:
    """IQSS/dataverse (src/main/resources/db/migration, Flyway 10.19) names every script
    since 6.1 ``V6.5.0.9.sql``: no ``__``, no description; Flyway runs them all."""
    folder = tmp_path / "src" / "main" / "resources" / "db" / "migration"
    folder.mkdir(parents=True)
    scripts = {
        "V6.0.0.6__9506-track-thumb-failures.sql": "ALTER TABLE dvobject ADD COLUMN IF NOT "
        "EXISTS previewimagefail BOOLEAN DEFAULT FALSE;\n",
        "V6.1.0.6.sql": "-- Add flag to allow harvesting client to handle missing CVV values\n"
        "ALTER TABLE harvestingclient ADD COLUMN IF NOT EXISTS allowharvestingmissingcvv "
        "BOOLEAN;\n",
        "V6.5.0.9.sql": "ALTER TABLE datasetversion ADD COLUMN IF NOT EXISTS deaccessionnote "
        "VARCHAR(1000);\n",
        "V6.5.0.10.sql": "ALTER TABLE makedatacountprocessstate ADD COLUMN IF NOT EXISTS "
        "server character varying(255) DEFAULT '';\n",
        "afterMigrate__1-7256-upsert-referenceData.sql": "SELECT 1;\n",
    }
    for name, text in scripts.items():
        (folder / name).write_text(text)
    listing = Flyway(folder).listing()
    assert listing.problems == []
    assert [(m.id, m.version, m.title) for m in listing.migrations] == [
        ("V6.0.0.6__9506-track-thumb-failures", "6.0.0.6", "Track thumb failures"),
        ("V6.1.0.6", "6.1.0.6", "V6.1.0.6"),
        ("V6.5.0.9", "6.5.0.9", "V6.5.0.9"),
        ("V6.5.0.10", "6.5.0.10", "V6.5.0.10"),
    ]
    evidence = Flyway.evidence(folder)
    assert evidence is not None
    assert evidence.migrations == 4


def test_evidence_is_the_names_the_location_and_a_configuration(tmp_path: Path) -> None:
    pubs = Flyway.evidence(FIXTURES / PUBS / PUBS_FOLDER)
    assert pubs is not None
    assert (pubs.score, pubs.migrations) == (75, 4)
    assert any("flyway.conf" in reason for reason in pubs.reasons)
    kestra = Flyway.evidence(FIXTURES / KESTRA / KESTRA_FOLDER)
    assert kestra is not None
    assert (kestra.score, kestra.migrations) == (45, 8)
    default = tmp_path / "src" / "main" / "resources" / "db" / "migration"
    default.mkdir(parents=True)
    (default / "V1__init.sql").write_text("CREATE TABLE t (id int);\n")
    found = Flyway.evidence(default)
    assert found is not None
    assert found.score == 60
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "2024-01-01_init.sql").write_text("SELECT 1;\n")
    assert Flyway.evidence(tmp_path / "other") is None


@pytest.mark.parametrize("name", [KESTRA, PUBS])
def test_check_finds_nothing_the_layout_causes(name: str, tmp_path: Path) -> None:
    root = copy_fixture(name, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    codes = {f["code"] for f in findings_of(result)}
    # MG108: Kestra wrote V1_10 before V1_8 and V1_9 (a real date, not the layout);
    # MG204: Pubs's V1.1.9 is empty; MG205: heavy locks the scripts take.
    assert codes <= {"MG602", "MG108", "MG204", "MG205"}, codes
    assert not codes & {"MG101", "MG102", "MG103", "MG105", "MG106", "MG107", "MG109"}


@pytest.mark.parametrize(
    ("name", "rollbacks"), [(KESTRA, ["none"] * 8), (PUBS, ["ok", "ok", "none", "ok"])]
)
def test_verify_replays_the_history(name: str, rollbacks: list[str], tmp_path: Path) -> None:
    root = copy_fixture(name, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    replay = json.loads(result.stdout)["replay"]
    assert [item["forward"] for item in replay] == ["ok"] * len(rollbacks)
    assert [item["rollback"] for item in replay] == rollbacks


# -- the ledger -----------------------------------------------------------------------------------


def test_audit_reads_flyways_history(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(KESTRA, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    _record(pg_database, root, KESTRA_FOLDER, [f"{i}.sql" for i in KESTRA_IDS])
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    findings = findings_of(result)
    assert not [f for f in findings if f["code"] in ("MG504", "MG505", "MG506")], findings
    [section] = json.loads(result.stdout)["live"]
    assert {m["state"] for m in section["migrations"]} == {"applied"}

    # A recorded checksum that is not the file's, and a version no file has (Kestra's next).
    execute(pg_database, f"UPDATE {TABLE} SET checksum = checksum + 1 WHERE version = '1.5'")
    execute(
        pg_database,
        INSERT,
        params=(
            9,
            "1.11",
            "execution parentid",
            "SQL",
            "V1_11__execution_parentid.sql",
            1,
            "postgres",
            3,
            True,
        ),
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    findings = findings_of(result)
    changed = [(f["migration"], f["file"]) for f in findings if f["code"] == "MG505"]
    assert changed == [("V1_5__multitenant", f"{KESTRA_FOLDER}/V1_5__multitenant.sql")]
    unknown = [f["message"] for f in findings if f["code"] == "MG506"]
    assert unknown == [
        "the ledger lists V1_11__execution_parentid.sql (version 1.11), which matches no "
        "migration of the catalog"
    ]
    assert result.returncode == 1


def test_an_undone_version_is_pending_again(tmp_path: Path, pg_database: str) -> None:
    """`flyway undo` ran U1.1.10 and recorded it: V1.1.10 is no longer applied, and a
    database without its objects is what the ledger says."""
    root = copy_fixture(PUBS, tmp_path)
    project = migrate(pg_database, root / "catalog.yaml")
    _record(pg_database, root, PUBS_FOLDER, [f"{i}.sql" for i in PUBS_IDS])
    undo = project.rollback(project.entries[3])
    assert undo is not None
    execute(pg_database, *(undo.statement_text(s) for s in undo.statements))
    _record(pg_database, root, PUBS_FOLDER, ["U1.1.10__AddAddressesPhonesEtc.sql"], "UNDO_SQL")
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    findings = findings_of(result)
    assert not [f for f in findings if f["code"].startswith("MG5")], findings
    [section] = json.loads(result.stdout)["live"]
    states = {m["migration"]: m["state"] for m in section["migrations"]}
    assert states == {**dict.fromkeys(PUBS_IDS[:3], "applied"), PUBS_IDS[3]: "pending"}


def _rows(url: str, project: Project, *rows: tuple[Any, ...]) -> list[LedgerRow]:
    """``read_ledger`` on a history table holding ``rows`` (rank, version, description, type,
    script, checksum, success)."""
    runner = project.runner
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(runner.ledger_ddl.format(table=TABLE, schema='"public"').encode())
        for rank, version, description, kind, script, checksum, success in rows:
            conn.execute(
                INSERT, (rank, version, description, kind, script, checksum, "postgres", 0, success)
            )
        return runner.read_ledger(conn, sql.Identifier("public", "flyway_schema_history"), project)


def test_ledger_rows_as_flyway_counts_them(pg_database: str) -> None:
    project = Project.load(FIXTURES / KESTRA / "catalog.yaml")
    folder = FIXTURES / KESTRA / KESTRA_FOLDER

    def sum_of(stem: str) -> int:
        return crc((folder / f"{stem}.sql").read_bytes())

    rows = _rows(
        pg_database,
        project,
        (0, None, "<< Flyway Schema Creation >>", "SCHEMA", '"public"', None, True),
        (1, "1.3", "<< Flyway Baseline >>", "BASELINE", "<< Flyway Baseline >>", None, True),
        (2, "1.5", "multitenant", "SQL", "V1_5__multitenant.sql", sum_of(KESTRA_IDS[3]), True),
        (3, "1.7", "execution queued", "SQL", "V1_7__execution_queued.sql", 7, False),
        (4, "1.8", "execution cancelled", "SQL", "V1_8__execution_cancelled.sql", 8, True),
        (5, "1.8", "execution cancelled", "DELETE", "V1_8__execution_cancelled.sql", 8, True),
        (
            6,
            "1.9",
            "execution queued",
            "SQL",
            "V1_9__execution_queued.sql",
            sum_of(KESTRA_IDS[6]),
            True,
        ),
        # A Java migration, as MarquezProject/marquez's V44_1__UpdateRunsWithJobUUID.java
        # beside its SQL scripts: Flyway records it with type JDBC and no checksum.
        (7, "1.9.1", "UpdateRunsWithJobUUID", "JDBC", "io.kestra.V1_9_1__Backfill", None, True),
    )
    five = str(sum_of(KESTRA_IDS[3]))
    nine = str(sum_of(KESTRA_IDS[6]))
    assert rows == [
        LedgerRow("baseline 1.3", "V1_1__initial"),
        LedgerRow("baseline 1.3", "V1_2__worker_heartbeat"),
        LedgerRow("baseline 1.3", "V1_3__worker_heartbeat"),
        LedgerRow("V1_5__multitenant.sql (version 1.5)", "V1_5__multitenant", five, five),
        LedgerRow(
            "V1_7__execution_queued.sql (version 1.7) as failed (`flyway repair` clears it)",
            "V1_7__execution_queued",
            applied=False,
            dirty=True,
        ),
        LedgerRow("V1_9__execution_queued.sql (version 1.9)", "V1_9__execution_queued", nine, nine),
        LedgerRow(
            "io.kestra.V1_9_1__Backfill (version 1.9.1), a Java migration (JDBC) the catalog "
            "cannot hold",
            None,
        ),
    ]


def test_a_changed_repeatable_is_pending_not_tampered(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(PUBS, tmp_path)
    folder = root / PUBS_FOLDER
    view = folder / "R__person_names.sql"
    view.write_text("CREATE OR REPLACE VIEW people.person_names AS SELECT 1 AS one;\n")
    catalog = root / "catalog.yaml"
    catalog.write_text(
        catalog.read_text()
        + "  - id: R__person_names\n    date: 2023-05-25\n    title: Person names\n"
        + "    purpose: A view\n    rollback: {none: repeatable}\n"
    )
    project = Project.load(catalog)
    recorded = crc(view.read_bytes())
    row = (1, None, "person names", "SQL", "R__person_names.sql", recorded, True)
    assert _rows(pg_database, project, row) == [
        LedgerRow("R__person_names.sql", "R__person_names", str(recorded), str(recorded))
    ]
    view.write_text("CREATE OR REPLACE VIEW people.person_names AS SELECT 2 AS two;\n")
    project = Project.load(catalog)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        again = project.runner.read_ledger(
            conn, sql.Identifier("public", "flyway_schema_history"), project
        )
    assert again == [
        LedgerRow(
            "R__person_names.sql (changed since: Flyway runs it again)",
            "R__person_names",
            applied=False,
        )
    ]


# -- bad input ------------------------------------------------------------------------------------


def test_two_scripts_with_one_version_are_mg109(tmp_path: Path) -> None:
    """Kestra's history once held V1_2__initial.sql beside V1_2__worker_heartbeat.sql."""
    root = copy_fixture(KESTRA, tmp_path)
    folder = root / KESTRA_FOLDER
    (folder / "V1_2__initial.sql").write_text("SELECT 1;\n")
    (folder / "U1_3__undo.sql").write_text("SELECT 1;\n")
    (folder / "U1.3__undo_again.sql").write_text("SELECT 1;\n")
    found = static_findings(root / "catalog.yaml")
    assert [f for f in found if f[0] == "MG109"] == [
        (
            "MG109",
            f"{KESTRA_FOLDER}/U1_3__undo.sql",
            None,
            "Flyway refuses the location: found more than one undo migration with version 1.3 "
            "(U1.3__undo_again.sql too)",
        ),
        (
            "MG109",
            f"{KESTRA_FOLDER}/V1_2__worker_heartbeat.sql",
            None,
            "Flyway refuses the location: found more than one migration with version 1.2 "
            "(V1_2__initial.sql too)",
        ),
    ]
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert "MG109" in {f["code"] for f in findings_of(result)}


def test_names_flyway_ignores_are_mg103_and_lone_undo_scripts_mg106(tmp_path: Path) -> None:
    """File names from the real PubsPG folder that Flyway skips."""
    root = copy_fixture(PUBS, tmp_path)
    folder = root / PUBS_FOLDER
    for name in (
        "NotYetV1.1.15__SearchFunctionality.sql",
        "old V1.1.16__AddStoreAndSalesData.sql",
        "V1.1.11_AddProcedureWithTest.sql",
        "U1.1.12__RemoveTestData.sql",
    ):
        (folder / name).write_text("SELECT 1;\n")
    found = static_findings(root / "catalog.yaml")
    assert [f for f in found if f[0] in ("MG103", "MG106")] == [
        (
            "MG103",
            f"{PUBS_FOLDER}/NotYetV1.1.15__SearchFunctionality.sql",
            None,
            "Flyway ignores it: its name does not start with `V`, `U` or `R` (nor a "
            "callback's name)",
        ),
        (
            "MG103",
            f"{PUBS_FOLDER}/V1.1.11_AddProcedureWithTest.sql",
            None,
            "Flyway ignores it: '1.1.11_AddProcedureWithTest' is not a version (digits "
            "separated by `.` or `_`); is `__` missing between the version and the description?",
        ),
        (
            "MG103",
            f"{PUBS_FOLDER}/old V1.1.16__AddStoreAndSalesData.sql",
            None,
            "Flyway ignores it: its name does not start with `V`, `U` or `R` (nor a "
            "callback's name)",
        ),
        (
            "MG106",
            f"{PUBS_FOLDER}/U1.1.12__RemoveTestData.sql",
            None,
            "no versioned script has version 1.1.12: Flyway never runs this undo script",
        ),
    ]
    # Files Flyway does not run are not migrations the catalog lacks.
    assert not [f for f in found if f[0] == "MG101"]
