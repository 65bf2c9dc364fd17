"""The MkDocs plugin and the site: hooks, a strict build of the example, escaping, identical
builds, a failed build that keeps the previous site, and a real browser on the result."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import http.server
import json
import re
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import markdown
import pytest
from hypothesis import example as case
from hypothesis import given, settings
from hypothesis import strategies as st
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import Abort
from mkdocs.structure.files import Files

from migdocs.site import extension, plugin
from migdocs.site.escape import md
from migdocs.site.extension import MigdocsExtension
from migdocs.site.fragments import (
    TABLE,
    Badge,
    Code,
    Fragments,
    Link,
    Literal,
    Table,
    Text,
    html_code,
    html_table,
    html_text,
    searchable,
)
from migdocs.site.state import PAGE_ROWS
from runner_kit import SITE_BUILD, environment, migdocs, mkdocs
from site_kit import copy_example

ROOT = Path(__file__).resolve().parent.parent


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return migdocs(*args, cwd=cwd, env=environment(**SITE_BUILD))


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def test_plugin_hooks_generate_the_pages(example: Path) -> None:
    config = load_config(str(example / "mkdocs.yml"))
    config = config.plugins.on_config(config)
    files = config.plugins.on_files(Files([]), config=config)
    uris = sorted(file.src_uri for file in files)
    assert "history/index.md" in uris
    assert "history/risk-matrix.md" in uris
    assert "history/migrations/2025-08-30_initial_schema.md" in uris
    page = files.get_file_from_path("history/migrations/2025-08-31_add_session_storage_indexes.md")
    assert page is not None
    text = page.content_string
    assert text.startswith("# Session storage and performance indexes\n")
    assert '!!! danger "Risk: high · impact: data-loss, performance"' in text
    assert '=== "Forward"' in text
    assert '=== "Rollback"' in text
    # Plain tables and SQL are fragments the plugin's Markdown extension puts in place.
    parts = config.plugins["migdocs"].fragments.parts
    shown = [parts[key] for key in re.findall(r"<!-- migdocs:html (\S+) -->", text)]
    # Each object links to its table's page in the schema reference.
    index = Link(Literal("user_sessions_expire_idx"), "../schema/tables/public.user_sessions.md")
    row = (Text("creates"), (Text("index "), index), Text("✔ seen"), Text("—"))
    assert any(isinstance(part, Table) and row in part.rows for part in shown)
    assert any(isinstance(part, Code) and "CREATE INDEX" in part.source for part in shown)


def _page(example: Path, uri: str, report: dict[str, object] | None = None) -> tuple[str, str]:
    """A generated page's Markdown, and the HTML of its facts table."""
    config = load_config(str(example / "mkdocs.yml"))
    if report is not None:
        (example / "report.json").write_text(json.dumps(report))
        config.plugins["migdocs"].config.report = "report.json"
    config = config.plugins.on_config(config)
    files = config.plugins.on_files(Files([]), config=config)
    file = files.get_file_from_path(uri)
    assert file is not None
    text = file.content_string
    parts = config.plugins["migdocs"].fragments.parts
    facts = parts[re.findall(r"<!-- migdocs:html (\S+) -->", text)[0]]
    assert isinstance(facts, str)
    return text, facts


def test_a_migration_page_shows_replay_and_findings_only_when_there_are_some(
    example: Path,
) -> None:
    uri = "history/migrations/2025-08-31_add_session_storage_indexes.md"
    text, facts = _page(example, uri)
    assert "<td>replayed</td>\n<td>not in this site's report</td>" in facts
    assert "<td>reviewed</td>\n<td>never</td>" in facts
    assert "## On replay" not in text
    assert "## Findings" in text  # MG602: never reviewed
    replay = {
        "migration": "2025-08-31_add_session_storage_indexes",
        "forward": "ok",
        "rollback": "ok",
        "round_trip": "ok",
        "ms": 12,
        "changes": {"added": ["table:public.user_sessions"], "removed": [], "changed": []},
    }
    text, facts = _page(example, uri, {"findings": [], "replay": [replay]})
    assert "<td>replayed</td>\n<td>forward ok, rollback ok, round trip ok</td>" in facts
    assert "## On replay" in text
    assert "**Added**: `table:public.user_sessions`" in text
    assert "## Findings" not in text


