"""The site works offline: no script, stylesheet or font comes from another host.

mkdocs-material draws Mermaid diagrams with ``https://unpkg.com/mermaid@11/...`` unless the
page already defines ``mermaid``; the migdocs plugin ships Mermaid (vendored, pinned, with its
licence) and lists it in ``extra_javascript``. The browser test blocks every request to
another host and checks that the schema's ER diagram is still drawn.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from mkdocs.config import load_config
from mkdocs.structure.files import Files

from migdocs.site.section import MERMAID, MERMAID_URI
from runner_kit import SITE_BUILD, environment, migdocs
from site_kit import copy_example, only_local, serve

ROOT = Path(__file__).resolve().parent.parent
VENDORED = MERMAID / "mermaid.min.js"


def _build(project: Path, out: Path) -> None:
    result = migdocs("build", "--site-dir", str(out), cwd=project, env=environment(**SITE_BUILD))
    assert result.returncode == 0, result.stderr


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """The repository's example project (catalog.yaml, mkdocs.yml), copied."""
    return copy_example(tmp_path)


@pytest.fixture
def site(example: Path) -> Path:
    out = example.parent / "site"
    _build(example, out)
    return out


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    with serve(site) as url:
        yield url


def _version() -> str:
    match = re.search(rb'\{version:"(\d+\.\d+\.\d+)"\}', VENDORED.read_bytes())
    assert match is not None, "no version in the vendored mermaid.min.js"
    return match.group(1).decode()


def test_mermaid_is_vendored_with_its_licence_and_its_version_documented() -> None:
    version = _version()
    assert (MERMAID / "LICENSE").read_text().startswith("The MIT License (MIT)")
    provenance = (MERMAID / "README.md").read_text()
    assert f"mermaid {version}" in provenance
    digest = hashlib.sha256(VENDORED.read_bytes()).hexdigest()
    assert digest in provenance
    assert f"Mermaid {version}" in (ROOT / "README.md").read_text()


def test_the_vendored_mermaid_is_the_major_version_material_asks_for() -> None:
    """Material names the major version it loads from unpkg; a Material that moves to another
    major version needs another vendored Mermaid (its API and the theme's CSS go together)."""
    spec = importlib.util.find_spec("material")
    assert spec is not None
    assert spec.origin is not None
    javascripts = Path(spec.origin).parent / "templates/assets/javascripts"
    bundles = list(javascripts.glob("bundle.*.min.js"))
    assert len(bundles) == 1
    asked = re.findall(r"unpkg\.com/mermaid@(\d+)/", bundles[0].read_text(encoding="utf-8"))
    assert asked, "Material no longer loads Mermaid from unpkg: check how it finds Mermaid now"
    assert set(asked) == {_version().split(".")[0]}


def test_the_built_site_has_mermaid_once_and_loads_nothing_from_another_host(site: Path) -> None:
    copies = [path for path in site.rglob("*") if path.name == "mermaid.min.js"]
    assert copies == [site / MERMAID_URI / "mermaid.min.js"]
    assert copies[0].read_bytes() == VENDORED.read_bytes()
    assert (site / MERMAID_URI / "LICENSE").read_bytes() == (MERMAID / "LICENSE").read_bytes()
    schema = (site / "history/schema/index.html").read_text()
    assert '<script src="../../assets/migdocs/mermaid/mermaid.min.js" defer>' in schema
    assert 'class="mermaid"' in schema
    # What a page loads: scripts, stylesheets, fonts, images; links to elsewhere are fine.
    loads = re.compile(
        r"<(?:script|img|iframe|source)\b[^>]*\bsrc=[\"']?(?:https?:)?//"
        r"|<link\b(?=[^>]*\brel=[\"']?(?:stylesheet|preload|preconnect|icon|modulepreload))"
        r"[^>]*\bhref=[\"']?(?:https?:)?//"
        r"|@import\s+(?:url\()?[\"']?(?:https?:)?//"
        r"|url\([\"']?(?:https?:)?//",
        re.IGNORECASE,
    )
    pages = list(site.rglob("*.html"))
    assert len(pages) > 20
    for path in [*pages, *site.rglob("*.css")]:
        found = loads.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(site)} loads from another host: {found}"


def test_a_site_that_lists_its_own_mermaid_keeps_it(example: Path) -> None:
    config = load_config(str(example / "mkdocs.yml"))
    config.extra_javascript.append("javascripts/mermaid-10.9.1.min.js")
    config = config.plugins.on_config(config)
    assert [str(script) for script in config.extra_javascript] == [
        "javascripts/mermaid-10.9.1.min.js"
    ]
    plain = load_config(str(example / "mkdocs.yml"))
    plain = plain.plugins.on_config(plain)
    assert [getattr(script, "path", script) for script in plain.extra_javascript] == [
        MERMAID_URI + "mermaid.min.js"
    ]
    # A second pass (`mkdocs serve` rebuilds) does not list it twice.
    plain = plain.plugins.on_config(plain)
    assert len(plain.extra_javascript) == 1
    files = plain.plugins.on_files(Files([]), config=plain)
    assert files.get_file_from_path(MERMAID_URI + "mermaid.min.js") is not None


def test_in_a_browser_offline_the_er_diagram_renders(served: str, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []
    loaded: list[str] = []
    errors: list[str] = []

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1600})
            context.route("**/*", only_local(served, blocked, loaded))
            # Material draws each diagram in a closed shadow root; open it, to find the SVG.
            context.add_init_script(
                "const attach = Element.prototype.attachShadow;"
                "Element.prototype.attachShadow = function (init) {"
                "  return attach.call(this, {...init, mode: 'open'}); };"
            )
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            for path in ("/", "/history/", "/history/migrations/2025-08-30_initial_schema/"):
                page.goto(served + path, wait_until="load")
            page.goto(f"{served}/history/schema/", wait_until="load")
            svg = page.locator("div.mermaid svg").first
            svg.wait_for(timeout=20000)
            assert svg.get_attribute("aria-roledescription") == "er"
            drawn = svg.text_content() or ""
            assert "users" in drawn
            assert "user_sessions" in drawn
            box = svg.bounding_box()
            assert box is not None
            assert box["height"] > 200
            assert "erDiagram" not in page.locator("div.mermaid").first.inner_text()
            page.screenshot(path=str(artifacts / "schema-page-offline.png"), full_page=True)
        finally:
            browser.close()
    assert blocked == []
    assert f"{served}/{MERMAID_URI}mermaid.min.js" in loaded
    assert errors == []
