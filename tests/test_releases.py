"""Releases: the catalog's optional `release:` and the site's page per release.

The history is the repository's example project (PromptSculptor, carried over from its
hand-kept MIGRATION_HISTORY.md), tagged as its team would have shipped it: the three
migrations of 2025-08-30 as release 1.0 and the session storage of 2025-08-31 as 1.1.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
from mkdocs.config import load_config
from mkdocs.structure.files import Files

from migdocs.catalog.loader import load_catalog
from migdocs.catalog.models import json_schema
from migdocs.errors import CatalogError
from migdocs.objects import ObjectKind, parse_declared
from migdocs.site.fragments import Badge, Link, Literal, Table, Text
from migdocs.site.releases import PAGE_ROWS as RELEASE_ROWS
from migdocs.site.releases import highest_risk, net_changes
from runner_kit import SITE_BUILD, environment, migdocs
from site_kit import copy_example

ROOT = Path(__file__).resolve().parent.parent
IDS = (
    "2025-08-30_initial_schema",
    "2025-08-30_add_username_field",
    "2025-08-30_add_favorites_system",
    "2025-08-31_add_session_storage_indexes",
)
SHIPPED = {IDS[0]: "1.0", IDS[1]: "1.0", IDS[2]: "1.0", IDS[3]: "1.1"}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return migdocs(*args, cwd=cwd, env=environment(**SITE_BUILD))


def tag(root: Path, releases: dict[str, str], raw: bool = False) -> None:
    """Writes ``release:`` under each named entry's `date` (quoted unless ``raw``)."""
    path = root / "catalog.yaml"
    text = path.read_text()
    for migration, release in releases.items():
        value = release if raw else json.dumps(release)
        text, count = re.subn(
            rf"(  - id: {re.escape(migration)}\n    date: \S+\n)",
            lambda match, value=value: f"{match.group(1)}    release: {value}\n",
            text,
        )
        assert count == 1, migration
    path.write_text(text)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


# -- the catalog ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ('"2.10"', "2.10"),
        ("v2.3", "v2.3"),
        ("'1.0'", "1.0"),
        ("2024-06 spring launch", "2024-06 spring launch"),
        ("off", "off"),  # YAML 1.2: a string
    ],
)
def test_a_release_is_kept_as_written(example: Path, written: str, kept: str) -> None:
    tag(example, {IDS[0]: written}, raw=True)
    loaded = load_catalog(example / "catalog.yaml")
    assert loaded.catalog.migrations[0].release == kept
    assert loaded.catalog.migrations[1].release is None


@pytest.mark.parametrize(
    ("written", "message"),
    [
        # YAML reads these as numbers: 2.10 would be 2.1, a name nobody wrote.
        ("2.10", "YAML reads this release as the number 2.1, not as written"),
        ("3", "YAML reads this release as the number 3,"),
        ("1e3", "YAML reads this release as the number 1000.0,"),
        ("true", "expected a string, got bool True"),
        ('""', "must not be empty"),
        ('"v2/hotfix"', "'v2/hotfix' is not a release name: no slash"),
        ('" v2"', "' v2' is not a release name"),
        ("[v2]", "expected a string, got a list"),
    ],
)
def test_a_bad_release_names_its_file_and_line(example: Path, written: str, message: str) -> None:
    tag(example, {IDS[1]: written}, raw=True)
    line = (example / "catalog.yaml").read_text().splitlines().index(f"    release: {written}") + 1
    with pytest.raises(CatalogError) as caught:
        load_catalog(example / "catalog.yaml", "catalog.yaml")
    shown = "\n".join(caught.value.problems)
    assert f"catalog.yaml:{line}:" in shown
    assert "migrations[1].release: " in shown
    assert message in shown


def test_check_refuses_a_release_yaml_reads_as_a_number(example: Path) -> None:
    tag(example, {IDS[3]: "2.10"}, raw=True)
    before = (example / "catalog.yaml").read_bytes()
    result = run(example, "check")
    assert result.returncode == 2, result.stdout + result.stderr
    line = before.decode().splitlines().index("    release: 2.10") + 1
    assert f"catalog.yaml:{line}:5: migrations[3].release: YAML reads" in result.stderr
    assert 'quote it, as in `release: "2.10"`' in result.stderr
    assert "Traceback" not in result.stderr
    assert (example / "catalog.yaml").read_bytes() == before