def _site_markdown(config: MkDocsConfig) -> markdown.Markdown:
    """A Markdown converter like the one MkDocs makes for each page."""
    return markdown.Markdown(
        extensions=config.markdown_extensions, extension_configs=config.mdx_configs
    )


def _configured(example: Path, highlight: dict[str, object] | None = None) -> MkDocsConfig:
    config = load_config(str(example / "mkdocs.yml"))
    if highlight is not None:
        config.mdx_configs["pymdownx.highlight"] = highlight
    return config.plugins.on_config(config)


SQL = [
    "CREATE TABLE t (\n\tid int PRIMARY KEY, -- a tab\n    note text DEFAULT '<b>&amp;'\n);",
    "-- CRLF and a line of spaces\r\nSELECT 1;\r\n   \r\nSELECT 2;",
    "\n\nUPDATE t SET a = 1 WHERE b < 2;  \n\n",
]
HIGHLIGHT = {
    "plain": None,
    "line numbers": {"linenums": True},
    "anchors": {"anchor_linenums": True, "line_spans": "__span"},
    "no pygments": {"use_pygments": False},
    "inline styles": {"noclasses": True, "pygments_style": "monokai"},
}


@pytest.mark.parametrize("sql", SQL)
@pytest.mark.parametrize("settings", list(HIGHLIGHT), ids=list(HIGHLIGHT))
def test_sql_fragments_are_what_superfences_makes(example: Path, sql: str, settings: str) -> None:
    config = _configured(example, HIGHLIGHT[settings])
    fragments = config.plugins["migdocs"].fragments
    fenced = jinja2.Template("{{ sql | indent(4, true) }}").render(sql=sql)
    tabs = '=== "Forward"\n\n    {}\n\n=== "Rollback"\n\n    {}\n'
    expected = _site_markdown(config).convert(
        tabs.format(f"```sql\n{fenced}\n    ```", "```sql\n    SELECT 3;\n    ```")
    )
    marker = fragments.marker(Code("sql", sql))
    other = fragments.marker(Code("sql", "SELECT 3;"))
    assert _site_markdown(config).convert(tabs.format(marker, other)) == expected
    assert "migdocs:html" not in expected


_TEXT = st.text(alphabet="a1:;(\u00e9", max_size=3)
_PART = st.recursive(
    st.one_of(
        _TEXT,
        st.builds(Text, _TEXT),
        st.builds(Literal, _TEXT),
        st.builds(Badge, _TEXT, _TEXT),
    ),
    lambda inner: st.builds(Link, inner, _TEXT),
    max_leaves=3,
)
_CELL = st.one_of(_PART, st.tuples(_PART, _PART), st.tuples(_PART, _PART, _PART))
_FRAGMENT = st.one_of(
    _TEXT,
    st.builds(Code, _TEXT, _TEXT),
    st.builds(
        Table,
        st.lists(_TEXT, max_size=3).map(tuple),
        st.lists(st.lists(_CELL, max_size=3).map(tuple), max_size=3),
    ),
)


@given(_FRAGMENT, _FRAGMENT)
@case(Code("sq", "l"), Code("s", "ql"))
@case(Table(("a",), [("ab", "c")]), Table(("a",), [("a", "bc")]))
@case(Table(("ab", "c"), []), Table(("a", "bc"), []))
@case(Table(("a",), [(Badge("ab", "c"),)]), Table(("a",), [(Badge("a", "bc"),)]))
@case(Table(("a",), [(Link(Text("a"), "b"),)]), Table(("a",), [(Link(Text("ab"), ""),)]))
@case(Table(("a",), [(("a", "b"),)]), Table(("a",), [("a", "b")]))
@settings(max_examples=300)
def test_fragments_that_differ_have_markers_that_differ(one: object, two: object) -> None:
    fragments = Fragments()
    first, second = fragments.marker(one), fragments.marker(two)  # type: ignore[arg-type]
    assert (first == second) == (one == two and type(one) is type(two))
    assert fragments.marker(one) == first  # type: ignore[arg-type]  # and stay the same


