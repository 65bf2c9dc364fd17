"""`migdocs init` on real-shaped histories: the seed with files its document forgot, drizzle
with a journal, psql scripts with rollbacks named every which way."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from runner_kit import environment, migdocs

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seed" / "MIGRATION_HISTORY.md"
HISTORY = Path(__file__).parent / "fixtures" / "init-history" / "MIGRATION_HISTORY.md"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return migdocs(*args, cwd=cwd, env=environment(MIGDOCS_TODAY="2025-10-01"))


def findings(cwd: Path) -> list[tuple[str, str | None]]:
    result = run(cwd, "check", "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return [(f["code"], f["migration"]) for f in json.loads(result.stdout)["findings"]]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_the_seed_history_with_two_forgotten_files(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations")
    write(
        tmp_path,
        {
            "migrations/2025-09-02_add_audit_log.sql": (
                "CREATE TABLE audit_log (id bigint PRIMARY KEY, at timestamptz NOT NULL);\n"
            ),
            "migrations/2025-09-05_add_last_login.sql": (
                "ALTER TABLE users ADD COLUMN last_login timestamptz;\n"
            ),
            "migrations/rollbacks/undo_audit.sql": (
                "-- Rollback for 2025-09-02_add_audit_log.sql\nDROP TABLE audit_log;\n"
            ),
        },
    )
    result = run(tmp_path, "init", "--from-markdown", str(HISTORY))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "catalog.yaml").read_text()
    catalog = yaml.safe_load(text)
    ids = [entry["id"] for entry in catalog["migrations"]]
    # The document's order (as applied), then the files it forgot.
    assert ids == [
        "2025-08-30_initial_schema",
        "2025-08-30_add_username_field",
        "2025-08-30_add_favorites_system",
        "2025-08-31_add_session_storage_indexes",
        "2025-09-02_add_audit_log",
        "2025-09-05_add_last_login",
    ]
    first = catalog["migrations"][0]
    assert first["purpose"].startswith("Creates the foundational database schema")
    # Mojibake repaired, the warning sign dropped.
    assert first["rollback"]["summary"].startswith("**DESTRUCTIVE** - Removes ALL")
    assert "‚" not in text
    assert "Ô" not in text
    sessions = catalog["migrations"][3]["rollback"]
    # The document said "performance degradation only"; the SQL drops a table.
    assert sessions["impact"] == ["data-loss", "performance"]
    assert sessions["risk"] == "high"
    assert catalog["migrations"][4]["rollback"]["file"] == "undo_audit.sql"
    assert "rollback paired by header comment" in text
    assert catalog["migrations"][5]["rollback"] == {"none": "TODO"}
    # A site config comes with it, and it builds (strict only for MkDocs' warnings: the
    # history has errors, MG107, which fail a strict build by default).
    assert (tmp_path / "mkdocs.yml").is_file()
    assert (tmp_path / "docs" / "index.md").is_file()
    out = str(tmp_path / "out")
    built = run(tmp_path, "build", "--strict", "--fail-on", "never", "--site-dir", out)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out/history/risk-matrix/index.html").is_file()
    # `check` shows only the true problems.
    counted = Counter(code for code, _ in findings(tmp_path))
    assert counted == {
        "MG107": 2,  # the same-date files sort in another order than they were applied
        "MG604": 4,  # what nobody wrote down for the two forgotten files
        "MG103": 1,  # undo_audit.sql breaks the naming convention
        "MG602": 6,  # nothing is reviewed yet
    }


def test_drizzle_history_with_journal(tmp_path: Path) -> None:
    journal = {
        "version": "7",
        "dialect": "postgresql",
        "entries": [
            {
                "idx": 0,
                "version": "7",
                "when": 1725000000000,
                "tag": "0000_init",
                "breakpoints": True,
            },
            {
                "idx": 1,
                "version": "7",
                "when": 1725100000000,
                "tag": "0001_orders",
                "breakpoints": True,
            },
        ],
    }
    write(
        tmp_path,
        {
            "migrations/0000_init.sql": (
                'CREATE TABLE "users" (\n\t"id" serial PRIMARY KEY NOT NULL,\n'
                '\t"email" text NOT NULL\n);\n'
            ),
            "migrations/0001_orders.sql": (
                'CREATE TABLE "orders" ("id" serial PRIMARY KEY NOT NULL, "user_id" integer);\n'
                "--> statement-breakpoint\n"
                'ALTER TABLE "orders" ADD CONSTRAINT "orders_user_id_users_id_fk" FOREIGN KEY '
                '("user_id") REFERENCES "public"."users"("id");\n'
                "--> statement-breakpoint\n"
                'CREATE INDEX "orders_user_idx" ON "orders" USING btree ("user_id");\n'
            ),
            "migrations/0002_hotfix.sql": 'ALTER TABLE "users" ADD COLUMN "name" text;\n',
            "migrations/meta/_journal.json": json.dumps(journal),
        },
    )
    assert run(tmp_path, "init").returncode == 0
    text = (tmp_path / "catalog.yaml").read_text()
    catalog = yaml.safe_load(text)
    # Adopted as drizzle runs it: the journal's migrations, in its order. The hotfix file
    # is not one (drizzle never runs it): MG103 says so, nothing adopts it as if it ran.
    assert catalog["runner"] == {"kind": "drizzle", "path": "migrations"}
    assert [e["id"] for e in catalog["migrations"]] == ["0000_init", "0001_orders"]
    assert catalog["migrations"][0]["date"].isoformat() == "2024-08-30"
    assert catalog["migrations"][1]["creates"] == {
        "tables": ["orders"],
        "indexes": ["orders_user_idx"],
    }
    codes = Counter(code for code, _ in findings(tmp_path))
    assert set(codes) <= {"MG604", "MG602", "MG103"}
    assert codes["MG103"] == 1


def test_drizzle_kit_default_folder_and_down_files(tmp_path: Path) -> None:
    """drizzle-kit writes to drizzle/; the team's down files follow their own convention."""
    journal = {
        "version": "7",
        "dialect": "postgresql",
        "entries": [
            {"idx": 0, "version": "7", "when": 1725000000000, "tag": "0000_init"},
            {"idx": 1, "version": "7", "when": 1725100000000, "tag": "0001_orders"},
        ],
    }
    write(
        tmp_path,
        {
            "drizzle/0000_init.sql": 'CREATE TABLE "users" ("id" serial PRIMARY KEY NOT NULL);\n',
            "drizzle/0001_orders.sql": 'CREATE TABLE "orders" ("id" serial PRIMARY KEY);\n',
            "drizzle/rollbacks/0000_init.down.sql": 'DROP TABLE "users";\n',
            "drizzle/rollbacks/0001_orders.down.sql": 'DROP TABLE "orders";\n',
            "drizzle/meta/_journal.json": json.dumps(journal),
        },
    )
    result = run(tmp_path, "init")
    assert result.returncode == 0, result.stderr
    catalog = yaml.safe_load((tmp_path / "catalog.yaml").read_text())
    assert catalog["paths"] == {"migrations": "drizzle", "rollbacks": "drizzle/rollbacks"}
    assert catalog["conventions"] == {
        "migration": "{version}_{name}.sql",
        "rollback": "{version}_{name}.down.sql",
    }
    assert [e["rollback"]["file"] for e in catalog["migrations"]] == [
        "0000_init.down.sql",
        "0001_orders.down.sql",
    ]
    codes = {code for code, _ in findings(tmp_path)}
    assert codes <= {"MG604", "MG602"}, codes


