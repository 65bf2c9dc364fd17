"""The goose runner on two real histories, checked against goose's own parser rules.

``tests/fixtures/runners/goose-permify`` is the first six migrations of Permify
(``internal/storage/postgres/migrations``): ``YYYYMMDDHHMMSS`` versions, ``-- +goose NO
TRANSACTION`` above ``CREATE INDEX CONCURRENTLY`` (once with a trailing blank), comments
around the annotations, files without a last line break. ``goose-anithon`` is every
migration of anithon-stats: 14-digit sequential versions (no date) and a PL/pgSQL function
between ``StatementBegin`` and ``StatementEnd``. The live database's ``goose_db_version``
rows are written as goose writes them (``internal/dialects/postgres.go``): the table made
with a row for version 0, then ``INSERT INTO goose_db_version (version_id, is_applied)
VALUES ($1, $2)`` per migration applied; a rollback deletes the version's rows (older
goose inserted ``(version, false)`` instead).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from migdocs.project import Project
from migdocs.runners import runner_class
from migdocs.runners.goose import Goose, annotation, goose_version
from runner_kit import FIXTURES, copy_fixture, execute, findings_of, migdocs, migrate

PERMIFY = "goose-permify"
PERMIFY_FOLDER = "internal/storage/postgres/migrations"
PERMIFY_IDS = [
    "20230117143902_initial",
    "20230117145140_multi_tenant",
    "20230118185622_index_optimization",
    "20230729145034_attributes",
    "20231122120124_bundles",
    "20231230174418_schema_version_index",
]
ANITHON = "goose-anithon"
ANITHON_FOLDER = "internal/dbal/postgres/sql/migrations"
ANITHON_IDS = [
    "00000000000008_procedures",
    "00000000000010_user",
    "00000000000020_media",
    "00000000000030_list",
    "00000000000040_activity",
]


def _layout_caused(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings about the files the runner reads (MG1xx) or how it splits them (MG200)."""
    return [f for f in findings if f["code"].startswith("MG1") or f["code"] == "MG200"]


def _record(url: str, versions: list[int]) -> None:
    """goose, after each migration it applies (``InsertVersion``)."""
    for version in versions:
        execute(
            url,
            "INSERT INTO goose_db_version (version_id, is_applied) VALUES (%s, %s)",
            params=(version, True),
        )


def test_the_registry_names_goose() -> None:
    assert runner_class("goose") is Goose