def test_the_json_schema_documents_release(example: Path) -> None:
    result = run(example, "schema")
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema == json_schema()
    release = schema["$defs"]["Migration"]["properties"]["release"]
    assert "the site gives each release a page" in release["description"]
    assert release["anyOf"][0]["type"] == "string"
    catalog = {
        "version": 1,
        "project": {"name": "p"},
        "migrations": [
            {"id": "a", "date": "2025-01-01", "title": "t", "purpose": "p", "release": "v1"}
        ],
    }
    jsonschema.validate(catalog, schema)
    for bad in (2.1, "", "v2/hotfix", "v2\nfix", " v2"):
        catalog["migrations"][0]["release"] = bad  # type: ignore[index]
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(catalog, schema)


# -- the schema difference and the risk ----------------------------------------------------


def _refs(*declared: str) -> list:  # type: ignore[type-arg]
    kinds = {
        "table": ObjectKind.TABLE,
        "column": ObjectKind.COLUMN,
        "index": ObjectKind.INDEX,
        "constraint": ObjectKind.CONSTRAINT,
    }
    return [parse_declared(kinds[kind], name) for kind, name in (d.split() for d in declared)]


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        # made, then dropped again within the release: neither
        pytest.param([(["table users"], []), ([], ["table users"])], [], id="created-then-dropped"),
        # a constraint replaced by an index, as 2025-08-30_add_favorites_system does
        pytest.param(
            [
                (["table users", "constraint users.users_email_unique"], []),
                (["index email_unique_active_idx"], ["constraint users.users_email_unique"]),
            ],
            [("creates", "users"), ("creates", "email_unique_active_idx")],
            id="constraint-replaced",
        ),
        # dropped and made again: remade
        pytest.param(
            [([], ["index idx_a"]), (["index idx_a"], [])],
            [("remakes", "idx_a")],
            id="dropped-then-made",
        ),
        # a new table's own columns come with it; an existing table's new column is listed
        pytest.param(
            [(["table prompts", "column prompts.title", "column users.deleted_at"], [])],
            [("creates", "prompts"), ("creates", "users.deleted_at")],
            id="own-columns",
        ),
        # dropping a table takes the columns the release added to it
        pytest.param(
            [(["column sessions.data"], []), ([], ["table sessions"])],
            [("drops", "sessions")],
            id="table-drop-covers",
        ),
    ],
)
def test_the_schema_difference_is_net(
    steps: list[tuple[list[str], list[str]]], expected: list[tuple[str, str]]
) -> None:
    declared = [
        (position, _refs(*creates), _refs(*drops))
        for position, (creates, drops) in enumerate(steps)
    ]
    got = [(change.verb, change.ref.declared) for change in net_changes(declared)]
    assert got == expected


@pytest.mark.parametrize(
    ("states", "highest"),
    [
        (["low", "critical", "medium"], "critical"),
        (["low", "no rollback", "critical"], "no rollback"),
        (["?", "low"], "low"),
        (["?"], "?"),
    ],
)
def test_the_highest_rollback_risk(states: list[str], highest: str) -> None:
    assert highest_risk(states) == highest


# -- the site -------------------------------------------------------------------------------


def _generated(root: Path) -> tuple[dict[str, str], dict[str, object]]:
    config = load_config(str(root / "mkdocs.yml"))
    config = config.plugins.on_config(config)
    files = config.plugins.on_files(Files([]), config=config)
    pages = {f.src_uri: f.content_string for f in files if f.src_uri.endswith(".md")}
    return pages, dict(config.plugins["migdocs"].fragments.parts)


def _tables(page: str, parts: dict[str, object]) -> list[Table]:
    found = [parts[key] for key in re.findall(r"<!-- migdocs:html (\S+) -->", page)]
    return [part for part in found if isinstance(part, Table)]


def _title_link(title: str, migration: str) -> Link:
    return Link(title, f"../migrations/{migration}.md")


