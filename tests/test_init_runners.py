"""`migdocs init` for every runner: the history found by walking the repository, the one
clear candidate adopted (or the candidates ranked), the runner's own reading written down,
and `--update` adding what a catalog lacks without touching a byte of the rest.

The trees are small excerpts of real public repositories, each named where it is built:
supabase/postgres (dbmate beside its schema dumps), goharbor/harbor (golang-migrate, no down
files), ory/kratos (one folder, four databases' files), techschool/simplebank and Cal.com.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from migdocs.catalog import load_catalog
from migdocs.discovery import database_filters, project_name, runner_classes
from migdocs.init.writing import flow, yaml_text
from migdocs.objects import ObjectKind, parse_declared
from migdocs.project import Project
from migdocs.runners import make_runner
from runner_kit import FIXTURES, copy_fixture, execute, migdocs, migrate

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = {runner.kind for runner in runner_classes()}
#: What a catalog `init` writes never shows on its own history.
LAYOUT_CODES = {"MG101", "MG102", "MG103", "MG105", "MG106", "MG107", "MG108"}
ANCHOR = re.compile(r"(^|[\s\[{,:])[&*][A-Za-z0-9_]+")


@pytest.fixture(autouse=True)
def _pinned_day(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIGDOCS_TODAY", "2026-03-02")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def catalog_of(root: Path) -> dict[str, object]:
    data = yaml.safe_load((root / "catalog.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def entries(root: Path) -> list[dict[str, object]]:
    listed = catalog_of(root)["migrations"]
    assert isinstance(listed, list)
    return listed


def codes(root: Path) -> Counter[str]:
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return Counter(f["code"] for f in json.loads(result.stdout)["findings"])


def listing_ids(root: Path) -> list[str]:
    project = Project.load(root / "catalog.yaml")
    return [listed.id for listed in project.listing.migrations]


def refused(result: object, root: Path) -> str:
    """The message of a run that had to stop: exit 2, no traceback, nothing written."""
    assert getattr(result, "returncode", None) == 2, getattr(result, "stdout", "")
    stderr = str(getattr(result, "stderr", ""))
    assert "Traceback" not in stderr
    assert stderr.startswith("migdocs: error: ")
    assert not (root / "catalog.yaml").exists()
    return stderr


# -- supabase/postgres: dbmate beside its schema dumps ------------------------------------------

#: supabase/postgres `migrations/`: dbmate migrations (up sections only), the `schema.sql`
#: dbmate dumps after each run (pg_dump's settings, header stripped), a dump per major
#: version, and pgTAP test scripts.
SUPABASE_POSTGRES = {
    "migrations/db/migrations/10000000000000_demote-postgres.sql": (
        "-- supabase/postgres migrations/db/migrations/10000000000000_demote-postgres.sql\n"
        "-- migrate:up\n\n-- demote postgres user\n"
        "GRANT ALL ON DATABASE postgres TO postgres;\n"
        "GRANT ALL ON SCHEMA auth TO postgres;\n"
        "ALTER ROLE postgres NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS;\n\n"
        "-- migrate:down\n"
    ),
    "migrations/db/migrations/20211115181400_update-auth-permissions.sql": (
        "-- supabase/postgres migrations/db/migrations/"
        "20211115181400_update-auth-permissions.sql\n"
        "-- migrate:up\n\n-- update auth schema permissions\n"
        "GRANT ALL PRIVILEGES ON SCHEMA auth TO supabase_auth_admin;\n"
        'ALTER table IF EXISTS "auth".users OWNER TO supabase_auth_admin;\n\n'
        "-- migrate:down\n"
    ),
    "migrations/db/migrations/20211118015519_create-realtime-schema.sql": (
        "-- supabase/postgres migrations/db/migrations/"
        "20211118015519_create-realtime-schema.sql\n"
        "-- migrate:up\n\n-- create realtime schema for Realtime RLS (WALRUS)\n"
        "CREATE SCHEMA IF NOT EXISTS realtime;\n\n-- migrate:down\n"
    ),
    "migrations/schema.sql": (
        "SET statement_timeout = 0;\nSET lock_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\n"
        "CREATE SCHEMA auth;\n\nCREATE SCHEMA realtime;\n"
    ),
    "migrations/schema-15.sql": (
        "SET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE SCHEMA auth;\n"
    ),
    "migrations/tests/extensions/01-postgis.sql": (
        'BEGIN;\ncreate extension if not exists postgis_sfcgal with schema "extensions" '
        "cascade;\nROLLBACK;\n"
    ),
}


def test_dbmate_history_beside_its_schema_dumps(tmp_path: Path) -> None:
    root = tmp_path / "postgres"
    write(root, SUPABASE_POSTGRES)
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "the dbmate history in migrations/db/migrations/" in result.stdout
    catalog = catalog_of(root)
    assert catalog["runner"] == {"kind": "dbmate", "path": "migrations/db/migrations"}
    assert catalog["project"] == {"name": "postgres", "description": "TODO"}
    listed = entries(root)
    # dbmate sorts names as text: the stamp of ten trillion comes before 2021.
    assert (
        [e["id"] for e in listed]
        == listing_ids(root)
        == [
            "10000000000000_demote-postgres",
            "20211115181400_update-auth-permissions",
            "20211118015519_create-realtime-schema",
        ]
    )
    assert "file" not in listed[0]
    assert [str(e["date"]) for e in listed] == ["2021-11-15", "2021-11-15", "2021-11-18"]
    assert [e["title"] for e in listed] == [
        "Demote postgres",
        "Update auth permissions",
        "Create realtime schema",
    ]
    assert listed[2]["creates"] == {"schemas": ["realtime"]}
    # Every down section is empty: no rollback, said so, and no MG105 cascade.
    for entry in listed:
        rollback = entry["rollback"]
        assert isinstance(rollback, dict)
        assert rollback["none"].startswith("TODO: the down section is empty")
    text = (root / "catalog.yaml").read_text(encoding="utf-8")
    assert "date unknown" in text.split("20211115181400")[0]
    found = codes(root)
    assert not LAYOUT_CODES & set(found), found
    assert found["MG604"] == 6  # purpose and rollback of each entry are for people to write


def test_two_dbmate_folders_are_ranked_and_one_is_named(tmp_path: Path) -> None:
    # supabase/postgres also keeps `db/init-scripts`, run by psql before dbmate, with the
    # same markers: both are dbmate histories to look at.
    root = tmp_path / "postgres"
    write(
        root,
        {
            **SUPABASE_POSTGRES,
            "migrations/db/init-scripts/00000000000000-initial-schema.sql": (
                "-- supabase/postgres migrations/db/init-scripts/"
                "00000000000000-initial-schema.sql\n-- migrate:up\n\n"
                "-- Set up realtime\n-- defaults to empty publication\n"
                "create publication supabase_realtime;\n\n-- migrate:down\n"
            ),
        },
    )
    stderr = refused(migdocs("init", cwd=root), root)
    assert "2 candidate migration histories, best first:" in stderr
    first = stderr.index("1. dbmate in migrations/db/migrations/: 3 migrations")
    second = stderr.index("2. dbmate in migrations/db/init-scripts/: 1 migration ")
    assert first < second
    assert "`-- migrate:up`" in stderr  # the evidence
    assert "--migrations-dir PATH" in stderr
    # --runner alone cannot tell two dbmate folders apart.
    stderr = refused(migdocs("init", "--runner", "dbmate", cwd=root), root)
    assert "say which dbmate folder" in stderr
    result = migdocs("init", "--migrations-dir", "migrations/db/init-scripts", cwd=root)
    assert result.returncode == 0, result.stderr
    assert catalog_of(root)["runner"] == {"kind": "dbmate", "path": "migrations/db/init-scripts"}
    assert [e["id"] for e in entries(root)] == ["00000000000000-initial-schema"]


# -- goharbor/harbor: golang-migrate, up files only ---------------------------------------------

HARBOR = {
    "make/migrations/postgresql/0001_initial_schema.up.sql": (
        "-- goharbor/harbor make/migrations/postgresql/0001_initial_schema.up.sql (excerpt)\n"
        "create table access (\n access_id SERIAL PRIMARY KEY NOT NULL,\n"
        " access_code char(1),\n comment varchar (30)\n);\n\n"
        "insert into access (access_code, comment) values \n"
        "('M', 'Management access for project'),\n('R', 'Read access for project');\n\n"
        "create table replication_job (\n id SERIAL NOT NULL,\n status varchar(64) NOT NULL,\n"
        " policy_id int NOT NULL,\n  /*\nNew job service only records uuid, for compatibility"
        " in this table both IDs are stored.\n */\n job_uuid varchar(64),\n"
        " update_time timestamp default CURRENT_TIMESTAMP,\n PRIMARY KEY (id)\n );\n \n"
        "CREATE INDEX policy ON replication_job (policy_id);\n\n"
        "create table properties (\n id SERIAL NOT NULL,\n k varchar(64) NOT NULL,\n"
        " v varchar(128) NOT NULL,\n PRIMARY KEY(id),\n UNIQUE (k)\n );\n"
    ),
    "make/migrations/postgresql/0002_1.7.0_schema.up.sql": (
        "-- goharbor/harbor make/migrations/postgresql/0002_1.7.0_schema.up.sql (excerpt)\n"
        "ALTER TABLE properties ALTER COLUMN v TYPE varchar(1024);\n"
        "DELETE FROM properties where k='scan_all_policy';\n\n"
        "create table job_log (\n log_id SERIAL NOT NULL,\n job_uuid varchar (64) NOT NULL,\n"
        " creation_time timestamp default CURRENT_TIMESTAMP,\n content text,\n"
        " primary key (log_id)\n);\n\n"
        "CREATE UNIQUE INDEX job_log_uuid ON job_log (job_uuid);\n"
    ),
    "make/migrations/postgresql/0003_add_replication_op_uuid.up.sql": (
        "-- goharbor/harbor make/migrations/postgresql/0003_add_replication_op_uuid.up.sql\n"
        "ALTER TABLE replication_job ADD COLUMN op_uuid varchar(64);"
    ),
    "make/photon/db/initial-registry.sql": (
        "CREATE DATABASE registry ENCODING 'UTF8';\n\\c registry;\n\n"
        "CREATE TABLE schema_migrations(version bigint not null primary key, "
        "dirty boolean not null);\n"
    ),
}


def test_golang_migrate_history_without_down_files(tmp_path: Path) -> None:
    root = tmp_path / "harbor"
    write(root, HARBOR)
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stderr
    catalog = catalog_of(root)
    assert catalog["runner"] == {"kind": "golang-migrate", "path": "make/migrations/postgresql"}
    listed = entries(root)
    assert [e["id"] for e in listed] == listing_ids(root)
    assert [e["id"] for e in listed] == [
        "0001_initial_schema",
        "0002_1.7.0_schema",
        "0003_add_replication_op_uuid",
    ]
    assert all(".up" not in str(e["title"]) for e in listed)
    assert listed[0]["creates"] == {
        "tables": ["access", "replication_job", "properties"],
        "indexes": ["policy"],
    }
    assert listed[1]["creates"] == {"tables": ["job_log"], "indexes": ["job_log_uuid"]}
    assert listed[2]["creates"] == {"columns": ["replication_job.op_uuid"]}
    for entry in listed:
        # No date in harbor's names: today's, flagged, rather than a made-up one.
        assert str(entry["date"]) == "2026-03-02"
        assert entry["rollback"] == {
            "none": "TODO: no rollback script; write one, or say why there is none"
        }
    found = codes(root)
    assert not LAYOUT_CODES & set(found), found
    assert not {"MG201", "MG202"} & set(found), found


def test_runners_in_two_folders_are_ranked_and_both_options_choose(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, {**HARBOR, **SUPABASE_POSTGRES})
    stderr = refused(migdocs("init", cwd=root), root)
    # dbmate's markers weigh more than golang-migrate's names: ranked first.
    assert stderr.index("1. dbmate in migrations/db/migrations/") < stderr.index(
        "2. golang-migrate in make/migrations/postgresql/: 3 migrations"
    )
    assert "`<version>_<name>.up.sql` files" in stderr
    assert "--migrations-dir PATH (or --runner KIND)" in stderr

    assert migdocs("init", "--runner", "golang-migrate", cwd=root).returncode == 0
    assert catalog_of(root)["runner"] == {
        "kind": "golang-migrate",
        "path": "make/migrations/postgresql",
    }
    (root / "catalog.yaml").unlink()
    result = migdocs("init", "--migrations-dir", "migrations/db/migrations", cwd=root)
    assert result.returncode == 0, result.stderr
    assert catalog_of(root)["runner"] == {"kind": "dbmate", "path": "migrations/db/migrations"}
    # Both: exactly that, even a runner with no evidence there.
    result = migdocs(
        "init", "--force", "--runner", "plain", "--migrations-dir", "make/photon/db", cwd=root
    )
    assert result.returncode == 0, result.stderr
    assert catalog_of(root)["paths"] == {
        "migrations": "make/photon/db",
        "rollbacks": "make/photon/db/rollbacks",
    }


def test_one_folder_that_two_runners_read_is_ambiguous(tmp_path: Path) -> None:
    # techschool/simplebank's golang-migrate names, with dbmate's markers written in them:
    # both tools would run this folder, each its own way.
    root = tmp_path / "simplebank"
    write(
        root,
        {
            "db/migration/000001_init_schema.up.sql": (
                "-- migrate:up\n"
                'CREATE TABLE "accounts" (\n  "id" bigserial PRIMARY KEY,\n'
                '  "owner" varchar NOT NULL,\n  "balance" bigint NOT NULL\n);\n'
            ),
            "db/migration/000001_init_schema.down.sql": (
                "-- migrate:down\nDROP TABLE IF EXISTS accounts;\n"
            ),
        },
    )
    stderr = refused(migdocs("init", cwd=root), root)
    assert "1. dbmate in db/migration/" in stderr
    assert "2. golang-migrate in db/migration/" in stderr
    result = migdocs("init", "--runner", "golang-migrate", cwd=root)
    assert result.returncode == 0, result.stderr
    assert entries(root)[0]["rollback"]["file"] == "000001_init_schema.down.sql"  # type: ignore[index]


# -- ory/kratos: one folder, four databases ----------------------------------------------------


def test_popx_versions_do_not_fit_golang_migrate(tmp_path: Path) -> None:
    # ory/kratos persistence/sql/migrations/sql, names as they are: popx's 20-digit versions.
    root = tmp_path / "kratos"
    folder = "persistence/sql/migrations/sql"
    write(
        root,
        {
            f"{folder}/20150100000001000000_networks.postgres.up.sql": (
                "CREATE TABLE IF NOT EXISTS networks (id UUID NOT NULL PRIMARY KEY);\n"
            ),
            f"{folder}/20150100000001000000_networks.mysql.up.sql": (
                "CREATE TABLE networks (id CHAR(36) NOT NULL PRIMARY KEY);\n"
            ),
        },
    )
    stderr = refused(migdocs("init", "--migrations-dir", folder, cwd=root), root)
    assert "unsigned 64-bit" in stderr


#: ory/kratos `persistence/sql/migrations/sql` (popx), with versions cut to 14 digits so that
#: golang-migrate reads them: a file per database, untagged files every database runs unless
#: one of its own has the same version.
KRATOS = {
    "20191100000001_identities.postgres.up.sql": (
        'CREATE TABLE "identities" (\n"id" UUID NOT NULL,\nPRIMARY KEY("id"),\n'
        '"traits_schema_id" VARCHAR (2048) NOT NULL,\n"traits" jsonb NOT NULL\n);'
    ),
    "20191100000001_identities.mysql.up.sql": (
        "CREATE TABLE `identities` (\n`id` char(36) NOT NULL,\nPRIMARY KEY(`id`)\n) ENGINE=InnoDB;"
    ),
    "20191100000001_identities.mysql.down.sql": "DROP TABLE `identities`;",
    "20191100000001_identities.sqlite3.up.sql": (
        'CREATE TABLE "identities" (\n"id" TEXT PRIMARY KEY\n);'
    ),
    "20191100000001_identities.cockroach.up.sql": (
        'CREATE TABLE "identities" (\n"id" UUID NOT NULL,\nPRIMARY KEY("id")\n);'
    ),
    "20220420102701_identity_metadata.up.sql": (
        "ALTER TABLE identities ADD COLUMN metadata_public JSON NULL;\n"
        "ALTER TABLE identities ADD COLUMN metadata_admin JSON NULL;\n"
    ),
    "20220420102701_identity_metadata.down.sql": (
        "ALTER TABLE identities DROP COLUMN metadata_public;\n"
        "ALTER TABLE identities DROP COLUMN metadata_admin;\n"
    ),
    "20220420102701_identity_metadata.mysql.up.sql": (
        "ALTER TABLE identities ADD COLUMN metadata_public JSON NULL;\n"
    ),
    "20230920171028_identity_search_index.up.sql": "",
    "20230920171028_identity_search_index.down.sql": "",
    "20230920171028_identity_search_index.postgres.up.sql": (
        "CREATE INDEX IF NOT EXISTS identities_nid_id_idx ON identities (id);\n"
    ),
    "20230920171028_identity_search_index.postgres.down.sql": (
        "DROP INDEX IF EXISTS identities_nid_id_idx;\n"
    ),
    "20230920171028_identity_search_index.cockroach.up.sql": (
        "CREATE INDEX IF NOT EXISTS identities_nid_id_idx ON identities (id);\n"
    ),
}


def test_a_folder_of_four_databases_keeps_postgresqls_files(tmp_path: Path) -> None:
    root = tmp_path / "kratos"
    folder = "persistence/sql/migrations/sql"
    write(root, {f"{folder}/{name}": text for name, text in KRATOS.items()})
    write(root, {"go.mod": "module github.com/ory/kratos\n\ngo 1.24\n"})
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stderr
    catalog = catalog_of(root)
    assert catalog["project"] == {"name": "kratos", "description": "TODO"}
    assert catalog["runner"] == {
        "kind": "golang-migrate",
        "path": folder,
        "exclude": [
            "*.cockroach.*",
            "*.mysql.*",
            "*.sqlite3.*",
            "20230920171028_identity_search_index.down.sql",
            "20230920171028_identity_search_index.up.sql",
        ],
    }
    listed = entries(root)
    assert [e["id"] for e in listed] == listing_ids(root)
    # golang-migrate's stem keeps the database's tag; up and down pair by version.
    assert [(e["id"], e["rollback"].get("file")) for e in listed] == [  # type: ignore[union-attr]
        ("20191100000001_identities.postgres", None),
        ("20220420102701_identity_metadata", "20220420102701_identity_metadata.down.sql"),
        (
            "20230920171028_identity_search_index.postgres",
            "20230920171028_identity_search_index.postgres.down.sql",
        ),
    ]
    assert listed[1]["rollback"]["impact"] == ["data-loss"]  # type: ignore[index]
    assert listed[1]["rollback"]["risk"] == "high"  # type: ignore[index]
    text = (root / "catalog.yaml").read_text(encoding="utf-8")
    assert "several databases" in text
    found = codes(root)
    assert not LAYOUT_CODES & set(found), found
    assert "MG109" not in found


def test_a_folder_whose_every_file_is_tagged_includes_postgresqls() -> None:
    names = [n for n in KRATOS if ".postgres." in n or ".mysql." in n]
    assert database_filters("golang-migrate", names) == (["*.postgres.*"], [])
    assert database_filters("golang-migrate", ["1_a.up.sql", "1_a.down.sql"]) == ([], [])
    # A PostgreSQL-only tag is no other database.
    assert database_filters("golang-migrate", ["1_a.postgres.up.sql", "2_b.up.sql"]) == ([], [])


# -- names, project, YAML ----------------------------------------------------------------------


@pytest.mark.skipif("prisma" not in INSTALLED, reason="the prisma runner is not installed yet")
def test_quoted_mixed_case_names_read_back_as_postgresql_stores_them(tmp_path: Path) -> None:
    # calcom/cal.com packages/prisma/migrations/20210605225044_init/migration.sql (excerpt).
    root = tmp_path / "cal.com"
    write(
        root,
        {
            "package.json": json.dumps({"name": "calcom-monorepo", "private": True}),
            "packages/prisma/migrations/migration_lock.toml": 'provider = "postgresql"\n',
            "packages/prisma/migrations/20210605225044_init/migration.sql": (
                '-- CreateTable\nCREATE TABLE "EventType" (\n    "id" SERIAL NOT NULL,\n'
                '    "title" TEXT NOT NULL,\n    "userId" INTEGER,\n\n'
                '    PRIMARY KEY ("id")\n);\n\n-- CreateTable\nCREATE TABLE "users" (\n'
                '    "id" SERIAL NOT NULL,\n    "email" TEXT,\n\n    PRIMARY KEY ("id")\n);\n\n'
                '-- CreateIndex\nCREATE UNIQUE INDEX "users.email_unique" ON "users"("email");\n'
                '\n-- AddForeignKey\nALTER TABLE "EventType" ADD FOREIGN KEY("userId") '
                'REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;\n'
            ),
        },
    )
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stderr
    first = entries(root)[0]
    assert catalog_of(root)["project"] == {"name": "calcom-monorepo", "description": "TODO"}
    assert first["creates"] == {
        "tables": ["EventType", "users"],
        "indexes": ['"users.email_unique"'],
    }
    assert parse_declared(ObjectKind.TABLE, "EventType").name == "EventType"
    assert parse_declared(ObjectKind.INDEX, '"users.email_unique"').name == "users.email_unique"
    assert first["rollback"] == {"none": "TODO: prisma has no rollback scripts; say how to undo it"}
    found = codes(root)
    assert not {"MG201", "MG202", "MG105"} & set(found), found


@pytest.mark.parametrize(
    ("files", "name"),
    [
        (
            {"package.json": '{"name": "@supabase-cache-helpers/root"}'},
            "@supabase-cache-helpers/root",
        ),
        ({"go.mod": "module github.com/goharbor/harbor/v2 // v2\n"}, "harbor"),
        ({"go.mod": "module github.com/ory/kratos\n"}, "kratos"),
        ({"pyproject.toml": '[project]\nname = "migdocs"\n'}, "migdocs"),
        ({"pyproject.toml": '[tool.poetry]\nname = "lemmy-tools"\n'}, "lemmy-tools"),
        ({"Cargo.toml": '[package]\nname = "lemmy_server"\n'}, "lemmy_server"),
        ({"package.json": "{not json", "Cargo.toml": '[package]\nname = "x"\n'}, "x"),
        ({}, "simplebank"),
    ],
)
def test_project_name_comes_from_the_repository(
    tmp_path: Path, files: dict[str, str], name: str
) -> None:
    root = tmp_path / "simplebank"
    write(root, files)
    root.mkdir(exist_ok=True)
    assert project_name(root) == name


def test_a_catalog_folder_called_migrations_is_not_the_project_name(tmp_path: Path) -> None:
    root = tmp_path / "simplebank" / "db" / "migrations"
    root.mkdir(parents=True)
    assert project_name(root) == "simplebank"


def test_no_anchors_or_aliases_even_for_shared_values() -> None:
    shared = flow(["data-loss"])
    text = yaml_text({"a": {"impact": shared}, "b": {"impact": shared}})
    assert not ANCHOR.search(text), text
    assert yaml.safe_load(text) == {"a": {"impact": ["data-loss"]}, "b": {"impact": ["data-loss"]}}


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        {},
        {"README.md": "# nothing here\n"},
        # dbmate's own dump beside no migrations, and a pg_dump of production.
        {
            "db/schema.sql": SUPABASE_POSTGRES["migrations/schema.sql"],
            "dump/prod.sql": (
                "--\n-- PostgreSQL database dump\n--\n\n"
                "-- Dumped from database version 15.4\n\nCREATE TABLE public.users (id int);\n"
            ),
            "node_modules/some-lib/migrations/0001_init.up.sql": "CREATE TABLE t (id int);\n",
            ".git/hooks/0001_x.up.sql": "CREATE TABLE t (id int);\n",
        },
    ],
)
def test_nothing_to_adopt_is_one_clear_message(tmp_path: Path, files: dict[str, str]) -> None:
    root = tmp_path / "app"
    write(root, files)
    root.mkdir(exist_ok=True)
    stderr = refused(migdocs("init", cwd=root), root)
    assert "no migration history found" in stderr
    assert "schema dumps" in stderr
    assert "--migrations-dir PATH" in stderr


def test_a_dump_folder_named_on_purpose_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "app"
    write(root, {"schema/structure.sql": "CREATE TABLE users (id int);\n"})
    stderr = refused(migdocs("init", "--migrations-dir", "schema", cwd=root), root)
    assert "schema dumps" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--migrations-dir", "missing"], "missing"),
        (["--migrations-dir", ".."], "outside the project folder"),
        (["--runner", "liquibase"], "liquibase"),
        (["--runner", "flyway"], "no flyway migration history found"),
        (["--update"], "no catalog to update"),
    ],
)
def test_bad_options_are_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    root = tmp_path / "harbor"
    write(root, HARBOR)
    stderr = refused(migdocs("init", *args, cwd=root), root)
    assert message in stderr


def test_an_unreadable_journal_stops_init(tmp_path: Path) -> None:
    # drizzle-kit's layout (pagespace packages/db/drizzle), its journal cut short.
    root = tmp_path / "pagespace"
    write(
        root,
        {
            "packages/db/drizzle/0000_worried_the_anarchist.sql": (
                'CREATE TABLE IF NOT EXISTS "users" ("id" text PRIMARY KEY NOT NULL);\n'
            ),
            "packages/db/drizzle/meta/_journal.json": '{"version": "7", "dialect": "postgre',
        },
    )
    stderr = refused(migdocs("init", cwd=root), root)
    assert "_journal.json" in stderr


@pytest.mark.skipif("drizzle" not in INSTALLED, reason="the drizzle runner is not installed yet")
def test_drizzle_beside_rollbacks_it_has_no_place_for_stays_plain(tmp_path: Path) -> None:
    # drizzle-kit's layout (pagespace packages/db/drizzle), with the team's own down files.
    root = tmp_path / "pagespace"
    journal = {
        "version": "7",
        "dialect": "postgresql",
        "entries": [
            {"idx": 0, "version": "7", "when": 1759536000000, "tag": "0000_worried_the_anarchist"}
        ],
    }
    write(
        root,
        {
            "packages/db/drizzle/0000_worried_the_anarchist.sql": (
                'CREATE TABLE IF NOT EXISTS "users" ("id" text PRIMARY KEY NOT NULL);\n'
            ),
            "packages/db/drizzle/meta/_journal.json": json.dumps(journal),
            "packages/db/drizzle/rollbacks/0000_worried_the_anarchist.down.sql": (
                'DROP TABLE "users";\n'
            ),
        },
    )
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "note: drizzle would leave the rollback scripts in rollbacks/ out" in result.stdout
    catalog = catalog_of(root)
    assert "runner" not in catalog
    assert entries(root)[0]["rollback"]["file"] == "0000_worried_the_anarchist.down.sql"  # type: ignore[index]
    result = migdocs("init", "--force", "--runner", "drizzle", cwd=root)
    assert result.returncode == 0, result.stderr
    assert catalog_of(root)["runner"] == {"kind": "drizzle", "path": "packages/db/drizzle"}
    assert str(entries(root)[0]["date"]) == "2025-10-04"


# -- --update -----------------------------------------------------------------------------------


def _inserted(old: str, new: str) -> list[str]:
    """The lines of ``new`` that are not ``old``'s, asserting every line of ``old`` is there,
    in order and unchanged."""
    old_lines = old.splitlines(keepends=True)
    added: list[str] = []
    position = 0
    for line in new.splitlines(keepends=True):
        if position < len(old_lines) and line == old_lines[position]:
            position += 1
        else:
            added.append(line)
    assert position == len(old_lines), "a line of the old catalog changed or went"
    return added


def test_update_adds_new_files_in_the_runners_order_and_keeps_every_byte(tmp_path: Path) -> None:
    root = tmp_path / "postgres"
    write(root, SUPABASE_POSTGRES)
    assert migdocs("init", cwd=root).returncode == 0
    path = root / "catalog.yaml"
    # People edit it: texts, comments, their own quoting and spacing.
    old = path.read_text(encoding="utf-8")
    old = old.replace("purpose: TODO", "purpose:   'Grants the auth admin its schema'  # ok", 1)
    old = old.replace(
        "  - id: 20211118015519_create-realtime-schema",
        "# Realtime (WALRUS) from here on.\n\n  - id: 20211118015519_create-realtime-schema",
    )
    old += "# end of history\n"
    path.write_text(old, encoding="utf-8")
    folder = root / "migrations/db/migrations"
    write(
        folder,
        {
            # supabase/postgres 20211122051245_update-realtime-permissions.sql (excerpt)
            "20211122051245_update-realtime-permissions.sql": (
                "-- migrate:up\n\n-- update realtime schema permissions\n"
                "grant usage on schema realtime to postgres;\n\n-- migrate:down\n"
            ),
            # and a migration written since, between two that are there
            "20211116000000_add_audit.sql": (
                '-- migrate:up\nCREATE TABLE "AuditLog" (id bigint PRIMARY KEY);\n\n'
                '-- migrate:down\nDROP TABLE "AuditLog";\n'
            ),
        },
    )
    assert codes(root)["MG101"] == 2
    result = migdocs("init", "--update", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "added 2 entries" in result.stdout
    new = path.read_text(encoding="utf-8")
    added = _inserted(old, new)
    assert added[0] == "  - id: 20211116000000_add_audit\n"
    assert "  - id: 20211122051245_update-realtime-permissions\n" in added
    ids = [e["id"] for e in entries(root)]
    assert ids == listing_ids(root)
    assert ids.index("20211116000000_add_audit") == 2
    audit = entries(root)[2]
    assert audit["creates"] == {"tables": ["AuditLog"]}
    assert audit["rollback"]["file"] == "20211116000000_add_audit.sql"  # type: ignore[index]
    assert audit["rollback"]["impact"] == ["data-loss"]  # type: ignore[index]
    # The comment that heads an entry stays with it, after the inserted one.
    assert new.index("  - id: 20211116000000_add_audit") < new.index("# Realtime (WALRUS)")
    assert new.endswith("# end of history\n")
    found = codes(root)
    assert not LAYOUT_CODES & set(found), found
    again = migdocs("init", "--update", cwd=root)
    assert again.returncode == 0
    assert "nothing to add" in again.stdout
    assert path.read_text(encoding="utf-8") == new


def test_update_writes_in_the_lists_own_indentation(tmp_path: Path) -> None:
    root = tmp_path / "harbor"
    write(root, HARBOR)
    folder = root / "make/migrations/postgresql"
    last = folder / "0003_add_replication_op_uuid.up.sql"
    moved = last.read_text(encoding="utf-8")
    last.unlink()
    assert migdocs("init", cwd=root).returncode == 0
    path = root / "catalog.yaml"
    # Dashes in column 0, as many hand-written catalogs have them.
    text = path.read_text(encoding="utf-8").replace("\n  - id:", "\n- id:")
    text = re.sub(r"\n    (?=\S)", "\n  ", text)
    path.write_text(text, encoding="utf-8")
    assert load_catalog(path).catalog.migrations[0].id == "0001_initial_schema"
    last.write_text(moved, encoding="utf-8")
    result = migdocs("init", "--update", cwd=root)
    assert result.returncode == 0, result.stderr
    new = path.read_text(encoding="utf-8")
    added = _inserted(text, new)
    assert added[0] == "- id: 0003_add_replication_op_uuid\n"
    assert [e["id"] for e in entries(root)] == listing_ids(root)
    # --update keeps the catalog's runner and folder: other choices are refused.
    for flags in (["--force"], ["--runner", "dbmate"], ["--migrations-dir", "make"]):
        refusal = migdocs("init", "--update", *flags, cwd=root)
        assert refusal.returncode == 2
        assert "--update keeps the catalog's runner and folder" in refusal.stderr
    assert path.read_text(encoding="utf-8") == new


def test_the_example_project_stays_plain_and_updates_in_file_order(tmp_path: Path) -> None:
    for name in ("catalog.yaml", "migrations"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    before = (tmp_path / "catalog.yaml").read_text(encoding="utf-8")
    nothing = migdocs("init", "--update", cwd=tmp_path)
    assert nothing.returncode == 0, nothing.stderr
    assert "nothing to add" in nothing.stdout
    write(
        tmp_path,
        {
            "migrations/2025-09-10_add_audit_log.sql": (
                "CREATE TABLE audit_log (id bigint PRIMARY KEY, at timestamptz NOT NULL);\n"
            ),
            "migrations/rollbacks/2025-09-10_rollback_add_audit_log.sql": (
                "DROP TABLE audit_log;\n"
            ),
        },
    )
    result = migdocs("init", "--update", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    new = (tmp_path / "catalog.yaml").read_text(encoding="utf-8")
    added = _inserted(before, new)
    assert added[0] == "  - id: 2025-09-10_add_audit_log\n"
    last = entries(tmp_path)[-1]
    assert last["rollback"] == {
        "file": "2025-09-10_rollback_add_audit_log.sql",
        "risk": "high",
        "impact": ["data-loss"],
        "summary": "TODO",
    }
    assert "MG101" not in codes(tmp_path)
    # A new catalog for it is still today's plain one: paths and conventions, no runner.
    result = migdocs("init", "--force", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    catalog = catalog_of(tmp_path)
    assert "runner" not in catalog
    assert "paths" not in catalog
    assert len(entries(tmp_path)) == 5


# -- every runner's fixture --------------------------------------------------------------------


def _fixtures() -> list[str]:
    if not FIXTURES.is_dir():
        return []
    return sorted(p.name for p in FIXTURES.iterdir() if (p / "catalog.yaml").is_file())


@pytest.mark.parametrize("name", _fixtures() or ["(none yet)"])
def test_init_adopts_every_runner_fixture(tmp_path: Path, name: str) -> None:
    if name == "(none yet)":
        pytest.skip("no runner fixture yet")
    root = copy_fixture(name, tmp_path)
    kept = Project.load(root / "catalog.yaml")
    kind = kept.catalog.runner.kind
    if kind not in INSTALLED:
        pytest.skip(f"the {kind} runner is not installed yet")
    (root / "catalog.yaml").unlink()
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stderr
    text = (root / "catalog.yaml").read_text(encoding="utf-8")
    assert not ANCHOR.search(text)
    project = Project.load(root / "catalog.yaml")
    assert project.catalog.runner.kind == kind
    assert project.migrations_dir.resolve() == kept.migrations_dir.resolve()
    runner = make_runner(project.root, project.catalog.runner)
    assert [e.id for e in project.entries] == [m.id for m in runner.listing().migrations]
    found = codes(root)
    assert not LAYOUT_CODES & set(found), found


# -- on a real database ----------------------------------------------------------------------


def test_an_adopted_history_audits_clean(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture("golang-migrate-simplebank", tmp_path)
    (root / "catalog.yaml").unlink()
    assert migdocs("init", cwd=root).returncode == 0
    project = migrate(pg_database, root / "catalog.yaml")
    last = project.listing.migrations[-1].version
    execute(pg_database, f"INSERT INTO public.schema_migrations VALUES ({last}, false)")
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["replay"] == "passed"
    bad = [f for f in report["findings"] if f["severity"] == "error"]
    assert bad == []
    states = {m["state"] for m in report["live"][0]["migrations"]}
    assert states == {"applied"}
    rounds = {(item["forward"], item["rollback"], item["round_trip"]) for item in report["replay"]}
    assert rounds == {("ok", "ok", "ok")}


def test_a_lock_file_outranks_name_patterns_in_another_folder(tmp_path: Path) -> None:
    # langfuse/langfuse: Prisma's history in packages/shared/prisma/migrations, and
    # ClickHouse migrations named as golang-migrate names them in packages/shared/clickhouse.
    root = tmp_path / "langfuse"
    prisma = "packages/shared/prisma/migrations"
    write(
        root,
        {
            f"{prisma}/migration_lock.toml": 'provider = "postgresql"\n',
            f"{prisma}/20230518191501_init/migration.sql": (
                'CREATE TABLE "users" ("id" TEXT NOT NULL, CONSTRAINT "users_pkey" '
                'PRIMARY KEY ("id"));\n'
            ),
            "packages/shared/clickhouse/migrations/clustered/0001_traces.up.sql": (
                "CREATE TABLE traces ON CLUSTER default (id String)\n"
                "ENGINE = MergeTree ORDER BY id;\n"
            ),
            "packages/shared/clickhouse/migrations/clustered/0001_traces.down.sql": (
                "DROP TABLE traces ON CLUSTER default;\n"
            ),
        },
    )
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stderr
    assert catalog_of(root)["runner"] == {"kind": "prisma", "path": prisma}
    assert "also seen, far less clearly: 2. golang-migrate in packages/shared/clickhouse" in (
        result.stdout + result.stderr
    )
