"""The dbmate runner on an excerpt of a real history, checked against dbmate's own rules.

``tests/fixtures/runners/dbmate-e1`` is four files of pmantra/e1's ``db/migrations`` (each
names its source): ``-- migrate:up`` / ``-- migrate:down`` sections, comment lines before
the up marker, a ``SET search_path`` inside a migration, a down section with real bugs,
and a ``transaction:false`` pair with ``CREATE INDEX CONCURRENTLY`` whose down section
ends without ``;``. The live database's ``schema_migrations`` rows are written as dbmate's
postgres driver writes them: ``insert into schema_migrations (version) values ($1)``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from migdocs.project import Project
from migdocs.runners.dbmate import Dbmate
from runner_kit import (
    FIXTURES,
    copy_fixture,
    execute,
    findings_of,
    migdocs,
    migrate,
    static_findings,
)

NAME = "dbmate-e1"
FOLDER = "db/migrations"
IDS = [
    "20201022023923_create_eligibility_schema",
    "20210108165707_add_header_alias_primary_key",
    "20210127211517_add_organization_id_indexes",
    "20231031135127_drop_indices_member_table_organization_id",
]
CONCURRENT = f"{FOLDER}/{IDS[3]}.sql"


def _layout_caused(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings about the files the runner reads (MG1xx) or how it splits them (MG200)."""
    return [f for f in findings if f["code"].startswith("MG1") or f["code"] == "MG200"]


def test_listing_is_one_file_per_migration_in_name_order() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == IDS
    assert [m.file for m in listing.migrations] == [f"{i}.sql" for i in IDS]
    assert [m.rollback for m in listing.migrations] == [f"{i}.sql" for i in IDS]
    assert [m.version for m in listing.migrations] == [i.split("_")[0] for i in IDS]
    assert listing.migrations[3].date == dt.date(2023, 10, 31)
    assert listing.problems == []
    assert [(e.forward_part, e.rollback_part) for e in project.entries] == [("up", "down")] * 4


def test_sections_are_dbmates() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    first, second, _, concurrent = project.entries
    path = FIXTURES / NAME / FOLDER / f"{IDS[0]}.sql"
    text = path.read_text()
    lines = text.splitlines()
    up = lines.index("-- migrate:up") + 1
    down = lines.index("-- migrate:down") + 1
    found = project.sections(first.forward_path)
    assert found is not None
    assert (found.up, found.down, found.problems) == ((up, down - 1), (down, len(lines)), ())
    forward = project.forward(first)
    assert forward is not None
    assert forward.transaction
    assert forward.statements[0].line == up + 2  # CREATE SCHEMA, after the up marker's comment
    rollback = project.rollback(second)
    assert rollback is not None
    assert rollback.parsed
    assert len(rollback.statements) == 7
    # transaction:false on both markers, and a down section that ends without `;`.
    forward, rollback = project.forward(concurrent), project.rollback(concurrent)
    assert forward is not None
    assert rollback is not None
    assert not forward.transaction
    assert not rollback.transaction
    assert [s.line for s in forward.statements] == [5]
    assert [s.line for s in rollback.statements] == [9]
    assert rollback.parsed


def test_options_follow_the_marker() -> None:
    found = Dbmate(FIXTURES).sections(
        "-- migrate:up transaction:false\nselect 1;\n"
        "-- migrate:down foo:bar transaction:false odd\nselect 2;\n"
    )
    assert (found.up, found.down, found.problems) == ((1, 2), (3, 4), ())
    assert not found.up_transaction
    assert not found.down_transaction


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.stderr == ""
    assert _layout_caused(findings_of(result)) == []