def test_listing_is_versions_in_numeric_order_one_file_each() -> None:
    project = Project.load(FIXTURES / PERMIFY / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == PERMIFY_IDS
    assert [m.file for m in listing.migrations] == [f"{i}.sql" for i in PERMIFY_IDS]
    assert [m.rollback for m in listing.migrations] == [f"{i}.sql" for i in PERMIFY_IDS]
    assert [m.version for m in listing.migrations] == [i.split("_")[0] for i in PERMIFY_IDS]
    assert [m.date for m in listing.migrations][:3] == [
        dt.date(2023, 1, 17),
        dt.date(2023, 1, 17),
        dt.date(2023, 1, 18),
    ]
    assert listing.problems == []
    assert [(e.forward_part, e.rollback_part) for e in project.entries] == [("up", "down")] * 6
    assert project.ledger_keys() == {i.split("_")[0]: i for i in PERMIFY_IDS}


def test_sequential_versions_have_no_date_and_keep_their_digits_out_of_the_key() -> None:
    project = Project.load(FIXTURES / ANITHON / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == ANITHON_IDS
    assert [m.version for m in listing.migrations] == ["8", "10", "20", "30", "40"]
    assert [m.date for m in listing.migrations] == [None] * 5
    assert [m.title for m in listing.migrations][:2] == ["Procedures", "User"]
    assert listing.problems == []
    assert project.ledger_keys()["8"] == ANITHON_IDS[0]


def test_sections_and_transactions_are_gooses() -> None:
    project = Project.load(FIXTURES / PERMIFY / "catalog.yaml")
    initial, _, concurrent, _, _, trailing = project.entries
    lines = (FIXTURES / PERMIFY / PERMIFY_FOLDER / f"{PERMIFY_IDS[0]}.sql").read_text()
    numbered = lines.splitlines()
    up, down = numbered.index("-- +goose Up") + 1, numbered.index("-- +goose Down") + 1
    found = project.sections(initial.forward_path)
    assert found is not None
    assert (found.up, found.down, found.problems) == ((up, down - 1), (down, len(numbered)), ())
    assert (found.up_transaction, found.down_transaction) == (True, True)
    forward, rollback = project.forward(initial), project.rollback(initial)
    assert forward is not None
    assert rollback is not None
    assert forward.transaction
    assert [s.line for s in rollback.statements] == [down + 1, down + 2, down + 3]
    # NO TRANSACTION above the Up annotation holds for both sections.
    for entry in (concurrent, trailing):
        forward, rollback = project.forward(entry), project.rollback(entry)
        assert forward is not None
        assert rollback is not None
        assert (forward.transaction, rollback.transaction) == (False, False)
        assert forward.parsed
        assert rollback.parsed
    # `-- +goose NO TRANSACTION ` and `-- +goose Up ` (trailing blanks), comments around them.
    forward = project.forward(trailing)
    assert forward is not None
    assert [s.line for s in forward.statements] == [8]


def test_a_statement_between_statementbegin_and_end_is_one_statement() -> None:
    project = Project.load(FIXTURES / ANITHON / "catalog.yaml")
    procedures = project.entries[0]
    found = project.sections(procedures.forward_path)
    assert found is not None
    assert (found.up, found.down, found.problems) == ((1, 12), (13, 14), ())
    forward, rollback = project.forward(procedures), project.rollback(procedures)
    assert forward is not None
    assert rollback is not None
    assert [s.line for s in forward.statements] == [4]
    assert [s.line for s in rollback.statements] == [14]


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    for name in (PERMIFY, ANITHON):
        root = copy_fixture(name, tmp_path)
        result = migdocs("check", "--format", "json", cwd=root)
        assert result.returncode == 0, result.stdout + result.stderr
        assert _layout_caused(findings_of(result)) == []


def test_verify_replays_no_transaction_files_with_concurrent_indexes(tmp_path: Path) -> None:
    root = copy_fixture(PERMIFY, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(r["forward"], r["rollback"], r["round_trip"]) for r in report["replay"]] == [
        ("ok", "ok", "ok")
    ] * 6
    assert report["replay"][2]["changes"]["added"] == ["index:public.idx_tuples_entity"]
    assert report["replay"][5]["changes"]["added"] == ["index:public.idx_schema_version"]


def test_verify_replays_statementbegin_blocks(tmp_path: Path) -> None:
    root = copy_fixture(ANITHON, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [r["round_trip"] for r in report["replay"]] == ["ok"] * 5
    assert report["replay"][0]["changes"]["added"] == ["function:public.updated_at()"]


def test_audit_reads_gooses_ledger(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(PERMIFY, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    versions = [int(i.split("_")[0]) for i in PERMIFY_IDS]
    _record(pg_database, versions)
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = findings_of(result)
    assert not [f for f in findings if f["code"] in ("MG505", "MG506")], findings

    # Older goose rolled back by adding (version, false); current goose deletes the rows.
    execute(
        pg_database,
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (20231230174418, false)",
        "DELETE FROM goose_db_version WHERE version_id = 20230729145034",
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (20990101000000, true)",
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    mismatch = sorted(
        (f["migration"] or "", f["message"]) for f in findings_of(result) if f["code"] == "MG506"
    )
    assert mismatch == [
        ("", "the ledger lists version 20990101000000, which matches no migration of the catalog"),
        (PERMIFY_IDS[3], "the ledger does not list this migration, though later ones are applied"),
        (
            PERMIFY_IDS[5],
            "the migration is applied in the database (its objects are there), but the ledger "
            "does not list it: the runner would apply it again",
        ),
    ]


def test_the_latest_row_of_a_version_decides(pg_database: str) -> None:
    project = Project.load(FIXTURES / ANITHON / "catalog.yaml")
    runner = project.layout
    assert isinstance(runner, Goose)
    table = sql.Identifier("public", "goose_db_version")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(sql.SQL(Goose.ledger_ddl).format(table=table, schema=sql.Identifier("public")))
        rows = [
            (8, True),
            (10, True),
            (10, False),
            (20, True),
            (20, False),
            (20, True),
            (77, False),
        ]
        for version, applied in rows:
            conn.execute(
                sql.SQL("INSERT INTO {} (version_id, is_applied) VALUES (%s, %s)").format(table),
                (version, applied),
            )
        found = runner.read_ledger(conn, table, project)
    assert [(r.label, r.migration, r.applied) for r in found] == [
        ("version 8", ANITHON_IDS[0], True),
        ("version 10 (rolled back)", ANITHON_IDS[1], False),
        ("version 20", ANITHON_IDS[2], True),
    ]
    assert all(r.recorded is None for r in found)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("-- +goose Upp\nselect 1;\n", 1, "`Upp` is no goose annotation"),
        ("-- +goose Up\nselect 1;\n-- +goose Up\nselect 2;\n", 3, "a second `-- +goose Up`"),
        ("-- nothing to run\n", 1, "there is no `-- +goose Up` line"),
        ("select 1;\n-- +goose Up\nselect 2;\n", 1, "a statement before `-- +goose Up`"),
        ("-- +goose Down\nselect 1;\n-- +goose Up\n", 1, "`-- +goose Down` before"),
        (
            "-- +goose Up\n-- +goose StatementBegin\nselect 1;\n-- +goose Down\nselect 2;\n",
            4,
            "`-- +goose Down` inside a StatementBegin/StatementEnd block",
        ),
        (
            "-- +goose Up\nselect 1;\n-- +goose Down\n-- +goose StatementBegin\nselect 2;\n",
            4,
            "has no `-- +goose StatementEnd`",
        ),
        (
            "-- +goose Up\nselect 1;\n-- +goose StatementEnd\n",
            3,
            "`-- +goose StatementEnd` without a `-- +goose StatementBegin`",
        ),
        ("-- +goose Up\nselect 1;\n  -- +goose Down\n", 3, "indented annotation"),
        ("-- +goose Up -- +goose Down\nselect 1;\n", 1, "`+goose` twice"),
        ("-- +goose Up\nselect 1;\n-- +goose\n", 3, "`-- +goose` with no annotation"),
        (
            "-- +goose Up\ncreate table t (\n  id int\n)\n-- +goose Down\ndrop table t;\n",
            2,
            "the up section ends inside a statement",
        ),
        (
            "-- +goose Up\nselect 1;\n-- +goose Down\ndrop table t -- no semicolon\n",
            4,
            "the down section ends inside a statement",
        ),
    ],
)
def test_annotations_goose_refuses_are_mg200_at_their_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    root = copy_fixture(ANITHON, tmp_path)
    (root / ANITHON_FOLDER / f"{ANITHON_IDS[2]}.sql").write_text(text)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    found = [f for f in findings_of(result) if f["code"] == "MG200"]
    assert [(f["file"], f["line"]) for f in found] == [
        (f"{ANITHON_FOLDER}/{ANITHON_IDS[2]}.sql", line)
    ], found
    assert message in found[0]["message"]


@pytest.mark.parametrize(
    "text",
    [
        "-- +goose up\nselect 1;\n-- +goose down\nselect 2;\n",  # any case
        "--+goose Up\nselect 1;\n--   +goose   Down   \n",  # any spacing after `--`
        "\n\n-- +goose ENVSUB ON\n-- +goose Up\nselect '${X}';\n-- +goose ENVSUB OFF\n",
        "-- +goose Up\n-- +goose StatementBegin\n-- +goose StatementEnd\nselect 1;\n",
        "-- +goose Up\nselect 1; -- a comment after the semicolon\n",
        "-- +goose Up\n",  # an empty migration, and no Down section at all
    ],
)
def test_annotations_goose_accepts_are_no_finding(tmp_path: Path, text: str) -> None:
    assert Goose(tmp_path).sections(text).problems == ()


def test_no_transaction_anywhere_holds_for_the_whole_file(tmp_path: Path) -> None:
    found = Goose(tmp_path).sections(
        "-- +goose Up\nselect 1;\n-- +goose Down\n-- +goose NO TRANSACTION\nselect 2;\n"
    )
    assert (found.up, found.down, found.problems) == ((1, 2), (3, 5), ())
    assert (found.up_transaction, found.down_transaction) == (False, False)


def test_annotation_is_read_as_goose_reads_it() -> None:
    assert annotation("-- +goose no transaction") == ("NO TRANSACTION", None)
    assert annotation("-- +goose StatementBegin") == ("StatementBegin", None)
    assert annotation("-- +goose NO  TRANSACTION")[0] is None


def test_versions_are_numbers_before_the_first_underscore(tmp_path: Path) -> None:
    assert [goose_version(n) for n in ("00001_a.sql", "20230101120000_b.go", "1.sql")] == [
        1,
        20230101120000,
        None,
    ]
    assert [goose_version(n) for n in ("0_zero.sql", "a_1.sql", "1_a.txt")] == [None] * 3
    folder = tmp_path / "migrations"
    folder.mkdir()
    files = {
        "9_a.sql": "-- +goose Up\n",
        "10_b.sql": "-- +goose Up\n",
        "0010_c.sql": "-- +goose Up\n",
        "11_fill.go": "package migrations\n",
        "helpers.go": "package migrations\n",
        "12_fill_test.go": "package migrations\n",
        "schema.sql": "create table x ();\n",
        "README.md": "",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    runner = Goose(folder)
    listing = runner.listing()
    assert [(m.file, m.version) for m in listing.migrations] == [
        ("9_a.sql", "9"),
        ("0010_c.sql", "10"),
    ]
    assert sorted((p.code, p.file) for p in listing.problems) == [
        ("MG103", "11_fill.go"),
        ("MG103", "schema.sql"),
        ("MG109", "10_b.sql"),
    ]
    assert runner.go_versions() == {11}


def test_a_go_migration_is_noted_and_its_ledger_rows_are_not_mismatches(
    tmp_path: Path, pg_database: str
) -> None:
    root = copy_fixture(ANITHON, tmp_path)
    go = root / ANITHON_FOLDER / "00000000000050_backfill.go"
    go.write_text("package migrations\n\nfunc init() { goose.AddMigration(up, down) }\n")
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    notes = [(f["code"], f["file"]) for f in _layout_caused(findings_of(result))]
    assert notes == [("MG103", f"{ANITHON_FOLDER}/00000000000050_backfill.go")]

    migrate(pg_database, root / "catalog.yaml")
    _record(pg_database, [8, 10, 20, 30, 40, 50])
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [f for f in findings_of(result) if f["code"] in ("MG505", "MG506")]


def test_evidence_is_the_up_annotation(tmp_path: Path) -> None:
    found = Goose.evidence(FIXTURES / PERMIFY / PERMIFY_FOLDER)
    assert found is not None
    assert (found.runner, found.migrations) == ("goose", 6)
    plain = tmp_path / "migrations"
    plain.mkdir()
    (plain / "20240101000000_x.sql").write_text("create table x ();\n")
    assert Goose.evidence(plain) is None