def test_a_document_with_no_migration_is_refused(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "migrations/2025-01-01_a.sql": "CREATE TABLE a (id int);\n",
            "notes.md": "# Notes\n\nNothing about migrations here.\n",
        },
    )
    result = run(tmp_path, "init", "--from-markdown", "notes.md")
    assert result.returncode == 2
    assert "notes.md: no migration in it" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "catalog.yaml").exists()


def test_psql_history_with_rollbacks_named_every_which_way(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "migrations/2025-03-01_create_accounts.sql": (
                "BEGIN;\nCREATE TABLE accounts (id int PRIMARY KEY);\nCOMMIT;\n"
            ),
            "migrations/2025-03-01_add_plans.sql": "CREATE TABLE plans (id int PRIMARY KEY);\n",
            "migrations/2025-03-02_add_email_index.sql": (
                "ALTER TABLE accounts ADD COLUMN email text;\n"
                "CREATE INDEX accounts_email_idx ON accounts (email);\n"
            ),
            "migrations/rollbacks/2025-03-01_rollback_create_accounts.sql": (
                "DROP TABLE accounts;\n"
            ),
            "migrations/rollbacks/plans_down.sql": "DROP TABLE plans;\n",
            "migrations/rollbacks/revert-email.sql": (
                "-- revert for 2025-03-02_add_email_index.sql\n"
                "DROP INDEX accounts_email_idx;\nALTER TABLE accounts DROP COLUMN email;\n"
            ),
            "migrations/rollbacks/procedures.sql": "-- emergency procedures, not a rollback\n",
        },
    )
    assert run(tmp_path, "init").returncode == 0
    text = (tmp_path / "catalog.yaml").read_text()
    catalog = yaml.safe_load(text)
    by_id = {e["id"]: e for e in catalog["migrations"]}
    # Same-date files: file-name order.
    assert list(by_id) == [
        "2025-03-01_add_plans",
        "2025-03-01_create_accounts",
        "2025-03-02_add_email_index",
    ]
    assert by_id["2025-03-01_create_accounts"]["rollback"]["file"] == (
        "2025-03-01_rollback_create_accounts.sql"
    )
    assert by_id["2025-03-01_add_plans"]["rollback"]["file"] == "plans_down.sql"
    email = by_id["2025-03-02_add_email_index"]
    assert email["rollback"]["file"] == "revert-email.sql"
    assert email["rollback"]["impact"] == ["data-loss"]
    assert email["creates"] == {"columns": ["accounts.email"], "indexes": ["accounts_email_idx"]}
    assert "Rollback files paired with no migration: procedures.sql" in text
    codes = {code for code, _ in findings(tmp_path)}
    assert codes <= {"MG604", "MG602", "MG103", "MG106", "MG205"}
    assert "MG201" not in codes
    assert "MG202" not in codes


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    write(tmp_path, {"migrations/2025-01-01_a.sql": "CREATE TABLE a (id int);\n"})
    (tmp_path / "catalog.yaml").write_text("# mine\n")
    result = run(tmp_path, "init")
    assert result.returncode == 2
    assert "use --force" in result.stderr
    assert (tmp_path / "catalog.yaml").read_text() == "# mine\n"
    assert run(tmp_path, "init", "--force").returncode == 0
    assert yaml.safe_load((tmp_path / "catalog.yaml").read_text())["version"] == 1


@pytest.mark.parametrize("layout", [{}, {"migrations/notes.txt": "no sql here\n"}])
def test_init_without_sql_files_is_a_clear_error(tmp_path: Path, layout: dict[str, str]) -> None:
    write(tmp_path, layout)
    result = run(tmp_path, "init")
    assert result.returncode == 2
    assert "migrations" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "catalog.yaml").exists()


def test_the_seed_itself_is_what_the_fixture_copies() -> None:
    if SEED.exists():
        assert HISTORY.read_bytes() == SEED.read_bytes()
