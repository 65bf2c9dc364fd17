"""Names as PostgreSQL stores them: a catalog declares ``CREATE TABLE "Users"`` as ``Users``.

drizzle-kit and Prisma quote every name they write, so histories made with them are full of
mixed-case tables, columns, types and constraints. Before, a declaration was read as SQL reads
an unquoted identifier (folded to lower case): one drizzle history got 286 false MG201 and
hundreds of MG202, and the hint ``public.Roles`` that MG202 printed, copied into the catalog,
was read back as ``roles``.

The history is an excerpt of matheudsp/respondeai ``server/src/db/migrations`` (drizzle-kit,
``0000``/``0001``) and of a Prisma ``init`` migration with an enum ``Roles`` and a column
``is2FAEnabled`` (the pattern of calcom/cal.com's ``packages/prisma/migrations``), laid out
as plain dated files with rollbacks so that verify replays every round trip.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from migdocs.objects import ObjectKind, case_twin, parse_declared
from migdocs.pg.reader import read_snapshot
from migdocs.pg.server import ScratchServer
from runner_kit import findings_of, migdocs, verify

SOURCE = "-- matheudsp/respondeai server/src/db/migrations/{name} (drizzle-kit), excerpt\n"
ISSUES = """\
CREATE TABLE "issues" (
\t"id" serial PRIMARY KEY NOT NULL,
\t"title" text NOT NULL,
\t"createdAt" timestamp with time zone DEFAULT now() NOT NULL
);
"""
USERS = """\
CREATE TABLE "Users" (
\t"id" serial PRIMARY KEY NOT NULL,
\t"name" text NOT NULL,
\t"createdAt" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "issues" ADD COLUMN "userId" integer NOT NULL;--> statement-breakpoint
ALTER TABLE "issues" ADD CONSTRAINT "issues_userId_Users_id_fk" FOREIGN KEY ("userId") \
REFERENCES "public"."Users"("id") ON DELETE no action ON UPDATE no action;
"""
ROLES = """\
-- Prisma's init pattern (CreateEnum, AlterTable, CreateIndex)
-- CreateEnum
CREATE TYPE "Roles" AS ENUM ('SUPER_ADMIN', 'ADMIN', 'MEMBER');

-- AlterTable
ALTER TABLE "Users" ADD COLUMN "role" "Roles" NOT NULL DEFAULT 'MEMBER',
ADD COLUMN "is2FAEnabled" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE UNIQUE INDEX "Users_name_key" ON "Users"("name");

-- A name holding a dot, as Prisma 2 named unique indexes
CREATE UNIQUE INDEX "Users.createdAt_unique" ON "Users"("createdAt");
"""
HISTORY = {
    "2024-05-01_issues": (ISSUES, 'DROP TABLE "issues";\n'),
    "2024-05-02_users": (
        USERS,
        'ALTER TABLE "issues" DROP COLUMN "userId";\nDROP TABLE "Users";\n',
    ),
    "2024-05-03_roles": (
        ROLES,
        'DROP INDEX "Users.createdAt_unique";\nDROP INDEX "Users_name_key";\n'
        'ALTER TABLE "Users" DROP COLUMN "role", DROP COLUMN "is2FAEnabled";\n'
        'DROP TYPE "Roles";\n',
    ),
}


def write_history(root: Path) -> Path:
    for name, (up, down) in HISTORY.items():
        origin = SOURCE.format(name=name)
        (root / "migrations").mkdir(parents=True, exist_ok=True)
        (root / "migrations" / f"{name}.sql").write_text(origin + up)
        (root / "rollbacks").mkdir(exist_ok=True)
        (root / "rollbacks" / f"{name}.sql").write_text(origin + down)
    return root


def adopted(tmp_path: Path) -> Path:
    root = write_history(tmp_path / "respondeai")
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def check(root: Path) -> tuple[int, list[dict[str, object]]]:
    result = migdocs("check", "--format", "json", cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, findings_of(result)


def errors(findings: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(f["code"], f["message"]) for f in findings if f["severity"] == "error"]


def test_init_writes_names_as_postgresql_stores_them(tmp_path: Path) -> None:
    root = adopted(tmp_path)
    text = (root / "catalog.yaml").read_text()
    assert "tables: [Users]" in text
    assert "types: [Roles]" in text
    assert "columns: [Users.role, Users.is2FAEnabled, issues.userId]" not in text  # own lines
    assert "Users.is2FAEnabled" in text
    assert "issues.userId" in text
    # Only a name holding a dot (or a quote) is quoted.
    assert '"Users.createdAt_unique"' in text
    assert "Users_name_key" in text
    assert '"Users_name_key"' not in text


def test_check_and_verify_find_nothing_in_case_on_what_init_writes(
    tmp_path: Path, pg_server: ScratchServer
) -> None:
    root = adopted(tmp_path)
    returncode, findings = check(root)
    assert errors(findings) == []
    assert returncode == 0
    returncode, report = verify(root, pg_server)
    assert errors(report["findings"]) == []  # type: ignore[arg-type]
    assert returncode == 0, report


def test_a_declaration_that_differs_only_in_case_names_the_real_object(tmp_path: Path) -> None:
    root = adopted(tmp_path)
    catalog = root / "catalog.yaml"
    text = catalog.read_text()
    catalog.write_text(text.replace("tables: [Users]", "tables: [users]", 1))
    returncode, findings = check(root)
    assert returncode == 1
    mg201 = [f for f in findings if f["code"] == "MG201"]
    assert len(mg201) == 1, findings
    message = str(mg201[0]["message"])
    assert "table public.users" in message
    assert "it creates table public.Users" in message
    assert "declare it as `Users`" in message
    # MG202 names the real table, and following it (copying the name) is clean again.
    mg202 = [f for f in findings if f["code"] == "MG202"]
    assert [str(f["message"]) for f in mg202] == [
        "creates table public.Users, which `creates.tables` does not declare"
    ] or all("public.Users" in str(f["message"]) for f in mg202), mg202
    catalog.write_text(text)
    assert check(root)[0] == 0


def test_every_name_printed_reads_back_as_the_same_object() -> None:
    for kind, text in [
        (ObjectKind.TABLE, "Users"),
        (ObjectKind.COLUMN, "Users.is2FAEnabled"),
        (ObjectKind.INDEX, '"Users.createdAt_unique"'),
        (ObjectKind.TYPE, "app.Roles"),
        (ObjectKind.CONSTRAINT, 'issues."say ""hi"""'),
        (ObjectKind.SCHEMA, "Billing"),
    ]:
        ref = parse_declared(kind, text)
        assert parse_declared(kind, ref.qualified) == ref
        assert parse_declared(kind, ref.declared) == ref
        assert ref.declared == text


