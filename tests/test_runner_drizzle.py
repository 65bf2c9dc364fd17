"""The drizzle runner on an excerpt of a real monorepo's history.

``tests/fixtures/runners/drizzle-pagespace`` is the start of 2witstudios/PageSpace's
``packages/db/drizzle`` (its README names the files): drizzle-kit's ``meta/_journal.json``
orders ``NNNN_tag.sql`` files split by ``--> statement-breakpoint``. The live database is
migrated statement by statement and its ``drizzle.__drizzle_migrations`` rows are written
as drizzle-orm's ``PgDialect.migrate`` writes them: ``(hash, created_at)`` = (sha256 hex of
the file's text, the journal entry's ``when``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from migdocs.project import Project
from migdocs.runners import runner_class
from migdocs.runners.drizzle import Drizzle, JournalError, journal_entries
from runner_kit import (
    FIXTURES,
    copy_fixture,
    execute,
    findings_of,
    migdocs,
    migrate,
    static_findings,
)

NAME = "drizzle-pagespace"
FOLDER = "packages/db/drizzle"
TAGS = [
    "0000_worried_the_anarchist",
    "0001_neat_wraith",
    "0002_tidy_moon_knight",
    "0003_cynical_namor",
]
BREAKPOINT = "--> statement-breakpoint"
WHENS = [1759611324381, 1760385636497, 1761001444334, 1761192316405]


def _journal(root: Path) -> Path:
    return root / FOLDER / "meta" / "_journal.json"


def test_the_journal_orders_the_files_and_dates_them() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    assert project.runner.kind == "drizzle"
    listing = project.listing
    assert [m.id for m in listing.migrations] == TAGS
    assert [m.file for m in listing.migrations] == [f"{tag}.sql" for tag in TAGS]
    assert [m.rollback for m in listing.migrations] == [None] * 4
    assert [m.version for m in listing.migrations] == [str(when) for when in WHENS]
    assert [m.date for m in listing.migrations] == [
        dt.date(2025, 10, 4),
        dt.date(2025, 10, 13),
        dt.date(2025, 10, 20),
        dt.date(2025, 10, 23),
    ]
    # Each entry's `{` in the journal: the line findings about it point at.
    assert [m.source for m in listing.migrations] == [
        ("meta/_journal.json", line) for line in (5, 12, 19, 26)
    ]
    assert listing.problems == []
    assert project.migrations_dir == (FIXTURES / NAME / FOLDER).resolve()
    assert not Drizzle.has_rollbacks


def test_a_file_is_one_script_run_in_a_transaction() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    first = project.forward(project.entries[0])
    assert first is not None
    assert first.parsed
    assert first.transaction
    # Every `--> statement-breakpoint` chunk is a statement; the DO blocks stay whole.
    lines = first.text.splitlines() if first.text else []
    after_breakpoints = [n + 1 for n, line in enumerate(lines, 1) if line == BREAKPOINT]
    assert len(after_breakpoints) == 7
    assert [s.line for s in first.statements] == [2, *after_breakpoints]
    assert project.rollback(project.entries[0]) is None


def test_checksum_is_drizzles_hash_of_the_file_as_read() -> None:
    runner = runner_class("drizzle")(FIXTURES / NAME / FOLDER)
    raw = b"CREATE TABLE t (id int);\r\n--> statement-breakpoint\r\nSELECT 1;"
    assert runner.checksum(raw) == hashlib.sha256(raw).hexdigest()


def test_evidence_is_the_journal(tmp_path: Path) -> None:
    found = Drizzle.evidence(FIXTURES / NAME / FOLDER)
    assert found is not None
    assert found.score == 95
    assert found.migrations == 4
    assert Drizzle.evidence(FIXTURES / NAME / "packages/db") is None
    sqlite = tmp_path / "drizzle" / "meta"
    sqlite.mkdir(parents=True)
    (sqlite / "_journal.json").write_text('{"version": "7", "dialect": "sqlite", "entries": []}')
    assert Drizzle.evidence(tmp_path / "drizzle") is None


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {f["code"] for f in findings_of(result)} == {"MG602"}


def test_verify_replays_the_history(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [item["forward"] for item in report["replay"]] == ["ok"] * 4


def _record(url: str, root: Path, tags: list[str]) -> None:
    """The rows drizzle-orm inserts after each migration it runs."""
    journal = json.loads(_journal(root).read_text())
    when = {entry["tag"]: entry["when"] for entry in journal["entries"]}
    for tag in tags:
        digest = hashlib.sha256((root / FOLDER / f"{tag}.sql").read_bytes()).hexdigest()
        execute(
            url,
            'insert into "drizzle"."__drizzle_migrations" ("hash", "created_at") values(%s, %s)',
            params=(digest, when[tag]),
        )


def test_audit_reads_drizzles_ledger(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    _record(pg_database, root, TAGS)
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = findings_of(result)
    assert not [f for f in findings if f["code"] in ("MG505", "MG506")], findings
    states = {
        m["migration"]: m["state"] for m in json.loads(result.stdout)["live"][0]["migrations"]
    }
    assert set(states.values()) == {"applied"}

    # An applied file edited since: its hash no longer matches the ledger's.
    edited = root / FOLDER / "0003_cynical_namor.sql"
    edited.write_text(edited.read_text() + "\n")
    execute(
        pg_database,
        'insert into "drizzle"."__drizzle_migrations" values (99, %s, 1)',
        params=("f" * 64,),
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    findings = findings_of(result)
    changed = [f for f in findings if f["code"] == "MG505"]
    assert [(f["migration"], f["file"]) for f in changed] == [
        ("0003_cynical_namor", f"{FOLDER}/0003_cynical_namor.sql")
    ]
    unknown = [f["message"] for f in findings if f["code"] == "MG506"]
    assert unknown == [
        "the ledger lists hash ffffffffffff… (created_at 1), which matches no migration of "
        "the catalog"
    ]


def test_a_journal_entry_without_its_file_is_mg102_at_its_line(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / "0002_tidy_moon_knight.sql").unlink()
    found = static_findings(root / "catalog.yaml")
    journal = f"{FOLDER}/meta/_journal.json"
    assert (
        "MG102",
        journal,
        19,
        "the journal names 0002_tidy_moon_knight.sql, which is not in the folder: drizzle "
        "stops with `No file … found`",
    ) in found


def test_a_file_the_journal_lacks_is_mg103(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / FOLDER / "0004_hand_written.sql").write_text('ALTER TABLE "pages" DROP COLUMN "x";\n')
    found = static_findings(root / "catalog.yaml")
    assert [f for f in found if f[0] == "MG103"] == [
        (
            "MG103",
            f"{FOLDER}/0004_hand_written.sql",
            None,
            "drizzle never runs it: meta/_journal.json has no entry with tag 0004_hand_written",
        )
    ]
    # Not a migration drizzle runs, so not one the catalog lacks either.
    assert not [f for f in found if f[0] == "MG101"]


def test_a_when_not_later_than_an_earlier_ones_is_mg109(tmp_path: Path) -> None:
    # PageSpace's real journal: entry 29's `when` is earlier than entry 28's.
    root = copy_fixture(NAME, tmp_path)
    journal = _journal(root)
    journal.write_text(
        journal.read_text()
        .replace("1761001444334", "1766466000000")
        .replace("1761192316405", "1766458226327")
    )
    found = [f for f in static_findings(root / "catalog.yaml") if f[0] == "MG109"]
    assert found == [
        (
            "MG109",
            f"{FOLDER}/meta/_journal.json",
            26,
            "its `when` (1766458226327) is not later than 0002_tidy_moon_knight's "
            "(1766466000000): drizzle applies only entries later than the last one recorded, "
            "so a database that ran 0002_tidy_moon_knight never runs 0003_cynical_namor",
        )
    ]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{\n  "version": "7",\n  "entries": [\n    {"tag": "a",}\n  ]\n}\n', 4, "not JSON"),
        ('{\n  "version": "7"\n}\n', 1, "it has no `entries` list"),
        ('{\n  "entries": [\n    {"idx": 0, "when": 1}\n  ]\n}\n', 3, "has no `tag`"),
    ],
)
def test_a_journal_drizzle_cannot_read_is_mg102_with_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    root = copy_fixture(NAME, tmp_path)
    _journal(root).write_text(text)
    found = [
        f for f in static_findings(root / "catalog.yaml") if f[1] == f"{FOLDER}/meta/_journal.json"
    ]
    assert len(found) == 1
    code, _, at, said = found[0]
    assert (code, at) == ("MG102", line)
    assert message in said
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_journal_entries_have_the_line_of_their_brace() -> None:
    text = '{"entries": [{"tag": "a"},\n\n  {"tag": "b"}], "version": "7"}'
    assert journal_entries(text) == [({"tag": "a"}, 1), ({"tag": "b"}, 3)]
    with pytest.raises(JournalError):
        journal_entries("[]")


def test_the_plain_drizzle_fixture_still_reads_its_ledger_block() -> None:
    project = Project.load(FIXTURES.parent / "drizzle" / "catalog.yaml")
    assert project.layout is None
    assert project.catalog.ledger.kind == "drizzle"
    assert [e.id for e in project.entries] == [
        "0000_init_users",
        "0001_add_prompts",
        "0002_users_username",
    ]
