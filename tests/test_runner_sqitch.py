"""The sqitch runner on an excerpt of a real project, checked against what sqitch itself does.

``tests/fixtures/runners/sqitch-beeeon`` is six changes of BeeeOn's server database
(``sqitch.plan`` at the repository root): names with ``/``, ``%uri``, dependencies, the tag
``@prealpha`` and a change reworked after it. The change ids and script hashes below are
the ones sqitch 1.3.1 wrote in ``sqitch.changes`` when it deployed the fixture
(``sqitch deploy``), and the double rework's are from a plan ``sqitch rework`` wrote; the
live database's rows are written as sqitch's ``log_deploy_change`` writes them
(``lib/App/Sqitch/Role/DBIEngine.pm``), in the registry of its ``pg.sql``.
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
from migdocs.runners.sqitch import Sqitch, parse_plan, script_hash
from runner_kit import FIXTURES, copy_fixture, execute, findings_of, migdocs, migrate

NAME = "sqitch-beeeon"
IDS = [
    "schema-beeeon",
    "table.gateways",
    "table.gateways_status",
    "type.control_stability",
    "table.controls_recent@prealpha",
    "table.controls_recent",
]
#: What sqitch 1.3.1 recorded for each change: change_id, script_hash, change, plan line.
SQITCH = [
    ("ad92d88ecb264edade9c22b61aa4a9c16f4246ef", "85ef7f32f30360654ec03910faa7943c3d17e411"),
    ("25ec0a491c8168cdb207aa76eac8d80845d3177f", "8009e71ae1ede4e7260882c796112931107227eb"),
    ("861298c28f32690dbc8b5413a041046d60f8af3d", "27a8ee4603beffafefd9c9d6628ca40d0cb58bd4"),
    ("f082a3b015461b62ff3cf2affc408058813ae7e1", "c846335f59fc3b7ad74abff0cd18c09b9841f5d2"),
    ("f2ab51e1d3e9f098058e249d6e9c63f2b7eaa78d", "03d78d53d1fdad9b2905f32781261166e6a92a7c"),
    ("107b5c07156e861b65d89ac7f5555e2f8bdde4ed", "0629865edddac9df3a04d511840663a576e40c9a"),
]
CHANGES = [
    "schema-beeeon",
    "table/gateways",
    "table/gateways_status",
    "type/control_stability",
    "table/controls_recent",
    "table/controls_recent",
]
PROJECT = "beeeon-server"


def _layout_caused(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Findings about the files the runner reads (MG1xx) or how it reads them (MG200)."""
    return [f for f in findings if f["code"].startswith("MG1") or f["code"] == "MG200"]


def _deploy(url: str, root: Path) -> None:
    """What ``sqitch deploy`` writes in its registry: the release, the project, then a row
    per change (``log_deploy_change``); migdocs reads only ``changes``."""
    plan = Sqitch(root).plan()
    assert plan is not None
    execute(
        url,
        "INSERT INTO sqitch.releases (version, installer_name, installer_email) "
        "VALUES (%s, %s, %s)",
        params=(1.1, "Deploy Bot", "bot@example.com"),
    )
    execute(
        url,
        "INSERT INTO sqitch.projects (project, uri, creator_name, creator_email) "
        "VALUES (%s, %s, %s, %s)",
        params=(plan.project, plan.uri, "Deploy Bot", "bot@example.com"),
    )
    for change in plan.changes:
        raw = (root / "deploy" / change.path).read_bytes()
        execute(
            url,
            "INSERT INTO sqitch.changes (change_id, script_hash, change, project, note, "
            "committer_name, committer_email, planned_at, planner_name, planner_email, "
            "committed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp())",
            params=(
                change.id,
                script_hash(raw),
                change.name,
                plan.project,
                change.note,
                "Deploy Bot",
                "bot@example.com",
                change.planned_at.strftime("%Y-%m-%d %H:%M:%S +0000"),
                change.planner_name,
                change.planner_email,
            ),
        )


def test_the_registry_names_sqitch() -> None:
    assert runner_class("sqitch") is Sqitch