def test_verify_replays_each_section_as_dbmate_runs_it(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [(r["forward"], r["rollback"], r["round_trip"]) for r in report["replay"]] == [
        ("ok", "ok", "ok")
    ] * 4
    assert report["replay"][3]["changes"]["removed"] == [
        "index:eligibility.idx_member_organization_id"
    ]


def _record(url: str, versions: list[str]) -> None:
    """dbmate's postgres driver, after each up section it runs."""
    for version in versions:
        execute(url, "insert into schema_migrations (version) values (%s)", params=(version,))


def test_audit_reads_dbmates_ledger(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    versions = [i.split("_")[0] for i in IDS]
    _record(pg_database, versions)
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.stderr == ""
    findings = findings_of(result)
    assert not [f for f in findings if f["code"].startswith("MG5")], findings
    live = json.loads(result.stdout)["live"][0]["migrations"]
    assert [(m["migration"], m["state"]) for m in live] == [(i, "applied") for i in IDS]

    execute(
        pg_database,
        "delete from schema_migrations where version = '20210108165707'",
        "insert into schema_migrations (version) values ('20240101000000')",
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    mismatch = {(f["migration"], f["message"]) for f in findings_of(result) if f["code"] == "MG506"}
    assert mismatch == {
        (
            None,
            "the ledger lists version 20240101000000, which matches no migration of the catalog",
        ),
        (IDS[1], "the ledger does not list this migration, though later ones are applied"),
    }


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n-- migrate:up\nselect 3;\n",
            5,
            "a second `-- migrate:up`",
        ),
        (
            "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n-- migrate:down\nselect 3;\n",
            5,
            "a second `-- migrate:down`: dbmate 2.34 and later refuse the file",
        ),
        (
            "-- migrate:up\nselect 1;\n-- migrate: down\nselect 2;\n-- migrate:down\n",
            3,
            "`-- migrate:` is no dbmate marker",
        ),
        (
            "-- migrate:upgrade\n-- migrate:up\nselect 2;\n-- migrate:down\n",
            1,
            "`-- migrate:upgrade` is no dbmate marker",
        ),
        ("select 1;\n-- migrate:down\nselect 2;\n", 1, "there is no `-- migrate:up` line"),
        ("-- migrate:up\nselect 1;\n", 2, "there is no `-- migrate:down` line"),
        (
            "-- migrate:down\nselect 2;\n-- migrate:up\nselect 1;\n",
            1,
            "`-- migrate:down` comes before `-- migrate:up`",
        ),
        (
            "set search_path = eligibility;\n-- migrate:up\nselect 1;\n-- migrate:down\n",
            1,
            "a statement before `-- migrate:up`",
        ),
        # UPchieve/subway database/migrations/20211026205335_create_cities_table.sql: the
        # down marker is indented; dbmate finds none (a `;` added so that the up section,
        # which runs to the end, parses and only the marker is reported).
        (
            "-- migrate:up\nALTER TABLE upchieve.cities\n"
            "    ADD CONSTRAINT unique_city_name_state UNIQUE (name, us_state_code);\n"
            "    -- migrate:down\n"
            "ALTER TABLE upchieve.cities DROP CONSTRAINT IF EXISTS unique_city_name_state;\n",
            4,
            "there is no `-- migrate:down` line, as this one is indented",
        ),
        (
            "\t-- migrate:up\nselect 1;\n-- migrate:down\n",
            1,
            "there is no `-- migrate:up` line, as this one is indented",
        ),
        (
            "-- migrate:up\nselect 1;\n  -- migrate:down\n-- migrate:down\nselect 2;\n",
            3,
            "`-- migrate:down` after spaces is no marker for dbmate",
        ),
    ],
)
def test_markers_dbmate_refuses_or_misreads_are_mg200_at_their_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / f"{IDS[2]}.sql").write_text(text)
    found = [f for f in static_findings(root / "catalog.yaml") if f[0] == "MG200"]
    assert [(f[1], f[2]) for f in found] == [(f"{FOLDER}/{IDS[2]}.sql", line)]
    assert message in found[0][3]
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_names_sort_as_text_and_versions_are_kept_as_written(tmp_path: Path) -> None:
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for name in ("9_a.sql", "10_b.sql", "0010_c.sql", "10_d.sql", "notes.sql", "README.md"):
        (folder / name).write_text("-- migrate:up\n-- migrate:down\n")
    listing = Dbmate(folder).listing()
    assert [(m.file, m.version) for m in listing.migrations] == [
        ("0010_c.sql", "0010"),
        ("10_b.sql", "10"),
        ("10_d.sql", "10"),
        ("9_a.sql", "9"),
    ]
    assert sorted((p.code, p.file) for p in listing.problems) == [
        ("MG103", "notes.sql"),
        ("MG109", "10_d.sql"),
    ]


def test_a_version_twice_is_mg109_in_check(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    twin = root / FOLDER / "20210127211517_add_organization_id_indexes_again.sql"
    twin.write_text("-- migrate:up\nselect 1;\n-- migrate:down\n")
    found = [f for f in static_findings(root / "catalog.yaml") if f[0] == "MG109"]
    assert [(f[1], f[2]) for f in found] == [(f"{FOLDER}/{twin.name}", None)]
    assert "version 20210127211517 is also" in found[0][3]


def test_evidence_is_the_up_marker(tmp_path: Path) -> None:
    found = Dbmate.evidence(FIXTURES / NAME / FOLDER)
    assert found is not None
    assert (found.runner, found.migrations) == ("dbmate", 4)
    plain = tmp_path / "migrations"
    plain.mkdir()
    (plain / "20240101000000_x.sql").write_text("create table x ();\n")
    assert Dbmate.evidence(plain) is None