def test_a_page_per_release(example: Path) -> None:
    tag(example, SHIPPED)
    pages, parts = _generated(example)
    assert sorted(uri for uri in pages if "release" in uri) == [
        "history/releases.md",
        "history/releases/1.0.md",
        "history/releases/1.1.md",
    ]
    page = pages["history/releases/1.0.md"]
    assert page.startswith("# Release 1.0\n")
    assert "3 migrations, on 2025-08-30." in page
    assert '!!! danger "Highest rollback risk: critical"' in page
    risks, migrations, difference, order = _tables(page, parts)
    assert risks.rows == [(Text("critical"), Text("1")), (Text("high"), Text("2"))]
    assert [row[1] for row in migrations.rows] == [
        _title_link("Initial schema", IDS[0]),
        _title_link("Soft delete for user accounts", IDS[1]),
        _title_link("Re-registration after account deletion", IDS[2]),
    ]
    # Net: the unique constraints the first migration makes the third replaces with
    # partial indexes, and the new users table brings its soft-delete columns along.
    objects = [(row[0], row[1][1].label) for row in difference.rows]  # type: ignore[index]
    assert objects == [
        (Text("creates"), Literal(name))
        for name in (
            "password_reset_tokens",
            "prompts",
            "templates",
            "user_api_keys",
            "users",
            "email_active_idx",
            "email_unique_active_idx",
            "idx_users_deleted_at",
            "username_unique_active_idx",
        )
    ]
    users = difference.rows[4]
    assert users[1] == (
        Text("table "),
        Link(Literal("users"), "../schema/tables/public.users.md"),
    )
    assert users[2] == _title_link("Initial schema", IDS[0])
    assert "users_email_unique" not in repr(difference)
    assert "deleted_at" not in repr([row[1] for row in difference.rows if "idx" not in repr(row)])
    # The rollback order: newest first.
    assert [row[0] for row in order.rows] == [Text("1"), Text("2"), Text("3")]
    assert [row[1] for row in order.rows] == [
        _title_link("Re-registration after account deletion", IDS[2]),
        _title_link("Soft delete for user accounts", IDS[1]),
        _title_link("Initial schema", IDS[0]),
    ]
    assert order.rows[2][3] == Literal("2025-08-30_rollback_initial_schema.sql")
    assert order.rows[2][4] == Text("critical")
    assert "Rolling back stops" not in page
    assert "not contiguous" not in page
    # The index: newest first.
    index = pages["history/releases.md"]
    (listed,) = _tables(index, parts)
    assert [row[0] for row in listed.rows] == [
        Link(Text("1.1"), "releases/1.1.md"),
        Link(Text("1.0"), "releases/1.0.md"),
    ]
    assert listed.rows[0][1:] == (Text("1"), Text("2025-08-31"), Text("high"))


def test_a_release_that_is_not_contiguous_and_cannot_be_rolled_back_whole(
    example: Path,
) -> None:
    # 1.0.1 a hotfix shipped after 1.1's first migration; the soft delete declared
    # without a rollback script.
    tag(example, {IDS[0]: "1.0", IDS[1]: "1.1", IDS[2]: "1.0.1", IDS[3]: "1.1"})
    path = example / "catalog.yaml"
    text = path.read_text()
    start = text.index("    rollback:\n      file: 2025-08-30_rollback_username_field.sql")
    end = text.index("\n\n", start)
    path.write_text(
        text[:start] + '    rollback: {none: "the soft-delete columns stay"}' + text[end:]
    )
    pages, parts = _generated(example)
    page = pages["history/releases/1.1.md"]
    assert "2 migrations, from 2025-08-30 to 2025-08-31." in page
    assert '!!! failure "Highest rollback risk: no rollback"' in page
    assert "1 migration of\nother releases ran between its own" in page
    assert '!!! failure "Rolling back stops at step 3"' in page
    assert f"(../migrations/{IDS[1]}.md) has no rollback" in page
    risks, migrations, _difference, order = _tables(page, parts)
    assert risks.rows[0] == (
        Badge("migdocs-proof migdocs-proof--no-rollback", "⊘ no rollback"),
        Text("1"),
    )
    assert len(migrations.rows) == 2
    assert [(row[0], row[2]) for row in order.rows] == [
        (Text("1"), Text("this release")),
        (Text("2"), Text("1.0.1")),
        (Text("3"), Text("this release")),
    ]
    assert order.rows[2][3] == Badge("migdocs-proof migdocs-proof--no-rollback", "⊘ no rollback")
    # A release's place is its last migration's: 1.1, then the hotfix, then 1.0.
    (listed,) = _tables(pages["history/releases.md"], parts)
    assert [row[0].label for row in listed.rows] == [Text("1.1"), Text("1.0.1"), Text("1.0")]  # type: ignore[union-attr]


