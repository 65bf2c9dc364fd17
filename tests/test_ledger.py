"""Ledgers: real tables of drizzle's, Flyway's and a plain table's shape, on real servers.

The tables are made with the runners' own DDL: drizzle-orm's ``PgDialect.migrate``
(``drizzle-orm/src/pg-core/dialect.ts``) and Flyway's PostgreSQL ``createMetaDataTable.sql``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from migdocs.drift import scoped
from migdocs.ledger import (
    compare_ledger,
    drizzle_hash,
    drizzle_hashes,
    flyway_checksum,
    flyway_version,
    ledger_tables,
    read_ledger,
)
from migdocs.pg import ScratchServer, read_snapshot
from migdocs.pg.live import connect_live
from migdocs.project import Project
from runner_kit import make_project

HISTORY = [
    {"name": "one", "up": "CREATE TABLE one (id int);\n", "down": "DROP TABLE one;\n"},
    {"name": "two", "up": "CREATE TABLE two (id int);\n", "down": "DROP TABLE two;\n"},
    {"name": "three", "up": "CREATE TABLE three (id int);\n", "down": "DROP TABLE three;\n"},
]
DATABASE = "postgresql://auditor@db.example/app"


@pytest.fixture
def database(pg_server: ScratchServer) -> Iterator[tuple[str, psycopg.Connection[Any]]]:
    url = pg_server.create_database()
    with pg_server.connect(url) as conn:
        yield url, conn
    pg_server.drop_database(url)


def codes(findings: list[Any]) -> list[tuple[str, str | None]]:
    return [(f.code, f.migration and f.migration.rpartition("_")[2]) for f in findings]


def audit_ledger(project: Project, url: str) -> list[Any]:
    # Read through the read-only live connection, as the audit does.
    with connect_live(url) as conn:
        rows = read_ledger(conn, project.catalog.ledger, project)
    return compare_ledger(project, rows, DATABASE)


# --- drizzle -------------------------------------------------------------------------------


def test_drizzle_hash_is_sha256_of_the_text_with_lf_line_ends() -> None:
    lf = b"CREATE TABLE t (id int);\n--> statement-breakpoint\nSELECT 1;\n"
    crlf = lf.replace(b"\n", b"\r\n")
    assert drizzle_hash(lf) == hashlib.sha256(lf).hexdigest()
    # drizzle-orm's readMigrationFiles: .toString().replace(/\r\n/g, '\n'), then sha256.
    assert drizzle_hash(crlf) == hashlib.sha256(lf).hexdigest()
    # Releases before that hashed the text as it was.
    assert drizzle_hashes(crlf) == (
        hashlib.sha256(lf).hexdigest(),
        hashlib.sha256(crlf).hexdigest(),
    )
    assert drizzle_hashes(lf) == (hashlib.sha256(lf).hexdigest(),)


def _drizzle_table(
    conn: psycopg.Connection[Any],
    rows: list[tuple[str, int]],
    schema: str = "drizzle",
    table: str = "__drizzle_migrations",
) -> None:
    # PgDialect.migrate's own DDL and INSERT.
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.execute(
        f'CREATE TABLE IF NOT EXISTS "{schema}"."{table}" '
        "(id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)"
    )
    for hash_, when in rows:
        conn.execute(
            f'INSERT INTO "{schema}"."{table}" ("hash", "created_at") VALUES (%s, %s)',
            [hash_, when],
        )


def _journal(project: Project, tmp_path: Path) -> None:
    journal = {
        "version": "7",
        "dialect": "postgresql",
        "entries": [
            {"idx": i, "version": "7", "when": 1000 * (i + 1), "tag": e.id, "breakpoints": True}
            for i, e in enumerate(project.entries)
        ],
    }
    (tmp_path / "migrations" / "meta").mkdir()
    (tmp_path / "migrations" / "meta" / "_journal.json").write_text(json.dumps(journal))


def test_drizzle_ledger_matching(tmp_path: Path, database: tuple[str, Any]) -> None:
    url, conn = database
    project = make_project(tmp_path, HISTORY, ledger={"kind": "drizzle"})
    hashes = [
        hashlib.sha256((tmp_path / "migrations" / f"{e.id}.sql").read_bytes()).hexdigest()
        for e in project.entries
    ]
    _drizzle_table(conn, [(hashes[0], 1000), (hashes[1], 2000)])
    assert audit_ledger(project, url) == []
    assert ledger_tables(project.catalog.ledger) == {"drizzle.__drizzle_migrations"}


def test_drizzle_ledger_of_crlf_files_from_old_and_new_releases(
    tmp_path: Path, database: tuple[str, Any]
) -> None:
    url, conn = database
    project = make_project(tmp_path, HISTORY, ledger={"kind": "drizzle"})
    _journal(project, tmp_path)
    raw = []
    for entry in project.entries:
        text = entry.forward_path.read_bytes().replace(b"\n", b"\r\n")
        entry.forward_path.write_bytes(text)
        raw.append(text)
    project = Project.load(tmp_path / "catalog.yaml")
    # one: recorded by a release that hashed CRLF as it was; two: by a current one.
    _drizzle_table(
        conn,
        [
            (hashlib.sha256(raw[0]).hexdigest(), 1000),
            (hashlib.sha256(raw[1].replace(b"\r\n", b"\n")).hexdigest(), 2000),
        ],
    )
    assert audit_ledger(project, url) == []


def test_drizzle_ledger_changed_file_and_unknown_row(
    tmp_path: Path, database: tuple[str, Any]
) -> None:
    url, conn = database
    project = make_project(tmp_path, HISTORY, ledger={"kind": "drizzle"})
    _journal(project, tmp_path)
    old_text = hashlib.sha256(b"CREATE TABLE one (id integer);\n").hexdigest()
    _drizzle_table(conn, [(old_text, 1000), ("f" * 64, 9999)])
    findings = audit_ledger(project, url)
    assert codes(findings) == [("MG505", "one"), ("MG506", None)]
    assert "the file changed since it was applied" in findings[0].message
    assert old_text in findings[0].message
    assert findings[0].file == "migrations/2025-01-01_one.sql"
    assert findings[0].database == DATABASE
    assert "f" * 12 in findings[1].message


def test_drizzle_ledger_in_a_configured_schema_and_table(
    tmp_path: Path, database: tuple[str, Any]
) -> None:
    """drizzle's migrationsSchema / migrationsTable, named by the catalog's ledger.table."""
    url, conn = database
    project = make_project(
        tmp_path, HISTORY, ledger={"kind": "drizzle", "table": "ops.applied_migrations"}
    )
    first = drizzle_hash(project.entries[0].forward_path.read_bytes())
    _drizzle_table(conn, [(first, 1000)], schema="ops", table="applied_migrations")
    assert audit_ledger(project, url) == []
    assert ledger_tables(project.catalog.ledger) == {"ops.applied_migrations"}


# --- Flyway --------------------------------------------------------------------------------

#: The CRC-32 check value (CRC-32/ISO-HDLC, which java.util.zip.CRC32 and zlib compute) of
#: the ASCII bytes "123456789", as a signed 32-bit integer as Flyway stores it.
CHECK = 0xCBF43926 - (1 << 32)


@pytest.mark.parametrize(
    "text",
    [
        b"123456789",
        b"123456789\n",
        b"1234\n56789\n",  # line breaks are not part of it
        b"1234\r\n56789",
        b"12\r34\n\n56789\r\n",  # a lone \r ends a line too (BufferedReader.readLine)
        b"\xef\xbb\xbf123456789",  # the byte-order mark is dropped
    ],
)
def test_flyway_checksum_matches_the_crc32_check_value(text: bytes) -> None:
    assert flyway_checksum(text) == CHECK


def test_flyway_checksum_edges() -> None:
    assert flyway_checksum(b"") == 0
    assert flyway_checksum(b"\xef\xbb\xbf") == 0
    assert flyway_checksum("é".encode()) != flyway_checksum("é".encode("latin-1"))
    assert -(1 << 31) <= flyway_checksum("é".encode() * 1000) < 1 << 31
    # Only the first line's mark is dropped.
    assert flyway_checksum(b"1234\n\xef\xbb\xbf56789") != CHECK


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("V1__init.sql", (1,)),
        ("V1_2__more.sql", (1, 2)),
        ("V2.10__x.sql", (2, 10)),
        ("R__views.sql", None),
        ("2025-01-01_one.sql", None),
    ],
)
def test_flyway_version(name: str, version: tuple[int, ...] | None) -> None:
    assert flyway_version(name) == version


def _flyway_table(
    conn: psycopg.Connection[Any],
    rows: list[tuple[str | None, str, int | None, str]],
    schema: str = "public",
) -> None:
    # Flyway's createMetaDataTable.sql for PostgreSQL, with ${schema} and ${table} filled in.
    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    conn.execute(
        f"""CREATE TABLE "{schema}"."flyway_schema_history" (
            "installed_rank" INT NOT NULL,
            "version" VARCHAR(50),
            "description" VARCHAR(200) NOT NULL,
            "type" VARCHAR(20) NOT NULL,
            "script" VARCHAR(1000) NOT NULL,
            "checksum" INTEGER,
            "installed_by" VARCHAR(100) NOT NULL,
            "installed_on" TIMESTAMP NOT NULL DEFAULT now(),
            "execution_time" INTEGER NOT NULL,
            "success" BOOLEAN NOT NULL
        );
        ALTER TABLE "{schema}"."flyway_schema_history"
            ADD CONSTRAINT "flyway_schema_history_pk" PRIMARY KEY ("installed_rank");
        CREATE INDEX "flyway_schema_history_s_idx"
            ON "{schema}"."flyway_schema_history" ("success");"""
    )
    for rank, (version, script, checksum, kind) in enumerate(rows, 1):
        conn.execute(
            f'INSERT INTO "{schema}"."flyway_schema_history" VALUES '
            "(%s, %s, %s, %s, %s, %s, 'ci', now(), 5, true)",
            [rank, version, script, kind, script, checksum],
        )


def test_flyway_ledger(tmp_path: Path, database: tuple[str, Any]) -> None:
    url, conn = database
    project = make_project(tmp_path, HISTORY, ledger={"kind": "flyway"})
    files = [e.forward_path for e in project.entries]
    sums = [flyway_checksum(f.read_bytes()) for f in files]
    _flyway_table(
        conn,
        [
            ("1", files[0].name, sums[0] + 1, "SQL"),  # the file changed since
            ("3", files[2].name, sums[2], "SQL"),  # two was skipped
            ("4", "V4__hotfix.sql", 42, "SQL"),  # not in the catalog
        ],
    )
    findings = audit_ledger(project, url)
    assert codes(findings) == [("MG505", "one"), ("MG506", None), ("MG506", "two")]
    assert f"checksum {sums[0] + 1}" in findings[0].message
    assert "V4__hotfix.sql" in findings[1].message
    # Matching checksums: clean.
    conn.execute(
        "UPDATE flyway_schema_history SET checksum = %s WHERE installed_rank = 1", [sums[0]]
    )
    conn.execute(
        "UPDATE flyway_schema_history SET script = %s, checksum = %s WHERE installed_rank = 2",
        [files[1].name, sums[1]],
    )
    conn.execute("DELETE FROM flyway_schema_history WHERE installed_rank = 3")
    assert audit_ledger(project, url) == []


def flyway_project(tmp_path: Path, names: list[str], **catalog: Any) -> Project:
    """A project of Flyway-named files (``V1__one.sql``…), each creating a table."""
    (tmp_path / "migrations").mkdir()
    entries = []
    for number, name in enumerate(names, 1):
        table = name.partition("__")[2]
        (tmp_path / "migrations" / f"{name}.sql").write_text(f"CREATE TABLE {table} (id int);\n")
        entries.append(
            {
                "id": name,
                "date": f"2025-01-{number:02d}",
                "title": table,
                "purpose": "test",
                "rollback": {"none": "forward only"},
            }
        )
    document = {"version": 1, "project": {"name": "test"}, **catalog, "migrations": entries}
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    return Project.load(tmp_path / "catalog.yaml")


def test_flyway_baseline_repair_and_own_schema(tmp_path: Path, database: tuple[str, Any]) -> None:
    """A baseline stands for the versions up to it; `flyway repair`'s DELETE rows remove a
    version; a Flyway configured with `schemas=app` keeps its table there."""
    url, conn = database
    project = flyway_project(
        tmp_path,
        ["V1__one", "V2__two", "V3__three", "V4__four"],
        ledger={"kind": "flyway", "table": "app.flyway_schema_history"},
    )
    sums = [flyway_checksum(e.forward_path.read_bytes()) for e in project.entries]
    _flyway_table(
        conn,
        [
            ("2", "<< Flyway Baseline >>", None, "BASELINE"),
            ("3", "V3__three.sql", sums[2], "SQL"),
            ("3.5", "V3_5__gone.sql", 7, "SQL"),
            ("3.5", "V3_5__gone.sql", None, "DELETE"),
            ("4", "V4__four.sql", sums[3], "SQL"),
        ],
        schema="app",
    )
    assert audit_ledger(project, url) == []
    with connect_live(url) as live:
        rows = read_ledger(live, project.catalog.ledger, project)
    assert [row.migration for row in rows] == ["V1__one", "V2__two", "V3__three", "V4__four"]


def test_ledger_tables_are_not_drift(tmp_path: Path, database: tuple[str, Any]) -> None:
    """The ledger's table, its constraint and its index leave nothing in the audited scope."""
    _, conn = database
    project = make_project(tmp_path, HISTORY, ledger={"kind": "flyway"})
    _flyway_table(conn, [])
    conn.execute("CREATE TABLE kept (id int)")
    patterns = sorted(ledger_tables(project.catalog.ledger))
    assert patterns == ["public.flyway_schema_history"]
    keys = scoped(read_snapshot(conn), None, patterns, set()).key_set()
    assert not [key for key in keys if "flyway" in key]
    assert "table:public.kept" in keys


