"""One net effect for `init`, `check` and `verify`: the catalog `init` writes passes both.

Each history is adopted with `init` (the folders runner: ``<id>/up.sql``), then checked
statically (MG201, MG202) and replayed on a real server (MG405); the entry of the
migration under test must declare its net effect — and both must agree with it. The
shapes are the ones real histories gave MG405 for before:

- a table renamed and then changed (issue 11: ``ALTER TABLE a RENAME TO b; ALTER TABLE b
  DROP COLUMN y``), as Mastodon's ``20170913000752_create_site_settings``-era renames do;
- ``DROP INDEX IF EXISTS`` of an index no migration made (crates.io's
  ``2019-09-19-185655_add_experimental_indexes``, whose indexes were made by hand);
- temporary objects of a data migration (``CREATE TEMP TABLE``, ``pg_temp`` helpers, as
  Supabase histories write them);
- Prisma Migrate's enum change (its ``AlterEnum`` step: ``CREATE TYPE "Role_new"``, the
  column moved over, ``ALTER TYPE "Role" RENAME TO "Role_old"``, ``DROP TYPE "Role_old"``,
  as prisma/prisma-engines' ``sql_renderer/postgres_renderer.rs`` writes it);
- a materialized view dropped with its indexes (crates.io's ``recent_crate_downloads``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from migdocs.checks import run_static
from migdocs.discovery import Choice
from migdocs.init import adopt
from migdocs.objects import ObjectKind, ObjectRef
from migdocs.pg import ScratchServer
from migdocs.project import Project
from migdocs.replay import replay_project
from migdocs.runners import runner_class
from migdocs.sql.model import SchemaModel
from migdocs.sql.script import parse_text

#: The codes on which check and verify must agree with what init wrote.
DECLARATION_CODES = ("MG201", "MG202", "MG405")


def adopted(root: Path, history: dict[str, str]) -> tuple[Project, dict[str, Any]]:
    """``history`` (folder name → up.sql) written under ``root/migrations`` and adopted
    with `init`: the project and its catalog's entries by id."""
    for name, up in history.items():
        folder = root / "migrations" / name
        folder.mkdir(parents=True)
        (folder / "up.sql").write_text(up)
    choice = Choice(runner_class("folders"), root / "migrations", None)
    (root / "catalog.yaml").write_text(adopt(root, choice))
    document = yaml.safe_load((root / "catalog.yaml").read_text())
    entries = {entry["id"]: entry for entry in document["migrations"]}
    return Project.load(root / "catalog.yaml"), entries


def disagreements(project: Project, server: ScratchServer) -> list[tuple[str, str]]:
    """``(code, message)`` of every MG201, MG202 and MG405 finding of check and verify."""
    context, static = run_static(project)
    result = replay_project(project, context, server)
    assert [m.forward for m in result.migrations] == ["ok"] * len(project.entries), [
        (m.migration, m.reason) for m in result.migrations
    ]
    return [
        (finding.code, finding.message)
        for finding in [*static, *result.findings]
        if finding.code in DECLARATION_CODES
    ]