def test_no_release_no_release_pages(example: Path) -> None:
    pages, _ = _generated(example)
    assert not [uri for uri in pages if "release" in uri]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_the_navigation_lists_releases_newest_first_and_builds_are_identical(
    example: Path,
) -> None:
    tag(example, SHIPPED)
    for name in ("one", "two"):
        result = run(example, "build", "--strict", "--site-dir", str(example / name))
        assert result.returncode == 0, result.stderr
    assert _digest(example / "one") == _digest(example / "two")
    out = example / "one/history"
    page = (out / "releases/1.0/index.html").read_text()
    nav = page[page.index('class="md-nav md-nav--primary"') :]
    nav = nav[: nav.index('class="md-sidebar md-sidebar--secondary"')]
    names = re.findall(r">\s*Release (\S+)\s*<", nav)
    assert list(dict.fromkeys(names)) == ["1.1", "1.0"]
    assert re.search(r'href="\.\./1\.1/"', nav)
    assert "Release 1.0" in page
    assert "Initial schema" in page
    assert "Rollback order" in page
    # Every link of the release pages resolved (a strict build checks them) to real pages.
    assert 'href="../../schema/tables/public.users/"' in page
    assert (out / "releases/index.html").is_file()
    # Each migration's page says which release shipped it, linked to that release's page.
    migration = (out / f"migrations/{IDS[0]}/index.html").read_text()
    assert re.search(r'Released in <a href="\.\./\.\./releases/1\.0/">1\.0</a>\.', migration)


def test_every_release_name_gets_its_own_page_and_shows_as_written(example: Path) -> None:
    # `index` and `README` are what MkDocs takes for a folder's index page; an `_` keeps
    # each release's page its own. Markup in a name is shown, never run.
    hostile = "<img src=x onerror=alert(1)>"
    tag(example, {IDS[0]: "index", IDS[1]: "README", IDS[2]: "_index", IDS[3]: hostile})
    result = run(example, "build", "--strict", "--site-dir", str(example / "out"))
    assert result.returncode == 0, result.stderr
    out = example / "out/history/releases"
    assert "<h1" in (out / "index.html").read_text()
    for stem, name in (("_index", "index"), ("_README", "README"), ("__index", "_index")):
        page = html.unescape((out / stem / "index.html").read_text())
        assert f">Release {name}<" in page
    pages = [path.read_text() for path in sorted(example.glob("out/**/*.html"))]
    assert not [page for page in pages if "<img src=x" in page]
    shown = (out / "index.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown
    migration = (example / f"out/history/migrations/{IDS[3]}/index.html").read_text()
    assert "Released in <a" in migration
    assert "&#60;img src&#61;x onerror&#61;alert&#40;1&#41;&#62;</a>" in migration


def test_a_long_release_lists_its_first_rows_and_says_how_many_more(tmp_path: Path) -> None:
    # One release of PAGE_ROWS + 5 one-table migrations: no table of its page grows past
    # PAGE_ROWS rows (the page stays under the site's 150 kB, whatever the release's length).
    (tmp_path / "migrations" / "rollbacks").mkdir(parents=True)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n")
    config = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n")[0]
    (tmp_path / "mkdocs.yml").write_text(config + "\nnav:\n  - index.md\n")
    lines = ["version: 1", "project: {name: Long}", "migrations:"]
    count = RELEASE_ROWS + 5
    for number in range(count):
        ident = f"2025-01-01_step_{number:04d}"
        (tmp_path / "migrations" / f"{ident}.sql").write_text(f"CREATE TABLE t{number} (id int);\n")
        rollback = f"2025-01-01_rollback_step_{number:04d}.sql"
        (tmp_path / "migrations" / "rollbacks" / rollback).write_text(f"DROP TABLE t{number};\n")
        lines += [
            f"  - {{id: {ident}, date: 2025-01-01, title: Step {number}, purpose: Step {number},",
            f"     release: v1, creates: {{tables: [t{number}]}},",
            f"     rollback: {{file: {rollback}, risk: critical, impact: [data-loss],",
            "                summary: drops it}}",
        ]
    (tmp_path / "catalog.yaml").write_text("\n".join(lines) + "\n")
    pages, parts = _generated(tmp_path)
    page = pages["history/releases/v1.md"]
    assert f"{count} migrations, on 2025-01-01." in page
    _risks, migrations, difference, order = _tables(page, parts)
    assert len(migrations.rows) == len(difference.rows) == len(order.rows) == RELEASE_ROWS
    assert page.count("… and 5 more") == 3
    # The rollback order starts from the newest.
    assert order.rows[0][1] == _title_link(f"Step {count - 1}", f"2025-01-01_step_{count - 1:04d}")
