"""Hostile values in the published site: every value from a catalog, a file name or a
database lands escaped where it lands (headings, code spans, tables, Mermaid, navigation,
titles, links), and is still shown to the reader as text.

A project whose catalog fields, file names and SQL object names (quoted identifiers) carry a
set of payloads is replayed and audited against a real database that carries them too, and
its site is built with that report; the HTML is then read as a browser would read it.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import socketserver
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import markdown
import pytest

from migdocs.pg import ScratchServer
from runner_kit import SITE_BUILD, URLS, environment, migdocs

ROOT = Path(__file__).resolve().parent.parent

#: What a hostile pull request writes, each with an alert of its own number.
PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "a`b<img src=x onerror=alert(3)>`c",
    "```<img src=x onerror=alert(4)>```",
    "javascript:alert(5)",
    "[x](javascript:alert(6))",
    "{{ 7*7 }} {% raw %}",
    "x|y\n# h<img src=x onerror=alert(7)>",
    "q\"'%%}<img src=x onerror=alert(8)>",
    "t {: onclick=alert(9) }",
]
#: The payloads as SQL identifiers (63 bytes at most) and file names (no ``/``).
IDENTIFIERS = [p.replace("\n", " ")[:60] for p in PAYLOADS]


def _compact(payload: str) -> str:
    """A payload as an id or a file stem: no whitespace or slash (an id has neither)."""
    return re.sub(r"[\s/]+", "", payload)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


SCHEMA = "s<img src=x onerror=alert(10)>`"
TYPE = "ty<script>alert(11)</script>"
DRIFT = "drift<img src=x onerror=alert(12)>`x"
DATABASE = "db<img src=x onerror=alert(13)>"


def _write_project(root: Path) -> list[str]:
    """A project whose every field and name carries a payload; its migration ids."""
    (root / "migrations" / "rollbacks").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "docs" / "index.md").write_text("# Home\n")
    (root / "docs" / "operations.md").write_text(
        "# Operations\n\n<!-- migdocs:risk-matrix -->\n\n<!-- migdocs:timeline -->\n\n"
        "<!-- migdocs:review-status -->\n"
    )
    config = (ROOT / "mkdocs.yml").read_text().split("\nnav:\n")[0]
    config = config.replace("prefix: history", "prefix: history\n      report: report.json")
    (root / "mkdocs.yml").write_text(config + "\nnav:\n  - index.md\n  - operations.md\n")
    migrations = []
    ids = []
    for number, (payload, ident) in enumerate(zip(PAYLOADS, IDENTIFIERS, strict=True), 1):
        day = f"2025-0{1 + number % 2}-{number:02d}"
        ident_id = f"{day}_{_compact(payload)}"
        ids.append(ident_id)
        table = f"{_ident(SCHEMA)}.{_ident(ident)}"
        sql = []
        if number == 1:
            sql += [
                f"CREATE SCHEMA {_ident(SCHEMA)};",
                f"CREATE TYPE {_ident(SCHEMA)}.{_ident(TYPE)} AS ENUM ('a');",
            ]
        sql += [
            f"CREATE TABLE {table} (",
            "    id int PRIMARY KEY,",
            f"    {_ident('c' + ident)} {_ident(SCHEMA)}.{_ident(TYPE)} DEFAULT {_literal('a')},",
            f"    {_ident('n' + payload[:50])} text DEFAULT {_literal(payload)},",
            f"    CONSTRAINT {_ident('k' + ident)} CHECK (id > 0)",
            ");",
            f"CREATE INDEX {_ident('i' + ident)} ON {table} (id);",
        ]
        if number > 1:
            sql.append(
                f"ALTER TABLE {table} ADD COLUMN up int REFERENCES "
                f"{_ident(SCHEMA)}.{_ident(IDENTIFIERS[0])} (id);"
            )
        (root / "migrations" / f"{ident_id}.sql").write_text("\n".join(sql) + "\n")
        entry: dict[str, object] = {
            "id": ident_id,
            "date": day,
            "title": payload,
            "purpose": payload,
            "changes": [payload],
            "features": [payload],
            "notes": payload,
            "reviewed": {"date": day, "by": payload},
            "creates": {"schemas": [SCHEMA]} if number == 1 else {},
        }
        if number == len(PAYLOADS):
            entry["rollback"] = {"none": payload}
        else:
            rollback = f"{day}_rollback_{_compact(payload)}.sql"
            (root / "migrations" / "rollbacks" / rollback).write_text(f"DROP TABLE {table};\n")
            entry["rollback"] = {
                "file": rollback,
                "risk": "high",
                "impact": ["data-loss"],
                "summary": payload,
            }
        migrations.append(entry)
    catalog = {
        "version": 1,
        "project": {"name": PAYLOADS[0] + " " + PAYLOADS[2], "description": PAYLOADS[5]},
        "migrations": migrations,
    }
    # JSON is YAML: every payload is written exactly, whatever its quotes and newlines.
    (root / "catalog.yaml").write_text(json.dumps(catalog, indent=2) + "\n")
    return ids


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return migdocs(*args, cwd=cwd, env=environment(URLS, **SITE_BUILD))


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory, embedded_server: ScratchServer) -> Path:
    """The hostile project, deployed on a live database (named with a payload) that has
    drifted (a table named with one), audited, and its site built with the report."""
    root = tmp_path_factory.mktemp("hostile")
    _write_project(root)
    from migdocs.project import Project

    scratch = embedded_server.create_database()
    with embedded_server.connect(scratch) as conn:
        conn.execute(f"CREATE DATABASE {_ident(DATABASE)}".encode())
    live = urlunsplit(urlsplit(scratch)._replace(path="/" + quote(DATABASE, safe="")))
    try:
        project = Project.load(root / "catalog.yaml")
        with embedded_server.connect(live) as conn:
            for entry in project.entries:
                script = project.forward(entry)
                assert script is not None
                for statement in script.statements:
                    conn.execute(script.statement_text(statement).encode())
            conn.execute(f"CREATE TABLE {_ident(DRIFT)} (id int)".encode())
        result = run(
            root, "audit", "--database-url", live, "--format", "json", "--output", "report.json"
        )
        assert result.returncode in (0, 1), result.stdout + result.stderr
        assert (root / "report.json").is_file(), result.stdout + result.stderr
    finally:
        with embedded_server.connect(scratch) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {_ident(DATABASE)} WITH (FORCE)".encode())
        embedded_server.drop_database(scratch)
    report = json.loads((root / "report.json").read_text())
    assert report["summary"]["replay"] != "skipped"
    # Strict for MkDocs' warnings only: the hostile report has errors of its own.
    out = str(root / "out")
    result = run(root, "build", "--strict", "--fail-on", "never", "--site-dir", out)
    assert result.returncode == 0, result.stderr
    return root


MERMAID = "assets/migdocs/mermaid/mermaid.min.js"


class _Page(HTMLParser):
    """What a browser would make of a page: live markup, and the text a reader sees."""

    def __init__(self) -> None:
        super().__init__()
        self.live: list[str] = []
        self.text: list[str] = []
        self.title = ""
        self.codes: list[str] = []
        self.headings: list[str] = []
        self._stack: list[str] = []
        self._code: list[str] | None = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("br", "hr", "meta", "link", "input", "img", "source", "wbr"):
            self._stack.append(tag)
        if tag in ("img", "iframe", "object", "embed", "frame", "base") or (
            tag == "meta" and dict(attrs).get("http-equiv")
        ):
            self.live.append(f"<{tag} {attrs}>")
        for name, value in attrs:
            # As a browser reads a URL: entities decoded (the parser did), no whitespace or
            # control characters, any case.
            url = re.sub(r"[\x00-\x20\x7f]", "", value or "").lower()
            unsafe = url.startswith(("javascript:", "vbscript:", "data:"))
            if name.startswith("on") or name in ("style", "srcdoc") or unsafe:
                self.live.append(f"<{tag} {name}={value!r}>")
        src = dict(attrs).get("src")
        # Only the theme's own scripts, and the Mermaid that migdocs ships.
        shipped = "assets/javascripts/" in (src or "") or (src or "").endswith(MERMAID)
        if tag == "script" and src is not None and not shipped:
            self.live.append(f"<script src={src!r}>")
        if tag == "code":
            self._code = []
        if tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack and self._stack.pop() != tag:
                pass
        if tag == "code" and self._code is not None:
            self.codes.append("".join(self._code))
            self._code = None
        if tag in ("h1", "h2", "h3") and self._heading is not None:
            # Without the permalink the toc extension adds.
            self.headings.append(" ".join("".join(self._heading).split()).removesuffix("¶"))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if "script" in self._stack:
            # The theme's own inline scripts: none may hold what a catalog wrote.
            if "alert(" in data:
                self.live.append(f"<script>{data[:60]}")
            return
        if "style" in self._stack:
            return
        if "title" in self._stack:
            self.title += data
        self.text.append(data)
        if self._code is not None:
            self._code.append(data)
        if self._heading is not None:
            self._heading.append(data)


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _pages(out: Path) -> dict[str, _Page]:
    return {str(p.relative_to(out)): _read(p) for p in sorted(out.rglob("*.html"))}


def _flat(value: str) -> str:
    return " ".join(value.split())


def test_no_payload_is_live_markup(hostile_site: Path) -> None:
    pages = _pages(hostile_site / "out")
    assert len(pages) > 15
    live = {uri: page.live for uri, page in pages.items() if page.live}
    assert live == {}
    text = "\n".join(_flat("".join(page.text)) for page in pages.values())
    assert "{{ 7*7 }} {% raw %}" in text  # shown, not rendered by a template engine
    assert "49 {%" not in text


def test_every_payload_is_shown_as_text(hostile_site: Path) -> None:
    """Escaped, not removed: each payload reads as written wherever it lands."""
    out = hostile_site / "out"
    pages = _pages(out)
    everything = "\n".join(_flat("".join(page.text)) for page in pages.values())
    for payload in PAYLOADS:
        assert _flat(payload) in everything, payload
    ids = [p.name for p in sorted((out / "history/migrations").iterdir())]
    for number, payload in enumerate(PAYLOADS, 1):
        [folder] = [i for i in ids if i.startswith(f"2025-0{1 + number % 2}-{number:02d}_")]
        page = pages[f"history/migrations/{folder}/index.html"]
        # The page's heading, its <title> and the navigation read the title as written
        # (a title is Markdown: its code spans are code, an unsafe link shows its target).
        title = _flat(payload.replace("`", "")).replace(
            "[x](javascript:alert(6))", "x (javascript:alert(6))"
        )
        assert page.headings[0] == title, payload
        assert _flat(page.title).startswith(title + " - "), page.title
        nav = _flat("".join(pages["history/index.html"].text))
        assert title in nav
    # Names from the SQL and the database: headings of the schema page, code spans.
    schema = pages["history/schema/index.html"]
    assert SCHEMA in schema.headings
    assert f"{SCHEMA}.{IDENTIFIERS[2]}" in schema.headings
    risk = pages["history/risk-matrix/index.html"]
    assert any(c.startswith("2025-02-03_rollback_a`b<img") for c in risk.codes), risk.codes
    audit = pages["history/audit/index.html"]
    # The audited database is named by its URL, as the report names it.
    assert any(quote(DATABASE, safe="") in h for h in audit.headings), audit.headings
    assert DRIFT in _flat("".join(audit.text))
    # What replay saw each migration add, in code spans whatever their backticks.
    first = next(uri for uri in pages if uri.startswith("history/migrations/2025-02-01"))
    assert f"schema:{SCHEMA}" in pages[first].codes
    second = next(uri for uri in pages if uri.startswith("history/migrations/2025-01-02"))
    assert f"table:{SCHEMA}.{IDENTIFIERS[1]}" in pages[second].codes


@pytest.mark.parametrize(
    "value",
    [
        *PAYLOADS,
        "`",
        "``",
        "a`",
        "`a",
        "\\",
        "a\\",
        "\\`x\\`",
        "&lt;b&gt; &amp; &#60;",
        "<!-- x -->",
        "1. x",
        "- x",
        "> x",
        ":smile: ==m== ~~d~~ ^^i^^ ++k++ $x$",
    ],
)
def test_helpers_show_a_value_as_written(value: str) -> None:
    """``text`` and ``code`` through the site's Markdown give back the value as written
    (newlines as spaces), with no markup but the code element."""
    from migdocs.site.escape import code, text

    converter = markdown.Markdown(
        extensions=["attr_list", "tables", "toc", "admonition", "pymdownx.inlinehilite"]
    )
    shown = _flat(value)
    for made, wrapper in (
        (converter.convert(f"# {text(value)}"), "h1"),
        (converter.convert(f"x {text(value)} y"), "p"),
        (converter.convert(f"x {code(value)} y"), "code"),
        (converter.convert(f"| a |\n|---|\n| {text(value)} |"), "td"),
        (converter.convert(f'!!! note "{text(value)}"\n    x'), "p"),
    ):
        page = _Page()
        page.feed(made)
        assert page.live == []
        if wrapper == "code":
            assert page.codes == [shown] if shown else page.codes == [], made
        elif wrapper == "h1":
            assert page.headings == [shown], made
        else:
            assert shown in _flat("".join(page.text)), made
        tags = set(re.findall(r"<([a-z0-9]+)", made))
        assert tags <= {"h1", "p", "code", "table", "thead", "tbody", "tr", "th", "td", "div"}


def test_headings_are_one_line_of_escaped_markdown() -> None:
    from migdocs.site.escape import heading

    assert heading("a\nb  <c> `<d>`") == "a b &lt;c&gt; `<d>`"
    assert heading("x {: onclick=alert(1) } #") == "x &#123;: onclick=alert(1) } &#35;"


@pytest.mark.parametrize("name", [*PAYLOADS, "", "1x", "a b", "%%", "}", "é"])
def test_mermaid_names_stay_names(name: str) -> None:
    from migdocs.site.escape import mermaid_name

    made = mermaid_name(name)
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", made), made


def test_link_targets_are_quoted() -> None:
    from migdocs.site.escape import url

    assert url("a b)<c>#d?.md") == quote("a b)<c>#d?.md")


# -- a real browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_in_a_browser_no_dialog_fires(hostile_site: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium
    out = hostile_site / "out"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    dialogs: list[str] = []
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        served = f"http://127.0.0.1:{httpd.server_address[1]}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=executable, args=["--no-sandbox"]
                )
                try:
                    page = browser.new_page()
                    page.on(
                        "dialog",
                        lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()),
                    )
                    uris = sorted(p.relative_to(out).parent for p in out.rglob("index.html"))
                    assert len(uris) > 15
                    for uri in uris:
                        path = "/".join(quote(part) for part in uri.parts)
                        page.goto(f"{served}/{path}/" if path else f"{served}/")
                        page.wait_for_load_state("load")
                        # Hover and focus what a reader would: event handlers would fire.
                        page.mouse.move(300, 300)
                        page.keyboard.press("Tab")
                    # The search shows what it found of a payload.
                    page.goto(f"{served}/")
                    page.locator(".md-search__input").first.click()
                    page.keyboard.type("onerror")
                    page.wait_for_selector(".md-search-result__item", timeout=10000)
                    page.wait_for_timeout(300)
                finally:
                    browser.close()
        finally:
            httpd.shutdown()
    assert dialogs == []


def test_escaped_text_is_plain_html() -> None:
    # A guard on the test's own reader: an escaped payload is text, a raw one is live.
    assert _Page().live == []
    raw = _Page()
    raw.feed(PAYLOADS[0])
    assert raw.live
    escaped = _Page()
    escaped.feed(html.escape(PAYLOADS[0]))
    assert escaped.live == []
