"""Every generated page in a real browser (issue 12, tests): headless Chromium from Debian's
package, at a desktop's width (1280 px) and a phone's (390 px), with every request to
another host blocked, as on an intranet.

The site is this repository's example built whole with ``migdocs build --audit`` (replayed
on the embedded server), changed so that every kind of page and state is in it: two
releases, and a rollback that leaves one of its migration's indexes behind, which replay
contradicts. On every page of it:

- nothing is wider than the page, but inside a box that scrolls (a table's, a diagram's);
- no script error and nothing written to the console as an error;
- no request to another host.

And, where they are: each chart and each ER diagram is drawn as SVG, and the contradicted
migration's header reads "contradicted".
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from runner_kit import migdocs
from site_kit import copy_example, only_local, serve
from test_releases import tag

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Page

pytestmark = pytest.mark.browser

SESSIONS = "2025-08-31_add_session_storage_indexes"
# Taken out of the example's last rollback: the index is left behind, replay says so.
LEFT_BEHIND = "DROP INDEX CONCURRENTLY IF EXISTS user_api_keys_user_id_idx;\n"
ROLLBACK = "migrations/rollbacks/2025-08-31_rollback_session_storage_indexes.sql"
RELEASES = {
    "2025-08-30_initial_schema": "1.0",
    "2025-08-30_add_username_field": "1.0",
    "2025-08-30_add_favorites_system": "1.1",
    SESSIONS: "1.1",
}
WIDTHS = (1280, 390)

#: Elements wider than the page that no scroll box of the page's width holds.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const loose = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || box.right <= width + 1) continue;
    let parent = element.parentElement;
    let held = false;
    while (parent) {
      const overflow = getComputedStyle(parent).overflowX;
      if (['auto', 'scroll', 'hidden'].includes(overflow)
          && parent.getBoundingClientRect().right <= width + 1) { held = true; break; }
      parent = parent.parentElement;
    }
    if (!held) loose.push(element.tagName + '.' + element.className);
  }
  return {page: document.documentElement.scrollWidth, width: width, loose: loose};
}"""
#: The risk grid's width against its scroll box's.
GRID = """() => {
  const wrap = document.querySelector('article table').closest('.md-typeset__scrollwrap');
  return [wrap.scrollWidth, wrap.clientWidth];
}"""
#: Material draws each diagram in a closed shadow root: open it, to find the SVG.
OPEN_SHADOWS = (
    "const attach = Element.prototype.attachShadow;"
    "Element.prototype.attachShadow = function (init) {"
    "  return attach.call(this, {...init, mode: 'open'}); };"
)


@pytest.fixture(scope="module", params=["mkdocs", "zensical"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[str]]]:
    """The example's site, built by MkDocs and by Zensical, served, and the path of every
    page in it."""
    engine = request.param
    if engine == "zensical":
        pytest.importorskip("zensical")
    project = copy_example(tmp_path_factory.mktemp("browser"))
    config = project / "mkdocs.yml"
    config.write_text(config.read_text().replace("\nstrict: true\n", "\n"))  # it publishes MG403
    rollback = project / ROLLBACK
    assert LEFT_BEHIND in rollback.read_text()
    rollback.write_text(rollback.read_text().replace(LEFT_BEHIND, ""))
    tag(project, RELEASES)
    result = migdocs("build", "--audit", "--engine", engine, "--site-dir", "out", cwd=project)
    assert result.returncode == 0, result.stderr
    out = project / "out"
    pages = sorted(
        "/" + str(path.parent.relative_to(out)).removeprefix(".") + "/"
        for path in out.rglob("index.html")
    )
    pages = [page.replace("//", "/") for page in pages]
    with serve(out) as url:
        yield url, pages
    shutil.rmtree(project)


def _open(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    # Material's script ran (it wraps tables in their scroll boxes, draws diagrams).
    page.wait_for_function("() => typeof window.document$ !== 'undefined'")
    for diagram in page.locator("pre.mermaid, div.mermaid").all():
        diagram.locator("svg").first.wait_for(timeout=20000)


def test_every_page_at_a_desktop_and_a_phone_width(
    site: tuple[str, list[str]], chromium: str
) -> None:
    from playwright.sync_api import sync_playwright

    served, pages = site
    # Every kind of page the plugin makes is there to be seen.
    for kind in ("/history/", "/history/timeline/", "/history/risk-matrix/", "/history/audit/"):
        assert kind in pages
    for prefix in ("/history/migrations/", "/history/schema/tables/", "/history/releases/"):
        assert any(page.startswith(prefix) and page != prefix for page in pages), prefix
    blocked: list[str] = []
    errors: list[str] = []
    seen: dict[tuple[int, str], dict[str, object]] = {}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900})
                context.route("**/*", only_local(served, blocked))
                context.add_init_script(OPEN_SHADOWS)
                page = context.new_page()
                page.on("pageerror", lambda error, at=page: errors.append(f"{at.url}: {error}"))
                page.on(
                    "console",
                    lambda message, at=page: (
                        errors.append(f"{at.url}: {message.text}")
                        if message.type == "error"
                        else None
                    ),
                )
                for path in pages:
                    _open(page, served + path)
                    seen[(width, path)] = page.evaluate(OVERFLOW)
                    if path == "/history/":
                        _charts(page, width)
                    if path.startswith("/history/schema/"):
                        _diagram(page)
                    if path == f"/history/migrations/{SESSIONS}/":
                        header = page.locator(".migdocs-header")
                        assert "contradicted" in header.inner_text()
                        badge = header.locator(".migdocs-proof")
                        assert badge.evaluate("e => getComputedStyle(e).borderStyle") == "solid"
                    if path == "/history/risk-matrix/":
                        scroll, client = page.evaluate(GRID)
                        if width == 1280:
                            assert scroll <= client  # the grid fits the content column
                        else:
                            assert scroll > client  # and scrolls in its own box on a phone
                context.close()
        finally:
            browser.close()
    # Nothing is wider than the page's width (the viewport's, less a scroll bar Zensical's
    # theme always shows), outside a box that scrolls.
    wide = {
        key: found
        for key, found in seen.items()
        if found["loose"] or found["page"] > found["width"] or found["width"] > key[0]
    }
    assert wide == {}
    assert errors == []
    assert blocked == []


def _charts(page: Page, width: int) -> None:
    """The overview's charts are SVG drawn at a readable size, each with its text: on a phone
    a chart keeps its labels' size and scrolls in its own box (the overflow check sees the
    box hold it)."""
    charts = page.locator("svg.migdocs-chart")
    assert charts.count() == 2
    for chart in charts.all():
        assert chart.get_attribute("role") == "img"
        assert chart.get_attribute("aria-label")
        box = chart.bounding_box()
        assert box is not None
        assert box["height"] > 20
        assert 400 <= box["width"] <= 600
        figure = chart.evaluate("e => e.closest('figure').getBoundingClientRect().right")
        assert figure <= width


def _diagram(page: Page) -> None:
    """A schema page's ER diagram is drawn, not left as its source."""
    svg = page.locator("div.mermaid svg").first
    assert svg.get_attribute("aria-roledescription") == "er"
    box = svg.bounding_box()
    assert box is not None
    assert box["height"] > 50
    assert "erDiagram" not in page.locator("div.mermaid").first.inner_text()