def test_listing_is_the_plan_in_order_with_its_scripts() -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    listing = project.listing
    assert [m.id for m in listing.migrations] == IDS
    paths = [
        "schema-beeeon",
        "table/gateways",
        "table/gateways_status",
        "type/control_stability",
        "table/controls_recent@prealpha",
        "table/controls_recent",
    ]
    assert [m.file for m in listing.migrations] == [f"deploy/{p}.sql" for p in paths]
    assert [m.rollback for m in listing.migrations] == [f"revert/{p}.sql" for p in paths]
    assert [m.source for m in listing.migrations] == [
        ("sqitch.plan", n) for n in (5, 6, 7, 8, 9, 11)
    ]
    assert [m.date for m in listing.migrations] == [
        dt.date(2017, 7, 9),
        dt.date(2017, 7, 9),
        dt.date(2017, 7, 9),
        dt.date(2017, 9, 26),
        dt.date(2017, 10, 3),
        dt.date(2018, 1, 22),
    ]
    assert listing.migrations[0].title == "beeeon: new scheme"
    assert listing.problems == []
    assert listing.order_source == "the plan sqitch.plan"
    # Not sectioned: the forward and rollback are two files, each read whole.
    assert [(e.forward_part, e.rollback_part) for e in project.entries] == [(None, None)] * 6
    assert project.ledger_keys() == {
        "schema-beeeon": IDS[0],
        "table/gateways": IDS[1],
        "table/gateways_status": IDS[2],
        "type/control_stability": IDS[3],
        "table/controls_recent@prealpha": IDS[4],
        "table/controls_recent": IDS[5],
    }


def test_change_ids_and_script_hashes_are_the_ones_sqitch_recorded() -> None:
    runner = Sqitch(FIXTURES / NAME)
    plan = runner.plan()
    assert plan is not None
    assert (plan.project, plan.uri) == (PROJECT, "https://github.com/BeeeOn/server")
    assert [(c.name, c.id) for c in plan.changes] == [
        (name, ids[0]) for name, ids in zip(CHANGES, SQITCH, strict=True)
    ]
    hashes = [
        runner.checksum((FIXTURES / NAME / m.file).read_bytes())
        for m in runner.listing().migrations
    ]
    assert hashes == [ids[1] for ids in SQITCH]
    assert plan.changes[4].rework_tags == ["prealpha"]
    assert plan.changes[1].requires[0].key_name == "schema-beeeon"


#: A plan `sqitch rework` wrote, a change reworked twice, and what sqitch 1.3.1 recorded.
REWORKED = """\
%syntax-version=1.0.0
%project=rw

a 2026-12-06T18:34:37Z Marge N <m@example.com> # a
@t1 2026-12-06T18:34:38Z Marge N <m@example.com> # t1

b 2026-12-06T18:34:39Z Marge N <m@example.com> # b
@t2 2026-12-06T18:34:39Z Marge N <m@example.com> # t2
a [a@t2] 2026-12-06T18:34:40Z Marge N <m@example.com> # a again
@t3 2026-12-06T18:34:41Z Marge N <m@example.com> # t3
a [a@t3] 2026-12-06T18:34:42Z Marge N <m@example.com> # a third
"""
REWORKED_SCRIPTS = {
    "a@t2.sql": "select 'a1';\n",
    "b.sql": "select 'b';\n",
    "a@t3.sql": "select 'a2';\n",
    "a.sql": "select 'a3';\n",
}
REWORKED_SQITCH = [
    (
        "a@t2",
        "27d276648d7cb7e88d517236f9262ede5a143bdb",
        "60b74c7465411cb7a14dd73dfe79b72bcb83608b",
    ),
    ("b", "14f3f73b8eea520430cdc96eb86589b123b0ec69", "860f8b9debd1ff9ccc69ab90e566aa842df1e8a8"),
    (
        "a@t3",
        "59a44139b4a77d7f2542cf149ce78907c6cf9488",
        "78e8e2620ec78594a786bb3ce3eb4d8aea03af54",
    ),
    ("a", "67a42d62a3e29e694d4c8e38fbfca783528b9211", "494e89d801816cbb4a42e61dd03913cc1c400245"),
]


def test_a_change_reworked_twice_reads_the_files_sqitch_reads(tmp_path: Path) -> None:
    (tmp_path / "sqitch.plan").write_text(REWORKED)
    (tmp_path / "deploy").mkdir()
    for name, text in REWORKED_SCRIPTS.items():
        (tmp_path / "deploy" / name).write_text(text)
    runner = Sqitch(tmp_path)
    listing = runner.listing()
    plan = runner.plan()
    assert plan is not None
    found = [
        (m.id, c.id, script_hash((tmp_path / m.file).read_bytes()))
        for m, c in zip(listing.migrations, plan.changes, strict=True)
    ]
    assert found == REWORKED_SQITCH
    assert [c.rework_tags for c in plan.changes] == [["t2", "t1"], [], ["t3"], []]
    assert [m.rollback for m in listing.migrations] == [None] * 4
    assert listing.problems == []