def declared(entry: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return {key: entry[key] for key in ("creates", "drops") if key in entry}


ACCOUNTS = """\
CREATE TABLE settings (
  id bigserial PRIMARY KEY,
  var varchar NOT NULL,
  value text,
  thing_type varchar,
  thing_id bigint
);
CREATE UNIQUE INDEX index_settings_on_thing_type_and_thing_id_and_var
  ON settings (thing_type, thing_id, var);
"""


def test_a_table_renamed_then_changed_is_the_old_one_dropped_and_the_new_one_created(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project, entries = adopted(
        tmp_path,
        {
            "001_create_settings": ACCOUNTS,
            "002_site_settings": (
                "ALTER TABLE settings RENAME TO site_settings;\n"
                "ALTER TABLE site_settings DROP COLUMN thing_type;\n"
            ),
        },
    )
    # The column goes with the old table: what is declared is the table's new name.
    assert declared(entries["002_site_settings"]) == {
        "creates": {"tables": ["site_settings"]},
        "drops": {"tables": ["settings"]},
    }
    assert disagreements(project, pg_server) == []


def test_drop_index_if_exists_of_what_no_migration_made_is_declared_nowhere(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project, entries = adopted(
        tmp_path,
        {
            "001_create_version_downloads": (
                "CREATE TABLE version_downloads (\n  id SERIAL PRIMARY KEY,\n"
                "  version_id INTEGER NOT NULL,\n  date TIMESTAMP NOT NULL\n);\n"
            ),
            "002_add_experimental_indexes": (
                "DROP INDEX IF EXISTS sgrif_testing2;\n"
                "CREATE INDEX IF NOT EXISTS index_version_downloads_by_date\n"
                "  ON version_downloads USING brin (date);\n"
            ),
        },
    )
    assert declared(entries["002_add_experimental_indexes"]) == {
        "creates": {"indexes": ["index_version_downloads_by_date"]}
    }
    assert disagreements(project, pg_server) == []


def test_a_drop_if_exists_declared_is_right_for_check_and_wrong_for_verify(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    """Only replay can tell whether an object the model does not know was there."""
    project, _ = adopted(
        tmp_path,
        {
            "001_create_version_downloads": "CREATE TABLE version_downloads (id int);\n",
            "002_drop_index": "DROP INDEX IF EXISTS sgrif_testing2;\n",
        },
    )
    catalog = tmp_path / "catalog.yaml"
    text = catalog.read_text()
    marker = "  - id: 002_drop_index\n"
    catalog.write_text(
        text.replace(marker, marker + "    drops:\n      indexes: [sgrif_testing2]\n")
    )
    found = disagreements(Project.load(catalog), pg_server)
    assert project.entries
    assert found == [
        (
            "MG405",
            "the catalog says the migration drops index public.sgrif_testing2, "
            "but on replay it does not",
        )
    ]


def test_temporary_objects_are_no_schema_change(tmp_path: Path, pg_server: ScratchServer) -> None:
    project, entries = adopted(
        tmp_path,
        {
            "001_create_profiles": (
                "CREATE TABLE profiles (id uuid PRIMARY KEY, username text);\n"
            ),
            "002_backfill_usernames": (
                "CREATE FUNCTION pg_temp.gen_id() RETURNS text AS\n"
                "$$ begin return substr(md5(random()::text), 1, 10); end $$ "
                "LANGUAGE plpgsql;\n"
                "CREATE TEMP TABLE missing_usernames ON COMMIT DROP AS\n"
                "  SELECT id FROM profiles WHERE username IS NULL;\n"
                "CREATE INDEX missing_usernames_id ON missing_usernames (id);\n"
                "UPDATE profiles SET username = pg_temp.gen_id()\n"
                "  WHERE id IN (SELECT id FROM missing_usernames);\n"
                "DROP TABLE missing_usernames;\n"
                "CREATE INDEX profiles_username ON profiles (username);\n"
            ),
        },
    )
    assert declared(entries["002_backfill_usernames"]) == {
        "creates": {"indexes": ["profiles_username"]}
    }
    assert disagreements(project, pg_server) == []


PRISMA_INIT = """\
-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'LEERKRACHT', 'GAST');

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'GAST',

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);
"""
PRISMA_ALTER_ENUM = """\
-- AlterEnum
BEGIN;
CREATE TYPE "Role_new" AS ENUM ('ADMIN', 'TEACHER', 'GUEST');
ALTER TABLE "User" ALTER COLUMN "role" DROP DEFAULT;
ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role_new" USING ("role"::text::"Role_new");
ALTER TYPE "Role" RENAME TO "Role_old";
ALTER TYPE "Role_new" RENAME TO "Role";
DROP TYPE "Role_old";
ALTER TABLE "User" ALTER COLUMN "role" SET DEFAULT 'GUEST';
COMMIT;
"""
#: Prisma's older rendering of the same change: the old type renamed first.
PRISMA_ALTER_ENUM_OLD_FIRST = """\
-- AlterEnum
ALTER TYPE "Role" RENAME TO "Role_old";
CREATE TYPE "Role" AS ENUM ('ADMIN', 'TEACHER', 'GUEST');
ALTER TABLE "User" ALTER COLUMN "role" DROP DEFAULT;
ALTER TABLE "User" ALTER COLUMN "role" TYPE "Role" USING ("role"::text::"Role");
ALTER TABLE "User" ALTER COLUMN "role" SET DEFAULT 'GUEST';
DROP TYPE "Role_old";
"""


def test_prismas_enum_change_changes_the_type_and_creates_or_drops_nothing(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    project, entries = adopted(
        tmp_path,
        {
            "20240101000000_init": PRISMA_INIT,
            "20240201000000_roles": PRISMA_ALTER_ENUM.replace("'GAST'", "'GUEST'"),
            "20240301000000_roles_again": PRISMA_ALTER_ENUM_OLD_FIRST.replace("'GAST'", "'GUEST'"),
        },
    )
    assert declared(entries["20240201000000_roles"]) == {}
    assert declared(entries["20240301000000_roles_again"]) == {}
    assert disagreements(project, pg_server) == []


CRATE_DOWNLOADS = """\
CREATE TABLE crate_downloads (id SERIAL PRIMARY KEY, crate_id INTEGER NOT NULL,
  downloads INTEGER NOT NULL, date TIMESTAMP NOT NULL);
CREATE MATERIALIZED VIEW recent_crate_downloads (crate_id, downloads) AS
  SELECT crate_id, SUM(downloads) FROM crate_downloads GROUP BY crate_id;
CREATE UNIQUE INDEX recent_crate_downloads_crate_id ON recent_crate_downloads (crate_id);
"""


def test_a_materialized_views_indexes_go_with_it(tmp_path: Path, pg_server: ScratchServer) -> None:
    project, entries = adopted(
        tmp_path,
        {
            "001_create_recent_crate_downloads": CRATE_DOWNLOADS,
            "002_drop_recent_crate_downloads": "DROP MATERIALIZED VIEW recent_crate_downloads;\n",
            # The index's name is free again: a new index of that name is new.
            "003_index_crate_downloads": (
                "CREATE INDEX recent_crate_downloads_crate_id ON crate_downloads (crate_id);\n"
            ),
        },
    )
    assert declared(entries["002_drop_recent_crate_downloads"]) == {
        "drops": {"materialized_views": ["recent_crate_downloads"]}
    }
    assert declared(entries["003_index_crate_downloads"]) == {
        "creates": {"indexes": ["recent_crate_downloads_crate_id"]}
    }
    assert disagreements(project, pg_server) == []


def test_the_model_drops_a_materialized_views_indexes_with_it() -> None:
    model = SchemaModel()
    model.apply_all(parse_text(CRATE_DOWNLOADS, "up.sql").statements)
    index = ObjectRef(ObjectKind.INDEX, "public", "recent_crate_downloads_crate_id")
    assert model.exists(index)
    mark = model.mark()
    model.apply_all(
        parse_text("DROP MATERIALIZED VIEW recent_crate_downloads;", "up.sql").statements
    )
    assert not model.exists(index)
    effect = model.effect_since(mark)
    assert sorted(ref.key for ref in effect.dropped) == [
        "index:public.recent_crate_downloads_crate_id",
        "matview:public.recent_crate_downloads",
    ]
    # The index goes with its view, as a table's go with the table.
    dropped_index = next(ref for ref in effect.dropped if ref.kind is ObjectKind.INDEX)
    assert effect.covered(dropped_index, effect.dropped_ids())


def test_a_temporary_table_left_to_the_session_is_gone_before_the_round_trip(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # A backfill that leaves its temporary table to the end of the session, as psql runs
    # each file in a session of its own: replay's rollback and re-apply must not find it.
    history = {
        "001_create_profiles": (
            "CREATE TABLE profiles (id uuid PRIMARY KEY, username text);\n",
            "DROP TABLE profiles;\n",
        ),
        "002_backfill_usernames": (
            "CREATE TEMP TABLE missing_usernames AS\n"
            "  SELECT id FROM profiles WHERE username IS NULL;\n"
            "UPDATE profiles SET username = 'user_' || substr(id::text, 1, 8)\n"
            "  WHERE id IN (SELECT id FROM missing_usernames);\n"
            "CREATE INDEX profiles_username ON profiles (username);\n",
            "DROP INDEX profiles_username;\n",
        ),
    }
    for name, (up, down) in history.items():
        folder = tmp_path / "migrations" / name
        folder.mkdir(parents=True)
        (folder / "up.sql").write_text(up)
        (folder / "down.sql").write_text(down)
    choice = Choice(runner_class("folders"), tmp_path / "migrations", None)
    (tmp_path / "catalog.yaml").write_text(adopt(tmp_path, choice))
    project = Project.load(tmp_path / "catalog.yaml")
    context, _ = run_static(project)
    result = replay_project(project, context, pg_server)
    assert [(m.forward, m.rollback, m.round_trip) for m in result.migrations] == [
        ("ok", "ok", "ok")
    ] * 2, [m.differences for m in result.migrations]
    # The index on a table of the migration before blocks its writers: MG406, and only that.
    assert [f.code for f in result.findings] == ["MG406"]


def test_a_column_renamed_then_its_key_dropped_in_an_opaque_script(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # Dokploy/dokploy apps/dokploy/drizzle: 0040_graceful_wolfsbane.sql adds the foreign key
    # in drizzle-kit's guard; 0066_yielding_echo.sql moves data in DO blocks (opaque), then
    # renames the column and drops the key that was on it (excerpts, one table of eight).
    project, entries = adopted(
        tmp_path,
        {
            "0039_many_tiger_shark": (
                'CREATE TABLE "admin" ("adminId" text PRIMARY KEY NOT NULL);\n'
                'CREATE TABLE "certificate" ("certificateId" text PRIMARY KEY NOT NULL);\n'
            ),
            "0040_graceful_wolfsbane": (
                'ALTER TABLE "certificate" ADD COLUMN "adminId" text;--> statement-breakpoint\n'
                "DO $$ BEGIN\n"
                ' ALTER TABLE "certificate" ADD CONSTRAINT "certificate_adminId_admin_adminId_fk"'
                ' FOREIGN KEY ("adminId") REFERENCES "public"."admin"("adminId")'
                " ON DELETE cascade ON UPDATE no action;\n"
                "EXCEPTION\n WHEN duplicate_object THEN null;\nEND $$;\n"
            ),
            "0066_yielding_echo": (
                'CREATE TABLE "user_temp" ("id" text PRIMARY KEY NOT NULL);\n'
                "DO $$\nBEGIN\n"
                '    INSERT INTO "user_temp" ("id") SELECT a."adminId" FROM admin a;\n'
                "END $$;\n"
                'ALTER TABLE "certificate" RENAME COLUMN "adminId" TO "userId";'
                "--> statement-breakpoint\n"
                'ALTER TABLE "certificate" DROP CONSTRAINT '
                '"certificate_adminId_admin_adminId_fk";\n'
            ),
        },
    )
    assert declared(entries["0066_yielding_echo"]) == {
        "creates": {"tables": ["user_temp"], "columns": ["certificate.userId"]},
        "drops": {"columns": ["certificate.adminId"]},
    }
    assert disagreements(project, pg_server) == []


def test_an_index_a_primary_key_takes_over_is_no_drop_for_check_or_verify(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # langfuse/langfuse packages/shared/prisma/migrations: the table (cut to its key
    # columns), 20251210133946_dataset_items_create_idx_id_project_id_valid_from and
    # 20251211204006_dataset_items_switch_pk as they are. PostgreSQL renames the index to
    # the constraint's name: it is gone as an index, kept as the key.
    project, entries = adopted(
        tmp_path,
        {
            "20230924232619_datasets_init": (
                'CREATE TABLE "dataset_items" (\n    "id" TEXT NOT NULL,\n'
                '    "project_id" TEXT NOT NULL,\n'
                '    "valid_from" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,\n'
                '    CONSTRAINT "dataset_items_pkey" PRIMARY KEY ("id", "project_id")\n);\n'
            ),
            "20251210133946_dataset_items_create_idx_id_project_id_valid_from": (
                "-- CreateIndex\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
                '"dataset_items_id_project_id_valid_from_key" ON "dataset_items"'
                '("id", "project_id", "valid_from");\n'
            ),
            "20251211204006_dataset_items_switch_pk": (
                '-- AlterTable\nALTER TABLE "dataset_items" DROP CONSTRAINT "dataset_items_pkey",\n'
                'ADD CONSTRAINT "dataset_items_pkey" PRIMARY KEY USING INDEX '
                '"dataset_items_id_project_id_valid_from_key";\n'
            ),
        },
    )
    assert declared(entries["20251211204006_dataset_items_switch_pk"]) == {}
    assert disagreements(project, pg_server) == []


def test_a_type_created_under_an_if_not_exists_guard_is_declared_and_seen(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # usebasejump/basejump supabase/migrations/20240414161707_basejump-setup.sql (excerpt):
    # the guard Supabase histories write around what has no IF NOT EXISTS.
    project, entries = adopted(
        tmp_path,
        {
            "20240414161707_basejump-setup": (
                "CREATE SCHEMA IF NOT EXISTS basejump;\n"
                "DO\n$$\n    BEGIN\n"
                "        -- check it account_role already exists on basejump schema\n"
                "        IF NOT EXISTS(SELECT 1\n                      FROM pg_type t\n"
                "                               JOIN pg_namespace n ON n.oid = t.typnamespace\n"
                "                      WHERE t.typname = 'invitation_type'\n"
                "                        AND n.nspname = 'basejump') THEN\n"
                "            CREATE TYPE basejump.invitation_type\n"
                "              AS ENUM ('one_time', '24_hour');\n"
                "        end if;\n    end;\n$$;\n"
            ),
        },
    )
    assert declared(entries["20240414161707_basejump-setup"]) == {
        "creates": {"schemas": ["basejump"], "types": ["basejump.invitation_type"]}
    }
    assert disagreements(project, pg_server) == []


def test_a_function_replaced_again_later_is_changed_not_created(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    # mckaywrigley/chatbot-ui supabase/migrations: 20240108234541_add_profiles.sql creates
    # the function, 20240125192042_upgrade_openai_models.sql replaces it (excerpts).
    function = (
        "CREATE OR REPLACE FUNCTION create_profile_and_workspace()\nRETURNS TRIGGER\n"
        "security definer set search_path = public\nAS $$\nBEGIN\n"
        "    INSERT INTO profiles(user_id, model) VALUES(NEW.id, '{model}');\n"
        "    RETURN NEW;\nEND;\n$$ language 'plpgsql';\n"
    )
    project, entries = adopted(
        tmp_path,
        {
            "20240108234541_add_profiles": (
                "CREATE TABLE IF NOT EXISTS profiles (user_id uuid NOT NULL, model text);\n"
                + function.format(model="gpt-4-1106-preview")
            ),
            "20240125192042_upgrade_openai_models": (
                "UPDATE profiles SET model = 'gpt-4-turbo-preview'"
                " WHERE model = 'gpt-4-1106-preview';\n"
                + function.format(model="gpt-4-turbo-preview")
            ),
        },
    )
    assert declared(entries["20240108234541_add_profiles"]) == {
        "creates": {"tables": ["profiles"], "functions": ["create_profile_and_workspace"]}
    }
    assert declared(entries["20240125192042_upgrade_openai_models"]) == {}
    assert disagreements(project, pg_server) == []
