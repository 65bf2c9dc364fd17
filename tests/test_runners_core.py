"""What every runner shares: the catalog's `runner` block, sections that keep the file's
line numbers, the runner's order and dates in MG107/MG108, its ledger table made before
replay, and an absent ledger as one finding.

The small histories here are dbmate's layout (``db/migrations/<timestamp>_<name>.sql`` with
``-- migrate:up`` / ``-- migrate:down`` sections), as amacneil/dbmate's own README and
testdata write it; each runner's fixtures modelled on public projects are in
``tests/test_runner_*.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import psycopg
import pytest

from migdocs.catalog import load_catalog
from migdocs.catalog.models import RUNNER_KINDS
from migdocs.checks import run_static
from migdocs.errors import CatalogError
from migdocs.project import Project
from migdocs.runners import MODULES, all_runners, runner_class
from migdocs.runners.base import date_from_name, masked, numeric_key, title_from
from runner_kit import execute, migdocs, migrate

CREATE_USERS = """\
-- migrate:up
create table users (
  id bigserial primary key,
  "Email" text not null
)

-- migrate:down
drop table users
"""

ADD_INDEX = """\
-- migrate:up transaction:false
create index concurrently users_email_idx on users ("Email");

-- migrate:down
drop index users_email_idx;
"""


def _history(tmp_path: Path, files: dict[str, str], entries: str) -> Path:
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "version: 1\nproject: {name: app}\nrunner: {kind: dbmate}\nmigrations:\n"
        + textwrap.dedent(entries)
    )
    return catalog


ENTRIES = """\
  - id: 20230101120000_create_users
    date: 2023-01-01
    title: Create users
    purpose: Accounts.
    creates: {tables: [users]}
    rollback:
      {file: 20230101120000_create_users.sql, risk: high, impact: [data-loss], summary: Drops.}
  - id: 20230102120000_add_index
    date: 2023-01-02
    title: Add index
    purpose: Lookups.
    creates: {indexes: [users_email_idx]}
    rollback:
      {file: 20230102120000_add_index.sql, risk: low, impact: [performance], summary: Drops.}
"""


def _codes(catalog: Path) -> list[tuple[str, str | None, int | None]]:
    project = Project.load(catalog, "catalog.yaml")
    return [(f.code, f.file, f.line) for f in run_static(project)[1] if f.code != "MG602"]


def test_every_kind_has_its_module_and_evidence() -> None:
    kinds = {cls.kind for cls in all_runners()}
    assert kinds == set(RUNNER_KINDS) == set(MODULES)  # what a catalog may name
    assert "plain" in kinds
    assert "dbmate" in kinds
    assert "golang-migrate" in kinds
    for cls in all_runners():
        assert runner_class(cls.kind) is cls
        assert cls.__doc__


def test_names_give_dates_titles_and_numeric_order() -> None:
    assert date_from_name("20230102120000_add_index") == dt.date(2023, 1, 2)
    assert date_from_name("2025-08-30_initial") == dt.date(2025, 8, 30)
    assert date_from_name("0001_initial") is None
    assert date_from_name("20231345000000_bad") is None
    assert title_from("20230102120000_add_index.up") == "Add index"
    assert title_from("0012_addUserRoles") == "Add User Roles"
    assert numeric_key("1_10") > numeric_key("1.9")


def test_masked_sections_keep_line_numbers() -> None:
    text = "a\nb\r\nc\nd"
    assert masked(text, (2, 3)) == "\nb\r\nc\n"
    assert masked(text, None) == "\n\n\n"


def test_plain_runner_takes_no_folder(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("version: 1\nproject: {name: a}\nrunner: {kind: plain, path: db}\n")
    with pytest.raises(CatalogError, match="runner `plain`"):
        load_catalog(catalog)
    catalog.write_text(
        "version: 1\nproject: {name: a}\nrunner: {kind: dbmate}\npaths: {migrations: db}\n"
    )
    with pytest.raises(CatalogError, match="`paths` belong to runner `plain`"):
        load_catalog(catalog)
    catalog.write_text("version: 1\nproject: {name: a}\nrunner: {kind: knex}\n")
    with pytest.raises(CatalogError, match="knex"):
        load_catalog(catalog)


def test_sections_are_the_scripts(tmp_path: Path) -> None:
    catalog = _history(
        tmp_path,
        {
            "20230101120000_create_users.sql": CREATE_USERS,
            "20230102120000_add_index.sql": ADD_INDEX,
        },
        ENTRIES,
    )
    project = Project.load(catalog)
    first, second = project.entries
    forward, rollback = project.forward(first), project.rollback(first)
    assert forward is not None
    assert rollback is not None
    assert [s.line for s in forward.statements] == [2]
    assert [s.line for s in rollback.statements] == [8]
    assert forward.transaction
    index = project.forward(second)
    assert index is not None
    assert not index.transaction
    assert _codes(catalog) == []


def test_a_parse_error_in_the_down_section_has_the_files_line(tmp_path: Path) -> None:
    broken = CREATE_USERS.replace("drop table users", 'drop tabel "Users"')
    catalog = _history(
        tmp_path,
        {"20230101120000_create_users.sql": broken, "20230102120000_add_index.sql": ADD_INDEX},
        ENTRIES,
    )
    assert ("MG200", "db/migrations/20230101120000_create_users.sql", 8) in _codes(catalog)


def test_runner_order_and_dates(tmp_path: Path) -> None:
    swapped = ENTRIES.split("  - id: ")
    entries = "  - id: " + swapped[2] + "  - id: " + swapped[1].replace("2023-01-01", "2023-01-05")
    catalog = _history(
        tmp_path,
        {
            "20230101120000_create_users.sql": CREATE_USERS,
            "20230102120000_add_index.sql": ADD_INDEX,
        },
        entries,
    )
    found = _codes(catalog)
    assert ("MG107", "catalog.yaml", 12) in found
    assert ("MG108", "catalog.yaml", 13) in found  # 2023-01-05 against the name's 2023-01-01


def test_verify_makes_the_ledger_before_the_first_migration(tmp_path: Path) -> None:
    touches = "-- migrate:up\ncomment on table schema_migrations is 'dbmate';\n-- migrate:down\n"
    _history(
        tmp_path,
        {
            "20230101120000_create_users.sql": CREATE_USERS,
            "20230102120000_add_index.sql": ADD_INDEX,
            "20230103120000_ledger_comment.sql": touches,
        },
        ENTRIES
        + """\
  - id: 20230103120000_ledger_comment
    date: 2023-01-03
    title: Ledger comment
    purpose: Real histories touch the runner's table.
    rollback: {none: a comment}
