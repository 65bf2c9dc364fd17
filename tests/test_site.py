"""The MkDocs plugin and the site: hooks, a strict build of the example, escaping, identical
builds, a failed build that keeps the previous site, and a real browser on the result."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parent.parent
MIGDOCS = [sys.executable, "-m", "migdocs"]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MIGDOCS_TODAY": "2025-10-01"}
    return subprocess.run(
        [*MIGDOCS, *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )


@pytest.fixture
def example(tmp_path: Path) -> Path:
    for name in ("catalog.yaml", "mkdocs.yml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("migrations", "docs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


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
    assert "| creates | index `user_sessions_expire_idx` | ✔ seen | — |" in text


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


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


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
    assert "<title>Initial ‹script›alert(1)‹/script› schema" in page


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
            text = (value or "").strip().lower()
            if name.startswith("on"):
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


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("MIGDOCS_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not on PATH (install Debian's chromium package)")
        pytest.skip("chromium is not on PATH")
    return found


@pytest.fixture(scope="session")
def mermaid_js(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Mermaid from the npm registry: Material loads it from a CDN this machine cannot reach,
    so the browser test serves this copy in its place."""
    folder = tmp_path_factory.mktemp("mermaid")
    npm = shutil.which("npm")
    result = None
    for _ in range(2):
        if npm is None or list(folder.glob("mermaid-*.tgz")):
            break
        result = subprocess.run(
            [npm, "pack", "mermaid@11", "--silent"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    tarballs = list(folder.glob("mermaid-*.tgz"))
    if not tarballs:
        # The registry is out of our hands: this one check waits for it, the others do not.
        reason = "npm is not on PATH" if npm is None else (result.stderr if result else "")
        pytest.skip(f"cannot get mermaid from the npm registry: {reason}")
    import tarfile

    with tarfile.open(tarballs[0]) as archive:
        member = archive.getmember("package/dist/mermaid.min.js")
        source = archive.extractfile(member)
        assert source is not None
        target = folder / "mermaid.min.js"
        target.write_bytes(source.read())
    return target


def test_in_a_browser(served: str) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
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
            page.wait_for_selector(".md-search-result__item", timeout=10000)
            results = page.locator(".md-search-result__item").all_inner_texts()
            assert any("Session storage" in text for text in results), results
        finally:
            browser.close()
    assert errors == []


def test_in_a_browser_the_er_diagram_renders(served: str, mermaid_js: Path) -> None:
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1600})
            page.on("pageerror", lambda error: errors.append(str(error)))
            # Material loads Mermaid from a CDN this machine cannot reach: serve the copy.
            page.route(
                "**/mermaid.min.js",
                lambda route: route.fulfill(
                    path=str(mermaid_js), content_type="application/javascript"
                ),
            )
            # The schema's ER diagram renders to SVG: Material swaps the <pre> for a <div>
            # whose closed shadow root holds the SVG, so the diagram's text is gone from the
            # page and the box takes the drawing's height.
            page.goto(f"{served}/history/schema/")
            page.wait_for_selector("div.mermaid", timeout=20000)
            diagram = page.locator("div.mermaid").first
            assert "erDiagram" not in diagram.inner_text()
            box = diagram.bounding_box()
            assert box is not None
            assert box["height"] > 200
            page.screenshot(path=str(artifacts / "schema-page.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