# --- a table of versions -------------------------------------------------------------------


def test_table_ledger(tmp_path: Path, database: tuple[str, Any]) -> None:
    url, conn = database
    project = make_project(
        tmp_path, HISTORY, ledger={"kind": "table", "table": "ops.schema_migrations"}
    )
    conn.execute("CREATE SCHEMA ops")
    conn.execute("CREATE TABLE ops.schema_migrations (version text PRIMARY KEY)")
    conn.execute("INSERT INTO ops.schema_migrations VALUES ('2025-01-01_one'), ('2025-01-02_two')")
    assert audit_ledger(project, url) == []
    conn.execute("DELETE FROM ops.schema_migrations WHERE version = '2025-01-01_one'")
    assert codes(audit_ledger(project, url)) == [("MG506", "one")]
    conn.execute("INSERT INTO ops.schema_migrations VALUES ('2024-12-31_older')")
    findings = audit_ledger(project, url)
    assert codes(findings) == [("MG506", None), ("MG506", "one")]
    assert "2024-12-31_older" in findings[0].message
    assert ledger_tables(project.catalog.ledger) == {"ops.schema_migrations"}


@pytest.mark.parametrize(
    "ledger",
    [
        {"kind": "flyway"},
        {"kind": "drizzle"},
        {"kind": "table", "table": "schema_migrations"},
    ],
)
def test_missing_ledger_table(
    tmp_path: Path, database: tuple[str, Any], ledger: dict[str, str]
) -> None:
    url, _ = database
    project = make_project(tmp_path, HISTORY, ledger=ledger)
    with connect_live(url) as conn, pytest.raises(LookupError, match="does not exist"):
        read_ledger(conn, project.catalog.ledger, project)