@pytest.mark.parametrize(
    ("declared", "real", "twin"),
    [
        ("users", "Users", "public.Users"),
        ("Users.Is2faEnabled", "Users.is2FAEnabled", "public.Users.is2FAEnabled"),
        ("users", "members", None),
        ("Users", "Users", None),  # the same object is no twin of itself
    ],
)
def test_case_twin(declared: str, real: str, twin: str | None) -> None:
    kind = ObjectKind.COLUMN if "." in declared else ObjectKind.TABLE
    found = case_twin(parse_declared(kind, declared), [parse_declared(kind, real)])
    assert (found.qualified if found else None) == twin


def test_a_snapshot_keys_its_objects_as_their_references_do(pg_database: str) -> None:
    # Names with dots and spaces, as Supabase's storage examples and Prisma 2 write them
    # (supabase/supabase examples/user-management: `create policy "Anyone can upload an
    # avatar." on storage.objects`; calcom: `CREATE UNIQUE INDEX "users.email_unique"`).
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            b"""
            CREATE TABLE "Users" ("id" serial PRIMARY KEY, "email" text);
            CREATE UNIQUE INDEX "users.email_unique" ON "Users" ("email");
            CREATE POLICY "Anyone can upload an avatar." ON "Users" FOR INSERT WITH CHECK (true);
            CREATE TYPE "Roles" AS ENUM ('ADMIN');
            """
        )
        snapshot = read_snapshot(conn)
    keys = set(snapshot.key_set())
    assert "policy:public.Users.Anyone can upload an avatar." in keys
    assert "index:public.users.email_unique" in keys
    for key in keys:
        ref = snapshot[key].ref
        assert ref.key == key
        assert parse_declared(ref.kind, ref.qualified).same(ref) or ref.kind is ObjectKind.POLICY