""",
    )
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [item["forward"] for item in report["replay"]] == ["ok", "ok", "ok"]
    assert not [f for f in report["findings"] if f["code"].startswith("MG4")]


def test_audit_reads_the_runners_ledger(tmp_path: Path, pg_database: str) -> None:
    catalog = _history(
        tmp_path,
        {
            "20230101120000_create_users.sql": CREATE_USERS,
            "20230102120000_add_index.sql": ADD_INDEX,
        },
        ENTRIES,
    )
    migrate(pg_database, catalog)
    # dbmate's postgres driver: INSERT INTO schema_migrations (version) VALUES ($1)
    for version in ("20230101120000", "20230102120000"):
        execute(
            pg_database, "INSERT INTO schema_migrations (version) VALUES (%s)", params=(version,)
        )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert not [f for f in report["findings"] if f["code"].startswith("MG5")], report["findings"]
    states = {m["migration"]: m["state"] for m in report["live"][0]["migrations"]}
    assert set(states.values()) == {"applied"}
    execute(pg_database, "INSERT INTO schema_migrations (version) VALUES ('20990101000000')")
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=tmp_path)
    messages = [f["message"] for f in json.loads(result.stdout)["findings"] if f["code"] == "MG506"]
    assert messages == [
        "the ledger lists version 20990101000000, which matches no migration of the catalog"
    ]


def test_an_absent_ledger_is_one_finding(tmp_path: Path, pg_database: str) -> None:
    catalog = _history(
        tmp_path,
        {
            "20230101120000_create_users.sql": CREATE_USERS,
            "20230102120000_add_index.sql": ADD_INDEX,
        },
        ENTRIES,
    )
    migrate(pg_database, catalog)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP TABLE schema_migrations")
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=tmp_path)
    ledger = [f for f in json.loads(result.stdout)["findings"] if f["code"] in ("MG505", "MG506")]
    assert len(ledger) == 1
    assert "dbmate ledger" in ledger[0]["message"]
    assert "public.schema_migrations does not exist" in ledger[0]["message"]


def test_a_runner_folder_that_is_not_there_is_one_clear_error(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("version: 1\nproject: {name: a}\nrunner: {kind: dbmate, path: db/migrate}\n")
    result = migdocs("check", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "migdocs: error: catalog.yaml:3:24: runner.path: 'db/migrate' is not a folder: "
        "dbmate's migrations are not there (give `runner.path`, relative to the catalog)\n"
    )


def test_a_file_the_runner_refuses_is_not_replayed_as_if_it_ran(tmp_path: Path) -> None:
    # UPchieve/subway: an indented `-- migrate:down` is no marker to dbmate, which then
    # refuses the file; its SQL parses, but replaying it would prove what never runs.
    indented = CREATE_USERS.replace(")\n\n-- migrate:down", ");\n\n    -- migrate:down")
    _history(
        tmp_path,
        {"20230101120000_create_users.sql": indented, "20230102120000_add_index.sql": ADD_INDEX},
        ENTRIES,
    )
    result = migdocs("verify", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    refused = [f for f in report["findings"] if f["code"] == "MG200"]
    assert [(f["file"], f["line"]) for f in refused] == [
        ("db/migrations/20230101120000_create_users.sql", 7)
    ]
    first = report["replay"][0]
    assert first["forward"] != "ok"
    assert result.returncode == 1