def test_check_finds_nothing_the_layout_causes(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _layout_caused(findings_of(result)) == []


def test_verify_replays_the_plan_with_its_own_transactions(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    result = migdocs("verify", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert [r["migration"] for r in report["replay"]] == IDS
    assert [(r["forward"], r["rollback"], r["round_trip"]) for r in report["replay"]] == [
        ("ok", "ok", "ok")
    ] * 6
    assert report["replay"][4]["changes"]["added"] == ["table:beeeon.controls_recent"]
    assert report["replay"][5]["changes"]["removed"] == ["table:beeeon.controls_recent"]


def test_audit_reads_sqitchs_registry(tmp_path: Path, pg_database: str) -> None:
    root = copy_fixture(NAME, tmp_path)
    migrate(pg_database, root / "catalog.yaml")
    _deploy(pg_database, root)
    # Another project in the same registry is not this catalog's.
    execute(
        pg_database,
        "INSERT INTO sqitch.projects (project, creator_name, creator_email) "
        "VALUES ('other', 'x', 'x@example.com')",
        "INSERT INTO sqitch.changes (change_id, script_hash, change, project, committer_name, "
        "committer_email, planned_at, planner_name, planner_email) VALUES ('0000', 'aaaa', "
        "'elsewhere', 'other', 'x', 'x@example.com', now(), 'x', 'x@example.com')",
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = findings_of(result)
    assert not [f for f in findings if f["code"] in ("MG505", "MG506")], findings
    assert not [f for f in findings if f["code"] == "MG502"], findings  # the registry is sqitch's

    # A deploy script edited after it ran; a row whose change the plan no longer has.
    execute(
        pg_database,
        f"UPDATE sqitch.changes SET script_hash = '{'0' * 40}' WHERE change = 'table/gateways'",
        f"UPDATE sqitch.changes SET change_id = '{'f' * 40}' WHERE change_id = '{SQITCH[2][0]}'",
    )
    result = migdocs("audit", "--database-url", pg_database, "--format", "json", cwd=root)
    found = sorted(
        (f["code"], f["migration"] or "", f["message"])
        for f in findings_of(result)
        if f["code"] in ("MG505", "MG506")
    )
    assert found == [
        (
            "MG505",
            IDS[1],
            f"the file changed since it was applied: the ledger recorded checksum {'0' * 40}, "
            f"the file's is {SQITCH[1][1]} now",
        ),
        (
            "MG506",
            "",
            "the ledger lists change table/gateways_status (change_id ffffffffffff…, which no "
            "change of sqitch.plan has: its plan line, or one before it, changed since the "
            "deploy), which matches no migration of the catalog",
        ),
        (
            "MG506",
            IDS[2],
            "the ledger does not list this migration, though later ones are applied",
        ),
    ]


def test_a_registry_from_before_script_hashes_checks_no_hash(pg_database: str) -> None:
    project = Project.load(FIXTURES / NAME / "catalog.yaml")
    runner = project.layout
    assert isinstance(runner, Sqitch)
    table = sql.Identifier("sqitch", "changes")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(
            sql.SQL(Sqitch.ledger_ddl).format(table=table, schema=sql.Identifier("sqitch"))
        )
        conn.execute(
            "INSERT INTO sqitch.projects (project, creator_name, creator_email) "
            "VALUES (%s, 'x', 'x@example.com')",
            (PROJECT,),
        )
        for (change_id, _), name, recorded in zip(
            SQITCH[:3], CHANGES, [SQITCH[0][0], None, "1" * 40], strict=False
        ):
            conn.execute(
                "INSERT INTO sqitch.changes (change_id, script_hash, change, project, "
                "committer_name, committer_email, planned_at, planner_name, planner_email) "
                "VALUES (%s, %s, %s, %s, 'x', 'x@example.com', now(), 'x', 'x@example.com')",
                (change_id, recorded, name, PROJECT),
            )
        rows = runner.read_ledger(conn, table, project)
    # Registry 1.0 copied change_id into script_hash; a NULL hash is no hash either.
    assert [(r.migration, r.recorded, r.expected) for r in rows] == [
        (IDS[0], None, SQITCH[0][1]),
        (IDS[1], None, SQITCH[1][1]),
        (IDS[2], "1" * 40, SQITCH[2][1]),
    ]


def _plan_lines(root: Path) -> list[str]:
    return (root / "sqitch.plan").read_text().splitlines()


@pytest.mark.parametrize(
    ("edit", "code", "line", "message"),
    [
        (
            lambda lines: [*lines[:6], "table/odd [schema-beeeon] Jan <j@example.com>", *lines[6:]],
            "MG102",
            7,
            "missing timestamp",
        ),
        (
            lambda lines: [*lines[:6], "odd 2017-07-09T17:28:13Z", *lines[6:]],
            "MG102",
            7,
            "missing planner name and email",
        ),
        (
            lambda lines: [*lines[:6], lines[5], *lines[6:]],
            "MG109",
            7,
            'change "table/gateways" duplicates earlier declaration on line 6',
        ),
        (
            lambda lines: [*lines[:5], lines[5].replace("[schema-beeeon]", "[ghost]"), *lines[6:]],
            "MG102",
            6,
            'change "table/gateways" requires "ghost", which the plan does not name before it',
        ),
        (
            lambda lines: [*lines[:4], "@v0 2017-07-09T17:28:13Z Jan <j@example.com>", *lines[4:]],
            "MG102",
            5,
            'tag "v0" declared without a preceding change',
        ),
        (
            lambda lines: [line for line in lines if line],
            "MG102",
            4,
            "a blank line must come between pragmas and changes",
        ),
        (
            lambda lines: [line for line in lines if not line.startswith("%project")],
            "MG102",
            1,
            "there is no `%project` pragma",
        ),
        (
            lambda lines: [
                *lines[:6],
                "-odd; 2017-07-09T17:28:13Z Jan <j@example.com>",
                *lines[6:],
            ],
            "MG102",
            7,
            "invalid name",
        ),
    ],
)
def test_plan_lines_sqitch_refuses_are_findings_at_their_line(
    tmp_path: Path, edit: Any, code: str, line: int, message: str
) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / "sqitch.plan").write_text("\n".join(edit(_plan_lines(root))) + "\n")
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    found = [f for f in _layout_caused(findings_of(result)) if f["file"] == "sqitch.plan"]
    assert [(f["code"], f["line"]) for f in found] == [(code, line)], found
    assert message in found[0]["message"]


def test_scripts_the_plan_does_not_name_and_changes_without_scripts(tmp_path: Path) -> None:
    root = copy_fixture(NAME, tmp_path)
    (root / "deploy" / "table" / "gateways_status.sql").unlink()
    (root / "deploy" / "table" / "leftover.sql").write_text("create table beeeon.leftover ();\n")
    (root / "revert" / "table" / "leftover.sql").write_text("drop table beeeon.leftover;\n")
    (root / "verify" / "table" / "leftover.sql").write_text("select 1;\n")
    result = migdocs("check", "--format", "json", cwd=root)
    assert result.returncode == 1, result.stdout + result.stderr
    found = sorted(
        (f["code"], f["file"], f["line"] or 0, f["message"])
        for f in _layout_caused(findings_of(result))
    )
    assert found == [
        (
            "MG102",
            "catalog.yaml",
            35,
            "migration file deploy/table/gateways_status.sql does not exist",
        ),
        (
            "MG102",
            "sqitch.plan",
            7,
            'the plan names change "table/gateways_status", but '
            "deploy/table/gateways_status.sql does not exist: sqitch deploy stops there",
        ),
        (
            "MG103",
            "deploy/table/leftover.sql",
            0,
            "sqitch ignores it: no change of sqitch.plan names it",
        ),
        (
            "MG106",
            "revert/table/leftover.sql",
            0,
            "no change of sqitch.plan has this revert script: sqitch never runs it",
        ),
    ]


def test_a_folder_without_a_plan(tmp_path: Path) -> None:
    listing = Sqitch(tmp_path).listing()
    assert listing.migrations == []
    assert [(p.code, p.file) for p in listing.problems] == [("MG102", "sqitch.plan")]
    assert Sqitch.evidence(tmp_path) is None


def test_notes_uris_and_dependencies_are_read_as_sqitch_reads_them() -> None:
    plan = parse_plan(
        "%syntax-version=1.0.0\n%project=flipr\n%uri=HTTPS://GitHub.com:443\n\n"
        "appschema 2013-12-30T23:19:39Z Marge <m@example.com> #  Add schema.\\nTwo lines  \n"
        "users [appschema !ghost other:thing] 2013-12-31T00:00:00Z Marge N. <m@x.org>\n"
    )
    assert plan.problems == []
    first, second = plan.changes
    assert first.note == "Add schema.\nTwo lines"
    assert second.parent is first
    assert [d.key_name for d in second.requires] == ["appschema", "thing"]
    assert [d.key_name for d in second.conflicts] == ["ghost"]
    assert (second.planner_name, second.planner_email) == ("Marge N.", "m@x.org")


def test_evidence_is_the_plan() -> None:
    found = Sqitch.evidence(FIXTURES / NAME)
    assert found is not None
    assert (found.runner, found.score, found.migrations) == ("sqitch", 95, 6)
