"""The site built by Zensical (`migdocs build --engine zensical`, issue 15): every page the
MkDocs plugin makes, at the same URL, with nothing left in the project, and a build that
fails leaving the previous site whole, as MkDocs' does.

Zensical ignores MkDocs plugins; these tests build the example project with it (Zensical
is in the test extra) and compare the result with the MkDocs build of the same project.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from runner_kit import SITE_BUILD, environment, migdocs, run
from site_kit import copy_example, only_local, serve

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytest.importorskip("zensical")


def _pages(site: Path) -> list[str]:
    return sorted(str(path.relative_to(site)) for path in site.rglob("*.html"))


def _tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its digest."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The example built by MkDocs and by Zensical: the project, and the two sites."""
    project = copy_example(tmp_path_factory.mktemp("zensical"))
    before = _tree(project)
    made = migdocs("build", "--engine", "zensical", "--site-dir", "by-zensical", cwd=project)
    assert made.returncode == 0, made.stderr
    assert "built the site in" in made.stderr + made.stdout
    # Nothing generated is left in the project: only the new site.
    after = _tree(project)
    assert {k: v for k, v in after.items() if not k.startswith("by-zensical/")} == before
    made = migdocs("build", "--engine", "mkdocs", "--site-dir", "by-mkdocs", cwd=project)
    assert made.returncode == 0, made.stderr
    return project, project / "by-zensical", project / "by-mkdocs"


def test_every_page_of_the_plugin_is_built_at_the_same_url(
    built: tuple[Path, Path, Path],
) -> None:
    _, zensical, mkdocs = built
    pages = _pages(zensical)
    assert pages == _pages(mkdocs)
    generated = [page for page in pages if page.startswith("history/")]
    assert "history/index.html" in generated
    assert any(page.startswith("history/migrations/") for page in generated)
    assert any(page.startswith("history/schema/tables/") for page in generated)
    # The assets are published as by the plugin.
    for asset in ("assets/migdocs/migdocs.css", "assets/migdocs/mermaid/mermaid.min.js"):
        assert (zensical / asset).read_bytes() == (mkdocs / asset).read_bytes()


def test_the_pages_hold_what_the_plugin_puts_in_them(built: tuple[Path, Path, Path]) -> None:
    _, zensical, mkdocs = built
    page = "history/migrations/2025-08-30_initial_schema/index.html"
    html = (zensical / page).read_text(encoding="utf-8")
    # Fragments were put in place by migdocs' Markdown extension, markers expanded.
    assert "\x02" not in html
    assert "migdocs-table" not in html
    assert "<table>" in html
    assert "password_reset_tokens" in html
    for page in _pages(zensical):
        text = (zensical / page).read_text(encoding="utf-8")
        assert not re.search(r"&lt;!--\s*migdocs:|<!--\s*migdocs:(timeline|risk-matrix)", text), (
            page
        )
    # The hand-written page with a timeline marker shows the timeline, as with MkDocs.
    marked = "version-history/index.html"
    for site in (zensical, mkdocs):
        assert "2025-08-30_initial_schema" in (site / marked).read_text(encoding="utf-8")
    # The navigation has the history's section, on the user's pages too.
    home = (zensical / "index.html").read_text(encoding="utf-8")
    nav = home[home.index('class="md-nav md-nav--primary"') :]
    assert 'href="history/timeline/"' in nav
    assert 'href="history/risk-matrix/"' in nav


def test_search_finds_a_table_by_its_name(built: tuple[Path, Path, Path]) -> None:
    _, zensical, _ = built
    index = json.loads((zensical / "search.json").read_text(encoding="utf-8"))
    entries = index["items"] if isinstance(index, dict) and "items" in index else index
    text = json.dumps(entries)
    assert "password_reset_tokens" in text
    assert "history/schema/tables/" in text