def test_one_formatter_highlights_a_whole_build(example: Path) -> None:
    config = _configured(example)
    extension = next(e for e in config.markdown_extensions if isinstance(e, MigdocsExtension))
    fragments = config.plugins["migdocs"].fragments
    for sql in SQL:
        page = fragments.marker(Code("sql", sql))
        assert '<div class="highlight">' in _site_markdown(config).convert(page)
    assert len(extension.highlighters) == 1


def test_without_superfences_sql_is_a_fenced_block_again(example: Path) -> None:
    config = load_config(str(example / "mkdocs.yml"))
    config.markdown_extensions = ["fenced_code", "codehilite"]
    config = config.plugins.on_config(config)
    fragments = config.plugins["migdocs"].fragments
    marker = fragments.marker(Code("sql", SQL[0]))
    expected = _site_markdown(config).convert(f"```sql\n{SQL[0]}\n```")
    assert _site_markdown(config).convert(marker) == expected
    assert "codehilite" in expected


def test_table_fragments_are_what_markdown_makes() -> None:
    cells = [
        ("creates", "index", "user_sessions_expire_idx", "✔ seen"),
        ("drops", "a < b", "x&y", "—"),
    ]
    markdown_table = "| | object | in the SQL |\n|---|---|---|\n" + "".join(
        f"| {verb} | {kind.replace('<', '&lt;')} `{name}` | {mark} |\n"
        for verb, kind, name, mark in cells
    )
    ours = html_table(
        ["", "object", "in the SQL"],
        [[html_text(v), f"{html_text(k)} {html_code(n)}", html_text(m)] for v, k, n, m in cells],
    )
    assert ours == markdown.markdown(markdown_table, extensions=["tables"])


def test_table_fragments_are_the_tables_markdown_makes(example: Path) -> None:
    config = _configured(example)
    fragments = config.plugins["migdocs"].fragments
    title = "Add `users.deleted_at` & *soft* delete"
    expected = _site_markdown(config).convert(
        "| date | migration | file |\n|---|---|---|\n"
        f"| 2025-08-30 | [{md(title)}](migrations/a.md) | `a_b.sql` |\n"
        "| 2025-08-31 | [b](migrations/b.md) | `<b>` |\n"
    )
    table = Table(
        ("date", "migration", "file"),
        [
            (Text("2025-08-30"), Link(md(title), "migrations/a.md"), Literal("a_b.sql")),
            (Text("2025-08-31"), Link(Text("b"), "migrations/b.md"), Literal("<b>")),
        ],
    )
    assert _site_markdown(config).convert(fragments.marker(table)) == expected
    assert "<em>soft</em>" in expected  # the catalog's Markdown is rendered
    # Text is shown as it is: what would be Markdown stays text.
    plain = Table(("a",), [(Text("*not* `code` <b>"),)])
    assert "<td>*not* `code` &lt;b&gt;</td>" in _site_markdown(config).convert(
        fragments.marker(plain)
    )


def test_strict_build_of_the_example(example: Path) -> None:
    result = run(example, "build", "--strict", "--site-dir", str(example / "out"))
    assert result.returncode == 0, result.stderr
    out = example / "out"
    page = (out / "history/migrations/2025-08-30_initial_schema/index.html").read_text()
    assert "Initial schema" in page
    assert "tabbed-set" in page  # forward and rollback SQL in content tabs
    assert 'class="admonition danger"' in page
    schema = (out / "history/schema/index.html").read_text()
    assert 'class="mermaid"' in schema
    assert "erDiagram" in schema
    # The marker on a hand-written page became the generated risk matrix.
    emergency = (out / "operations/emergency-rollback/index.html").read_text()
    assert "least honest risk" in emergency
    assert "migdocs:risk-matrix" not in emergency
    # The navigation groups migrations by year and month.
    assert re.search(r">\s*2025\s*<", page)
    assert re.search(r">\s*August\s*<", page)


