"""A migration that only changes objects (no object of its own) and the live audit.

Before, such a migration counted as applied as soon as the objects it changes existed, so a
database one migration behind got MG503 for the change it had not made yet. Now the live
state of a migration that changed an object is read from that object: as the migration left
it (applied), as it was before (pending, not drift), or neither (changed by hand since:
MG503).

The history is salmangujjar-dev/ecommerce-shop's ``prisma/migrations`` (Prisma), cut to the
table the change is about and laid out as plain dated files with rollbacks:
``20250530133223_set_char_limit_to_user_name/migration.sql`` as is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg

from runner_kit import migdocs

SOURCE = "-- salmangujjar-dev/ecommerce-shop prisma/migrations/{name}/migration.sql\n"
INIT = """\
-- CreateTable
CREATE TABLE "users" (
    "id" TEXT NOT NULL,
    "name" TEXT,
    "email" TEXT NOT NULL,

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);
"""
LIMIT = """\
/*
  Warnings:

  - You are about to alter the column `name` on the `users` table. The data in that column \
could be lost. The data in that column will be cast from `Text` to `VarChar(30)`.
  - Made the column `name` on table `users` required. This step will fail if there are \
existing NULL values in that column.

*/
-- AlterTable
ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL,
ALTER COLUMN "name" SET DATA TYPE VARCHAR(30);
"""
HISTORY = {
    "2025-05-01_init": ("20250501000000_init", INIT, 'DROP TABLE "users";\n'),
    "2025-05-30_set_char_limit_to_user_name": (
        "20250530133223_set_char_limit_to_user_name",
        LIMIT,
        'ALTER TABLE "users" ALTER COLUMN "name" DROP NOT NULL,\n'
        'ALTER COLUMN "name" SET DATA TYPE TEXT;\n',
    ),
}
LIMIT_ID = "2025-05-30_set_char_limit_to_user_name"


def project(tmp_path: Path) -> Path:
    root = tmp_path / "ecommerce-shop"
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    for stem, (origin, up, down) in HISTORY.items():
        header = SOURCE.format(name=origin)
        (root / "migrations" / f"{stem}.sql").write_text(header + up)
        rollback = stem.replace("_", "_rollback_", 1)
        (root / "migrations" / "rollbacks" / f"{rollback}.sql").write_text(header + down)
    result = migdocs("init", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return root


def apply(url: str, root: Path, stem: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((root / "migrations" / f"{stem}.sql").read_bytes())


def audit(root: Path, url: str) -> tuple[int, dict[str, Any]]:
    result = migdocs("audit", "--database-url", url, "--format", "json", cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def live(report: dict[str, Any]) -> tuple[list[str], list[tuple[str, str | None]]]:
    [section] = report["live"]
    states = [m["state"] for m in section["migrations"]]
    findings = [
        (f["code"], f.get("migration")) for f in report["findings"] if f["code"].startswith("MG5")
    ]
    return states, findings


def test_a_database_one_change_behind_has_it_pending_not_drifted(
    tmp_path: Path, pg_database: str
) -> None:
    root = project(tmp_path)
    apply(pg_database, root, "2025-05-01_init")
    returncode, report = audit(root, pg_database)
    assert live(report) == (["applied", "pending"], [])
    assert report["summary"]["live"] == "passed"
    assert returncode == 0, report["findings"]


def test_the_change_made_is_applied(tmp_path: Path, pg_database: str) -> None:
    root = project(tmp_path)
    for stem in HISTORY:
        apply(pg_database, root, stem)
    returncode, report = audit(root, pg_database)
    assert live(report) == (["applied", "applied"], [])
    assert returncode == 0, report["findings"]


def test_a_change_made_by_hand_since_is_drift_of_that_migration(
    tmp_path: Path, pg_database: str
) -> None:
    root = project(tmp_path)
    for stem in HISTORY:
        apply(pg_database, root, stem)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(b'ALTER TABLE "users" ALTER COLUMN "name" SET DATA TYPE VARCHAR(50)')
    returncode, report = audit(root, pg_database)
    states, findings = live(report)
    assert states == ["applied", "applied"]
    assert findings == [("MG503", LIMIT_ID)]
    [mg503] = [f for f in report["findings"] if f["code"] == "MG503"]
    assert "character varying(30) → character varying(50)" in mg503["message"]
    assert returncode == 1