def test_a_failing_build_leaves_the_previous_site_whole(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    made = migdocs("build", "--engine", "zensical", cwd=project)
    assert made.returncode == 0, made.stderr
    site = _tree(project / "site")
    index = project / "docs" / "index.md"
    index.write_text(index.read_text() + "\n[gone](no-such-page.md)\n", encoding="utf-8")
    failed = migdocs("build", "--engine", "zensical", "--strict", cwd=project)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert f"{project / 'site'} is unchanged" in failed.stderr
    assert _tree(project / "site") == site
    assert not list(project.glob(".migdocs-zensical-*"))


def test_findings_stop_a_strict_build_before_zensical_runs(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    stopped = migdocs("build", "--engine", "zensical", "--strict", "--fail-on", "info", cwd=project)
    assert stopped.returncode == 1, stopped.stdout + stopped.stderr
    assert "a strict build fails on a finding of severity info" in stopped.stderr
    assert not (project / "site").exists()
    assert not list(project.glob(".migdocs-zensical-*"))


def test_the_plugin_names_the_engine(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "  - migdocs\n" in text or "- migdocs:" in text
    config.write_text(
        re.sub(r"(\n\s*- migdocs:?\n)", "\n  - migdocs:\n      engine: zensical\n", text, count=1),
        encoding="utf-8",
    )
    made = migdocs("build", cwd=project)
    assert made.returncode == 0, made.stderr
    assert (project / "site" / "search.json").is_file()  # Zensical's index, not MkDocs'
    assert not (project / "site" / "search" / "search_index.json").exists()
    made = migdocs("build", "--engine", "mkdocs", cwd=project)
    assert made.returncode == 0, made.stderr
    assert (project / "site" / "search" / "search_index.json").is_file()


def test_without_zensical_the_build_says_how_to_get_it(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    # As on a machine without Zensical: its import fails.
    script = (
        "import sys; sys.modules['zensical'] = None\n"
        "from migdocs.cli import main\n"
        "sys.exit(main(['build', '--engine', 'zensical']))\n"
    )
    result = run([sys.executable, "-c", script], cwd=project, env=environment(**SITE_BUILD))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install zensical" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "site").exists()
    assert not list(project.glob(".migdocs-zensical-*"))


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except OSError:
        return None


def _until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


def test_serve_stages_again_when_the_catalog_changes(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    server = subprocess.Popen(
        [sys.executable, "-m", "migdocs", "serve", "--engine", "zensical", "-a", address],
        cwd=project,
        env=environment(**SITE_BUILD),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    page = f"http://{address}/history/migrations/2025-08-30_initial_schema/"
    try:
        assert _until(lambda: "Initial schema" in (_get(page) or ""), 60), "never served"
        catalog = project / "catalog.yaml"
        text = catalog.read_text(encoding="utf-8")
        assert "    title: Initial schema\n" in text
        catalog.write_text(
            text.replace("    title: Initial schema\n", "    title: First schema\n", 1),
            encoding="utf-8",
        )
        assert _until(lambda: "First schema" in (_get(page) or ""), 60), "never staged again"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, errors = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 130, errors
    assert "migdocs: interrupted" in errors
    assert not list(project.glob(".migdocs-zensical-*"))


#: Zensical's search draws its results in a closed shadow root: open it, to read them.
OPEN_SHADOWS = (
    "const attach = Element.prototype.attachShadow;"
    "Element.prototype.attachShadow = function (init) {"
    "  return attach.call(this, {...init, mode: 'open'}); };"
)
#: The links of the search results, in their order.
RESULTS = """() => {
  const found = [];
  const walk = (root) => {
    for (const element of root.querySelectorAll('*')) {
      if (element.shadowRoot) walk(element.shadowRoot);
      if (element.tagName === 'A' && element.getRootNode() !== document) {
        found.push(new URL(element.href).pathname + new URL(element.href).hash);
      }
    }
  };
  walk(document);
  return found;
}"""


@pytest.mark.browser
def test_in_a_browser_search_finds_a_table_by_its_name(
    built: tuple[Path, Path, Path], chromium: str
) -> None:
    from playwright.sync_api import sync_playwright

    _, zensical, _ = built
    blocked: list[str] = []
    with serve(zensical) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", only_local(served, blocked))
            context.add_init_script(OPEN_SHADOWS)
            page = context.new_page()
            page.goto(f"{served}/history/", wait_until="load")
            page.locator(".md-search__button").first.click()
            page.keyboard.type("password_reset_tokens")
            table = "/history/schema/tables/public.password_reset_tokens/"
            page.wait_for_function(f"() => ({RESULTS})().includes({json.dumps(table)})")
            results = _settled(page)
        finally:
            browser.close()
    assert blocked == []
    # Zensical ranks by its own measure (it reads no page's search boost): the table's
    # entry on the schema page, then the table's own page.
    assert table in results[:3], results[:5]


def _settled(page: Page) -> list[str]:
    """The search results once they have settled: Zensical searches again at each key typed,
    and the results of a query typed halfway may show before the whole query's do (the same
    list twice, 300 ms apart)."""
    seen = None
    for _ in range(100):
        now = page.evaluate(RESULTS)
        if now == seen:
            return list(now)
        seen = now
        page.wait_for_timeout(300)
    raise AssertionError(f"the search results never settled: {seen}")


def test_a_theme_override_folder_is_used(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    (project / "overrides").mkdir()
    (project / "overrides" / "main.html").write_text(
        '{% extends "base.html" %}\n{% block announce %}OVERRIDDEN{% endblock %}\n',
        encoding="utf-8",
    )
    config = project / "mkdocs.yml"
    text = config.read_text(encoding="utf-8")
    assert "\n  name: material\n" in text
    config.write_text(
        text.replace("\n  name: material\n", "\n  name: material\n  custom_dir: overrides\n"),
        encoding="utf-8",
    )
    made = migdocs("build", "--engine", "zensical", cwd=project)
    assert made.returncode == 0, made.stderr
    for page in ("index.html", "history/index.html", "history/timeline/index.html"):
        assert "OVERRIDDEN" in (project / "site" / page).read_text(encoding="utf-8")


def test_the_build_gives_back_the_collector_and_lets_go_of_the_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with MkDocs (``test_site.py``): once Zensical has built the site, the collector is
    as it was (on, nothing frozen) and the plugin holds no history, only its SQL folders."""
    import gc

    from mkdocs.config import load_config

    from migdocs.site.build import _build_with_zensical

    project = copy_example(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.setenv("MIGDOCS_TODAY", "2025-10-01")
    config = load_config(str(project / "mkdocs.yml"))
    plugin = config.plugins["migdocs"]
    _build_with_zensical(config, plugin, tmp_path / "site")
    assert (tmp_path / "site" / "history" / "index.html").is_file()
    assert (gc.isenabled(), gc.get_freeze_count()) == (True, 0)
    assert (plugin.site, plugin.section) == (None, None)
    assert not plugin.fragments.parts
    assert plugin.folders.migrations == project / "migrations"