def _build_in_process(root: Path, site: Path) -> dict[str, str]:
    from mkdocs.commands.build import build

    config = load_config(str(root / "mkdocs.yml"), site_dir=str(site))
    build(config)
    return _digest(site)


def test_search_reads_the_fragments_without_their_markup(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search index gets highlighted SQL and plain tables without their spans and table
    tags, and the pages get their markup back: both as if search had read it all."""
    lighter = _build_in_process(example, example / "lighter")
    for module in (extension, plugin):
        monkeypatch.setattr(module, "searchable", lambda html: html)
    whole = _build_in_process(example, example / "whole")
    assert lighter == whole
    index = (example / "lighter/search/search_index.json").read_text()
    assert "CREATE TABLE users" in index  # the SQL is searchable
    assert "Session storage and performance indexes critical" not in index  # a table's text…
    assert "Session storage and performance indexes high" in index  # …as search reads it


TABLE_HTML = (
    "<table>\n<thead>\n<tr>\n<th></th>\n<th>object</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n"
    "<td>creates</td>\n<td>table <code>users</code></td>\n</tr>\n<tr>\n<td></td>\n"
    '<td><a href="../a/">Step <em>1</em></a></td>\n</tr>\n</tbody>\n</table>'
)
CODE_HTML = (
    '<div class="highlight"><pre><span></span><code><span class="k">SELECT</span>'
    '<span class="w"> </span><span class="mi">1</span>;\n</code></pre></div>'
)


@pytest.mark.parametrize(
    "page",
    [
        f"<h1>T</h1>\n{TABLE_HTML}\n<h2 id='a'>A</h2>\n<p>x</p>",
        f"<p>a</p>\n{TABLE_HTML}\n<hr />\n<p>b</p>",
        f"<p>a</p>\n<hr />\n{TABLE_HTML}\n{TABLE_HTML}\n<p>b</p>",
        f"<ul>\n<li>a</li>\n</ul>\n{CODE_HTML}\n{TABLE_HTML}",
    ],
)
def test_searchable_html_gives_search_the_same_text(page: str) -> None:
    from material.plugins.search.plugin import Parser

    def sections(html: str) -> list[tuple[str, str, str | None]]:
        parser = Parser()
        parser.feed(html)
        parser.close()
        # What the index keeps of each section (create_entry_for_section strips them).
        return [("".join(s.title).strip(), "".join(s.text).strip(), s.id) for s in parser.data]

    light = TABLE.sub(lambda match: searchable(match.group(0)), page)
    light = light.replace(CODE_HTML, searchable(CODE_HTML))
    assert light.count("<") < page.count("<") / 2
    assert sections(light) == sections(page)


def _history(root: Path, count: int, start: dt.date) -> list[str]:
    """A project of ``count`` one-table migrations, eight a day from ``start``; their ids."""
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Home\n")
    config = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n")[0]
    (root / "mkdocs.yml").write_text(config + "\nnav:\n  - index.md\n")
    lines = ["version: 1", "project: {name: Long}", "migrations:"]
    ids = []
    for number in range(count):
        day = (start + dt.timedelta(days=number // 8)).isoformat()
        ident = f"{day}_step_{number:04d}"
        ids.append(ident)
        (root / "migrations" / f"{ident}.sql").write_text(f"CREATE TABLE t{number} (id int);\n")
        rollback = root / "migrations" / "rollbacks" / f"{day}_rollback_step_{number:04d}.sql"
        rollback.write_text(f"DROP TABLE t{number};\n")
        lines += [
            f"  - {{id: {ident}, date: {day}, title: Step {number}, purpose: Step {number},",
            f"     creates: {{tables: [t{number}]}}, reviewed: {{date: {day}, by: me}},",
            f"     rollback: {{file: {rollback.name}, risk: critical, impact: [data-loss],",
            "                summary: drops it}}",
        ]
    (root / "catalog.yaml").write_text("\n".join(lines) + "\n")
    return ids


def _primary_nav(page: str) -> str:
    start = page.index('class="md-nav md-nav--primary"')
    return page[start : page.index('class="md-sidebar md-sidebar--secondary"', start)]


def test_a_long_history_has_its_months_as_navigation_leaves(tmp_path: Path) -> None:
    ids = _history(tmp_path, PAGE_ROWS + 60, dt.date(2024, 12, 20))  # 33 days, two years
    result = run(tmp_path, "build", "--strict", "--site-dir", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out/history"
    # A migration page: its year and month, and itself in the month's place, active.
    page = (out / f"migrations/{ids[100]}/index.html").read_text()
    nav = _primary_nav(page)
    assert re.search(r">\s*2024\s*<", nav)
    assert re.search(r">\s*2025\s*<", nav)
    assert re.search(r">\s*January\s*<", nav)
    assert re.search(r'md-nav__link--active">\s*<span class="md-ellipsis">\s*Step 100\s*<', nav)
    assert "Step 99" not in nav
    assert "Step 101" not in nav
    assert nav.count("<li") < 25  # not the month's 160 migrations
    # Out of the navigation, the migrations still follow each other (the theme's links).
    assert f'<link rel="prev" href="../{ids[99]}/">' in page
    assert f'<link rel="next" href="../{ids[101]}/">' in page
    # A month's page is in the navigation, as the leaf of its month.
    month = _primary_nav((out / "timeline/2025-01/index.html").read_text())
    assert re.search(
        r'md-nav__link--active">\s*<span class="md-ellipsis">\s*January 2025\s*<', month
    )
    # The last migration of a month has the same short navigation as the first.
    december = _primary_nav((out / f"migrations/{ids[95]}/index.html").read_text())
    assert december.count("<li") == nav.count("<li")


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_tables_made_as_html_are_the_ones_markdown_and_mkdocs_make(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tables of text, code, badges and links to the site's pages are made as HTML, their
    links resolved by the plugin: the site is byte for byte the one where Markdown builds
    them and MkDocs resolves their links."""
    from mkdocs.commands.build import build

    monkeypatch.setenv("MIGDOCS_TODAY", "2025-10-01")
    made: list[str] = []
    table_html = MigdocsExtension.table_html

    def counted(self: MigdocsExtension, table: Table) -> str | None:
        html = table_html(self, table)
        if html is not None:
            made.append(html)
        return html

    monkeypatch.setattr(MigdocsExtension, "table_html", counted)
    build(load_config(str(example / "mkdocs.yml"), site_dir=str(example / "as-html")))
    assert len(made) > 20  # the schema's, the timeline's, the objects of migration pages
    assert any('<a href="../../schema/tables/public.users/">' in html for html in made)
    monkeypatch.setattr(MigdocsExtension, "table_html", lambda self, table: None)
    build(load_config(str(example / "mkdocs.yml"), site_dir=str(example / "in-the-tree")))
    assert _digest(example / "as-html") == _digest(example / "in-the-tree")


def test_one_converter_for_the_generated_pages_makes_the_pages_mkdocs_makes(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated pages, converted by one Markdown reset between pages, are byte for byte
    the pages of a new converter per page (MkDocs' way): with extensions that keep state
    across a page (footnotes, abbreviations, tabs, the table of contents) and catalog text
    that uses them on several pages."""
    from mkdocs.commands.build import build
    from mkdocs.structure.pages import Page

    from migdocs.site.rendering import GeneratedPage

    monkeypatch.setenv("MIGDOCS_TODAY", "2025-10-01")
    config = (example / "mkdocs.yml").read_text()
    config = config.replace(
        "markdown_extensions:\n",
        "markdown_extensions:\n  - footnotes\n  - abbr\n  - def_list\n  - pymdownx.tasklist\n",
    )
    (example / "mkdocs.yml").write_text(config)
    catalog = (example / "catalog.yaml").read_text()
    used = catalog.count("    purpose: >-\n")
    assert used >= 2
    catalog = catalog.replace(
        "    purpose: >-\n",
        "    purpose: |-\n      Checked by the CI[^ci] on every PR.\n\n"
        "      [^ci]: continuous integration\n\n      *[PR]: pull request\n\n",
    )
    (example / "catalog.yaml").write_text(catalog)
    converted: list[str] = []
    render = GeneratedPage.render

    def counted(self: GeneratedPage, config: MkDocsConfig, files: Files) -> None:
        render(self, config, files)
        converted.append(self.file.src_uri)

    monkeypatch.setattr(GeneratedPage, "render", counted)
    build(load_config(str(example / "mkdocs.yml"), site_dir=str(example / "shared")))
    assert len(converted) > 15
    assert all(uri.startswith("history/") for uri in converted)  # the user's pages: MkDocs'
    pages = [path.read_text() for path in (example / "shared").glob("history/migrations/*/*.html")]
    footnoted = [text for text in pages if "continuous integration" in text]
    assert len(footnoted) == used
    assert all(text.count('class="footnote"') == 1 for text in footnoted)
    assert all('<abbr title="pull request">PR</abbr>' in text for text in footnoted)
    monkeypatch.setattr(GeneratedPage, "render", Page.render)
    build(load_config(str(example / "mkdocs.yml"), site_dir=str(example / "per-page")))
    assert _digest(example / "shared") == _digest(example / "per-page")


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_leaves_what_the_plugin_loaded_alone_until_the_build_ends(
    example: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    """While the pages are rendered, what the plugin loaded is frozen out of the garbage
    collector's passes, which run; after the build, and after a build that fails, the
    collector is as it was before (on or off, nothing frozen)."""
    import gc

    from mkdocs.commands.build import build

    from migdocs.site.rendering import GeneratedPage

    monkeypatch.setenv("MIGDOCS_TODAY", "2025-10-01")
    seen: list[tuple[bool, int]] = []
    render = GeneratedPage.render

    def noted(self: GeneratedPage, config: MkDocsConfig, files: Files) -> None:
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        render(self, config, files)

    monkeypatch.setattr(GeneratedPage, "render", noted)
    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        build(load_config(str(example / "mkdocs.yml"), site_dir=str(example / "out")))
        assert seen
        assert all(running == enabled and frozen > 10_000 for running, frozen in seen)
        assert (gc.isenabled(), gc.get_freeze_count()) == (enabled, 0)
        (example / "catalog.yaml").write_text("version: 1\nmigrations: [oops\n")
        with pytest.raises(Abort):
            build(load_config(str(example / "mkdocs.yml"), site_dir=str(example / "out")))
        assert (gc.isenabled(), gc.get_freeze_count()) == (enabled, 0)
    finally:
        if was:
            gc.enable()


def test_a_build_lets_go_of_the_history_and_serve_still_watches_its_sql(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MkDocs keeps its plugins for the process's life: once a build ends (or fails), the
    plugin holds neither the history, nor its pages, nor MkDocs' files; what `serve` and
    `migdocs build` need after it (the SQL folders) it keeps."""
    from mkdocs.commands.build import build
    from mkdocs.livereload import LiveReloadServer

    monkeypatch.setenv("MIGDOCS_TODAY", "2025-10-01")
    config = load_config(str(example / "mkdocs.yml"), site_dir=str(example / "out"))
    built = config.plugins["migdocs"]
    assert isinstance(built, plugin.MigdocsPlugin)
    build(config)
    assert (built.site, built.section, built.loaded) == (None, None, None)
    assert (built.extension.page, built.extension.files) == (None, None)
    assert not built.fragments.parts
    assert not built.searched
    server = LiveReloadServer(lambda: None, "127.0.0.1", 0, str(example / "out"))
    built.on_serve(server, config=config, builder=lambda: None)
    assert str(example / "migrations") in server._watched_paths
    assert str(example / "catalog.yaml") in server._watched_paths


def test_two_builds_are_identical(example: Path) -> None:
    assert run(example, "build", "--site-dir", str(example / "one")).returncode == 0
    assert run(example, "build", "--site-dir", str(example / "two")).returncode == 0
    assert _digest(example / "one") == _digest(example / "two")


def test_catalog_html_is_escaped(example: Path) -> None:
    catalog = (example / "catalog.yaml").read_text()
    catalog = catalog.replace(
        "title: Initial schema", 'title: "Initial <script>alert(1)</script> schema"', 1
    ).replace(
        "purpose: Creates the foundational database schema of the PromptSculptor application.",
        "purpose: >-\n"
        "      Creates <img src=x onerror=alert(2)> tables, <iframe src=javascript:alert(3)>\n"
        '      <div onmouseover="alert(4)">hover</div>, [a link](javascript:alert(5)) and\n'
        "      [data](data:text/html,x); keeps `<b>` as code.",
        1,
    )
    (example / "catalog.yaml").write_text(catalog)
    result = run(example, "build", "--site-dir", str(example / "out"))
    assert result.returncode == 0, result.stderr
    html = "\n".join(p.read_text() for p in (example / "out").rglob("*.html"))
    assert _executable(html) == []
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<code>&lt;b&gt;</code>" in html
    page = (example / "out/history/migrations/2025-08-30_initial_schema/index.html").read_text()
    # Shown as written in <title> (escaped there, not replaced by look-alikes).
    assert "<title>Initial &lt;script&gt;alert(1)&lt;/script&gt; schema" in page


def test_catalog_markdown_cannot_run_code(example: Path) -> None:
    """Markdown's own ways to HTML and attributes: an escaped backtick, a code span that a
    blank line or a list item breaks, attr_list, entity-encoded and split URLs."""
    catalog = (example / "catalog.yaml").read_text()
    catalog = (
        catalog.replace(
            "title: Initial schema", 'title: "Initial schema {: onmouseover=alert(1) }"', 1
        )
        .replace(
            "purpose: Creates the foundational database schema of the PromptSculptor application.",
            "purpose: |\n"
            "      Escaped \\`<img src=x onerror=alert(2)>\\`, a span `across\n\n"
            "      <img src=x onerror=alert(3)>\n\n"
            "      the blank line`.\n\n"
            "      - a `list\n"
            "      - <b onmouseover=alert(4)>item</b> `\n\n"
            "      [a](jav&#x61;script:alert(5)), [b](&#106;avascript:alert(6)),\n"
            "      [c](java&#x09;script:alert(7)), [d][ref]\n\n"
            "      [ref]: JaVaScRiPt&colon;alert(8)\n\n"
            "      A paragraph with attributes.\n"
            '      {: onclick="alert(9)" style="position:fixed" }',
            1,
        )
        .replace(
            "      - User accounts with password authentication",
            '      - "[*it*{: onclick=alert(10) }](https://example.com){: onfocus=alert(11) }"',
            1,
        )
        .replace(
            "        Only a full backup brings it back.",
            "        Only a full backup brings it back: [restore](vbscript&#58;msgbox(12)).",
            1,
        )
    )
    (example / "catalog.yaml").write_text(catalog)
    result = run(example, "build", "--strict", "--site-dir", str(example / "out"))
    assert result.returncode == 0, result.stderr
    pages = {p: p.read_text() for p in (example / "out").rglob("*.html")}
    html = "\n".join(pages.values())
    assert _executable(html) == []
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # shown, not run
    # The hand-written page that shows the risk matrix is made safe too.
    emergency = pages[example / "out/operations/emergency-rollback/index.html"]
    assert 'href="#unsafe"' in emergency
    # Code spans Markdown reads as such stay code.
    assert "<code>&lt;img src=x onerror=alert(3)&gt;" not in html


class _Executable(HTMLParser):
    """Collects what a browser would run: event attributes, iframes, script-bearing URLs,
    and scripts that mention the test's payloads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("iframe", "object", "embed"):
            self.found.append(f"<{tag}>")
        self.in_script = tag == "script"
        for name, value in attrs:
            # As a browser reads a URL: no whitespace or control characters, any case.
            text = re.sub(r"[\x00-\x20\x7f]", "", value or "").lower()
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}={value}")
            if name in ("href", "src") and text.startswith(("javascript:", "data:", "vbscript:")):
                self.found.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag: str) -> None:
        self.in_script = False

    def handle_data(self, data: str) -> None:
        if self.in_script and "alert(" in data:
            self.found.append(f"<script>{data[:40]}")


def _executable(html: str) -> list[str]:
    parser = _Executable()
    parser.feed(html)
    return parser.found


def test_a_failed_build_leaves_the_previous_site_whole(example: Path) -> None:
    out = example / "out"
    assert run(example, "build", "--site-dir", str(out)).returncode == 0
    before = _digest(out)
    (example / "catalog.yaml").write_text("version: 1\nmigrations: [oops\n")
    result = run(example, "build", "--site-dir", str(out))
    assert result.returncode == 2
    assert "catalog.yaml" in result.stderr
    assert "Traceback" not in result.stderr
    assert _digest(out) == before
    assert sorted(p.name for p in example.iterdir() if p.name.startswith(".out")) == []


def test_a_catalog_error_only_the_checks_find_stops_plain_mkdocs_cleanly(example: Path) -> None:
    """`mkdocs build` (not `migdocs build`): the checks' catalog error is a PluginError."""
    catalog = example / "catalog.yaml"
    catalog.write_text(
        catalog.read_text().replace(
            "migrations:\n", "replay: {setup: [nope.sql]}\nmigrations:\n", 1
        )
    )
    result = mkdocs("build", "--site-dir", str(example / "out"), cwd=example)
    assert result.returncode == 1
    assert "migdocs: catalog.yaml:" in result.stderr
    assert "nope.sql" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (example / "out").exists()


@pytest.fixture
def served(example: Path) -> Iterator[str]:
    assert run(example, "build", "--site-dir", str(example / "out")).returncode == 0
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(example / "out")
    )
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def test_in_a_browser(served: str, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            # The home page.
            page.goto(f"{served}/")
            assert page.title().startswith("PromptSculptor migrations")
            assert page.locator("h1").first.inner_text().startswith("PromptSculptor migrations")
            # A migration page: tabs switch, the danger box of a data-loss rollback.
            page.goto(f"{served}/history/migrations/2025-08-30_add_username_field/")
            assert page.title().startswith("Soft delete for user accounts")
            forward = page.locator(".tabbed-block").nth(0)
            rollback = page.locator(".tabbed-block").nth(1)
            assert forward.is_visible()
            assert not rollback.is_visible()
            page.get_by_text("Rollback", exact=True).last.click()
            assert rollback.is_visible()
            assert "DROP INDEX" in rollback.inner_text()
            assert page.locator(".admonition.danger").count() == 1
            links = page.locator("nav.md-nav--primary a").all_inner_texts()
            assert "Session storage and performance indexes" in " ".join(links)
            page.screenshot(path=str(artifacts / "migration-page.png"), full_page=True)
            # Search finds a migration by a table name.
            page.goto(f"{served}/")
            page.locator(".md-search__input").first.click()
            page.keyboard.type("user_sessions")
            # Material searches again at each key typed: the whole query's results, once
            # they show (a half-typed query's may show first).
            page.wait_for_function(
                "() => [...document.querySelectorAll('.md-search-result__item')]"
                ".some((item) => item.innerText.includes('Session storage'))",
                timeout=10000,
            )
            results = page.locator(".md-search-result__item").all_inner_texts()
            assert any("Session storage" in text for text in results), results
        finally:
            browser.close()
    assert errors == []
